// The aws-chunked body decoder, signed (AWS's example key and seed) and unsigned with trailers,
// fed the input in two pieces split where its first byte says. Malformed framing, bad
// signatures and truncation are errors; nothing decodes to more bytes than it was given.
#include <cstdint>
#include <string>

#include "gateway/aws_chunked_decoder.h"
#include "storage/s3/sigv4.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  using namespace dim;
  std::string s(reinterpret_cast<const char*>(data) + 1, size - 1);
  size_t split = s.empty() ? 0 : data[0] % (s.size() + 1);
  static const AwsChunkedDecoder::Signing signing{
      sigv4::SigningKey("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "20130524", "us-east-1", "s3"),
      "20130524T000000Z", sigv4::Scope("20130524", "us-east-1", "s3"),
      "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9"};
  for (bool signed_mode : {true, false}) {
    size_t out = 0;
    AwsChunkedDecoder d(signed_mode ? std::optional(signing) : std::nullopt,
                        [&](const char*, size_t n) {
                          out += n;
                          return out < (1u << 20);
                        });
    bool ok = d.Feed(std::string_view(s).substr(0, split)).ok() &&
              d.Feed(std::string_view(s).substr(split)).ok() && d.Finish().ok();
    if (out > s.size() || static_cast<size_t>(d.decoded_bytes()) > s.size()) __builtin_trap();
    if (ok && d.trailers().size() > 16) __builtin_trap();
  }
  return 0;
}
