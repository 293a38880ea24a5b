#include "gateway/s3_test_client.h"

#include "core/checksum.h"

namespace dim::testing {

std::string S3Reply::Header(const std::string& name) const {
  auto it = headers.find(name);
  return it == headers.end() ? std::string() : it->second;
}

std::string S3Reply::Xml(const std::string& name) const {
  std::string open = "<" + name + ">", close = "</" + name + ">";
  size_t a = body.find(open);
  if (a == std::string::npos) return "";
  a += open.size();
  size_t b = body.find(close, a);
  return b == std::string::npos ? "" : body.substr(a, b - a);
}

std::string S3Reply::Code() const { return Xml("Code"); }

std::string EncodeTarget(const std::string& path, const sigv4::Pairs& query) {
  std::string t = sigv4::UriEncode(path, /*encode_slash=*/false);
  for (size_t i = 0; i < query.size(); ++i) {
    t += i ? "&" : "?";
    t += sigv4::UriEncode(query[i].first, true);
    t += "=" + sigv4::UriEncode(query[i].second, true);
  }
  return t;
}

S3TestClient::S3TestClient(std::string host, int port, sigv4::Credentials creds, const Clock& clock,
                           std::string region)
    : host_(std::move(host)),
      port_(port),
      creds_(std::move(creds)),
      clock_(clock),
      region_(std::move(region)) {}

namespace {

S3Reply Do(const std::string& host, int port, const std::string& method, const std::string& target,
           const httplib::Headers& headers, const std::string& body) {
  httplib::Client c(host, port);
  c.set_url_encode(false);
  c.set_read_timeout(60);
  c.set_write_timeout(60);
  httplib::Request req;
  req.method = method;
  req.path = target;
  req.headers = headers;
  req.body = body;
  if (!body.empty() || method == "PUT" || method == "POST") {
    req.set_header("Content-Length", std::to_string(body.size()));
  }
  auto r = c.send(req);
  S3Reply out;
  if (!r) return out;
  out.status = r->status;
  out.body = r->body;
  out.headers = r->headers;
  return out;
}

}  // namespace

S3Reply S3TestClient::Send(const S3Call& call) {
  httplib::Headers headers = call.headers;
  if (call.signing != Signing::kNone) {
    sigv4::SignRequest r;
    r.method = call.method;
    r.host = host_header();
    r.path = call.path;
    r.query = call.query;
    for (const auto& [k, v] : call.headers) r.headers.emplace_back(k, v);
    r.payload_hash = call.signing == Signing::kSha256 ? Sha256::Hex(call.body)
                                                      : std::string(sigv4::kUnsignedPayload);
    r.region = region_;
    r.unix_seconds = clock_.NowMs() / 1000 + call.time_offset_s;
    sigv4::Credentials creds = creds_;
    if (!call.secret.empty()) creds.secret_key = call.secret;
    for (auto& [k, v] : sigv4::SignHeaders(r, creds)) headers.emplace(k, v);
  }
  for (const auto& kv : call.unsigned_headers) headers.insert(kv);
  return Do(host_, port_, call.method, EncodeTarget(call.path, call.query), headers, call.body);
}

S3Reply S3TestClient::SendRaw(const std::string& method, const std::string& target,
                              const httplib::Headers& headers, const std::string& body) {
  return Do(host_, port_, method, target, headers, body);
}

std::string S3TestClient::Presign(const std::string& method, const std::string& path,
                                  int64_t expires_s, int64_t time_offset_s) {
  sigv4::SignRequest r;
  r.method = method;
  r.host = host_header();
  r.path = path;
  r.region = region_;
  r.unix_seconds = clock_.NowMs() / 1000 + time_offset_s;
  sigv4::Pairs q = sigv4::PresignQuery(r, creds_, expires_s);
  return EncodeTarget(path, q);
}

std::pair<httplib::Headers, std::string> S3TestClient::ChunkedUpload(const std::string& path,
                                                                     const std::string& payload,
                                                                     size_t chunk,
                                                                     int corrupt_chunk) {
  sigv4::SignRequest r;
  r.method = "PUT";
  r.host = host_header();
  r.path = path;
  r.region = region_;
  r.unix_seconds = clock_.NowMs() / 1000;
  r.payload_hash = std::string(sigv4::kStreamingPayload);
  // Frame first to know the encoded length (signatures have a fixed size).
  std::vector<std::string> pieces;
  for (size_t off = 0; off < payload.size(); off += chunk)
    pieces.push_back(payload.substr(off, chunk));
  pieces.emplace_back();  // the final, empty chunk
  size_t encoded = 0;
  for (const auto& p : pieces) {
    char hex[32];
    std::snprintf(hex, sizeof hex, "%zx", p.size());
    encoded += std::string(hex).size() + 17 + 64 + 2 + p.size() + 2;
  }
  r.headers = {{"content-encoding", "aws-chunked"},
               {"x-amz-decoded-content-length", std::to_string(payload.size())},
               {"content-length", std::to_string(encoded)}};
  sigv4::Pairs signed_headers = sigv4::SignHeaders(r, creds_);
  std::string seed;
  for (const auto& [k, v] : signed_headers) {
    if (k == "Authorization") seed = v.substr(v.find("Signature=") + 10);
  }
  const std::string amz_date = sigv4::FormatAmzDate(r.unix_seconds);
  const std::string date8 = amz_date.substr(0, 8);
  const std::string key = sigv4::SigningKey(creds_.secret_key, date8, region_, "s3");
  const std::string scope = sigv4::Scope(date8, region_, "s3");
  std::string body, prev = seed;
  for (size_t i = 0; i < pieces.size(); ++i) {
    std::string sig = sigv4::ChunkSignature(key, amz_date, scope, prev, Sha256::Hex(pieces[i]));
    prev = sig;
    if (static_cast<int>(i) == corrupt_chunk) sig[0] = sig[0] == 'a' ? 'b' : 'a';
    char hex[32];
    std::snprintf(hex, sizeof hex, "%zx", pieces[i].size());
    body += std::string(hex) + ";chunk-signature=" + sig + "\r\n" + pieces[i] + "\r\n";
  }
  httplib::Headers h;
  for (const auto& [k, v] : signed_headers) h.emplace(k, v);
  h.emplace("content-encoding", "aws-chunked");
  h.emplace("x-amz-decoded-content-length", std::to_string(payload.size()));
  return {h, body};
}

}  // namespace dim::testing
