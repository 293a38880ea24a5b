// Reads over HTTP, shared by the cloud backends (S3/GCS, Azure): which Range header to send,
// how to turn the server's answer into exactly the bytes asked for — including the answers some
// servers give instead of 416 (an empty 206, or a 200 that ignores the range) — the whole ranged
// GET around the backend's own request, and the ObjectInfo a HEAD answer gives.
#pragma once

#include <functional>
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

// A backend's ranged GET. `open(header)` sends the GET (with `header` as the range value when
// it is not empty); `head()` gives the object's size for ranges HTTP cannot say (and for a 416
// at offset 0, which S3 gives for any range of an empty object); `error(response)` maps any
// other answer. NotFound (missing blob) comes back as "WHAT: no such blob".
struct RangedGetCalls {
  std::function<Result<HttpClient::Streamed>(const std::string& range_header)> open;
  std::function<Result<std::optional<ObjectInfo>>()> head;
  std::function<Status(const HttpResponse&)> error;
};
Result<std::unique_ptr<ByteSource>> RangedGet(const std::optional<ByteRange>& range,
                                              const std::string& what, const RangedGetCalls& calls);

// A backend's answer to a GET of the whole blob as GetWithInfo's result: a 200's stream with the
// ObjectInfo of its headers (the backend fills in the etag); NotFound as "WHAT: no such blob";
// any other answer mapped by `error`.
Result<BlobReader> WholeBlobFromAnswer(HttpClient::Streamed answer, const std::string& blob,
                                       const std::string& what,
                                       const std::function<Status(const HttpResponse&)>& error);

// name, size (Content-Length) and mtime (Last-Modified) of a 200 answer to HEAD; the backend
// fills in the etag.
ObjectInfo ObjectInfoFromHead(const HttpResponse& head, const std::string& blob);

}  // namespace dim
