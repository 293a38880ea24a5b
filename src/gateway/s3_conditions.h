// Conditional requests (RFC 9110 §13 as S3 applies them): If-Match, If-None-Match,
// If-Modified-Since and If-Unmodified-Since, and the same four as x-amz-copy-source-if-* for the
// source of a copy. Pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "gateway/s3_request.h"

namespace dim {

struct Preconditions {
  std::optional<std::string> if_match;  // raw list: "\"etag\", \"other\"" or "*"
  std::optional<std::string> if_none_match;
  std::optional<int64_t> if_modified_since;  // Unix seconds
  std::optional<int64_t> if_unmodified_since;
  bool empty() const {
    return !if_match && !if_none_match && !if_modified_since && !if_unmodified_since;
  }
};

// Reads `<prefix>match`, `<prefix>none-match`, `<prefix>modified-since` and
// `<prefix>unmodified-since` ("if-" or "x-amz-copy-source-if-"). A date that does not parse is
// ignored, as RFC 9110 requires.
Preconditions ParsePreconditions(const HeaderList& headers, std::string_view prefix = "if-");

enum class ConditionOutcome { kProceed, kNotModified, kPreconditionFailed };

// Evaluates in RFC 9110's order: If-Match, else If-Unmodified-Since (412); then If-None-Match,
// else If-Modified-Since (304 for GET/HEAD, 412 otherwise; If-Modified-Since applies only to
// reads). `etag` is the object's ETag without quotes; `exists` false means there is no object
// (then If-Match fails and If-None-Match passes).
ConditionOutcome EvaluatePreconditions(const Preconditions& p, bool exists, std::string_view etag,
                                       int64_t modified_ms, bool read);

// Whether an If-Match / If-None-Match list names `etag` ("*" names any existing object).
bool EtagListMatches(std::string_view list, std::string_view etag, bool exists);

}  // namespace dim
