// Status and Result<T>: errors as values across component boundaries.
// A Status carries a code that tells the caller what to do next (retry, give up, report "not
// found") and a message with context. Result<T> holds either a value or a non-OK Status.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace dim {

enum class StatusCode {
  kOk = 0,
  kInvalidArgument,    // the caller sent something malformed; do not retry
  kNotFound,           // the thing is not there
  kAlreadyExists,      // create of something that exists
  kFailedPrecondition, // state does not allow the operation (e.g. bucket not empty)
  kAborted,            // lost a compare-and-swap or a lease; re-read and retry
  kUnauthenticated,    // no or bad credentials
  kPermissionDenied,   // credentials fine, action not allowed
  kResourceExhausted,  // throttled or full; retry later with backoff
  kUnavailable,        // transient failure (network, endpoint down); retry with backoff
  kDeadlineExceeded,   // timed out; may be retried
  kDataLoss,           // bytes do not match their checksum
  kOutOfRange,         // e.g. a byte range beyond the end of an object
  kUnimplemented,      // not supported by this backend
  kInternal,           // a bug or an unexpected library failure
};

std::string_view StatusCodeName(StatusCode code);

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status OK() { return Status(); }
  static Status InvalidArgument(std::string m) { return {StatusCode::kInvalidArgument, std::move(m)}; }
  static Status NotFound(std::string m) { return {StatusCode::kNotFound, std::move(m)}; }
  static Status AlreadyExists(std::string m) { return {StatusCode::kAlreadyExists, std::move(m)}; }
  static Status FailedPrecondition(std::string m) {
    return {StatusCode::kFailedPrecondition, std::move(m)};
  }
  static Status Aborted(std::string m) { return {StatusCode::kAborted, std::move(m)}; }
  static Status Unauthenticated(std::string m) { return {StatusCode::kUnauthenticated, std::move(m)}; }
  static Status PermissionDenied(std::string m) {
    return {StatusCode::kPermissionDenied, std::move(m)};
  }
  static Status ResourceExhausted(std::string m) {
    return {StatusCode::kResourceExhausted, std::move(m)};
  }
  static Status Unavailable(std::string m) { return {StatusCode::kUnavailable, std::move(m)}; }
  static Status DeadlineExceeded(std::string m) {
    return {StatusCode::kDeadlineExceeded, std::move(m)};
  }
  static Status DataLoss(std::string m) { return {StatusCode::kDataLoss, std::move(m)}; }
  static Status OutOfRange(std::string m) { return {StatusCode::kOutOfRange, std::move(m)}; }
  static Status Unimplemented(std::string m) { return {StatusCode::kUnimplemented, std::move(m)}; }
  static Status Internal(std::string m) { return {StatusCode::kInternal, std::move(m)}; }

  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }

  bool IsNotFound() const { return code_ == StatusCode::kNotFound; }
  bool IsInvalidArgument() const { return code_ == StatusCode::kInvalidArgument; }
  bool IsAborted() const { return code_ == StatusCode::kAborted; }
  // Worth retrying after a backoff: throttling, transient unavailability, timeouts.
  bool IsRetryable() const {
    return code_ == StatusCode::kUnavailable || code_ == StatusCode::kResourceExhausted ||
           code_ == StatusCode::kDeadlineExceeded;
  }

  // "NotFound: no such object demo/x" (or "OK").
  std::string ToString() const;
  // Same code, message prefixed with "context: " (the retry hint is kept).
  Status WithContext(std::string_view context) const;

  // A server's hint of how long to wait before retrying (HTTP Retry-After), in ms; 0: none.
  // Retry loops wait at least this long; it is not part of equality.
  int64_t retry_after_ms() const { return retry_after_ms_; }
  Status WithRetryAfterMs(int64_t ms) const {
    Status s = *this;
    s.retry_after_ms_ = ms < 0 ? 0 : ms;
    return s;
  }

  // The answer meant "slow down" (HTTP 429, 503, S3 SlowDown, a chaos throttle), not "cannot
  // serve": retry loops allow throttling more attempts than other failures. Kept by
  // WithContext; not part of equality.
  bool throttled() const { return throttled_; }
  Status AsThrottled() const {
    Status s = *this;
    s.throttled_ = !ok();
    return s;
  }

  bool operator==(const Status& o) const { return code_ == o.code_ && message_ == o.message_; }

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
  int64_t retry_after_ms_ = 0;
  bool throttled_ = false;
};

// A value or the Status saying why there is none. Constructing from an OK Status is a bug and
// becomes an Internal error.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : value_(std::move(value)) {}  // NOLINT: implicit by design
  Result(Status status) : status_(std::move(status)) {  // NOLINT
    if (status_.ok()) status_ = Status::Internal("Result constructed from OK status without value");
  }

  bool ok() const { return value_.has_value(); }
  const Status& status() const { return status_; }
  T& value() & { return *value_; }
  const T& value() const& { return *value_; }
  // By value, so `for (auto& x : F().value())` does not dangle.
  T value() && { return std::move(*value_); }
  T* operator->() { return &*value_; }
  const T* operator->() const { return &*value_; }
  T& operator*() & { return *value_; }
  const T& operator*() const& { return *value_; }
  T value_or(T other) const { return ok() ? *value_ : std::move(other); }

 private:
  std::optional<T> value_;
  Status status_;
};

}  // namespace dim

#define DIM_CONCAT_INNER(a, b) a##b
#define DIM_CONCAT(a, b) DIM_CONCAT_INNER(a, b)

// Returns the Status from the enclosing function when `expr` is not OK.
#define DIM_RETURN_IF_ERROR(expr)             \
  do {                                        \
    ::dim::Status _dim_st = (expr);           \
    if (!_dim_st.ok()) return _dim_st;        \
  } while (0)

// `DIM_ASSIGN_OR_RETURN(auto x, MakeX());` declares x from a Result or returns its Status.
#define DIM_ASSIGN_OR_RETURN(lhs, expr) \
  DIM_ASSIGN_OR_RETURN_IMPL(DIM_CONCAT(_dim_res_, __LINE__), lhs, expr)
#define DIM_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                              \
  if (!tmp.ok()) return tmp.status();             \
  lhs = std::move(tmp).value()
