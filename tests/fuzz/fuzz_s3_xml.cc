// The XML request bodies of S3 operations (CompleteMultipartUpload, DeleteObjects,
// CreateBucketConfiguration), and the writer of response bodies: whatever text goes in, the
// rendered document parses again.
#include <cstdint>
#include <pugixml.hpp>
#include <string>

#include "gateway/s3_request_bodies.h"
#include "gateway/xml_writer.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace dim;
  std::string s(reinterpret_cast<const char*>(data), size);
  auto parts = ParseCompleteMultipartUpload(s);
  if (parts.ok()) {
    if (parts->empty() || parts->size() > 10000) __builtin_trap();
    for (const auto& p : *parts) {
      if (p.part_number < 1 || p.part_number > 10000) __builtin_trap();
    }
  }
  auto del = ParseDeleteObjects(s);
  if (del.ok() && (del->keys.empty() || del->keys.size() > kMaxDeleteKeys)) __builtin_trap();
  (void)ParseCreateBucketConfiguration(s);
  XmlWriter w;
  w.Open("Root").Element("Text", s).ElementWith("A", {{"attr", s}}, s);
  std::string doc = w.Finish();
  pugi::xml_document d;
  if (!d.load_string(doc.c_str())) __builtin_trap();
  return 0;
}
