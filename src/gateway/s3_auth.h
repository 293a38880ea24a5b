// Authentication of S3 requests with AWS Signature V4 — the Authorization header and presigned
// URLs — against the gateway's access key, on the shared primitives of storage/s3/sigv4.h. Says
// how the body is protected (a signed SHA-256, UNSIGNED-PAYLOAD, or aws-chunked with chunk
// signatures) and hands the streaming decoder what it needs to check each chunk. Requests
// without credentials are refused unless anonymous access is on. Thread-safe.
#pragma once

#include <cstdint>
#include <mutex>
#include <optional>
#include <string>

#include "core/clock.h"
#include "gateway/aws_chunked_decoder.h"
#include "gateway/s3_error.h"
#include "gateway/s3_request.h"

namespace dim {

struct S3AuthOptions {
  std::string access_key;
  std::string secret_key;
  bool allow_anonymous = false;
  int64_t max_skew_s = 15 * 60;  // S3's limit on the request time's distance from ours
};

struct AuthRequest {
  std::string method;
  std::string path;                     // decoded
  const sigv4::Pairs* query = nullptr;  // decoded
  const HeaderList* headers = nullptr;  // lower-case names
};

enum class PayloadMode {
  kUnsigned,                // UNSIGNED-PAYLOAD, presigned URLs, anonymous requests
  kSha256,                  // x-amz-content-sha256 names the body's hash: checked as it streams
  kChunkedSigned,           // STREAMING-AWS4-HMAC-SHA256-PAYLOAD
  kChunkedUnsignedTrailer,  // STREAMING-UNSIGNED-PAYLOAD-TRAILER
};

struct AuthResult {
  bool anonymous = false;
  std::string access_key;
  PayloadMode payload = PayloadMode::kUnsigned;
  std::string payload_sha256;                               // kSha256: hex
  std::optional<AwsChunkedDecoder::Signing> chunk_signing;  // kChunkedSigned
};

class S3Authenticator {
 public:
  S3Authenticator(S3AuthOptions options, const Clock& clock);

  // AccessDenied (anonymous, expired), InvalidAccessKeyId, SignatureDoesNotMatch (with the
  // canonical request and string to sign as details), AuthorizationHeaderMalformed,
  // RequestTimeTooSkewed, InvalidRequest (missing x-amz-content-sha256), NotImplemented (signed
  // trailers, SigV2).
  S3Result<AuthResult> Authenticate(const AuthRequest& request) const;

 private:
  S3Result<AuthResult> FromHeader(const AuthRequest& r, const std::string& authorization) const;
  S3Result<AuthResult> FromQuery(const AuthRequest& r) const;
  // The signing key for a date and region (cached: it changes once a day).
  std::string SigningKeyFor(const std::string& date8, const std::string& region,
                            const std::string& service) const;
  S3Result<Done> CheckSignature(const sigv4::CanonicalInput& in, const sigv4::ParsedAuth& auth,
                                const std::string& amz_date, std::string* signing_key) const;

  S3AuthOptions options_;
  const Clock& clock_;
  mutable std::mutex mu_;
  mutable std::string cached_scope_, cached_key_;
};

}  // namespace dim
