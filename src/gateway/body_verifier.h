// What a client promised about a request body — its size, Content-MD5, x-amz-content-sha256,
// an x-amz-checksum-* value (as a header or an aws-chunked trailer) — and a ByteSource that
// checks those promises as the body streams through. A broken promise is reported at the end of
// the stream as an error instead of end-of-stream, so a store writing from the source never
// makes the bytes visible (ObjectStore::Put is atomic). Not thread-safe.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>

#include "core/checksum.h"
#include "gateway/s3_checksum.h"
#include "gateway/s3_error.h"
#include "gateway/s3_request.h"
#include "storage/byte_stream.h"

namespace dim {

struct BodyExpectations {
  int64_t size = -1;           // decoded payload size, when known
  std::string content_md5;     // raw 16 bytes (Content-MD5)
  std::string payload_sha256;  // hex (a signed x-amz-content-sha256)
  std::optional<ChecksumAlgorithm> checksum;
  std::string checksum_value;  // base64; empty: it comes as a trailer named by x-amz-trailer
  bool checksum_in_trailer = false;
};

// Content-MD5 (InvalidDigest when not base64 of 16 bytes), x-amz-checksum-* or x-amz-trailer
// (InvalidRequest for a malformed value or more than one checksum; NotImplemented for an
// algorithm this gateway does not know).
S3Result<BodyExpectations> ParseBodyExpectations(const HeaderList& headers);

class VerifyingSource final : public ByteSource {
 public:
  // `trailers` (may be null) is read at the end of the stream, when the decoder has filled it.
  VerifyingSource(ByteSource& inner, BodyExpectations expect,
                  const std::map<std::string, std::string>* trailers = nullptr);
  Result<size_t> Read(char* buf, size_t n) override;

  // Why the stream failed its promises (set when Read returned DataLoss).
  const std::optional<S3Error>& failure() const { return failure_; }
  // The checksum computed for the expected algorithm (base64), after the end.
  const std::string& checksum_base64() const { return checksum_base64_; }
  int64_t bytes() const { return bytes_; }

 private:
  Status Check();

  ByteSource& inner_;
  BodyExpectations expect_;
  const std::map<std::string, std::string>* trailers_;
  std::unique_ptr<Md5> md5_;
  std::unique_ptr<Sha256> sha_;
  std::unique_ptr<Checksummer> checksum_;
  std::string checksum_base64_;
  int64_t bytes_ = 0;
  bool done_ = false;
  std::optional<S3Error> failure_;
};

}  // namespace dim
