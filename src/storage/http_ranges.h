// Ranged reads over HTTP, shared by the cloud backends (S3/GCS, Azure): which Range header to
// send, and how to turn the server's answer into exactly the bytes asked for — including the
// answers some servers give instead of 416 (an empty 206, or a 200 that ignores the range).
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "storage/http_client.h"
#include "storage/object_store.h"

namespace dim {

struct HttpRangePlan {
  std::optional<ByteRange> range;  // what to ask for; nullopt: the whole object, no header
  std::string header;              // "bytes=A-B" or "bytes=A-" when range is set
  bool from_size = false;          // HTTP cannot say it (length 0, offset < 0): use the size
};
HttpRangePlan PlanRange(const std::optional<ByteRange>& range);

// The answer to `range` from the object's size alone: an empty stream, or OutOfRange when the
// range starts past the end (used for ranges HTTP cannot express, and for a 416 at offset 0).
Result<std::unique_ptr<ByteSource>> RangeFromSize(int64_t size, const ByteRange& range,
                                                  const std::string& what);

// A 200/206 answer to a GET planned by PlanRange as the stream the caller asked for.
Result<std::unique_ptr<ByteSource>> RangedBody(HttpClient::Streamed answer,
                                               const HttpRangePlan& plan, const std::string& what);

}  // namespace dim
