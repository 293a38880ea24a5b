// Azure Blob's answers translated into our Status codes — the one place that knows Azure's
// error codes (from the <Error> body, or the x-ms-error-code header of bodiless answers).
//   403 AuthenticationFailed -> Unauthenticated (the account key was rejected); other 403s ->
//   PermissionDenied; 404 BlobNotFound -> NotFound; ContainerNotFound -> FailedPrecondition;
//   409 ContainerAlreadyExists -> AlreadyExists; 416 -> OutOfRange; Md5Mismatch -> DataLoss;
//   500 / 503 ServerBusy / OperationTimedOut -> Unavailable, 429 -> ResourceExhausted (both
//   retryable, Retry-After kept).
#pragma once

#include <string>

#include "core/status.h"
#include "storage/http_client.h"

namespace dim::azure {

Status StatusFromResponse(const HttpResponse& r, const std::string& what, int64_t now_unix_s);

}  // namespace dim::azure
