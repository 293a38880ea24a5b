#include "storage/s3/s3_errors.h"

#include "storage/s3/s3_xml.h"

namespace dim::s3 {

Status StatusFromResponse(const HttpResponse& r, const std::string& what, int64_t now_unix_s) {
  auto doc = ParseError(r.body);
  std::string code = doc ? doc->code : "";
  std::string msg = what + ": HTTP " + std::to_string(r.status);
  if (!code.empty()) msg += " " + code;
  if (doc && !doc->message.empty()) msg += ": " + doc->message;
  const int s = r.status;
  const int64_t retry_after = ParseRetryAfterMs(r.Header("retry-after"), now_unix_s);
  auto retryable = [&](StatusCode c) { return Status(c, msg).WithRetryAfterMs(retry_after); };
  auto throttled = [&](StatusCode c) { return retryable(c).AsThrottled(); };

  if (s == 404) {
    if (code == "NoSuchBucket") {
      return Status::FailedPrecondition(
          msg + " (create the bucket, or set create_bucket = true on the site)");
    }
    return Status::NotFound(msg);
  }
  if (s == 403) {
    if (code == "InvalidAccessKeyId" || code == "SignatureDoesNotMatch" || code == "ExpiredToken" ||
        code == "InvalidToken" || code == "TokenRefreshRequired" || code == "InvalidSecurity" ||
        code == "RequestTimeTooSkewed") {
      return Status::Unauthenticated(msg + " (the site's access_key/secret_key were rejected)");
    }
    if (code == "SlowDown") return throttled(StatusCode::kUnavailable);
    return Status::PermissionDenied(msg);
  }
  if (s == 400) {
    if (code == "SlowDown") return throttled(StatusCode::kUnavailable);
    if (code == "RequestTimeout") return retryable(StatusCode::kUnavailable);
    if (code == "BadDigest" || code == "InvalidDigest" || code == "XAmzContentSHA256Mismatch") {
      return Status::DataLoss(msg);
    }
    if (code == "AuthorizationHeaderMalformed" || code == "InvalidAccessKeyId" ||
        code == "ExpiredToken" || code == "InvalidToken") {
      return Status::Unauthenticated(msg + " (check the site's region and credentials)");
    }
    return Status::InvalidArgument(msg);
  }
  if (s == 301 || s == 307) {
    std::string hint = doc && !doc->endpoint.empty() ? " (use endpoint " + doc->endpoint + ")" : "";
    if (s == 307) return retryable(StatusCode::kUnavailable);
    return Status::FailedPrecondition(msg + hint + ": the bucket lives in another region");
  }
  if (s == 405 || s == 501) return Status::Unimplemented(msg);
  if (s == 409) {
    if (code == "BucketAlreadyOwnedByYou" || code == "BucketAlreadyExists")
      return Status::AlreadyExists(msg);
    if (code == "OperationAborted") return retryable(StatusCode::kUnavailable);
    return Status::FailedPrecondition(msg);
  }
  if (s == 412) return Status::FailedPrecondition(msg);
  if (s == 416) return Status::OutOfRange(msg);
  if (s == 429) return throttled(StatusCode::kResourceExhausted);
  if (s == 408) return retryable(StatusCode::kDeadlineExceeded);
  if (s == 503 || code == "SlowDown") return throttled(StatusCode::kUnavailable);
  if (s >= 500) return retryable(StatusCode::kUnavailable);
  return Status::Internal(msg + " (unexpected answer)");
}

}  // namespace dim::s3
