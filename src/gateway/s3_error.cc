#include "gateway/s3_error.h"

#include <array>

namespace dim {
namespace {

// Indexed by S3Code; the order must match the enum (checked in s3_error_test.cc).
constexpr std::array<S3CodeInfo, 37> kTable = {{
    {"AccessDenied", 403, "Access Denied"},
    {"AuthorizationHeaderMalformed", 400, "The authorization header is malformed."},
    {"AuthorizationQueryParametersError", 400,
     "The authorization query parameters of the presigned URL are malformed."},
    {"BadDigest", 400, "The Content-MD5 or checksum you specified did not match what we received."},
    {"BucketAlreadyOwnedByYou", 409,
     "Your previous request to create the named bucket succeeded and you already own it."},
    {"BucketNotEmpty", 409, "The bucket you tried to delete is not empty."},
    {"EntityTooLarge", 400, "Your proposed upload exceeds the maximum allowed size."},
    {"EntityTooSmall", 400,
     "Your proposed upload is smaller than the minimum allowed object size."},
    {"IncompleteBody", 400,
     "You did not provide the number of bytes specified by the Content-Length HTTP header."},
    {"InternalError", 500, "We encountered an internal error. Please try again."},
    {"InvalidAccessKeyId", 403,
     "The AWS access key ID you provided does not exist in our records."},
    {"InvalidArgument", 400, "Invalid Argument"},
    {"InvalidBucketName", 400, "The specified bucket is not valid."},
    {"InvalidDigest", 400, "The Content-MD5 you specified is not valid."},
    {"InvalidPart", 400,
     "One or more of the specified parts could not be found. The part may not have been uploaded, "
     "or the specified entity tag may not match the part's entity tag."},
    {"InvalidPartOrder", 400, "The list of parts was not in ascending order."},
    {"InvalidRange", 416, "The requested range is not satisfiable"},
    {"InvalidRequest", 400, "Invalid Request"},
    {"InvalidURI", 400, "Couldn't parse the specified URI."},
    {"KeyTooLongError", 400, "Your key is too long"},
    {"MalformedXML", 400,
     "The XML you provided was not well-formed or did not validate against our published schema"},
    {"MetadataTooLarge", 400, "Your metadata headers exceed the maximum allowed metadata size"},
    {"MethodNotAllowed", 405, "The specified method is not allowed against this resource."},
    {"MissingContentLength", 411, "You must provide the Content-Length HTTP header."},
    {"NoSuchBucket", 404, "The specified bucket does not exist"},
    {"NoSuchKey", 404, "The specified key does not exist."},
    {"NoSuchUpload", 404,
     "The specified upload does not exist. The upload ID may be invalid, or the upload may have "
     "been aborted or completed."},
    {"NotImplemented", 501, "A header you provided implies functionality that is not implemented"},
    {"NotModified", 304, "Not Modified"},
    {"OperationAborted", 409,
     "A conflicting conditional operation is currently in progress against this resource. Please "
     "try again."},
    {"PreconditionFailed", 412, "At least one of the pre-conditions you specified did not hold"},
    {"RequestHeaderSectionTooLarge", 400,
     "Your request header section exceeds the maximum allowed size."},
    {"RequestTimeTooSkewed", 403,
     "The difference between the request time and the current time is too large."},
    {"ServiceUnavailable", 503, "Please reduce your request rate."},
    {"SignatureDoesNotMatch", 403,
     "The request signature we calculated does not match the signature you provided. Check your "
     "key and signing method."},
    {"SlowDown", 503, "Please reduce your request rate."},
    {"XAmzContentSHA256Mismatch", 400,
     "The provided 'x-amz-content-sha256' header does not match what was computed."},
}};

static_assert(kTable.size() == static_cast<size_t>(S3Code::kXAmzContentSHA256Mismatch) + 1,
              "one row per S3Code");

}  // namespace

const S3CodeInfo& InfoOf(S3Code code) { return kTable[static_cast<size_t>(code)]; }

S3Error FromStatus(const Status& status, S3Code not_found) {
  S3Code code = S3Code::kInternalError;
  switch (status.code()) {
    case StatusCode::kOk:
    case StatusCode::kInternal:
      code = S3Code::kInternalError;
      break;
    case StatusCode::kInvalidArgument:
      code = S3Code::kInvalidArgument;
      break;
    case StatusCode::kNotFound:
      code = not_found;
      break;
    case StatusCode::kAlreadyExists:
      code = S3Code::kBucketAlreadyOwnedByYou;
      break;
    case StatusCode::kFailedPrecondition:
      code = S3Code::kInvalidRequest;
      break;
    case StatusCode::kAborted:
      code = S3Code::kOperationAborted;
      break;
    case StatusCode::kUnauthenticated:
    case StatusCode::kPermissionDenied:
      code = S3Code::kAccessDenied;
      break;
    case StatusCode::kResourceExhausted:
      code = S3Code::kSlowDown;
      break;
    case StatusCode::kUnavailable:
    case StatusCode::kDeadlineExceeded:
      code = S3Code::kServiceUnavailable;
      break;
    case StatusCode::kDataLoss:
      code = S3Code::kInternalError;
      break;
    case StatusCode::kOutOfRange:
      code = S3Code::kInvalidRange;
      break;
    case StatusCode::kUnimplemented:
      code = S3Code::kNotImplemented;
      break;
  }
  return S3Error(code, status.message());
}

}  // namespace dim
