// S3's answers translated into our Status codes — the one place that knows S3's error codes.
//   404 NoSuchKey/NoSuchUpload -> NotFound; NoSuchBucket -> FailedPrecondition (say how to fix)
//   403 InvalidAccessKeyId/SignatureDoesNotMatch/ExpiredToken... -> Unauthenticated;
//       AccessDenied and other 403s -> PermissionDenied
//   429 / 503 SlowDown / 500 / 502 / 503 / 504 / 400 RequestTimeout -> ResourceExhausted or
//       Unavailable (retryable), with the Retry-After hint
//   416 -> OutOfRange; 400 BadDigest -> DataLoss; 405/501 -> Unimplemented; 301 -> wrong region
// Every message says what was attempted and names the site and the endpoint.
#pragma once

#include <string>

#include "core/status.h"
#include "storage/http_client.h"

namespace dim::s3 {

// `what`: "site aws: endpoint https://s3.amazonaws.com: get demo/a@1". now_unix_s is used to
// interpret an HTTP-date Retry-After.
Status StatusFromResponse(const HttpResponse& r, const std::string& what, int64_t now_unix_s);

}  // namespace dim::s3
