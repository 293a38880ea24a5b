#include "storage/http_client.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <iostream>
#include <thread>

#include "core/checksum.h"
#include "storage/object_store_contract.h"

namespace dim {
namespace {

TEST(HttpClientTest, ParsesEndpoints) {
  auto e = ParseEndpointUrl("https://s3.eu-west-1.amazonaws.com");
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(e->scheme, "https");
  EXPECT_EQ(e->host, "s3.eu-west-1.amazonaws.com");
  EXPECT_EQ(e->port, 0);
  EXPECT_EQ(e->HostHeader(), "s3.eu-west-1.amazonaws.com");
  e = ParseEndpointUrl("http://127.0.0.1:4568/base/");
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(e->port, 4568);
  EXPECT_EQ(e->base_path, "/base");
  EXPECT_EQ(e->Origin(), "http://127.0.0.1:4568");
  e = ParseEndpointUrl("HTTPS://host:443");
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(e->HostHeader(), "host");  // default port left out, as curl sends it
  e = ParseEndpointUrl("http://[::1]:9000");
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(e->host, "::1");
  EXPECT_EQ(e->HostHeader(), "[::1]:9000");
  for (const char* bad :
       {"", "s3.amazonaws.com", "ftp://x", "http://", "http://h:0", "http://h:99999",
        "http://h:12a", "http://h/?q", "http://u:p@h", "http://[::1", "http://h:"}) {
    auto r = ParseEndpointUrl(bad);
    EXPECT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << bad;
  }
}

TEST(HttpClientTest, ParsesRetryAfter) {
  EXPECT_EQ(ParseRetryAfterMs("5", 0), 5000);
  EXPECT_EQ(ParseRetryAfterMs(" 0 ", 0), 0);
  EXPECT_EQ(ParseRetryAfterMs("", 0), 0);
  EXPECT_EQ(ParseRetryAfterMs("soon", 0), 0);
  EXPECT_EQ(ParseRetryAfterMs("99999999999", 0), 0);
  // Wed, 21 Oct 2015 07:28:00 GMT = 1445412480
  EXPECT_EQ(ParseRetryAfterMs("Wed, 21 Oct 2015 07:28:00 GMT", 1445412470), 10000);
  EXPECT_EQ(ParseRetryAfterMs("Wed, 21 Oct 2015 07:28:00 GMT", 1445412490), 0);
  EXPECT_EQ(UrlOrigin("http://127.0.0.1:4568/bucket/key?x=1"), "http://127.0.0.1:4568");
  auto cr = ParseContentRange("bytes 10-9/10");
  ASSERT_TRUE(cr);
  EXPECT_EQ(cr->start, 10);
  EXPECT_EQ(cr->end, 9);
  EXPECT_EQ(cr->total, 10);
  EXPECT_EQ(ParseContentRange("bytes 0-99/*")->total, -1);
  EXPECT_FALSE(ParseContentRange("items 1-2/3"));
  EXPECT_FALSE(ParseContentRange("bytes 1-2/x"));
}

class HttpServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_.Get("/hello", [](const httplib::Request&, httplib::Response& res) {
      res.set_header("X-Thing", "yes");
      res.set_content("hi there", "text/plain");
    });
    server_.Get("/big", [](const httplib::Request&, httplib::Response& res) {
      const size_t total = 64 << 20;
      res.set_content_provider(total, "application/octet-stream",
                               [](size_t offset, size_t length, httplib::DataSink& sink) {
                                 std::string chunk(std::min<size_t>(length, 1 << 16), 0);
                                 for (size_t i = 0; i < chunk.size(); ++i)
                                   chunk[i] = static_cast<char>((offset + i) * 13);
                                 sink.write(chunk.data(), chunk.size());
                                 return true;
                               });
    });
    server_.Get("/missing", [](const httplib::Request&, httplib::Response& res) {
      res.status = 404;
      res.set_content("<Error><Code>NoSuchKey</Code></Error>", "application/xml");
    });
    server_.Get("/stall", [](const httplib::Request&, httplib::Response& res) {
      res.set_content_provider(1000, "text/plain", [](size_t, size_t, httplib::DataSink& sink) {
        sink.write("x", 1);
        std::this_thread::sleep_for(std::chrono::seconds(8));
        return true;
      });
    });
    server_.Put("/upload", [this](const httplib::Request& req, httplib::Response& res) {
      received_sha_ = Sha256::Hex(req.body);
      received_size_ = req.body.size();
      res.set_content("ok", "text/plain");
    });
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    while (!server_.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    HttpClientOptions o;
    o.idle_timeout_ms = 2000;
    client_ = HttpClient::Make(o).value();
  }
  void TearDown() override {
    client_.reset();  // closes its keep-alive connections, so the server stops at once
    server_.stop();
    thread_.join();
  }
  std::string Url(const std::string& path) {
    return "http://127.0.0.1:" + std::to_string(port_) + path;
  }

  httplib::Server server_;
  std::thread thread_;
  int port_ = 0;
  std::shared_ptr<HttpClient> client_;
  std::string received_sha_;
  size_t received_size_ = 0;
};

TEST_F(HttpServerTest, SendBuffersTheResponse) {
  HttpRequest r;
  r.url = Url("/hello");
  auto res = client_->Send(r);
  ASSERT_TRUE(res.ok()) << res.status().ToString();
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(res->body, "hi there");
  EXPECT_EQ(res->Header("x-thing"), "yes");
  r.url = Url("/missing");
  res = client_->Send(r);
  ASSERT_TRUE(res.ok());
  EXPECT_EQ(res->status, 404);
  EXPECT_NE(res->body.find("NoSuchKey"), std::string::npos);
}

TEST_F(HttpServerTest, OpenStreamsInBoundedMemory) {
  HttpRequest r;
  r.url = Url("/big");
  ResetPeakRss();
  int64_t before = PeakRssBytes();
  auto s = client_->Open(r);
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  ASSERT_NE(s->body, nullptr);
  std::vector<char> buf(100000);
  size_t total = 0;
  bool pattern_ok = true;
  for (;;) {
    auto k = s->body->Read(buf.data(), buf.size());
    ASSERT_TRUE(k.ok()) << k.status().ToString();
    if (*k == 0) break;
    for (size_t i = 0; i < *k; i += 4099)
      pattern_ok &= buf[i] == static_cast<char>((total + i) * 13);
    total += *k;
  }
  EXPECT_EQ(total, 64u << 20);
  EXPECT_TRUE(pattern_ok);
  EXPECT_LT(PeakRssBytes() - before, 32ll << 20);
  r.url = Url("/missing");
  s = client_->Open(r);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->response.status, 404);
  EXPECT_EQ(s->body, nullptr);
  EXPECT_NE(s->response.body.find("NoSuchKey"), std::string::npos);
}

TEST_F(HttpServerTest, StreamedBytesArriveInOrderWhateverTheReadSizes) {
  // Reads smaller than curl's pieces, of a piece's size, and larger than the 1 MiB chunk: the
  // body lands straight in the reader's buffer or waits in the stream's, never out of order.
  HttpRequest r;
  r.url = Url("/big");
  auto s = client_->Open(r);
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  ASSERT_NE(s->body, nullptr);
  const size_t sizes[] = {1, 4097, 16384, 65536, 262144, 3 << 20, 100000};
  std::vector<char> buf(3 << 20);
  size_t total = 0, bad = 0;
  for (size_t round = 0;; ++round) {
    auto k = s->body->Read(buf.data(), sizes[round % std::size(sizes)]);
    ASSERT_TRUE(k.ok()) << k.status().ToString();
    if (*k == 0) break;
    ASSERT_LE(*k, sizes[round % std::size(sizes)]);
    for (size_t i = 0; i < *k; ++i) bad += buf[i] != static_cast<char>((total + i) * 13);
    total += *k;
  }
  EXPECT_EQ(total, 64u << 20);
  EXPECT_EQ(bad, 0u);
}

TEST_F(HttpServerTest, StreamsAnUploadFromASource) {
  PatternSource src(5 << 20, 9);
  HttpRequest r;
  r.method = "PUT";
  r.url = Url("/upload");
  r.body_stream = &src;
  r.body_length = 5 << 20;
  auto res = client_->Send(r);
  ASSERT_TRUE(res.ok()) << res.status().ToString();
  EXPECT_EQ(res->status, 200);
  PatternSource again(5 << 20, 9);
  EXPECT_EQ(received_sha_, Sha256::Hex(ReadAll(again).value()));
  // A source shorter than announced fails the request instead of hanging.
  PatternSource short_src(100, 1);
  r.body_stream = &short_src;
  r.body_length = 1000;
  res = client_->Send(r);
  ASSERT_FALSE(res.ok());
  EXPECT_EQ(res.status().code(), StatusCode::kDataLoss) << res.status().ToString();
}

TEST_F(HttpServerTest, StalledTransferTimesOut) {
  HttpRequest r;
  r.url = Url("/stall");
  auto start = std::chrono::steady_clock::now();
  auto s = client_->Open(r);
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  auto all = ReadAll(*s->body);
  ASSERT_FALSE(all.ok());
  EXPECT_EQ(all.status().code(), StatusCode::kDeadlineExceeded) << all.status().ToString();
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(60));
}

TEST(HttpClientErrorsTest, ConnectionRefusedNamesTheEndpoint) {
  // Find a port nobody listens on: bind, note it, close.
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  int port = ntohs(addr.sin_port);
  ::close(fd);
  auto c = HttpClient::Make({}).value();
  HttpRequest r;
  r.url = "http://127.0.0.1:" + std::to_string(port) + "/x";
  auto res = c->Send(r);
  ASSERT_FALSE(res.ok());
  EXPECT_EQ(res.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(res.status().message().find("127.0.0.1:" + std::to_string(port)), std::string::npos)
      << res.status().ToString();
  EXPECT_NE(res.status().message().find("refused"), std::string::npos) << res.status().ToString();
  std::cout << "  message: " << res.status().ToString() << "\n";
  r.url = "http://no-such-host.invalid/x";
  res = c->Send(r);
  ASSERT_FALSE(res.ok());
  EXPECT_EQ(res.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(res.status().message().find("no-such-host.invalid"), std::string::npos)
      << res.status().ToString();
}

}  // namespace
}  // namespace dim
