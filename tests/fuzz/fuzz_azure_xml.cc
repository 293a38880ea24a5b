// The Azure backend's XML readers (List Blobs results, error documents) on arbitrary bytes:
// malformed input is an InvalidArgument or "not an error document", never a crash.
#include <cstdint>
#include <string>

#include "storage/azure/azure_xml.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string s(reinterpret_cast<const char*>(data), size);
  auto e = dim::azure::ParseError(s);
  if (e && e->code.empty()) __builtin_trap();
  auto l = dim::azure::ParseBlobList(s);
  if (l.ok()) {
    for (const auto& i : l->items) {
      if (i.size < 0 || (!i.etag.empty() && i.etag.size() != 32)) __builtin_trap();
    }
  }
  return 0;
}
