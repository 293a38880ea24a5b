#include "gateway/s3_gateway.h"

#include <httplib.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cctype>
#include <random>
#include <set>

#include "core/checksum.h"
#include "gateway/aws_chunked_decoder.h"
#include "gateway/body_pipe.h"
#include "gateway/http_date.h"
#include "gateway/http_server_defaults.h"
#include "gateway/s3_request_bodies.h"

namespace dim {
namespace {

constexpr size_t kPumpChunk = 256 << 10;
constexpr int64_t kInlineBody = 64 << 10;  // GET bodies up to this are sent from one string

// Per-request state that outlives the handler: httplib writes a streamed body and calls the
// logger on the same worker thread after the handler returns, so it lives in a thread_local,
// reset when a request's headers have been read.
struct RequestContext {
  bool active = false;   // this request's headers were read (pre-routing ran)
  bool handled = false;  // our handler produced the response
  int64_t start_us = 0;
  std::string request_id;
  std::string op = "Unknown";
  std::vector<AccessEvent> events;  // published when the response is done
  int streamed_event = -1;          // index of the event whose bytes are the streamed body
  int64_t bytes_in = 0, bytes_out = 0;
  bool had_content_length = false;
};
thread_local RequestContext tl_ctx;

// 16 hex digits: 32 random bits per thread, then a per-thread counter.
std::string NextRequestId() {
  thread_local const uint64_t prefix = std::mt19937_64{std::random_device{}()}() & 0xFFFFFFFFu;
  thread_local uint32_t counter = 0;
  const uint64_t v = (prefix << 32) | ++counter;
  static const char* kHex = "0123456789ABCDEF";
  std::string out(16, '0');
  for (int i = 0; i < 16; ++i) out[static_cast<size_t>(15 - i)] = kHex[(v >> (4 * i)) & 15];
  return out;
}

// The Date header, formatted once per second per thread.
const std::string& DateHeader(int64_t now_ms) {
  thread_local int64_t second = -1;
  thread_local std::string value;
  if (now_ms / 1000 != second) {
    second = now_ms / 1000;
    value = FormatHttpDate(now_ms);
  }
  return value;
}

// Headers httplib adds to every request itself.
bool IsPseudoHeader(const std::string& name) {
  return name == "REMOTE_ADDR" || name == "REMOTE_PORT" || name == "LOCAL_ADDR" ||
         name == "LOCAL_PORT";
}

std::string Lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

bool Has(const sigv4::Pairs& q, std::string_view name) { return FindQuery(q, name) != nullptr; }

std::string QueryOr(const sigv4::Pairs& q, std::string_view name, std::string def = {}) {
  const std::string* v = FindQuery(q, name);
  return v ? *v : def;
}

S3Result<int> IntQuery(const sigv4::Pairs& q, std::string_view name, int def, int lo, int hi) {
  const std::string* v = FindQuery(q, name);
  if (!v) return def;
  auto n = ParseByteCount(*v);
  if (!n || *n < lo) {
    return S3Error(S3Code::kInvalidArgument,
                   std::string(name) + " must be an integer >= " + std::to_string(lo));
  }
  return static_cast<int>(std::min<int64_t>(*n, hi));
}

S3Result<bool> UrlEncodingQuery(const sigv4::Pairs& q) {
  const std::string* v = FindQuery(q, "encoding-type");
  if (!v) return false;
  if (*v != "url")
    return S3Error(S3Code::kInvalidArgument, "Invalid Encoding Method specified in Request");
  return true;
}

// Sub-resources of buckets and objects this gateway does not implement.
bool UnsupportedSubresource(const sigv4::Pairs& q, std::string* which) {
  static const char* kNames[] = {"policy",
                                 "cors",
                                 "lifecycle",
                                 "tagging",
                                 "website",
                                 "encryption",
                                 "logging",
                                 "notification",
                                 "replication",
                                 "object-lock",
                                 "ownershipControls",
                                 "publicAccessBlock",
                                 "requestPayment",
                                 "accelerate",
                                 "analytics",
                                 "inventory",
                                 "metrics",
                                 "intelligent-tiering",
                                 "retention",
                                 "legal-hold",
                                 "restore",
                                 "select",
                                 "torrent",
                                 "attributes",
                                 "versions",
                                 "policyStatus",
                                 "acl"};
  for (const char* n : kNames) {
    if (Has(q, n)) {
      *which = n;
      return true;
    }
  }
  return false;
}

// "bucket/key" or "/bucket/key" (percent-encoded), with an optional "?versionId=...".
S3Result<ObjectKey> ParseCopySource(const std::string& header) {
  std::string_view v = header;
  size_t q = v.find('?');
  if (q != std::string_view::npos) {
    std::string_view rest = v.substr(q + 1);
    if (rest != "versionId=null") {
      return S3Error(S3Code::kInvalidArgument, "this gateway does not keep object versions");
    }
    v = v.substr(0, q);
  }
  auto decoded = sigv4::UriDecode(v);
  if (!decoded.ok()) return S3Error(S3Code::kInvalidArgument, "Invalid copy source encoding");
  std::string s = std::move(decoded).value();
  if (!s.empty() && s.front() == '/') s.erase(0, 1);
  size_t slash = s.find('/');
  if (slash == std::string::npos || slash == 0 || slash + 1 == s.size()) {
    return S3Error(S3Code::kInvalidArgument,
                   "Copy Source must mention the source bucket and key: "
                   "sourcebucket/sourcekey");
  }
  return ObjectKey{s.substr(0, slash), s.substr(slash + 1)};
}

AccessEvent MakeEvent(const ObjectKey& key, AccessOp op, int64_t bytes, int64_t size) {
  AccessEvent e;
  e.key = key.Full();
  e.op = op;
  e.bytes = bytes;
  e.size = size;
  return e;
}

}  // namespace

struct S3Gateway::Exchange {
  const httplib::Request& http;
  httplib::Response& res;
  const httplib::ContentReader* reader;  // null: the request has no body
  RequestContext& ctx;
  RequestTarget target;
  S3Address addr;
  HeaderList headers;
  AuthResult auth;
  int64_t wire_length = -1;  // Content-Length; -1 when chunked transfer coding is used
  bool reader_used = false;  // the body reader was called (it cannot be called twice)
  bool body_read = false;    // ...and it read the whole body
  bool close_after = false;  // the connection must close after the response

  ObjectKey Key() const { return {addr.bucket, addr.key}; }
  const std::string* Header(std::string_view name) const { return FindHeader(headers, name); }
  std::string HeaderOr(std::string_view name, std::string def = {}) const {
    const std::string* v = Header(name);
    return v ? *v : def;
  }
  bool chunked() const {
    return auth.payload == PayloadMode::kChunkedSigned ||
           auth.payload == PayloadMode::kChunkedUnsignedTrailer;
  }
};

S3Gateway::S3Gateway(S3Service& service, const S3Authenticator& auth, EventBus& bus,
                     MetricsRegistry& metrics, const Clock& clock, S3GatewayOptions options)
    : service_(service),
      auth_(auth),
      bus_(bus),
      metrics_(metrics),
      clock_(clock),
      options_(std::move(options)) {
  owner_.id = Sha256::Hex("dim-owner:" + options_.access_key);
  owner_.display_name = "dim";
  requests_ =
      &metrics_.AddCounter("dim_gateway_requests_total",
                           "S3 gateway requests by method and HTTP status", {"method", "code"});
  latency_ =
      &metrics_.AddHistogram("dim_gateway_request_seconds",
                             "S3 gateway request latency (to the last byte) by operation", {"op"});
  bytes_ = &metrics_.AddCounter("dim_gateway_bytes_total",
                                "S3 gateway body bytes by direction (in, out)", {"direction"});
  events_published_ = &metrics_
                           .AddCounter("dim_gateway_events_published_total",
                                       "Access events the gateway published to the bus")
                           .Get();
  events_dropped_ = &metrics_
                         .AddCounter("dim_gateway_events_dropped_total",
                                     "Access events the bus refused because it was full")
                         .Get();
}

S3Gateway::~S3Gateway() { Stop(); }

Status S3Gateway::Start(const std::string& host, int port) {
  server_ = std::make_unique<httplib::Server>();
  Install();
  int threads = std::max(1, options_.threads);
  server_->new_task_queue = [threads] {
    return new httplib::ThreadPool(static_cast<size_t>(threads));
  };
  if (port == 0) {
    port_ = server_->bind_to_any_port(host);
  } else {
    port_ = server_->bind_to_port(host, port) ? port : -1;
  }
  if (port_ <= 0) {
    port_ = 0;
    return Status::Unavailable("S3 gateway cannot listen on " + host + ":" + std::to_string(port));
  }
  return ListenInBackground(*server_, &thread_, "S3 gateway");
}

void S3Gateway::Stop() {
  if (server_) server_->stop();
  if (thread_.joinable()) thread_.join();
}

void S3Gateway::Install() {
  httplib::Server& s = *server_;
  ApplyServerDefaults(s, [](const httplib::Request& req) {
    RequestContext& c = tl_ctx;
    c = RequestContext{};
    c.active = true;
    c.start_us = MonotonicMicros();
    c.request_id = NextRequestId();
    c.had_content_length = req.has_header("Content-Length");
    // S3's Range rules are not httplib's: the gateway reads the header itself.
    const_cast<httplib::Request&>(req).ranges.clear();
  });
  s.set_read_timeout(30);
  s.set_write_timeout(30);
  const std::string any = ".*";
  auto plain = [this](const httplib::Request& req, httplib::Response& res) {
    Serve(req, res, nullptr);
  };
  auto with_body = [this](const httplib::Request& req, httplib::Response& res,
                          const httplib::ContentReader& reader) { Serve(req, res, &reader); };
  s.Get(any, plain);  // also HEAD
  s.Put(any, plain);
  s.Put(any, with_body);
  s.Post(any, plain);
  s.Post(any, with_body);
  s.Delete(any, plain);
  s.Delete(any, with_body);
  s.Options(any, plain);
  s.Patch(any, plain);
  s.Patch(any, with_body);
  // Answers in S3's words for what httplib refuses before routing (malformed request line,
  // a header line over 8 KiB, a URI over 8 KiB, a Range it cannot parse).
  httplib::Server::HandlerWithResponse on_error = [](const httplib::Request& req,
                                                     httplib::Response& res) {
    RequestContext& c = tl_ctx;
    if (c.active && c.handled) return httplib::Server::HandlerResponse::Unhandled;
    S3Error e;
    switch (res.status) {
      case 400:
        e = req.version.empty() || req.method.empty()
                ? S3Error(S3Code::kInvalidRequest, "The request line is malformed.")
                : S3Error(
                      S3Code::kRequestHeaderSectionTooLarge,
                      "A request header line exceeds 8 KiB or the header section is malformed.");
        break;
      case 413:
        e = S3Error(S3Code::kEntityTooLarge);
        break;
      case 414:
        e = S3Error(S3Code::kInvalidURI, "The request URI exceeds 8 KiB.");
        break;
      case 416:
        e = S3Error(S3Code::kInvalidRange);
        break;
      default:
        e = S3Error(S3Code::kInternalError);
        break;
    }
    const_cast<httplib::Request&>(req).ranges.clear();
    const_cast<httplib::Request&>(req).headers.erase("Accept-Encoding");
    std::string id = c.active ? c.request_id : NextRequestId();
    res.set_header("x-amz-request-id", id);
    res.set_content(RenderError(e, "", id), "application/xml");
    return httplib::Server::HandlerResponse::Handled;
  };
  s.set_error_handler(on_error);
  s.set_logger(
      [this](const httplib::Request& req, const httplib::Response& res) { Finish(req, res); });
}

// ---- Per request
// ---------------------------------------------------------------------------------

void S3Gateway::Serve(const httplib::Request& req, httplib::Response& res,
                      const httplib::ContentReader* reader) {
  RequestContext& ctx = tl_ctx;
  ctx.handled = true;
  Exchange x{req, res, reader, ctx, {}, {}, {}, {}};
  try {
    res.set_header("x-amz-request-id", ctx.request_id);
    res.set_header("x-amz-id-2", ctx.request_id);
    res.set_header("Server", "dim");
    res.set_header("Date", DateHeader(clock_.NowMs()));
    size_t header_bytes = 0;
    for (const auto& [k, v] : req.headers) {
      if (IsPseudoHeader(k)) continue;
      header_bytes += k.size() + v.size() + 4;
      x.headers.emplace_back(Lower(k), v);
    }
    // httplib would gzip text and XML bodies for clients that accept it; S3 never re-encodes an
    // object (its ETag and checksums are of the stored bytes), so it must not see the header.
    const_cast<httplib::Request&>(req).headers.erase("Accept-Encoding");
    if (const std::string* cl = x.Header("content-length")) {
      auto n = ParseByteCount(*cl);
      x.wire_length = n ? *n : -1;
    }
    if (x.Header("transfer-encoding")) x.wire_length = -1;
    if (header_bytes > kMaxHeaderSectionBytes) {
      SendError(x, S3Error(S3Code::kRequestHeaderSectionTooLarge,
                           "Your request header section is " + std::to_string(header_bytes) +
                               " bytes; the limit is 8192."));
    } else if (auto target = ParseRequestTarget(req.target); !target.ok()) {
      SendError(x, target.error());
    } else {
      x.target = std::move(target).value();
      x.addr = SplitPath(x.target.path);
      AuthRequest ar{req.method, x.target.path, &x.target.query, &x.headers};
      auto auth = auth_.Authenticate(ar);
      if (!auth.ok()) {
        SendError(x, auth.error());
      } else {
        x.auth = std::move(auth).value();
        Dispatch(x);
      }
    }
  } catch (const std::exception& e) {
    spdlog::error("S3 {} {}: {}", req.method, req.path, e.what());
    SendError(x, S3Error(S3Code::kInternalError));
  }
  SettleBody(x);
}

void S3Gateway::Dispatch(Exchange& x) {
  if (x.addr.bucket.empty()) return ServiceLevel(x);
  if (x.addr.key.empty()) return BucketLevel(x);
  return ObjectLevel(x);
}

void S3Gateway::ServiceLevel(Exchange& x) {
  x.ctx.op = "ListBuckets";
  if (x.http.method != "GET") return SendError(x, S3Error(S3Code::kMethodNotAllowed));
  auto b = service_.ListBuckets();
  if (!b.ok()) return SendError(x, b.error());
  SendXml(x, 200, RenderListBuckets(*b, owner_));
}

void S3Gateway::BucketLevel(Exchange& x) {
  const std::string& m = x.http.method;
  const auto& q = x.target.query;
  const std::string& bucket = x.addr.bucket;
  std::string sub;
  if (m == "GET") {
    if (Has(q, "location")) {
      x.ctx.op = "GetBucketLocation";
      auto b = service_.HeadBucket(bucket);
      if (!b.ok()) return SendError(x, b.error());
      return SendXml(x, 200, RenderLocation(options_.region));
    }
    if (Has(q, "versioning")) {
      x.ctx.op = "GetBucketVersioning";
      auto b = service_.HeadBucket(bucket);
      if (!b.ok()) return SendError(x, b.error());
      return SendXml(x, 200, RenderVersioning());
    }
    if (Has(q, "acl")) {
      x.ctx.op = "GetBucketAcl";
      auto b = service_.HeadBucket(bucket);
      if (!b.ok()) return SendError(x, b.error());
      return SendXml(x, 200, RenderAcl(owner_));
    }
    if (Has(q, "uploads")) {
      x.ctx.op = "ListMultipartUploads";
      S3Service::UploadsInput in;
      in.bucket = bucket;
      in.prefix = QueryOr(q, "prefix");
      in.delimiter = QueryOr(q, "delimiter");
      in.key_marker = QueryOr(q, "key-marker");
      in.upload_id_marker = QueryOr(q, "upload-id-marker");
      auto max = IntQuery(q, "max-uploads", 1000, 1, 1000);
      auto url = UrlEncodingQuery(q);
      if (!max.ok()) return SendError(x, max.error());
      if (!url.ok()) return SendError(x, url.error());
      in.max_uploads = *max;
      auto out = service_.ListMultipartUploads(in);
      if (!out.ok()) return SendError(x, out.error());
      UploadsRequestEcho echo{bucket,        in.prefix,           in.delimiter,
                              in.key_marker, in.upload_id_marker, in.max_uploads,
                              *url};
      return SendXml(x, 200, RenderListUploads(echo, *out, owner_));
    }
    if (UnsupportedSubresource(q, &sub)) {
      x.ctx.op = "Unsupported";
      return SendError(
          x, S3Error(S3Code::kNotImplemented, "?" + sub + " is not implemented by this gateway"));
    }
    if (const std::string* lt = FindQuery(q, "list-type")) {
      if (*lt != "2") return SendError(x, S3Error(S3Code::kInvalidArgument, "list-type must be 2"));
      return ListObjects(x, true);
    }
    return ListObjects(x, false);
  }
  if (m == "HEAD") {
    x.ctx.op = "HeadBucket";
    auto b = service_.HeadBucket(bucket);
    if (!b.ok()) return SendError(x, b.error());
    x.res.set_header("x-amz-bucket-region", options_.region);
    return SendNoContent(x, 200);
  }
  if (m == "PUT") {
    x.ctx.op = "CreateBucket";
    if (UnsupportedSubresource(q, &sub) || Has(q, "versioning")) {
      return SendError(
          x, S3Error(S3Code::kNotImplemented, "PUT ?" + (sub.empty() ? "versioning" : sub) +
                                                  " is not implemented by this gateway"));
    }
    auto body = ReadSmallBody(x, 64 << 10);
    if (!body.ok()) return SendError(x, body.error());
    auto loc = ParseCreateBucketConfiguration(*body);
    if (!loc.ok()) return SendError(x, loc.error());
    auto r = service_.CreateBucket(bucket);
    if (!r.ok()) return SendError(x, r.error());
    x.res.set_header("Location", "/" + bucket);
    return SendNoContent(x, 200);
  }
  if (m == "DELETE") {
    x.ctx.op = "DeleteBucket";
    if (UnsupportedSubresource(q, &sub)) {
      return SendError(x, S3Error(S3Code::kNotImplemented,
                                  "DELETE ?" + sub + " is not implemented by this gateway"));
    }
    auto r = service_.DeleteBucket(bucket);
    if (!r.ok()) return SendError(x, r.error());
    return SendNoContent(x, 204);
  }
  if (m == "POST" && Has(q, "delete")) {
    x.ctx.op = "DeleteObjects";
    auto body = ReadSmallBody(x, kMaxXmlBodyBytes);
    if (!body.ok()) return SendError(x, body.error());
    auto parsed = ParseDeleteObjects(*body);
    if (!parsed.ok()) return SendError(x, parsed.error());
    auto out = service_.DeleteObjects(bucket, parsed->keys);
    if (!out.ok()) return SendError(x, out.error());
    for (const auto& e : *out) {
      if (!e.error) x.ctx.events.push_back(MakeEvent({bucket, e.key}, AccessOp::kDelete, 0, 0));
    }
    return SendXml(x, 200, RenderDeleteResult(*out, parsed->quiet));
  }
  x.ctx.op = "Unsupported";
  SendError(x, S3Error(S3Code::kMethodNotAllowed));
}

void S3Gateway::ObjectLevel(Exchange& x) {
  const std::string& m = x.http.method;
  const auto& q = x.target.query;
  std::string sub;
  if (m == "GET" || m == "HEAD") {
    if (m == "GET" && Has(q, "uploadId")) {
      x.ctx.op = "ListParts";
      auto marker = IntQuery(q, "part-number-marker", 0, 0, 10000);
      auto max = IntQuery(q, "max-parts", 1000, 1, 1000);
      if (!marker.ok()) return SendError(x, marker.error());
      if (!max.ok()) return SendError(x, max.error());
      auto out = service_.ListParts(x.Key(), QueryOr(q, "uploadId"), *marker, *max);
      if (!out.ok()) return SendError(x, out.error());
      return SendXml(x, 200, RenderListParts(*out, *marker, *max, owner_));
    }
    if (m == "GET" && Has(q, "acl")) {
      x.ctx.op = "GetObjectAcl";
      S3Service::GetInput in;
      in.key = x.Key();
      in.head = true;
      auto r = service_.GetObject(in);
      if (!r.ok()) return SendError(x, r.error());
      return SendXml(x, 200, RenderAcl(owner_));
    }
    if (UnsupportedSubresource(q, &sub)) {
      x.ctx.op = "Unsupported";
      return SendError(
          x, S3Error(S3Code::kNotImplemented, "?" + sub + " is not implemented by this gateway"));
    }
    return GetObject(x, m == "HEAD");
  }
  if (m == "PUT") {
    if (Has(q, "partNumber") || Has(q, "uploadId")) return UploadPart(x);
    if (UnsupportedSubresource(q, &sub)) {
      x.ctx.op = "Unsupported";
      return SendError(x, S3Error(S3Code::kNotImplemented,
                                  "PUT ?" + sub + " is not implemented by this gateway"));
    }
    if (x.Header("x-amz-copy-source")) return CopyObject(x);
    return PutObject(x);
  }
  if (m == "DELETE") {
    if (Has(q, "uploadId")) {
      x.ctx.op = "AbortMultipartUpload";
      auto r = service_.AbortMultipartUpload(x.Key(), QueryOr(q, "uploadId"));
      if (!r.ok()) return SendError(x, r.error());
      return SendNoContent(x, 204);
    }
    if (UnsupportedSubresource(q, &sub)) {
      x.ctx.op = "Unsupported";
      return SendError(x, S3Error(S3Code::kNotImplemented,
                                  "DELETE ?" + sub + " is not implemented by this gateway"));
    }
    x.ctx.op = "DeleteObject";
    auto r = service_.DeleteObject(x.Key());
    x.ctx.events.push_back(MakeEvent(x.Key(), AccessOp::kDelete, 0, 0));
    if (!r.ok()) return SendError(x, r.error());
    return SendNoContent(x, 204);
  }
  if (m == "POST") {
    if (Has(q, "uploads")) {
      x.ctx.op = "CreateMultipartUpload";
      S3Service::PutInput in;
      in.key = x.Key();
      auto content = ContentFieldsFromHeaders(x.headers);
      if (!content.ok()) return SendError(x, content.error());
      in.content = std::move(content).value();
      auto u = service_.CreateMultipartUpload(in);
      if (!u.ok()) return SendError(x, u.error());
      return SendXml(x, 200, RenderInitiateMultipart(*u));
    }
    if (Has(q, "uploadId")) return CompleteUpload(x);
  }
  x.ctx.op = "Unsupported";
  SendError(x, S3Error(S3Code::kMethodNotAllowed));
}

void S3Gateway::PutObject(Exchange& x) {
  x.ctx.op = "PutObject";
  if (!x.ctx.had_content_length && !x.Header("transfer-encoding")) {
    return SendError(x, S3Error(S3Code::kMissingContentLength));
  }
  S3Service::PutInput in;
  in.key = x.Key();
  auto content = ContentFieldsFromHeaders(x.headers);
  if (!content.ok()) return SendError(x, content.error());
  in.content = std::move(content).value();
  in.conditions = ParsePreconditions(x.headers);
  auto expect = ParseBodyExpectations(x.headers);
  if (!expect.ok()) return SendError(x, expect.error());
  WithBody(x, *expect, [&](const RequestBody& body) {
    if (body.expect.size > kMaxSinglePutBytes) {
      return SendError(x, S3Error(S3Code::kEntityTooLarge,
                                  "a single PUT may carry at most 5 GiB; use a multipart upload"));
    }
    auto r = service_.PutObject(in, body);
    if (!r.ok()) {
      x.ctx.events.push_back(MakeEvent(in.key, AccessOp::kPut, 0, 0));
      return SendError(x, r.error());
    }
    x.ctx.events.push_back(MakeEvent(in.key, AccessOp::kPut, r->object.size, r->object.size));
    x.res.set_header("ETag", QuotedEtag(r->object.etag));
    if (!r->checksum_header.empty()) x.res.set_header(r->checksum_header, r->checksum_value);
    SendNoContent(x, 200);
  });
}

void S3Gateway::GetObject(Exchange& x, bool head) {
  x.ctx.op = head ? "HeadObject" : "GetObject";
  const auto& q = x.target.query;
  S3Service::GetInput in;
  in.key = x.Key();
  in.head = head;
  if (const std::string* range = x.Header("range")) in.range = ParseRangeHeader(*range);
  in.conditions = ParsePreconditions(x.headers);
  const std::string part = QueryOr(q, "partNumber");
  if (!part.empty() && part != "1") {
    return SendError(
        x, S3Error(S3Code::kNotImplemented, "partNumber reads are not implemented; use Range"));
  }
  auto r = service_.GetObject(in);
  if (!r.ok()) {
    x.ctx.events.push_back(MakeEvent(in.key, head ? AccessOp::kHead : AccessOp::kGet, 0, 0));
    const S3Error& e = r.error();
    if (e.code == S3Code::kNotModified) {
      for (const auto& [k, v] : e.details) {
        if (k == "ETag") x.res.set_header("ETag", QuotedEtag(v));
        if (k == "Last-Modified-Ms")
          x.res.set_header("Last-Modified", FormatHttpDate(std::stoll(v)));
      }
      x.res.status = 304;
      return;
    }
    if (e.code == S3Code::kInvalidRange) {
      for (const auto& [k, v] : e.details) {
        if (k == "ActualObjectSize") x.res.set_header("Content-Range", "bytes */" + v);
      }
    }
    return SendError(x, e);
  }
  const ObjectRecord& o = r->object;
  if (!part.empty() && o.etag.find('-') != std::string::npos) {
    return SendError(
        x, S3Error(S3Code::kNotImplemented,
                   "partNumber reads of multipart objects are not implemented; use Range"));
  }
  auto& res = x.res;
  auto override_or = [&](const char* param, const std::string& stored) {
    const std::string* v = FindQuery(q, param);
    return v ? *v : stored;
  };
  const std::string content_type = override_or(
      "response-content-type", o.content_type.empty() ? "binary/octet-stream" : o.content_type);
  res.set_header("ETag", QuotedEtag(o.etag));
  res.set_header("Last-Modified", FormatHttpDate(o.modified_ms));
  res.set_header("Accept-Ranges", "bytes");
  res.set_header("x-dim-tier", std::string(TierName(o.tier)));
  if (!r->site.empty()) res.set_header("x-dim-site", r->site);
  for (const auto& [k, v] : o.user_meta) res.set_header("x-amz-meta-" + k, v);
  static const std::pair<const char*, const char*> kOverrides[] = {
      {"Cache-Control", "response-cache-control"},
      {"Content-Disposition", "response-content-disposition"},
      {"Content-Encoding", "response-content-encoding"},
      {"Content-Language", "response-content-language"},
      {"Expires", "response-expires"}};
  for (const auto& [header, param] : kOverrides) {
    auto it = o.headers.find(header);
    std::string v = override_or(param, it == o.headers.end() ? std::string() : it->second);
    if (!v.empty()) res.set_header(header, v);
  }
  if (size_t dash = o.etag.find('-'); dash != std::string::npos) {
    res.set_header("x-amz-mp-parts-count", o.etag.substr(dash + 1));
  } else if (Lower(x.HeaderOr("x-amz-checksum-mode")) == "enabled") {
    std::string raw;
    if (HexDecode(o.sha256, &raw)) res.set_header("x-amz-checksum-sha256", Base64Encode(raw));
  }
  int64_t offset = 0, length = o.size;
  if (r->range) {
    offset = r->range->offset;
    length = r->range->length;
    res.status = 206;
    res.set_header("Content-Range", "bytes " + std::to_string(offset) + "-" +
                                        std::to_string(offset + length - 1) + "/" +
                                        std::to_string(o.size));
  } else {
    res.status = 200;
  }
  x.ctx.events.push_back(MakeEvent(in.key, head ? AccessOp::kHead : AccessOp::kGet, 0, o.size));
  if (head || length == 0) {
    res.set_header("Content-Type", content_type);
    res.set_header("Content-Length", std::to_string(length));
    return;
  }
  x.ctx.streamed_event = static_cast<int>(x.ctx.events.size()) - 1;
  if (length <= kInlineBody) {
    // Small bodies go out in one piece.
    std::string body(static_cast<size_t>(length), '\0');
    size_t got = 0;
    while (got < body.size()) {
      auto n = r->data->Read(body.data() + got, body.size() - got);
      if (!n.ok() || *n == 0) {
        return SendError(x, n.ok() ? S3Error(S3Code::kInternalError, "the replica ended early")
                                   : FromStatus(n.status()));
      }
      got += *n;
    }
    x.ctx.bytes_out += length;
    res.set_content(std::move(body), content_type);
    return;
  }
  struct Stream {
    std::unique_ptr<ByteSource> data;
    std::vector<char> buf;
    std::string key;
  };
  auto st = std::make_shared<Stream>();
  st->data = std::move(r->data);
  st->buf.resize(static_cast<size_t>(std::min<int64_t>(length, kStreamChunk)));
  st->key = in.key.Full();
  res.set_content_provider(
      static_cast<size_t>(length), content_type,
      [st](size_t, size_t left, httplib::DataSink& sink) {
        auto n = st->data->Read(st->buf.data(), std::min(left, st->buf.size()));
        if (!n.ok() || *n == 0) {
          spdlog::warn("streaming {}: {}", st->key,
                       n.ok() ? "the replica ended early" : n.status().ToString());
          return false;  // the client sees a short body and retries
        }
        if (!sink.write(st->buf.data(), *n)) return false;
        tl_ctx.bytes_out += static_cast<int64_t>(*n);
        return true;
      });
}

void S3Gateway::CopyObject(Exchange& x) {
  x.ctx.op = "CopyObject";
  auto src = ParseCopySource(x.HeaderOr("x-amz-copy-source"));
  if (!src.ok()) return SendError(x, src.error());
  S3Service::CopyInput in;
  in.source = *src;
  in.dest = x.Key();
  in.source_conditions = ParsePreconditions(x.headers, "x-amz-copy-source-if-");
  std::string directive = x.HeaderOr("x-amz-metadata-directive", "COPY");
  if (directive != "COPY" && directive != "REPLACE") {
    return SendError(x, S3Error(S3Code::kInvalidArgument, "Unknown metadata directive."));
  }
  in.replace_metadata = directive == "REPLACE";
  if (in.replace_metadata) {
    auto content = ContentFieldsFromHeaders(x.headers);
    if (!content.ok()) return SendError(x, content.error());
    in.content = std::move(content).value();
  }
  auto r = service_.CopyObject(in);
  if (!r.ok()) return SendError(x, r.error());
  x.ctx.events.push_back(MakeEvent(in.source, AccessOp::kGet, r->source.size, r->source.size));
  x.ctx.events.push_back(MakeEvent(in.dest, AccessOp::kCopy, r->object.size, r->object.size));
  SendXml(x, 200, RenderCopyResult("CopyObjectResult", r->object.etag, r->object.modified_ms));
}

void S3Gateway::ListObjects(Exchange& x, bool v2) {
  x.ctx.op = v2 ? "ListObjectsV2" : "ListObjects";
  const auto& q = x.target.query;
  S3Service::ListInput in;
  in.bucket = x.addr.bucket;
  in.prefix = QueryOr(q, "prefix");
  in.delimiter = QueryOr(q, "delimiter");
  auto max = IntQuery(q, "max-keys", 1000, 0, 1000);
  auto url = UrlEncodingQuery(q);
  if (!max.ok()) return SendError(x, max.error());
  if (!url.ok()) return SendError(x, url.error());
  in.max_keys = *max;
  ListRequestEcho echo;
  echo.bucket = in.bucket;
  echo.prefix = in.prefix;
  echo.delimiter = in.delimiter;
  echo.max_keys = in.max_keys;
  echo.url_encode = *url;
  if (v2) {
    echo.fetch_owner = QueryOr(q, "fetch-owner") == "true";
    echo.start_after = QueryOr(q, "start-after");
    echo.continuation_token = QueryOr(q, "continuation-token");
    in.after = echo.start_after;
    if (const std::string* token = FindQuery(q, "continuation-token")) {
      std::string decoded;
      if (token->empty() || !Base64Decode(*token, &decoded)) {
        return SendError(
            x, S3Error(S3Code::kInvalidArgument, "The continuation token provided is incorrect"));
      }
      in.after = decoded;
    }
  } else {
    echo.marker = QueryOr(q, "marker");
    in.after = echo.marker;
  }
  auto out = service_.ListObjects(in);
  if (!out.ok()) return SendError(x, out.error());
  x.ctx.events.push_back(MakeEvent({in.bucket, in.prefix}, AccessOp::kList, 0, 0));
  if (v2) {
    if (out->truncated) echo.next_continuation_token = Base64Encode(out->last);
    return SendXml(x, 200, RenderListObjectsV2(echo, *out, owner_));
  }
  SendXml(x, 200, RenderListObjectsV1(echo, *out, owner_));
}

void S3Gateway::UploadPart(Exchange& x) {
  const auto& q = x.target.query;
  const std::string upload_id = QueryOr(q, "uploadId");
  auto part = IntQuery(q, "partNumber", 0, 0, 1 << 30);
  if (!part.ok()) return SendError(x, part.error());
  if (!Has(q, "partNumber") || upload_id.empty()) {
    return SendError(
        x, S3Error(S3Code::kInvalidRequest, "UploadPart needs both partNumber and uploadId"));
  }
  if (const std::string* copy = x.Header("x-amz-copy-source")) {
    x.ctx.op = "UploadPartCopy";
    auto src = ParseCopySource(*copy);
    if (!src.ok()) return SendError(x, src.error());
    S3Service::PartCopyInput in;
    in.key = x.Key();
    in.upload_id = upload_id;
    in.part_number = *part;
    in.source = *src;
    in.source_conditions = ParsePreconditions(x.headers, "x-amz-copy-source-if-");
    if (const std::string* range = x.Header("x-amz-copy-source-range")) {
      in.source_range_given = true;
      in.source_range = ParseRangeHeader(*range);
    }
    auto r = service_.UploadPartCopy(in);
    if (!r.ok()) return SendError(x, r.error());
    x.ctx.events.push_back(MakeEvent(in.source, AccessOp::kGet, r->size, 0));
    return SendXml(x, 200, RenderCopyResult("CopyPartResult", r->etag, r->uploaded_ms));
  }
  x.ctx.op = "UploadPart";
  auto expect = ParseBodyExpectations(x.headers);
  if (!expect.ok()) return SendError(x, expect.error());
  WithBody(x, *expect, [&](const RequestBody& body) {
    auto r = service_.UploadPart(x.Key(), upload_id, *part, body);
    if (!r.ok()) return SendError(x, r.error());
    x.res.set_header("ETag", QuotedEtag(r->part.etag));
    if (!r->checksum_header.empty()) x.res.set_header(r->checksum_header, r->checksum_value);
    SendNoContent(x, 200);
  });
}

void S3Gateway::CompleteUpload(Exchange& x) {
  x.ctx.op = "CompleteMultipartUpload";
  auto body = ReadSmallBody(x, kMaxXmlBodyBytes);
  if (!body.ok()) return SendError(x, body.error());
  auto parts = ParseCompleteMultipartUpload(*body);
  if (!parts.ok()) return SendError(x, parts.error());
  auto r = service_.CompleteMultipartUpload(x.Key(), QueryOr(x.target.query, "uploadId"), *parts,
                                            ParsePreconditions(x.headers));
  if (!r.ok()) return SendError(x, r.error());
  x.ctx.events.push_back(MakeEvent(x.Key(), AccessOp::kPut, r->size, r->size));
  std::string host = x.HeaderOr("host", "localhost");
  std::string location =
      "http://" + host + "/" + x.addr.bucket + "/" + sigv4::UriEncode(x.addr.key, false);
  SendXml(x, 200, RenderCompleteMultipart(location, *r));
}

// ---- Bodies
// --------------------------------------------------------------------------------------

template <typename Fn>
void S3Gateway::WithBody(Exchange& x, const BodyExpectations& expect_in, Fn&& use) {
  BodyExpectations expect = expect_in;
  const bool chunked = x.chunked();
  if (chunked) {
    const std::string* decoded = x.Header("x-amz-decoded-content-length");
    auto n = decoded ? ParseByteCount(*decoded) : std::nullopt;
    if (!n) {
      return SendError(x, S3Error(S3Code::kMissingContentLength,
                                  "aws-chunked uploads need x-amz-decoded-content-length"));
    }
    expect.size = *n;
  } else {
    expect.size = x.reader ? x.wire_length : 0;
  }
  if (x.auth.payload == PayloadMode::kSha256) expect.payload_sha256 = x.auth.payload_sha256;
  std::optional<AwsChunkedDecoder::Signing> signing = x.auth.chunk_signing;
  x.ctx.bytes_in += std::max<int64_t>(expect.size, 0);

  if (!x.reader ||
      (x.wire_length >= 0 && static_cast<size_t>(x.wire_length) <= options_.small_body_bytes)) {
    // Small: read it whole (decoding as it comes), then hand it over from memory.
    std::string data;
    std::optional<S3Error> decode_error;
    AwsChunkedDecoder dec(signing, [&](const char* d, size_t n) {
      data.append(d, n);
      return true;
    });
    if (x.reader) {
      data.reserve(static_cast<size_t>(std::max<int64_t>(expect.size, 0)));
      x.reader_used = true;
      x.body_read = (*x.reader)([&](const char* d, size_t n) {
        if (!chunked) {
          data.append(d, n);
          return true;
        }
        auto r = dec.Feed({d, n});
        if (!r.ok()) decode_error = r.error();
        return r.ok();
      });
      if (!x.body_read && !decode_error) {
        decode_error = S3Error(S3Code::kIncompleteBody, "the request body ended early");
      }
    } else {
      x.body_read = true;
    }
    if (!decode_error && chunked) {
      auto fin = dec.Finish();
      if (!fin.ok()) decode_error = fin.error();
    }
    if (decode_error) return SendError(x, *decode_error);
    StringSource src(std::move(data));
    RequestBody body{&src, expect, chunked ? &dec.trailers() : nullptr};
    use(body);
    return;
  }

  // Large: a helper thread reads the socket into a bounded pipe while the store reads from it.
  BodyPipe pipe(options_.pipe_bytes);
  std::map<std::string, std::string> trailers;
  std::optional<S3Error> decode_error;
  bool complete = false, overflow = false;
  const size_t drain_limit = options_.drain_bytes;
  std::thread pump([&] {
    std::string agg;
    agg.reserve(kPumpChunk);
    bool consumer_gone = false;
    size_t drained = 0;
    auto sink = [&](const char* d, size_t n) {
      if (consumer_gone) {
        drained += n;
        overflow = drained > drain_limit;
        return !overflow;
      }
      agg.append(d, n);
      if (agg.size() >= kPumpChunk) {
        consumer_gone = !pipe.Write(agg);
        agg.clear();
      }
      return true;
    };
    AwsChunkedDecoder dec(signing, sink);
    bool ok = (*x.reader)([&](const char* d, size_t n) {
      if (!chunked) return sink(d, n);
      auto r = dec.Feed({d, n});
      if (!r.ok()) decode_error = r.error();
      return r.ok() && !dec.stopped();
    });
    Status end;
    if (ok && chunked) {
      auto fin = dec.Finish();
      if (!fin.ok()) decode_error = fin.error();
      trailers = dec.trailers();
    }
    if (decode_error) {
      end = Status::DataLoss(decode_error->Message());
    } else if (!ok) {
      if (!consumer_gone)
        decode_error = S3Error(S3Code::kIncompleteBody, "the request body ended early");
      end = Status::DataLoss("the request body ended early (the client went away or timed out)");
    } else if (!consumer_gone && !agg.empty()) {
      pipe.Write(agg);
    }
    complete = ok && !decode_error;
    pipe.CloseWrite(end);
  });
  x.reader_used = true;
  RequestBody body{&pipe, expect, chunked ? &trailers : nullptr};
  use(body);
  pipe.CloseRead();
  pump.join();
  x.body_read = complete && !overflow;
  // A broken body outranks whatever the operation made of its truncated stream.
  if (decode_error) SendError(x, *decode_error);
}

S3Result<std::string> S3Gateway::ReadSmallBody(Exchange& x, size_t limit) {
  if (!x.reader) {
    x.body_read = true;
    return std::string();
  }
  if (x.wire_length > static_cast<int64_t>(limit)) {
    return S3Error(S3Code::kMalformedXML,
                   "the request body is larger than " + std::to_string(limit) + " bytes");
  }
  auto expect = ParseBodyExpectations(x.headers);
  if (!expect.ok()) return expect.error();
  std::optional<S3Result<std::string>> out;
  WithBody(x, *expect, [&](const RequestBody& body) {
    VerifyingSource v(*body.source, body.expect, body.trailers);
    auto all = ReadAll(v, limit + 1);
    if (!all.ok()) {
      out = v.failure() ? *v.failure() : FromStatus(all.status());
    } else if (all->size() > limit) {
      out = S3Error(S3Code::kMalformedXML, "the request body is too large");
    } else {
      out = std::move(all).value();
    }
  });
  if (!out) return S3Error(S3Code::kIncompleteBody, "the request body could not be read");
  return std::move(*out);
}

void S3Gateway::SettleBody(Exchange& x) {
  if (!x.reader || x.body_read) return;
  if (!x.reader_used && x.wire_length >= 0 &&
      static_cast<size_t>(x.wire_length) <= options_.drain_bytes) {
    x.reader_used = true;
    x.body_read = (*x.reader)([](const char*, size_t) { return true; });
    if (x.body_read) return;
  }
  // The rest of the body is still on the connection: answer, then close it. httplib closes a
  // connection when a content provider fails, so the answer goes out through one that reports
  // failure after writing everything.
  auto& res = x.res;
  if (res.body.empty()) return;
  auto body = std::make_shared<std::string>(std::move(res.body));
  res.body.clear();
  std::string type = res.get_header_value("Content-Type");
  res.headers.erase("Content-Type");
  res.set_header("Connection", "close");
  res.set_content_provider(body->size(), type.empty() ? "application/xml" : type,
                           [body](size_t offset, size_t length, httplib::DataSink& sink) {
                             sink.write(body->data() + offset, length);
                             return false;
                           });
}

// ---- Responses
// -----------------------------------------------------------------------------------

void S3Gateway::SendError(Exchange& x, const S3Error& e) {
  auto& res = x.res;
  int status = e.http_status();
  S3Error shown = e;
  if (status >= 500 && e.code != S3Code::kNotImplemented) {
    // Internal details go to the log, not to the client.
    spdlog::warn("S3 {} {} -> {} {}: {} (request {})", x.http.method, x.http.path, status, e.name(),
                 e.message, x.ctx.request_id);
    shown.message.clear();
    shown.details.clear();
  }
  res.status = status;
  res.body.clear();
  res.headers.erase("Content-Type");
  res.headers.erase("ETag");
  if (x.http.method == "HEAD") {
    res.set_header("Content-Length", "0");
    return;
  }
  res.set_content(RenderError(shown, x.http.path, x.ctx.request_id), "application/xml");
}

void S3Gateway::SendXml(Exchange& x, int status, std::string xml) {
  x.res.status = status;
  x.res.set_content(std::move(xml), "application/xml");
}

void S3Gateway::SendNoContent(Exchange& x, int status) {
  x.res.status = status;
  x.res.set_header("Content-Length", "0");
}

void S3Gateway::Finish(const httplib::Request& req, const httplib::Response& res) {
  RequestContext& c = tl_ctx;
  static const std::set<std::string> kMethods = {"GET",    "HEAD",    "PUT",  "POST",
                                                 "DELETE", "OPTIONS", "PATCH"};
  const std::string& method = kMethods.count(req.method) ? req.method : std::string("OTHER");
  requests_->Labels({method, std::to_string(res.status)}).Inc();
  if (!c.active) return;
  c.active = false;
  latency_->Labels({c.op}).Observe(static_cast<double>(MonotonicMicros() - c.start_us) / 1e6);
  if (c.bytes_in > 0 && res.status < 300)
    bytes_->Labels({"in"}).Inc(static_cast<double>(c.bytes_in));
  if (c.bytes_out > 0) bytes_->Labels({"out"}).Inc(static_cast<double>(c.bytes_out));
  const int64_t now = clock_.NowMs();
  for (size_t i = 0; i < c.events.size(); ++i) {
    AccessEvent& e = c.events[i];
    e.id = c.request_id + (i ? "-" + std::to_string(i) : "");
    e.ts_ms = now;
    e.status = res.status;
    if (static_cast<int>(i) == c.streamed_event) e.bytes = c.bytes_out;
    if (bus_.Publish(std::move(e))) {
      events_published_->Inc();
    } else {
      events_dropped_->Inc();
    }
  }
  c.events.clear();
}

}  // namespace dim
