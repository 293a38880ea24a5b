// S3's error vocabulary and the one table that maps it to HTTP statuses, plus the mapping from
// our Status codes to it. Every S3 error the gateway sends goes through this file, so a code
// always has the same HTTP status and default message. S3Result<T> carries a value or an S3Error
// between the gateway's operation layer (s3_service.h) and its wire format (s3_gateway.h).
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "core/status.h"

namespace dim {

enum class S3Code {
  kAccessDenied,
  kAuthorizationHeaderMalformed,
  kAuthorizationQueryParametersError,
  kBadDigest,
  kBucketAlreadyOwnedByYou,
  kBucketNotEmpty,
  kEntityTooLarge,
  kEntityTooSmall,
  kIncompleteBody,
  kInternalError,
  kInvalidAccessKeyId,
  kInvalidArgument,
  kInvalidBucketName,
  kInvalidDigest,
  kInvalidPart,
  kInvalidPartOrder,
  kInvalidRange,
  kInvalidRequest,
  kInvalidURI,
  kKeyTooLongError,
  kMalformedXML,
  kMetadataTooLarge,
  kMethodNotAllowed,
  kMissingContentLength,
  kNoSuchBucket,
  kNoSuchKey,
  kNoSuchUpload,
  kNotImplemented,
  kNotModified,  // 304: not an error to the client, but the same early exit for us
  kOperationAborted,
  kPreconditionFailed,
  kRequestHeaderSectionTooLarge,
  kRequestTimeTooSkewed,
  kServiceUnavailable,
  kSignatureDoesNotMatch,
  kSlowDown,
  kXAmzContentSHA256Mismatch,
};

struct S3CodeInfo {
  std::string_view name;  // the <Code> S3 sends, e.g. "NoSuchKey"
  int http_status;
  std::string_view message;  // S3's default <Message>
};
const S3CodeInfo& InfoOf(S3Code code);

struct S3Error {
  S3Code code = S3Code::kInternalError;
  std::string message;  // empty: the code's default message
  // Extra elements for the XML body (e.g. StringToSign for SignatureDoesNotMatch).
  std::vector<std::pair<std::string, std::string>> details;

  S3Error() = default;
  S3Error(S3Code c, std::string m = {}) : code(c), message(std::move(m)) {}
  int http_status() const { return InfoOf(code).http_status; }
  std::string_view name() const { return InfoOf(code).name; }
  std::string Message() const {
    return message.empty() ? std::string(InfoOf(code).message) : message;
  }
};

// Our Status to S3's code: NotFound becomes `not_found` (NoSuchKey, NoSuchBucket, NoSuchUpload
// depending on what was looked up); the rest by class (retryable trouble is 503, bad input 400,
// a failed check of our own bytes 500). REQUIRES: !status.ok().
S3Error FromStatus(const Status& status, S3Code not_found = S3Code::kNoSuchKey);

struct Done {};

// A value or the S3Error saying why there is none.
template <typename T>
class [[nodiscard]] S3Result {
 public:
  S3Result(T value) : v_(std::move(value)) {}        // NOLINT: implicit by design
  S3Result(S3Error error) : v_(std::move(error)) {}  // NOLINT
  bool ok() const { return v_.index() == 0; }
  const S3Error& error() const { return std::get<1>(v_); }
  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T value() && { return std::move(std::get<0>(v_)); }
  T* operator->() { return &std::get<0>(v_); }
  const T* operator->() const { return &std::get<0>(v_); }
  T& operator*() & { return std::get<0>(v_); }

 private:
  std::variant<T, S3Error> v_;
};

}  // namespace dim

#define DIM_S3_ASSIGN_OR_RETURN(lhs, expr) \
  DIM_S3_ASSIGN_OR_RETURN_IMPL(DIM_CONCAT(_dim_s3_, __LINE__), lhs, expr)
#define DIM_S3_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                                 \
  if (!tmp.ok()) return tmp.error();                 \
  lhs = std::move(tmp).value()
// Returns an S3Error from a Status-returning expression (mapped with FromStatus).
#define DIM_S3_RETURN_IF_STATUS(expr, not_found)                     \
  do {                                                               \
    ::dim::Status _dim_st = (expr);                                  \
    if (!_dim_st.ok()) return ::dim::FromStatus(_dim_st, not_found); \
  } while (0)
