#include "storage/azure/azure_errors.h"

#include "storage/azure/azure_xml.h"

namespace dim::azure {

Status StatusFromResponse(const HttpResponse& r, const std::string& what, int64_t now_unix_s) {
  auto doc = ParseError(r.body);
  std::string code = doc ? doc->code : r.Header("x-ms-error-code");
  std::string msg = what + ": HTTP " + std::to_string(r.status);
  if (!code.empty()) msg += " " + code;
  if (doc && !doc->message.empty()) {
    std::string m = doc->message;
    size_t nl = m.find('\n');  // Azure appends "RequestId:...\nTime:..." lines
    msg += ": " + (nl == std::string::npos ? m : m.substr(0, nl));
  }
  const int s = r.status;
  const int64_t retry_after = ParseRetryAfterMs(r.Header("retry-after"), now_unix_s);
  auto retryable = [&](StatusCode c) { return Status(c, msg).WithRetryAfterMs(retry_after); };
  if (s == 403) {
    // Azurite says AuthorizationFailure ("Server failed to authenticate the request") where Azure
    // says AuthenticationFailed; a bodiless answer carries only the code.
    const bool not_authenticated =
        code == "AuthenticationFailed" || code == "InvalidAuthenticationInfo" || code.empty() ||
        (code == "AuthorizationFailure" &&
         (!doc || doc->message.find("authenticate") != std::string::npos));
    if (not_authenticated) {
      return Status::Unauthenticated(
          msg + " (the site's access_key (account) / secret_key (account key) were rejected)");
    }
    return Status::PermissionDenied(msg);
  }
  if (s == 404) {
    if (code == "ContainerNotFound") {
      return Status::FailedPrecondition(
          msg + " (create the container, or set create_bucket = true on the site)");
    }
    return Status::NotFound(msg);
  }
  if (s == 409) {
    if (code == "ContainerAlreadyExists" || code == "BlobAlreadyExists")
      return Status::AlreadyExists(msg);
    if (code == "ContainerBeingDeleted") return retryable(StatusCode::kUnavailable);
    return Status::FailedPrecondition(msg);
  }
  if (s == 400) {
    if (code == "Md5Mismatch" || code == "Crc64Mismatch") return Status::DataLoss(msg);
    return Status::InvalidArgument(msg);
  }
  if (s == 412) return Status::FailedPrecondition(msg);
  if (s == 416) return Status::OutOfRange(msg);
  if (s == 405 || s == 501) return Status::Unimplemented(msg);
  if (s == 429) return retryable(StatusCode::kResourceExhausted).AsThrottled();
  if (s == 408) return retryable(StatusCode::kDeadlineExceeded);
  if (s == 503) return retryable(StatusCode::kUnavailable).AsThrottled();  // ServerBusy
  if (s >= 500) return retryable(StatusCode::kUnavailable);
  return Status::Internal(msg + " (unexpected answer)");
}

}  // namespace dim::azure
