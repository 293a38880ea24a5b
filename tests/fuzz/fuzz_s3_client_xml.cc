// The S3 backend's XML readers, fed whatever a server (or a proxy in front of it) might answer:
// error documents, listings, multipart results and ISO 8601 times. Malformed input is an
// InvalidArgument or "not an error document", never a crash; what parses is consistent.
#include <cstdint>
#include <string>

#include "storage/s3/s3_xml.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string s(reinterpret_cast<const char*>(data), size);
  namespace s3 = dim::s3;
  auto e = s3::ParseError(s);
  if (e && e->code.empty()) __builtin_trap();
  auto l = s3::ParseListBucketResult(s);
  if (l.ok()) {
    for (const auto& i : l->items) {
      if (i.size < 0) __builtin_trap();
    }
  }
  auto id = s3::ParseInitiateMultipartUpload(s);
  if (id.ok() && id->empty()) __builtin_trap();
  (void)s3::ParseCompleteMultipartUpload(s);
  auto t = s3::ParseIso8601Ms(s);
  (void)t;
  return 0;
}
