#include "storage/http_client.h"

#include <curl/curl.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdio>
#include <cstring>
#include <mutex>

namespace dim {
namespace {

constexpr size_t kErrorBodyCap = 1 << 20;  // what we keep of a non-2xx body

std::once_flag g_curl_init;
CURLcode g_curl_init_result = CURLE_OK;

std::string Lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string Trim(std::string_view s) {
  size_t b = 0, e = s.size();
  while (b < e && std::isspace(static_cast<unsigned char>(s[b]))) ++b;
  while (e > b && std::isspace(static_cast<unsigned char>(s[e - 1]))) --e;
  return std::string(s.substr(b, e - b));
}

}  // namespace

std::string HttpResponse::Header(std::string_view lower_name) const {
  for (const auto& [k, v] : headers) {
    if (k == lower_name) return v;
  }
  return "";
}

std::string UrlOrigin(std::string_view url) {
  size_t scheme = url.find("://");
  size_t start = scheme == std::string_view::npos ? 0 : scheme + 3;
  size_t end = url.find_first_of("/?#", start);
  return std::string(url.substr(0, end));
}

std::string EndpointUrl::HostHeader() const {
  std::string h = host.find(':') != std::string::npos ? "[" + host + "]" : host;
  bool default_port =
      port == 0 || (scheme == "http" && port == 80) || (scheme == "https" && port == 443);
  if (!default_port) h += ":" + std::to_string(port);
  return h;
}

std::string EndpointUrl::Origin() const { return scheme + "://" + HostHeader(); }

Result<EndpointUrl> ParseEndpointUrl(std::string_view url) {
  EndpointUrl e;
  size_t sep = url.find("://");
  if (sep == std::string_view::npos) {
    return Status::InvalidArgument("endpoint '" + std::string(url) +
                                   "' needs a scheme (http:// or https://)");
  }
  e.scheme = Lower(std::string(url.substr(0, sep)));
  if (e.scheme != "http" && e.scheme != "https") {
    return Status::InvalidArgument("endpoint '" + std::string(url) +
                                   "': scheme must be http or https");
  }
  std::string_view rest = url.substr(sep + 3);
  if (rest.find_first_of("?#") != std::string_view::npos) {
    return Status::InvalidArgument("endpoint '" + std::string(url) +
                                   "' must not have a query or fragment");
  }
  size_t slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  if (slash != std::string_view::npos) {
    e.base_path = std::string(rest.substr(slash));
    while (!e.base_path.empty() && e.base_path.back() == '/') e.base_path.pop_back();
  }
  if (authority.find('@') != std::string_view::npos) {
    return Status::InvalidArgument("endpoint '" + std::string(url) +
                                   "' must not carry credentials");
  }
  std::string_view port;
  if (!authority.empty() && authority.front() == '[') {
    size_t close = authority.find(']');
    if (close == std::string_view::npos)
      return Status::InvalidArgument("endpoint '" + std::string(url) + "': bad IPv6 host");
    e.host = std::string(authority.substr(1, close - 1));
    if (close + 1 < authority.size()) {
      if (authority[close + 1] != ':')
        return Status::InvalidArgument("endpoint '" + std::string(url) + "': bad host");
      port = authority.substr(close + 2);
    }
  } else {
    size_t colon = authority.rfind(':');
    e.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) port = authority.substr(colon + 1);
  }
  if (e.host.empty())
    return Status::InvalidArgument("endpoint '" + std::string(url) + "' has no host");
  if (!port.empty() || authority.back() == ':') {
    if (port.empty() || port.size() > 5 ||
        !std::all_of(port.begin(), port.end(),
                     [](char c) { return std::isdigit(static_cast<unsigned char>(c)); }) ||
        std::stoi(std::string(port)) == 0 || std::stoi(std::string(port)) > 65535) {
      return Status::InvalidArgument("endpoint '" + std::string(url) + "' has a bad port");
    }
    e.port = std::stoi(std::string(port));
  }
  return e;
}

std::optional<ContentRange> ParseContentRange(std::string_view value) {
  std::string v = Trim(value);
  long long a, b;
  char total[32] = {0};
  if (std::sscanf(v.c_str(), "bytes %lld-%lld/%31s", &a, &b, total) != 3) return std::nullopt;
  ContentRange r;
  r.start = a;
  r.end = b;
  if (std::string(total) != "*") {
    char* end = nullptr;
    r.total = std::strtoll(total, &end, 10);
    if (*end != '\0' || r.total < 0) return std::nullopt;
  }
  return r;
}

int64_t ParseRetryAfterMs(std::string_view value, int64_t now_unix_s) {
  std::string v = Trim(value);
  if (v.empty()) return 0;
  if (std::all_of(v.begin(), v.end(),
                  [](char c) { return std::isdigit(static_cast<unsigned char>(c)); })) {
    if (v.size() > 9) return 0;  // absurd; ignore
    return std::stoll(v) * 1000;
  }
  time_t t = curl_getdate(v.c_str(), nullptr);
  if (t < 0) return 0;
  return std::max<int64_t>(0, (static_cast<int64_t>(t) - now_unix_s) * 1000);
}

// The share handle: connection cache, DNS cache and TLS sessions, with one lock per kind.
struct HttpClient::Shared {
  CURLSH* share = nullptr;
  std::array<std::mutex, CURL_LOCK_DATA_LAST> locks;
  Shared() {
    share = curl_share_init();
    curl_share_setopt(share, CURLSHOPT_LOCKFUNC, &Lock);
    curl_share_setopt(share, CURLSHOPT_UNLOCKFUNC, &Unlock);
    curl_share_setopt(share, CURLSHOPT_USERDATA, this);
    curl_share_setopt(share, CURLSHOPT_SHARE, CURL_LOCK_DATA_CONNECT);
    curl_share_setopt(share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
    curl_share_setopt(share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
  }
  ~Shared() {
    if (share) curl_share_cleanup(share);
  }
  static void Lock(CURL*, curl_lock_data data, curl_lock_access, void* self) {
    static_cast<Shared*>(self)->locks[static_cast<size_t>(data) % CURL_LOCK_DATA_LAST].lock();
  }
  static void Unlock(CURL*, curl_lock_data data, void* self) {
    static_cast<Shared*>(self)->locks[static_cast<size_t>(data) % CURL_LOCK_DATA_LAST].unlock();
  }
};

namespace {

// One transfer: the easy handle, its header list and the state its callbacks share.
struct Transfer {
  CURL* easy = nullptr;
  curl_slist* header_list = nullptr;
  char errbuf[CURL_ERROR_SIZE] = {0};
  const HttpRequest* request = nullptr;
  std::string origin;

  // Request body.
  size_t body_off = 0;
  int64_t streamed = 0;
  Status body_error;  // the caller's stream failed

  // Response.
  HttpResponse response;
  bool headers_done = false;
  bool streaming = false;  // Open(): body goes to `buf` with pausing
  size_t max_body = 0;
  bool too_large = false;
  std::string buf;  // streamed body waiting to be read
  size_t buf_off = 0;
  bool paused = false;
  // While a Read waits on an empty `buf`, curl writes straight into the reader's buffer.
  char* dest = nullptr;
  size_t dest_cap = 0;
  size_t dest_len = 0;

  ~Transfer() {
    if (easy) curl_easy_cleanup(easy);
    if (header_list) curl_slist_free_all(header_list);
  }

  static size_t OnHeader(char* data, size_t size, size_t n, void* self) {
    auto* t = static_cast<Transfer*>(self);
    size_t len = size * n;
    std::string_view line(data, len);
    if (line.rfind("HTTP/", 0) == 0) {
      // A new status line (after a 100 Continue, say): start over.
      t->response.headers.clear();
      size_t sp = line.find(' ');
      t->response.status =
          sp == std::string_view::npos ? 0 : std::atoi(std::string(line.substr(sp + 1, 3)).c_str());
      return len;
    }
    std::string trimmed = Trim(line);
    if (trimmed.empty()) {
      if (t->response.status >= 200) t->headers_done = true;
      return len;
    }
    size_t colon = trimmed.find(':');
    if (colon != std::string::npos) {
      t->response.headers.emplace_back(Lower(trimmed.substr(0, colon)),
                                       Trim(trimmed.substr(colon + 1)));
    }
    return len;
  }

  static size_t OnWrite(char* data, size_t size, size_t n, void* self) {
    auto* t = static_cast<Transfer*>(self);
    size_t len = size * n;
    t->headers_done = true;
    bool success = t->response.status >= 200 && t->response.status < 300;
    if (t->streaming && success) {
      size_t direct = 0;
      if (t->dest && t->buf_off == t->buf.size()) {
        direct = std::min(len, t->dest_cap - t->dest_len);
        std::memcpy(t->dest + t->dest_len, data, direct);
        t->dest_len += direct;
        if (direct == len) return len;
      }
      // The reader's buffer is full (or, without a reader, a chunk is buffered): let curl hold
      // the rest. Pausing hands the whole chunk back later, so only a chunk not partly taken
      // may pause; the rest of a partly taken one waits in `buf`.
      if (direct == 0 && (t->dest || t->buf.size() - t->buf_off >= kStreamChunk)) {
        t->paused = true;
        return CURL_WRITEFUNC_PAUSE;  // curl keeps this chunk and hands it back on unpause
      }
      if (t->buf_off > 0 && t->buf_off == t->buf.size()) {
        t->buf.clear();
        t->buf_off = 0;
      }
      t->buf.append(data + direct, len - direct);
      return len;
    }
    size_t cap = success ? t->max_body : kErrorBodyCap;
    if (t->response.body.size() + len > cap) {
      if (success) {
        t->too_large = true;
        return 0;  // aborts the transfer
      }
      return len;  // keep the beginning of an error body, drop the rest
    }
    t->response.body.append(data, len);
    return len;
  }

  static size_t OnRead(char* out, size_t size, size_t n, void* self) {
    auto* t = static_cast<Transfer*>(self);
    size_t want = size * n;
    const HttpRequest& r = *t->request;
    if (!r.body_stream) {
      size_t k = std::min(want, r.body.size() - t->body_off);
      std::memcpy(out, r.body.data() + t->body_off, k);
      if (r.on_body_sent && k > 0) r.on_body_sent(t->body_off, r.body.substr(t->body_off, k));
      t->body_off += k;
      return k;
    }
    int64_t left = r.body_length - t->streamed;
    if (left <= 0) return 0;
    want = static_cast<size_t>(std::min<int64_t>(left, static_cast<int64_t>(want)));
    auto k = r.body_stream->Read(out, want);
    if (!k.ok()) {
      t->body_error = k.status();
      return CURL_READFUNC_ABORT;
    }
    if (*k == 0) {
      t->body_error = Status::DataLoss("the data ended after " + std::to_string(t->streamed) +
                                       " of " + std::to_string(r.body_length) + " bytes");
      return CURL_READFUNC_ABORT;
    }
    t->streamed += static_cast<int64_t>(*k);
    return *k;
  }

  Status Setup(const HttpRequest& r, HttpClient::Shared& shared, const HttpClientOptions& o) {
    request = &r;
    origin = UrlOrigin(r.url);
    easy = curl_easy_init();
    if (!easy) return Status::Internal("curl_easy_init failed");
    curl_easy_setopt(easy, CURLOPT_URL, r.url.c_str());
    curl_easy_setopt(easy, CURLOPT_SHARE, shared.share);
    curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(easy, CURLOPT_PATH_AS_IS, 1L);  // keys may contain "..", "//"
    curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(o.connect_timeout_ms));
    curl_easy_setopt(easy, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(easy, CURLOPT_LOW_SPEED_TIME,
                     static_cast<long>(std::max<int64_t>(1, o.idle_timeout_ms / 1000)));
    curl_easy_setopt(easy, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(easy, CURLOPT_USERAGENT, o.user_agent.c_str());
    curl_easy_setopt(easy, CURLOPT_BUFFERSIZE, 256L * 1024);
    curl_easy_setopt(easy, CURLOPT_UPLOAD_BUFFERSIZE, 256L * 1024);
    curl_easy_setopt(easy, CURLOPT_HEADERFUNCTION, &Transfer::OnHeader);
    curl_easy_setopt(easy, CURLOPT_HEADERDATA, this);
    curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, &Transfer::OnWrite);
    curl_easy_setopt(easy, CURLOPT_WRITEDATA, this);
    for (const auto& [k, v] : r.headers) {
      std::string h = v.empty() ? k + ";" : k + ": " + v;
      header_list = curl_slist_append(header_list, h.c_str());
    }
    curl_easy_setopt(easy, CURLOPT_HTTPHEADER, header_list);
    const bool has_body = r.body_stream || !r.body.empty();
    if (r.method == "HEAD") {
      curl_easy_setopt(easy, CURLOPT_NOBODY, 1L);
    } else if (has_body || r.method == "PUT" || r.method == "POST") {
      curl_easy_setopt(easy, CURLOPT_UPLOAD, 1L);
      curl_easy_setopt(easy, CURLOPT_INFILESIZE_LARGE,
                       static_cast<curl_off_t>(
                           r.body_stream ? r.body_length : static_cast<int64_t>(r.body.size())));
      curl_easy_setopt(easy, CURLOPT_READFUNCTION, &Transfer::OnRead);
      curl_easy_setopt(easy, CURLOPT_READDATA, this);
      if (r.method != "PUT") curl_easy_setopt(easy, CURLOPT_CUSTOMREQUEST, r.method.c_str());
    } else if (r.method != "GET") {
      curl_easy_setopt(easy, CURLOPT_CUSTOMREQUEST, r.method.c_str());
    }
    return Status::OK();
  }

  // The Status for a finished transfer's curl result (OK when curl succeeded).
  Status Outcome(CURLcode rc) const {
    if (rc == CURLE_OK) return Status::OK();
    if (!body_error.ok()) return body_error;
    if (too_large) {
      return Status::ResourceExhausted(origin + ": response larger than " +
                                       std::to_string(max_body) + " bytes");
    }
    std::string why = errbuf[0] ? std::string(errbuf) : std::string(curl_easy_strerror(rc));
    long os_errno = 0;
    curl_easy_getinfo(easy, CURLINFO_OS_ERRNO, &os_errno);
    if (os_errno != 0 && why.find(std::strerror(static_cast<int>(os_errno))) == std::string::npos) {
      why += " (" + std::string(std::strerror(static_cast<int>(os_errno))) + ")";
    }
    std::string msg = "endpoint " + origin + ": " + why;
    switch (rc) {
      case CURLE_OPERATION_TIMEDOUT:
        return Status::DeadlineExceeded(msg);
      case CURLE_URL_MALFORMAT:
      case CURLE_UNSUPPORTED_PROTOCOL:
        return Status::InvalidArgument(msg);
      case CURLE_PEER_FAILED_VERIFICATION:
      case CURLE_SSL_CACERT_BADFILE:
      case CURLE_SSL_CERTPROBLEM:
        return Status::FailedPrecondition(msg);
      default:
        return Status::Unavailable(msg);
    }
  }
};

// A streamed response body, pulled through a private multi handle.
class CurlStream final : public ByteSource {
 public:
  CurlStream(std::unique_ptr<Transfer> t, std::shared_ptr<const HttpClient> client)
      : client_(std::move(client)), t_(std::move(t)) {
    multi_ = curl_multi_init();
    curl_multi_add_handle(multi_, t_->easy);
  }
  ~CurlStream() override {
    curl_multi_remove_handle(multi_, t_->easy);
    curl_multi_cleanup(multi_);
  }

  // Drives the transfer until `until()` holds or it finishes.
  template <typename Pred>
  void Pump(Pred until) {
    while (!done_ && !until()) {
      int running = 0;
      curl_multi_perform(multi_, &running);
      int left = 0;
      while (CURLMsg* m = curl_multi_info_read(multi_, &left)) {
        if (m->msg == CURLMSG_DONE) {
          done_ = true;
          result_ = m->data.result;
        }
      }
      if (done_ || until()) break;
      curl_multi_poll(multi_, nullptr, 0, 1000, nullptr);
    }
  }

  Transfer& transfer() { return *t_; }
  bool done() const { return done_; }
  Status Outcome() const { return t_->Outcome(result_); }

  Result<size_t> Read(char* out, size_t n) override {
    Transfer& t = *t_;
    if (n == 0) return size_t{0};
    for (;;) {
      if (t.buf_off < t.buf.size()) {  // what arrived beyond an earlier reader's buffer
        size_t k = std::min(n, t.buf.size() - t.buf_off);
        std::memcpy(out, t.buf.data() + t.buf_off, k);
        t.buf_off += k;
        return k;
      }
      if (done_) {
        Status s = t_->Outcome(result_);
        if (!s.ok()) return s;
        return size_t{0};
      }
      t.buf.clear();
      t.buf_off = 0;
      // Nothing buffered: curl writes into `out` directly (one copy less), up to a chunk.
      t.dest = out;
      t.dest_cap = n;
      t.dest_len = 0;
      if (t.paused) {
        t.paused = false;
        curl_easy_pause(t.easy, CURLPAUSE_CONT);  // may deliver data right away
      }
      const size_t want = std::min(n, kStreamChunk);
      Pump([&] { return t.paused || t.dest_len >= want || t.buf.size() > t.buf_off; });
      t.dest = nullptr;
      if (t.dest_len > 0) return t.dest_len;
    }
  }

 private:
  std::shared_ptr<const HttpClient> client_;  // keeps the share handle alive; destroyed last
  std::unique_ptr<Transfer> t_;
  CURLM* multi_ = nullptr;
  bool done_ = false;
  CURLcode result_ = CURLE_OK;
};

}  // namespace

HttpClient::HttpClient(const HttpClientOptions& options) : options_(options) {}
HttpClient::~HttpClient() = default;

Result<std::shared_ptr<HttpClient>> HttpClient::Make(const HttpClientOptions& options) {
  std::call_once(g_curl_init, [] { g_curl_init_result = curl_global_init(CURL_GLOBAL_DEFAULT); });
  if (g_curl_init_result != CURLE_OK) {
    return Status::Internal(std::string("curl_global_init: ") +
                            curl_easy_strerror(g_curl_init_result));
  }
  std::shared_ptr<HttpClient> c(new HttpClient(options));
  c->shared_ = std::make_unique<Shared>();
  if (!c->shared_->share) return Status::Internal("curl_share_init failed");
  return c;
}

Result<HttpResponse> HttpClient::Send(const HttpRequest& request) {
  Transfer t;
  t.max_body = options_.max_buffered_body;
  DIM_RETURN_IF_ERROR(t.Setup(request, *shared_, options_));
  CURLcode rc = curl_easy_perform(t.easy);
  DIM_RETURN_IF_ERROR(t.Outcome(rc));
  return std::move(t.response);
}

Result<HttpClient::Streamed> HttpClient::Open(const HttpRequest& request) {
  auto t = std::make_unique<Transfer>();
  t->streaming = true;
  t->max_body = kErrorBodyCap;
  DIM_RETURN_IF_ERROR(t->Setup(request, *shared_, options_));
  auto stream = std::make_unique<CurlStream>(std::move(t), shared_from_this());
  Transfer& tr = stream->transfer();
  stream->Pump([&] { return tr.headers_done; });
  if (!tr.headers_done) {
    Status s = stream->Outcome();
    if (!s.ok()) return s;
    return Status::Unavailable("endpoint " + tr.origin + ": the response ended before its headers");
  }
  Streamed out;
  if (tr.response.status >= 200 && tr.response.status < 300) {
    out.response = tr.response;
    out.body = std::move(stream);
    return out;
  }
  // An error: read its (small) body to the end.
  stream->Pump([] { return false; });
  out.response = std::move(tr.response);
  return out;
}

}  // namespace dim
