// Object names: "bucket/key" parsing and the local site's blob-path codec. A name either fails
// validation or survives the codec round trip, and no encoded path can climb out of the root.
#include <cstdint>
#include <string>

#include "core/object_key.h"
#include "storage/local_path_codec.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string s(reinterpret_cast<const char*>(data), size);
  auto k = dim::ObjectKey::Parse(s);
  if (k.ok()) {
    std::string blob = dim::BlobName(*k, "0123456789abcdef");
    std::string path = dim::EncodeBlobPath(blob);
    if (path.find("/../") != std::string::npos || path.rfind("../", 0) == 0 || path == ".." ||
        (path.size() >= 3 && path.compare(path.size() - 3, 3, "/..") == 0) || path.front() == '/') {
      __builtin_trap();
    }
    auto back = dim::DecodeBlobPath(path);
    if (!back || *back != blob) __builtin_trap();
  }
  // Arbitrary text as a path on disk: decodes to something that re-encodes to it, or nothing.
  if (auto d = dim::DecodeBlobPath(s)) {
    if (dim::EncodeBlobPath(*d) != s) __builtin_trap();
  }
  return 0;
}
