#include "gateway/s3_conditions.h"

#include "gateway/http_date.h"

namespace dim {

Preconditions ParsePreconditions(const HeaderList& headers, std::string_view prefix) {
  Preconditions p;
  auto get = [&](std::string_view suffix) {
    return FindHeader(headers, std::string(prefix) + std::string(suffix));
  };
  if (auto* v = get("match")) p.if_match = *v;
  if (auto* v = get("none-match")) p.if_none_match = *v;
  if (auto* v = get("modified-since")) {
    if (auto t = ParseHttpDate(*v); t.ok()) p.if_modified_since = *t;
  }
  if (auto* v = get("unmodified-since")) {
    if (auto t = ParseHttpDate(*v); t.ok()) p.if_unmodified_since = *t;
  }
  return p;
}

bool EtagListMatches(std::string_view list, std::string_view etag, bool exists) {
  while (!list.empty()) {
    size_t comma = list.find(',');
    std::string_view item = list.substr(0, comma);
    list = comma == std::string_view::npos ? std::string_view() : list.substr(comma + 1);
    while (!item.empty() && (item.front() == ' ' || item.front() == '\t')) item.remove_prefix(1);
    while (!item.empty() && (item.back() == ' ' || item.back() == '\t')) item.remove_suffix(1);
    if (item == "*") {
      if (exists) return true;
      continue;
    }
    if (item.substr(0, 2) == "W/") item.remove_prefix(2);  // S3's ETags are strong; compare anyway
    if (item.size() >= 2 && item.front() == '"' && item.back() == '"') {
      item = item.substr(1, item.size() - 2);
    }
    if (exists && !item.empty() && item == etag) return true;
  }
  return false;
}

ConditionOutcome EvaluatePreconditions(const Preconditions& p, bool exists, std::string_view etag,
                                       int64_t modified_ms, bool read) {
  const int64_t modified_s = modified_ms / 1000;
  if (p.if_match) {
    if (!EtagListMatches(*p.if_match, etag, exists)) return ConditionOutcome::kPreconditionFailed;
  } else if (p.if_unmodified_since && exists && modified_s > *p.if_unmodified_since) {
    return ConditionOutcome::kPreconditionFailed;
  }
  if (p.if_none_match) {
    if (EtagListMatches(*p.if_none_match, etag, exists)) {
      return read ? ConditionOutcome::kNotModified : ConditionOutcome::kPreconditionFailed;
    }
  } else if (read && p.if_modified_since && exists && modified_s <= *p.if_modified_since) {
    return ConditionOutcome::kNotModified;
  }
  return ConditionOutcome::kProceed;
}

}  // namespace dim
