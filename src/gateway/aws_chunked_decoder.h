// Decodes an aws-chunked request body as it arrives — STREAMING-AWS4-HMAC-SHA256-PAYLOAD
// (every chunk signed, chained from the request's signature) and
// STREAMING-UNSIGNED-PAYLOAD-TRAILER (unsigned chunks, then trailing headers such as
// x-amz-checksum-crc32) — and passes the payload on without holding more than one framing line.
// Bytes of a chunk are passed on before its signature is checked at the chunk's end; a failure
// there (or a truncated body) makes Feed/Finish fail, and the consumer must then discard
// everything it received (the gateway's writes only become visible after a clean Finish).
// Not thread-safe; one decoder per request.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "core/checksum.h"
#include "gateway/s3_error.h"

namespace dim {

class AwsChunkedDecoder {
 public:
  struct Signing {
    std::string signing_key;     // raw bytes (sigv4::SigningKey)
    std::string amz_date;        // the request's x-amz-date
    std::string scope;           // the request's credential scope
    std::string seed_signature;  // the request's own signature
  };
  // Receives decoded payload bytes; returns false to stop (the consumer gave up).
  using Sink = std::function<bool(const char* data, size_t size)>;

  // signing: the signed variant; nullopt: unsigned chunks followed by trailing headers.
  AwsChunkedDecoder(std::optional<Signing> signing, Sink sink);

  // Consumes the next bytes of the body. An error is final (the decoder stays failed).
  S3Result<Done> Feed(std::string_view data);
  // The body ended: checks that it was complete.
  S3Result<Done> Finish();

  int64_t decoded_bytes() const { return decoded_; }
  // Trailing headers (lower-case names), complete after a successful Finish.
  const std::map<std::string, std::string>& trailers() const { return trailers_; }
  // Whether the sink asked to stop.
  bool stopped() const { return stopped_; }

 private:
  enum class State { kHeader, kData, kDataEnd, kTrailer, kDone };
  S3Result<Done> Fail(S3Code code, std::string message);
  S3Result<Done> OnHeaderLine(std::string_view line);
  S3Result<Done> OnTrailerLine(std::string_view line);
  S3Result<Done> EndChunk();

  std::optional<Signing> signing_;
  Sink sink_;
  State state_ = State::kHeader;
  std::string line_;        // the framing line being read
  int64_t chunk_left_ = 0;  // bytes of the current chunk still to come
  bool final_chunk_ = false;
  std::string chunk_signature_;  // as sent for the current chunk
  std::string previous_signature_;
  Sha256 chunk_hash_;
  int64_t decoded_ = 0;
  std::map<std::string, std::string> trailers_;
  std::optional<S3Error> error_;
  bool stopped_ = false;
};

}  // namespace dim
