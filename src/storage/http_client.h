// HttpClient: the libcurl plumbing the cloud backends share (S3/GCS and Azure Blob).
// A request body is either a small in-memory string (replayable) or a ByteSource streamed with a
// known length. A response is either buffered (errors, XML, headers) or streamed (Open): the
// transfer pauses while the reader is behind, so at most ~kStreamChunk is held per stream and
// memory never depends on object size. Keep-alive connections, DNS and TLS sessions are shared
// between requests and threads. Transport failures are Unavailable (connection refused or
// reset, DNS), DeadlineExceeded (no progress for idle_timeout_ms) or FailedPrecondition (TLS
// verification), each naming the endpoint and curl's reason. HTTP statuses are not errors here:
// the backend maps them. Thread-safe; a streamed body is used by one thread at a time.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/status.h"
#include "storage/byte_stream.h"

namespace dim {

using HttpHeaders = std::vector<std::pair<std::string, std::string>>;

struct HttpRequest {
  std::string method = "GET";
  std::string url;  // fully encoded
  HttpHeaders headers;
  std::string_view body;              // in-memory body; must outlive the call
  ByteSource* body_stream = nullptr;  // or: exactly body_length bytes read from here
  int64_t body_length = 0;
  // Shown each piece of the in-memory body as curl takes it, with its offset (a transfer that
  // starts over starts again at 0): digests computed while the bytes go out.
  std::function<void(size_t offset, std::string_view bytes)> on_body_sent;
};

struct HttpResponse {
  int status = 0;
  HttpHeaders headers;  // names lower-cased, in arrival order
  std::string body;     // buffered responses only
  // The first header of that (lower-case) name, or "".
  std::string Header(std::string_view lower_name) const;
};

struct HttpClientOptions {
  int64_t connect_timeout_ms = 5000;
  int64_t idle_timeout_ms = 60000;         // below 1 byte/s for this long: DeadlineExceeded
  size_t max_buffered_body = 32ull << 20;  // larger buffered responses fail
  std::string user_agent = "data-in-motion";
};

class HttpClient : public std::enable_shared_from_this<HttpClient> {
 public:
  static Result<std::shared_ptr<HttpClient>> Make(const HttpClientOptions& options);
  ~HttpClient();

  // Sends the request and buffers the whole response.
  Result<HttpResponse> Send(const HttpRequest& request);

  // Sends the request and returns once the response headers are in. A 2xx response comes with
  // `body` to stream from; any other status has its (small) body buffered in response.body.
  struct Streamed {
    HttpResponse response;
    std::unique_ptr<ByteSource> body;
  };
  Result<Streamed> Open(const HttpRequest& request);

  const HttpClientOptions& options() const { return options_; }

  struct Shared;  // the curl share handle and its locks

 private:
  explicit HttpClient(const HttpClientOptions& options);
  HttpClientOptions options_;
  std::unique_ptr<Shared> shared_;
};

// An endpoint URL taken apart: "https://host:8443/base" -> {https, host, 8443, "/base"}.
struct EndpointUrl {
  std::string scheme;     // http | https
  std::string host;       // without brackets for IPv6
  int port = 0;           // 0: the scheme's default
  std::string base_path;  // "" or "/prefix" (no trailing slash)
  // "host" or "host:port" as the Host header carries it (default ports left out).
  std::string HostHeader() const;
  // scheme://host[:port]
  std::string Origin() const;
};
// InvalidArgument naming what is wrong (no scheme, query string, bad port...).
Result<EndpointUrl> ParseEndpointUrl(std::string_view url);

// "http://127.0.0.1:4568" from "http://127.0.0.1:4568/bucket/key?x" (for messages).
std::string UrlOrigin(std::string_view url);
// Content-Range "bytes START-END/TOTAL" (TOTAL may be "*": -1). nullopt when malformed.
struct ContentRange {
  int64_t start = 0, end = 0, total = -1;
};
std::optional<ContentRange> ParseContentRange(std::string_view value);

// Retry-After: delta-seconds or an HTTP date (relative to now_unix_s). 0 when absent/invalid.
int64_t ParseRetryAfterMs(std::string_view value, int64_t now_unix_s);

}  // namespace dim
