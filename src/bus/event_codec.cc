#include "bus/event_codec.h"

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>

#include "core/object_key.h"
#include "core/varint.h"

namespace dim {
namespace {

namespace rr = reject_reason;
using json = nlohmann::json;

DecodeOutcome Fail(std::string_view reason, std::string detail) {
  return {reason, std::move(detail)};
}

bool IsJsonStart(char c) { return c == '{' || c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

DecodeOutcome DecodeBinary(std::string_view in, AccessEvent* out) {
  const size_t total = in.size();
  if (in.size() < 2) return Fail(rr::kTruncated, "binary event shorter than its header");
  in.remove_prefix(1);  // version, checked by the caller
  auto op = static_cast<uint8_t>(in.front());
  in.remove_prefix(1);
  if (op > static_cast<uint8_t>(AccessOp::kList)) {
    return Fail(rr::kBadOp, "unknown op code " + std::to_string(op));
  }
  uint64_t ts, bytes, size, status, key_len, id_len;
  if (!GetVarint(in, &ts) || !GetVarint(in, &bytes) || !GetVarint(in, &size) ||
      !GetVarint(in, &status) || !GetVarint(in, &key_len)) {
    return Fail(rr::kTruncated,
                "binary event ends inside its fixed fields (" + std::to_string(total) + " bytes)");
  }
  if (key_len > kMaxEventKeyBytes) {
    return Fail(rr::kOversizedKey, "key of " + std::to_string(key_len) + " bytes");
  }
  if (key_len > in.size()) return Fail(rr::kTruncated, "binary event ends inside its key");
  std::string_view key = in.substr(0, key_len);
  in.remove_prefix(key_len);
  if (!GetVarint(in, &id_len)) return Fail(rr::kTruncated, "binary event ends before its id");
  if (id_len > kMaxEventIdBytes)
    return Fail(rr::kMalformed, "id of " + std::to_string(id_len) + " bytes");
  if (id_len > in.size()) return Fail(rr::kTruncated, "binary event ends inside its id");
  std::string_view id = in.substr(0, id_len);
  in.remove_prefix(id_len);
  if (!in.empty()) {
    return Fail(rr::kMalformed, std::to_string(in.size()) + " unexpected bytes after the event");
  }
  constexpr uint64_t kMax = static_cast<uint64_t>(INT64_MAX);
  if (ts > kMax) return Fail(rr::kBadTimestamp, "timestamp out of range");
  if (bytes > kMax || size > kMax) return Fail(rr::kMalformed, "byte count out of range");
  if (status > 999) return Fail(rr::kMalformed, "status " + std::to_string(status));
  out->op = static_cast<AccessOp>(op);
  out->ts_ms = static_cast<int64_t>(ts);
  out->bytes = static_cast<int64_t>(bytes);
  out->size = static_cast<int64_t>(size);
  out->status = static_cast<int32_t>(status);
  out->key.assign(key.data(), key.size());
  out->id.assign(id.data(), id.size());
  return {};
}

// An optional non-negative integer member; false if present with another type or range.
bool OptionalCount(const json& j, const char* name, int64_t* v) {
  auto it = j.find(name);
  if (it == j.end() || it->is_null()) return true;
  if (it->is_number_unsigned()) {
    uint64_t u = it->get<uint64_t>();
    if (u > static_cast<uint64_t>(INT64_MAX)) return false;
    *v = static_cast<int64_t>(u);
    return true;
  }
  if (it->is_number_integer()) {
    int64_t x = it->get<int64_t>();
    if (x < 0) return false;
    *v = x;
    return true;
  }
  return false;
}

}  // namespace

void EncodeEventBinary(const AccessEvent& e, std::string& out) {
  out.push_back(static_cast<char>(kEventBinaryVersion));
  out.push_back(static_cast<char>(e.op));
  PutVarint(out, static_cast<uint64_t>(std::max<int64_t>(e.ts_ms, 0)));
  PutVarint(out, static_cast<uint64_t>(std::max<int64_t>(e.bytes, 0)));
  PutVarint(out, static_cast<uint64_t>(std::max<int64_t>(e.size, 0)));
  PutVarint(out, static_cast<uint64_t>(std::max<int32_t>(e.status, 0)));
  PutVarint(out, e.key.size());
  out.append(e.key);
  PutVarint(out, e.id.size());
  out.append(e.id);
}

std::string EncodeEventJson(const AccessEvent& e) {
  json j = {{"key", e.key},     {"ts_ms", e.ts_ms}, {"op", std::string(AccessOpName(e.op))},
            {"bytes", e.bytes}, {"size", e.size},   {"status", e.status}};
  if (!e.id.empty()) j["id"] = e.id;
  // Keys may hold any UTF-8; invalid bytes (refused elsewhere) must not throw here.
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

std::string EncodeEvent(const AccessEvent& e, EventEncoding encoding) {
  if (encoding == EventEncoding::kJson) return EncodeEventJson(e);
  std::string out;
  out.reserve(16 + e.key.size() + e.id.size());
  EncodeEventBinary(e, out);
  return out;
}

DecodeOutcome EventFromJson(const json& j, std::string_view fallback_key, int64_t fallback_ts_ms,
                            AccessEvent* out) {
  if (!j.is_object()) return Fail(rr::kBadJson, "event is not a JSON object");
  AccessEvent e;
  if (auto it = j.find("key"); it != j.end()) {
    if (!it->is_string()) return Fail(rr::kBadKey, "\"key\" is not a string");
    e.key = it->get<std::string>();
  } else {
    e.key.assign(fallback_key.data(), fallback_key.size());
  }
  e.ts_ms = fallback_ts_ms;
  if (auto it = j.find("ts_ms"); it != j.end()) {
    if (!it->is_number_integer()) return Fail(rr::kBadTimestamp, "\"ts_ms\" is not an integer");
    e.ts_ms = it->get<int64_t>();
  } else if (auto ts = j.find("ts"); ts != j.end()) {
    if (!ts->is_number()) return Fail(rr::kBadTimestamp, "\"ts\" is not a number");
    double t = ts->get<double>();
    if (!std::isfinite(t) || t <= 0 || t > 9e15)
      return Fail(rr::kBadTimestamp, "\"ts\" out of range");
    e.ts_ms = t < 1e11 ? static_cast<int64_t>(std::llround(t * 1000)) : static_cast<int64_t>(t);
  }
  std::string op = "get";
  for (const char* name : {"op", "action"}) {
    if (auto it = j.find(name); it != j.end()) {
      if (!it->is_string())
        return Fail(rr::kBadOp, std::string("\"") + name + "\" is not a string");
      op = it->get<std::string>();
      break;
    }
  }
  auto parsed = ParseAccessOp(op);
  if (!parsed) return Fail(rr::kBadOp, "unknown op '" + op.substr(0, 64) + "'");
  e.op = *parsed;
  int64_t status = 200;
  if (!OptionalCount(j, "bytes", &e.bytes) || !OptionalCount(j, "size", &e.size) ||
      !OptionalCount(j, "status", &status) || status > 999) {
    return Fail(rr::kMalformed, "\"bytes\", \"size\" and \"status\" must be non-negative integers");
  }
  e.status = static_cast<int32_t>(status);
  if (auto it = j.find("id"); it != j.end() && !it->is_null()) {
    if (!it->is_string()) return Fail(rr::kMalformed, "\"id\" is not a string");
    e.id = it->get<std::string>();
  }
  std::string detail;
  if (auto r = ValidateEventShape(e, &detail); !r.empty()) return Fail(r, std::move(detail));
  *out = std::move(e);
  return {};
}

DecodeOutcome DecodeEvent(std::string_view value, std::string_view record_key, int64_t record_ts_ms,
                          AccessEvent* out) {
  if (value.empty()) return Fail(rr::kTruncated, "empty record");
  if (IsJsonStart(value.front())) {
    json j = json::parse(value, nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded()) return Fail(rr::kBadJson, "record is not valid JSON");
    return EventFromJson(j, record_key, record_ts_ms, out);
  }
  if (static_cast<uint8_t>(value.front()) != kEventBinaryVersion) {
    return Fail(rr::kUnknownVersion, "unknown event format version " +
                                         std::to_string(static_cast<uint8_t>(value.front())));
  }
  DecodeOutcome d = DecodeBinary(value, out);
  if (!d.ok()) return d;
  std::string detail;
  if (auto r = ValidateEventShape(*out, &detail); !r.empty()) return Fail(r, std::move(detail));
  return {};
}

std::string_view ValidateEventShape(const AccessEvent& e, std::string* detail) {
  auto fail = [&](std::string_view reason, auto&& msg) {
    if (detail) *detail = msg();
    return reason;
  };
  if (e.key.empty()) return fail(rr::kEmptyKey, [] { return std::string("empty key"); });
  if (e.key.size() > kMaxEventKeyBytes) {
    return fail(rr::kOversizedKey,
                [&] { return "key of " + std::to_string(e.key.size()) + " bytes"; });
  }
  std::string_view full(e.key);
  size_t slash = full.find('/');
  if (slash == std::string_view::npos) {
    return fail(rr::kBadKey, [] { return std::string("key is not \"bucket/key\""); });
  }
  if (Status s = ValidateBucketName(full.substr(0, slash)); !s.ok()) {
    return fail(rr::kBadKey, [&] { return s.message(); });
  }
  if (Status s = ValidateObjectKey(full.substr(slash + 1)); !s.ok()) {
    return fail(rr::kBadKey, [&] { return s.message(); });
  }
  if (e.ts_ms <= 0) {
    return fail(rr::kBadTimestamp, [&] { return "timestamp " + std::to_string(e.ts_ms); });
  }
  if (e.id.size() > kMaxEventIdBytes ||
      !std::all_of(e.id.begin(), e.id.end(), [](char c) { return c > 0x20 && c < 0x7F; })) {
    return fail(rr::kMalformed,
                [] { return std::string("id is not up to 256 printable ASCII characters"); });
  }
  if (e.bytes < 0 || e.size < 0) {
    return fail(rr::kMalformed, [] { return std::string("negative byte count"); });
  }
  return {};
}

}  // namespace dim
