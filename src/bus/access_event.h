// AccessEvent: one request against an object, as published by the gateway (and by the demo's
// traffic generator and /simulate). The unit the consumer counts.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace dim {

enum class AccessOp : uint8_t { kGet = 0, kPut = 1, kHead = 2, kDelete = 3, kCopy = 4, kList = 5 };

std::string_view AccessOpName(AccessOp op);
// Accepts our names ("get", "put", ...) and the seed's ("read", "write").
std::optional<AccessOp> ParseAccessOp(std::string_view s);
// Reads count toward heat; writes are counted separately.
inline bool IsRead(AccessOp op) { return op == AccessOp::kGet || op == AccessOp::kHead; }
inline bool IsWrite(AccessOp op) { return op == AccessOp::kPut || op == AccessOp::kCopy; }

struct AccessEvent {
  std::string id;   // unique per request (e.g. the S3 request id); may be empty
  std::string key;  // "bucket/key"
  int64_t ts_ms = 0;
  AccessOp op = AccessOp::kGet;
  int64_t bytes = 0;  // bytes transferred by the request
  int64_t size = 0;   // size of the object, when known
  int32_t status = 200;  // HTTP status of the request
};

}  // namespace dim
