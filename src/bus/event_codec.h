// The wire form of an AccessEvent on a durable bus (Kafka): a compact, versioned binary encoding
// that our producers write, and JSON, accepted from producers in other languages (the seed's
// producer sent {"key","ts","action"}). Decoding never throws, never over-reads and names the
// reason of every rejection with a short label (the `reason` of dim_events_rejected_total).
//
// Binary, version 1 (all integers unsigned LEB128 varints unless noted):
//   u8 version (= 1) | u8 op (AccessOp) | ts_ms | bytes | size | status | key_len | key bytes
//   | id_len | id bytes
// Nothing may follow the last field. A first byte of '{' or JSON whitespace selects JSON; any
// other first byte is an unknown version.
// JSON: an object with "key" (string; the record key when absent), "ts" (number: Unix seconds,
// or milliseconds when >= 1e11; the record timestamp when absent) or "ts_ms" (integer),
// "action" or "op" ("read"/"write" or get/put/head/delete/copy/list; default get), and optional
// "bytes", "size", "status" (integers), "id" (string). Unknown members are ignored.
#pragma once

#include <cstdint>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <string_view>

#include "bus/access_event.h"

namespace dim {

// "bucket/key": a bucket name of at most 63 bytes, '/', a key of at most kMaxKeyBytes.
inline constexpr size_t kMaxEventKeyBytes = 63 + 1 + 1024;
inline constexpr size_t kMaxEventIdBytes = 256;
inline constexpr uint8_t kEventBinaryVersion = 1;

enum class EventEncoding { kBinary, kJson };

// Rejection reasons (metric label values). Static strings: a reason view stays valid forever.
namespace reject_reason {
inline constexpr std::string_view kTruncated = "truncated";
inline constexpr std::string_view kUnknownVersion = "unknown_version";
inline constexpr std::string_view kMalformed = "malformed";
inline constexpr std::string_view kBadJson = "bad_json";
inline constexpr std::string_view kEmptyKey = "empty_key";
inline constexpr std::string_view kOversizedKey = "oversized_key";
inline constexpr std::string_view kBadKey = "bad_key";
inline constexpr std::string_view kBadOp = "bad_op";
inline constexpr std::string_view kBadTimestamp = "bad_timestamp";
inline constexpr std::string_view kFutureTimestamp = "future_timestamp";
}  // namespace reject_reason

struct DecodeOutcome {
  std::string_view reason;  // empty: decoded; else one of reject_reason
  std::string detail;       // for logs: what exactly was wrong
  bool ok() const { return reason.empty(); }
};

// Appends the binary encoding of e to out.
void EncodeEventBinary(const AccessEvent& e, std::string& out);
// One JSON object (no trailing newline).
std::string EncodeEventJson(const AccessEvent& e);
std::string EncodeEvent(const AccessEvent& e, EventEncoding encoding);

// Decodes one record value (binary or JSON) into *out (reusing its buffers). record_key and
// record_ts_ms stand in for a JSON event's missing "key" and "ts". On success the event passed
// ValidateEventShape.
DecodeOutcome DecodeEvent(std::string_view value, std::string_view record_key, int64_t record_ts_ms,
                          AccessEvent* out);
// The JSON form, already parsed (also used by the API's POST /events).
DecodeOutcome EventFromJson(const nlohmann::json& j, std::string_view fallback_key,
                            int64_t fallback_ts_ms, AccessEvent* out);

// The checks every event passes whatever carried it: a key that names an object ("bucket/key",
// valid UTF-8, no control characters, at most kMaxEventKeyBytes), a positive timestamp, an
// id of at most kMaxEventIdBytes printable ASCII characters, non-negative byte counts. Empty when
// fine, else a reason.
std::string_view ValidateEventShape(const AccessEvent& e, std::string* detail = nullptr);

}  // namespace dim
