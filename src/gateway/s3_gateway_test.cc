// The S3 gateway end to end over HTTP, in process: a real SQLite store, real local-directory
// sites in a temp dir, the real optimizer placement, and SigV4-signed requests from a small test
// client. Real SDKs and CLIs are driven in tests/integration/s3_clients_test.cc.
#include "gateway/s3_gateway.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <thread>

#include "bus/memory_event_bus.h"
#include "core/checksum.h"
#include "gateway/gateway_test_rig.h"
#include "gateway/s3_test_client.h"

namespace dim {
namespace {

using testing::S3Call;
using testing::S3Reply;
using testing::S3TestClient;
using testing::Signing;
namespace fs = std::filesystem;

class S3GatewayTest : public ::testing::Test {
 protected:
  void SetUp() override {
    bus_ = std::make_unique<MemoryEventBus>(bus_capacity_);
    S3AuthOptions ao;
    ao.access_key = creds_.access_key;
    ao.secret_key = creds_.secret_key;
    ao.allow_anonymous = allow_anonymous_;
    auth_ = std::make_unique<S3Authenticator>(ao, clock_);
    service_ = std::make_unique<S3Service>(*store_, *writer_, *reader_, clock_, 5);
    S3GatewayOptions go;
    go.access_key = creds_.access_key;
    go.threads = 8;
    go.small_body_bytes = 64 << 10;  // so modest test bodies already take the streaming path
    gateway_ = std::make_unique<S3Gateway>(*service_, *auth_, *bus_, metrics_, clock_, go);
    ASSERT_TRUE(gateway_->Start("127.0.0.1", 0).ok());
    client_ = std::make_unique<S3TestClient>("127.0.0.1", gateway_->port(), creds_, clock_);
  }
  void TearDown() override { gateway_->Stop(); }

  S3Reply Call(std::string method, std::string path, std::string body = {},
               httplib::Headers headers = {}, sigv4::Pairs query = {}) {
    S3Call c;
    c.method = std::move(method);
    c.path = std::move(path);
    c.body = std::move(body);
    c.headers = std::move(headers);
    c.query = std::move(query);
    return client_->Send(c);
  }
  void MakeBucket(const std::string& b) { ASSERT_EQ(Call("PUT", "/" + b).status, 200); }
  std::vector<AccessEvent> DrainEvents() {
    std::vector<AccessEvent> out;
    for (;;) {
      auto batch = bus_->Poll(1000, 0).value();
      if (batch.empty()) return out;
      for (auto& m : batch) out.push_back(m.event);
    }
  }

  testing::GatewayRig rig_{"dim-s3gw"};
  const fs::path& dir_ = rig_.dir;
  VirtualClock& clock_ = rig_.clock;
  MetricsRegistry& metrics_ = rig_.metrics;
  SiteRegistry& sites_ = rig_.sites;
  std::unique_ptr<SqliteMetadataStore>& store_ = rig_.store;
  std::unique_ptr<ObjectWriter>& writer_ = rig_.writer;
  std::unique_ptr<ReplicaReader>& reader_ = rig_.reader;
  std::unique_ptr<MemoryEventBus> bus_;
  std::unique_ptr<S3Authenticator> auth_;
  std::unique_ptr<S3Service> service_;
  std::unique_ptr<S3Gateway> gateway_;
  std::unique_ptr<S3TestClient> client_;
  sigv4::Credentials creds_{"DIMTESTKEY0000000001", "test-secret-key", ""};
  bool allow_anonymous_ = false;
  size_t bus_capacity_ = 10000;
};

TEST_F(S3GatewayTest, BucketsCreateListHeadDelete) {
  MakeBucket("alpha");
  MakeBucket("beta");
  EXPECT_EQ(Call("PUT", "/alpha").Code(), "BucketAlreadyOwnedByYou");
  EXPECT_EQ(Call("PUT", "/Bad_Name").Code(), "InvalidBucketName");
  auto list = Call("GET", "/");
  ASSERT_EQ(list.status, 200);
  EXPECT_NE(list.body.find("<Name>alpha</Name>"), std::string::npos);
  EXPECT_NE(list.body.find("<Name>beta</Name>"), std::string::npos);
  EXPECT_EQ(Call("HEAD", "/alpha").status, 200);
  EXPECT_EQ(Call("HEAD", "/nosuch").status, 404);
  EXPECT_EQ(Call("GET", "/alpha", "", {}, {{"location", ""}}).status, 200);
  ASSERT_EQ(Call("PUT", "/alpha/k", "x").status, 200);
  EXPECT_EQ(Call("DELETE", "/alpha").Code(), "BucketNotEmpty");
  ASSERT_EQ(Call("DELETE", "/alpha/k").status, 204);
  EXPECT_EQ(Call("DELETE", "/alpha").status, 204);
  EXPECT_EQ(Call("DELETE", "/alpha").Code(), "NoSuchBucket");
  EXPECT_EQ(Call("GET", "/alpha/k").Code(), "NoSuchBucket");
  EXPECT_EQ(Call("GET", "/beta", "", {}, {{"policy", ""}}).Code(), "NotImplemented");
}

TEST_F(S3GatewayTest, PutGetHeadRangeAndMetadata) {
  MakeBucket("bkt");
  std::string data(100000, '\0');
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>(i * 7 + 3);
  auto put = Call("PUT", "/bkt/dir/obj.bin", data,
                  {{"content-type", "application/x-test"},
                   {"x-amz-meta-owner", "ops"},
                   {"cache-control", "max-age=60"}});
  ASSERT_EQ(put.status, 200) << put.body;
  EXPECT_EQ(put.Header("ETag"), "\"" + Md5::Hex(data) + "\"");
  auto get = Call("GET", "/bkt/dir/obj.bin");
  ASSERT_EQ(get.status, 200);
  EXPECT_EQ(Sha256::Hex(get.body), Sha256::Hex(data));
  EXPECT_EQ(get.Header("Content-Type"), "application/x-test");
  EXPECT_EQ(get.Header("x-amz-meta-owner"), "ops");
  EXPECT_EQ(get.Header("Cache-Control"), "max-age=60");
  EXPECT_EQ(get.Header("x-dim-site"), "aws");
  EXPECT_FALSE(get.Header("Last-Modified").empty());
  auto head = Call("HEAD", "/bkt/dir/obj.bin");
  EXPECT_EQ(head.status, 200);
  EXPECT_EQ(head.Header("Content-Length"), "100000");
  EXPECT_TRUE(head.body.empty());
  auto range = Call("GET", "/bkt/dir/obj.bin", "", {{"range", "bytes=10-19"}});
  ASSERT_EQ(range.status, 206);
  EXPECT_EQ(range.body, data.substr(10, 10));
  EXPECT_EQ(range.Header("Content-Range"), "bytes 10-19/100000");
  auto suffix = Call("GET", "/bkt/dir/obj.bin", "", {{"range", "bytes=-5"}});
  EXPECT_EQ(suffix.body, data.substr(99995));
  auto past = Call("GET", "/bkt/dir/obj.bin", "", {{"range", "bytes=100000-"}});
  EXPECT_EQ(past.status, 416);
  EXPECT_EQ(past.Code(), "InvalidRange");
  EXPECT_EQ(past.Header("Content-Range"), "bytes */100000");
  auto multi = Call("GET", "/bkt/dir/obj.bin", "", {{"range", "bytes=0-1,5-6"}});
  EXPECT_EQ(multi.status, 200);  // S3 ignores multi-range requests
  EXPECT_EQ(multi.body.size(), data.size());
  EXPECT_EQ(Call("GET", "/bkt/none").Code(), "NoSuchKey");
  EXPECT_NE(Call("GET", "/bkt/dir/obj.bin", "", {}, {{"acl", ""}}).body.find("FULL_CONTROL"),
            std::string::npos);
  // Text is never re-encoded on the way out (httplib would gzip it for a client that accepts it).
  ASSERT_EQ(Call("PUT", "/bkt/t.txt", std::string(5000, 't'), {{"content-type", "text/plain"}}).status,
            200);
  auto text = Call("GET", "/bkt/t.txt", "", {{"accept-encoding", "gzip, br"}});
  EXPECT_EQ(text.body, std::string(5000, 't'));
  EXPECT_EQ(text.Header("Content-Encoding"), "");
  EXPECT_EQ(Call("HEAD", "/bkt/none").status, 404);
  // Overwrite: new bytes, new ETag.
  ASSERT_EQ(Call("PUT", "/bkt/dir/obj.bin", "small").status, 200);
  EXPECT_EQ(Call("GET", "/bkt/dir/obj.bin").body, "small");
  // Empty object.
  ASSERT_EQ(Call("PUT", "/bkt/empty", "").status, 200);
  auto e = Call("GET", "/bkt/empty");
  EXPECT_EQ(e.status, 200);
  EXPECT_EQ(e.Header("Content-Length"), "0");
  EXPECT_EQ(e.Header("ETag"), "\"" + Md5::Hex("") + "\"");
}

TEST_F(S3GatewayTest, AuthenticationIsRequiredAndChecked) {
  MakeBucket("bkt");
  S3Call c;
  c.method = "GET";
  c.path = "/bkt";
  c.signing = Signing::kNone;
  auto anon = client_->Send(c);
  EXPECT_EQ(anon.status, 403);
  EXPECT_EQ(anon.Code(), "AccessDenied");
  c.signing = Signing::kSha256;
  c.secret = "wrong-secret";
  auto wrong = client_->Send(c);
  EXPECT_EQ(wrong.status, 403);
  EXPECT_EQ(wrong.Code(), "SignatureDoesNotMatch");
  EXPECT_NE(wrong.body.find("<CanonicalRequest>GET\n/bkt\n"), std::string::npos) << wrong.body;
  c.secret.clear();
  c.time_offset_s = -3600;
  EXPECT_EQ(client_->Send(c).Code(), "RequestTimeTooSkewed");
  c.time_offset_s = 0;
  // A body that does not match its signed hash.
  S3Call put;
  put.method = "PUT";
  put.path = "/bkt/k";
  put.body = "original";
  auto h = client_->Send(put);
  ASSERT_EQ(h.status, 200);
  sigv4::SignRequest r;
  r.method = "PUT";
  r.host = client_->host_header();
  r.path = "/bkt/k2";
  r.payload_hash = Sha256::Hex("original");
  r.region = "us-east-1";
  r.unix_seconds = clock_.NowMs() / 1000;
  httplib::Headers hh;
  for (auto& [k, v] : sigv4::SignHeaders(r, client_->creds())) hh.emplace(k, v);
  auto mismatch = client_->SendRaw("PUT", "/bkt/k2", hh, "tampered");
  EXPECT_EQ(mismatch.Code(), "XAmzContentSHA256Mismatch");
  EXPECT_EQ(Call("GET", "/bkt/k2").Code(), "NoSuchKey");
  // Unknown access key, garbage Authorization, SigV2.
  auto unknown =
      client_->SendRaw("GET", "/bkt",
                       {{"Authorization",
                         "AWS4-HMAC-SHA256 Credential=NOPE/20240101/us-east-1/s3/aws4_request, "
                         "SignedHeaders=host, Signature=" +
                             std::string(64, 'a')}},
                       "");
  EXPECT_EQ(unknown.Code(), "InvalidAccessKeyId");
  EXPECT_EQ(
      client_->SendRaw("GET", "/bkt", {{"Authorization", "AWS4-HMAC-SHA256 garbage"}}, "").Code(),
      "AuthorizationHeaderMalformed");
  EXPECT_EQ(client_->SendRaw("GET", "/bkt", {{"Authorization", "AWS AKID:sig"}}, "").Code(),
            "InvalidRequest");
  // UNSIGNED-PAYLOAD is accepted.
  S3Call u;
  u.method = "PUT";
  u.path = "/bkt/unsigned";
  u.body = "payload";
  u.signing = Signing::kUnsigned;
  EXPECT_EQ(client_->Send(u).status, 200);
  EXPECT_EQ(Call("GET", "/bkt/unsigned").body, "payload");
}

TEST_F(S3GatewayTest, PresignedUrlsWorkUntilTheyExpire) {
  MakeBucket("bkt");
  ASSERT_EQ(Call("PUT", "/bkt/shared.txt", "shared bytes").status, 200);
  std::string target = client_->Presign("GET", "/bkt/shared.txt", 60);
  auto ok = client_->SendRaw("GET", target, {}, "");
  EXPECT_EQ(ok.status, 200);
  EXPECT_EQ(ok.body, "shared bytes");
  std::string old = client_->Presign("GET", "/bkt/shared.txt", 60, -120);
  auto expired = client_->SendRaw("GET", old, {}, "");
  EXPECT_EQ(expired.status, 403);
  EXPECT_NE(expired.body.find("Request has expired"), std::string::npos);
  std::string tampered = target;
  tampered.replace(tampered.find("shared.txt"), 10, "other.txt!");
  EXPECT_EQ(client_->SendRaw("GET", tampered, {}, "").Code(), "SignatureDoesNotMatch");
  auto put_url = client_->Presign("PUT", "/bkt/uploaded", 60);
  EXPECT_EQ(client_->SendRaw("PUT", put_url, {}, "via url").status, 200);
  EXPECT_EQ(Call("GET", "/bkt/uploaded").body, "via url");
}

TEST_F(S3GatewayTest, AwsChunkedUploadsAreDecodedAndEveryChunkIsVerified) {
  MakeBucket("bkt");
  std::string payload(300000, 'q');
  for (size_t i = 0; i < payload.size(); i += 97) payload[i] = static_cast<char>('a' + i % 26);
  // Small (in memory) and large (streamed through the pipe) bodies.
  for (size_t chunk : {size_t{8192}, size_t{65536}}) {
    auto [headers, body] = client_->ChunkedUpload("/bkt/chunked", payload, chunk);
    auto r = client_->SendRaw("PUT", "/bkt/chunked", headers, body);
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(r.Header("ETag"), "\"" + Md5::Hex(payload) + "\"");
    EXPECT_EQ(Sha256::Hex(Call("GET", "/bkt/chunked").body), Sha256::Hex(payload));
  }
  auto small = client_->ChunkedUpload("/bkt/tiny", "tiny", 8192);
  EXPECT_EQ(client_->SendRaw("PUT", "/bkt/tiny", small.first, small.second).status, 200);
  EXPECT_EQ(Call("GET", "/bkt/tiny").body, "tiny");
  // A bad signature on the third chunk: nothing is stored, the old content stays.
  auto [headers, body] = client_->ChunkedUpload("/bkt/chunked", std::string(300000, 'z'), 65536, 2);
  auto bad = client_->SendRaw("PUT", "/bkt/chunked", headers, body);
  EXPECT_EQ(bad.status, 403);
  EXPECT_EQ(bad.Code(), "SignatureDoesNotMatch");
  EXPECT_EQ(Sha256::Hex(Call("GET", "/bkt/chunked").body), Sha256::Hex(payload));
  // Declared decoded length does not match.
  auto [h2, b2] = client_->ChunkedUpload("/bkt/short", "0123456789", 4);
  h2.erase("x-amz-decoded-content-length");
  h2.emplace("x-amz-decoded-content-length", "10");
  auto truncated = b2.substr(0, b2.size() - 20);
  auto r2 = client_->SendRaw("PUT", "/bkt/short", h2, truncated);
  EXPECT_EQ(r2.status / 100, 4);
  EXPECT_EQ(Call("GET", "/bkt/short").Code(), "NoSuchKey");
}

TEST_F(S3GatewayTest, DigestsAndChecksumsAreVerified) {
  MakeBucket("bkt");
  std::string raw;
  HexDecode(Md5::Hex("data"), &raw);
  EXPECT_EQ(Call("PUT", "/bkt/m", "data", {{"content-md5", Base64Encode(raw)}}).status, 200);
  EXPECT_EQ(Call("PUT", "/bkt/m2", "DATA", {{"content-md5", Base64Encode(raw)}}).Code(),
            "BadDigest");
  EXPECT_EQ(Call("PUT", "/bkt/m3", "data", {{"content-md5", "!!"}}).Code(), "InvalidDigest");
  std::string sha;
  HexDecode(Sha256::Hex("data"), &sha);
  auto ok = Call("PUT", "/bkt/c", "data", {{"x-amz-checksum-sha256", Base64Encode(sha)}});
  EXPECT_EQ(ok.status, 200);
  EXPECT_EQ(ok.Header("x-amz-checksum-sha256"), Base64Encode(sha));
  EXPECT_EQ(Call("PUT", "/bkt/c2", "datb", {{"x-amz-checksum-sha256", Base64Encode(sha)}}).Code(),
            "BadDigest");
  EXPECT_EQ(Call("PUT", "/bkt/c3", "hello world", {{"x-amz-checksum-crc32", "DUoRhQ=="}}).status,
            200);
  for (const char* k : {"/bkt/m2", "/bkt/c2"}) EXPECT_EQ(Call("GET", k).Code(), "NoSuchKey") << k;
  auto got = Call("GET", "/bkt/c", "", {{"x-amz-checksum-mode", "ENABLED"}});
  EXPECT_EQ(got.Header("x-amz-checksum-sha256"), Base64Encode(sha));
}

TEST_F(S3GatewayTest, ConditionalRequests) {
  MakeBucket("bkt");
  auto put = Call("PUT", "/bkt/k", "v1");
  std::string etag = put.Header("ETag");
  EXPECT_EQ(Call("GET", "/bkt/k", "", {{"if-match", etag}}).status, 200);
  EXPECT_EQ(Call("GET", "/bkt/k", "", {{"if-match", "\"nope\""}}).status, 412);
  auto nm = Call("GET", "/bkt/k", "", {{"if-none-match", etag}});
  EXPECT_EQ(nm.status, 304);
  EXPECT_EQ(nm.Header("ETag"), etag);
  EXPECT_EQ(
      Call("GET", "/bkt/k", "", {{"if-modified-since", "Sun, 06 Nov 2050 08:49:37 GMT"}}).status,
      304);
  EXPECT_EQ(
      Call("GET", "/bkt/k", "", {{"if-modified-since", "Sun, 06 Nov 1994 08:49:37 GMT"}}).status,
      200);
  EXPECT_EQ(
      Call("GET", "/bkt/k", "", {{"if-unmodified-since", "Sun, 06 Nov 1994 08:49:37 GMT"}}).status,
      412);
  EXPECT_EQ(Call("HEAD", "/bkt/k", "", {{"if-none-match", etag}}).status, 304);
  // Conditional writes.
  EXPECT_EQ(Call("PUT", "/bkt/k", "v2", {{"if-none-match", "*"}}).Code(), "PreconditionFailed");
  EXPECT_EQ(Call("PUT", "/bkt/new", "n", {{"if-none-match", "*"}}).status, 200);
  EXPECT_EQ(Call("PUT", "/bkt/k", "v2", {{"if-match", "\"other\""}}).Code(), "PreconditionFailed");
  EXPECT_EQ(Call("PUT", "/bkt/k", "v2", {{"if-match", etag}}).status, 200);
  EXPECT_EQ(Call("GET", "/bkt/k").body, "v2");
  EXPECT_EQ(Call("PUT", "/bkt/missing", "x", {{"if-match", etag}}).Code(), "NoSuchKey");
}

TEST_F(S3GatewayTest, ListingV2AndV1WithPrefixDelimiterAndPages) {
  MakeBucket("bkt");
  for (const char* k : {"a.txt", "dir/1", "dir/2", "dir/sub/3", "e f+g", "z"}) {
    ASSERT_EQ(Call("PUT", std::string("/bkt/") + k, k).status, 200);
  }
  auto v2 = Call("GET", "/bkt", "", {}, {{"list-type", "2"}, {"delimiter", "/"}});
  ASSERT_EQ(v2.status, 200);
  EXPECT_EQ(v2.Xml("KeyCount"), "4");  // a.txt, dir/, "e f+g", z
  EXPECT_NE(v2.body.find("<CommonPrefixes><Prefix>dir/</Prefix></CommonPrefixes>"),
            std::string::npos);
  auto sub =
      Call("GET", "/bkt", "", {}, {{"list-type", "2"}, {"delimiter", "/"}, {"prefix", "dir/"}});
  EXPECT_NE(sub.body.find("<Key>dir/1</Key>"), std::string::npos);
  EXPECT_NE(sub.body.find("<Prefix>dir/sub/</Prefix>"), std::string::npos);
  EXPECT_EQ(sub.body.find("<Key>a.txt</Key>"), std::string::npos);
  // Pages of two, following continuation tokens, visit every key once.
  std::vector<std::string> keys;
  std::string token;
  for (int page = 0; page < 10; ++page) {
    sigv4::Pairs q = {{"list-type", "2"}, {"max-keys", "2"}};
    if (!token.empty()) q.emplace_back("continuation-token", token);
    auto r = Call("GET", "/bkt", "", {}, q);
    ASSERT_EQ(r.status, 200) << r.body;
    for (size_t p = r.body.find("<Key>"); p != std::string::npos; p = r.body.find("<Key>", p + 1)) {
      keys.push_back(r.body.substr(p + 5, r.body.find("</Key>", p) - p - 5));
    }
    if (r.Xml("IsTruncated") != "true") break;
    token = r.Xml("NextContinuationToken");
  }
  EXPECT_EQ(keys, (std::vector<std::string>{"a.txt", "dir/1", "dir/2", "dir/sub/3", "e f+g", "z"}));
  // encoding-type=url encodes keys (the aws CLI asks for it).
  auto enc =
      Call("GET", "/bkt", "", {}, {{"list-type", "2"}, {"prefix", "e"}, {"encoding-type", "url"}});
  EXPECT_NE(enc.body.find("<Key>e%20f%2Bg</Key>"), std::string::npos) << enc.body;
  // V1 with a delimiter pages through common prefixes with NextMarker.
  auto v1 = Call("GET", "/bkt", "", {}, {{"delimiter", "/"}, {"max-keys", "2"}});
  EXPECT_EQ(v1.Xml("IsTruncated"), "true");
  EXPECT_EQ(v1.Xml("NextMarker"), "dir/");
  auto v1b =
      Call("GET", "/bkt", "", {}, {{"delimiter", "/"}, {"max-keys", "2"}, {"marker", "dir/"}});
  EXPECT_NE(v1b.body.find("<Key>e f+g</Key>"), std::string::npos);
  EXPECT_EQ(v1b.body.find("dir/"), v1b.body.find("<Marker>dir/</Marker>") + 8);
  EXPECT_EQ(Call("GET", "/bkt", "", {}, {{"list-type", "2"}, {"continuation-token", "!!"}}).Code(),
            "InvalidArgument");
  EXPECT_EQ(Call("GET", "/bkt", "", {}, {{"max-keys", "-1"}}).Code(), "InvalidArgument");
  EXPECT_EQ(Call("GET", "/nob", "", {}, {{"list-type", "2"}}).Code(), "NoSuchBucket");
}

TEST_F(S3GatewayTest, MultipartUploadFollowsS3Rules) {
  MakeBucket("bkt");
  auto init = Call("POST", "/bkt/big", "", {{"content-type", "video/mp4"}, {"x-amz-meta-a", "1"}},
                   {{"uploads", ""}});
  ASSERT_EQ(init.status, 200) << init.body;
  std::string id = init.Xml("UploadId");
  ASSERT_FALSE(id.empty());
  std::string p1(5 << 20, 'a'), p2(5 << 20, 'b'), p3(1000, 'c');
  auto part = [&](int n, const std::string& data) {
    return Call("PUT", "/bkt/big", data, {}, {{"partNumber", std::to_string(n)}, {"uploadId", id}});
  };
  auto r1 = part(1, p1), r2 = part(2, p2), r3 = part(3, p3);
  ASSERT_EQ(r1.status, 200) << r1.body;
  ASSERT_EQ(r3.status, 200);
  EXPECT_EQ(r2.Header("ETag"), "\"" + Md5::Hex(p2) + "\"");
  EXPECT_EQ(part(0, "x").Code(), "InvalidArgument");
  EXPECT_EQ(part(10001, "x").Code(), "InvalidArgument");
  auto lp = Call("GET", "/bkt/big", "", {}, {{"uploadId", id}});
  EXPECT_NE(lp.body.find("<PartNumber>3</PartNumber>"), std::string::npos);
  auto lu = Call("GET", "/bkt", "", {}, {{"uploads", ""}});
  EXPECT_NE(lu.body.find("<UploadId>" + id + "</UploadId>"), std::string::npos);
  auto xml = [&](std::vector<std::pair<int, std::string>> parts) {
    std::string s = "<CompleteMultipartUpload>";
    for (auto& [n, e] : parts) {
      s += "<Part><PartNumber>" + std::to_string(n) + "</PartNumber><ETag>" + e + "</ETag></Part>";
    }
    return s + "</CompleteMultipartUpload>";
  };
  auto complete = [&](const std::string& body) {
    return Call("POST", "/bkt/big", body, {}, {{"uploadId", id}});
  };
  const std::string e1 = r1.Header("ETag"), e2 = r2.Header("ETag"), e3 = r3.Header("ETag");
  EXPECT_EQ(complete(xml({{2, e2}, {1, e1}})).Code(), "InvalidPartOrder");
  EXPECT_EQ(complete(xml({{1, e1}, {4, e3}})).Code(), "InvalidPart");
  EXPECT_EQ(complete(xml({{1, e2}})).Code(), "InvalidPart");
  EXPECT_EQ(complete(xml({{3, e3}, {4, e3}})).Code(), "InvalidPart");
  EXPECT_EQ(complete("<bad").Code(), "MalformedXML");
  auto small = complete(xml({{1, e1}, {3, e3}, {4, e3}}));
  EXPECT_EQ(small.Code(), "InvalidPart");
  // Part 3 is too small to be anything but the last part.
  ASSERT_EQ(part(4, "tail").status, 200);
  EXPECT_EQ(complete(xml({{3, e3}, {4, "\"" + Md5::Hex("tail") + "\""}})).Code(), "EntityTooSmall");
  auto done = complete(xml({{1, e1}, {2, e2}, {3, e3}}));
  ASSERT_EQ(done.status, 200) << done.body;
  std::string md5s, raw;
  for (const auto* p : {&p1, &p2, &p3}) {
    HexDecode(Md5::Hex(*p), &raw);
    md5s += raw;
  }
  const std::string want_etag = "\"" + Md5::Hex(md5s) + "-3\"";
  EXPECT_EQ(done.Xml("ETag"), "&quot;" + want_etag.substr(1, want_etag.size() - 2) + "&quot;");
  auto get = Call("GET", "/bkt/big");
  ASSERT_EQ(get.status, 200);
  EXPECT_EQ(get.Header("ETag"), want_etag);
  EXPECT_EQ(get.Header("x-amz-meta-a"), "1");
  EXPECT_EQ(get.Header("Content-Type"), "video/mp4");
  EXPECT_EQ(get.Header("x-amz-mp-parts-count"), "3");
  EXPECT_EQ(Sha256::Hex(get.body), Sha256::Hex(p1 + p2 + p3));
  auto rec = store_->GetObject({"bkt", "big"})->value();
  EXPECT_EQ(rec.sha256, Sha256::Hex(p1 + p2 + p3));
  EXPECT_EQ(complete(xml({{1, e1}})).Code(), "NoSuchUpload");
  EXPECT_TRUE(Call("GET", "/bkt", "", {}, {{"uploads", ""}}).body.find("<Upload>") ==
              std::string::npos);
  // Abort drops the parts; the upload is gone after.
  auto init2 = Call("POST", "/bkt/aborted", "", {}, {{"uploads", ""}});
  std::string id2 = init2.Xml("UploadId");
  ASSERT_EQ(Call("PUT", "/bkt/aborted", "x", {}, {{"partNumber", "1"}, {"uploadId", id2}}).status,
            200);
  EXPECT_EQ(Call("DELETE", "/bkt/aborted", "", {}, {{"uploadId", id2}}).status, 204);
  EXPECT_EQ(Call("DELETE", "/bkt/aborted", "", {}, {{"uploadId", id2}}).Code(), "NoSuchUpload");
  EXPECT_EQ(Call("PUT", "/bkt/aborted", "x", {}, {{"partNumber", "1"}, {"uploadId", id2}}).Code(),
            "NoSuchUpload");
  EXPECT_EQ(Call("GET", "/bkt/aborted").Code(), "NoSuchKey");
  // An upload id used with another key is not found.
  EXPECT_EQ(Call("PUT", "/bkt/other", "x", {}, {{"partNumber", "1"}, {"uploadId", id}}).Code(),
            "NoSuchUpload");
}

TEST_F(S3GatewayTest, CopyObjectAndUploadPartCopy) {
  MakeBucket("bkt");
  MakeBucket("ckt");
  std::string data(200000, 'x');
  ASSERT_EQ(
      Call("PUT", "/bkt/src", data, {{"x-amz-meta-m", "1"}, {"content-type", "text/x"}}).status,
      200);
  auto copy = Call("PUT", "/ckt/dst", "", {{"x-amz-copy-source", "/bkt/src"}});
  ASSERT_EQ(copy.status, 200) << copy.body;
  EXPECT_NE(copy.body.find("<CopyObjectResult"), std::string::npos);
  auto got = Call("GET", "/ckt/dst");
  EXPECT_EQ(got.body, data);
  EXPECT_EQ(got.Header("x-amz-meta-m"), "1");
  EXPECT_EQ(got.Header("Content-Type"), "text/x");
  auto replaced = Call("PUT", "/ckt/dst2", "",
                       {{"x-amz-copy-source", "bkt/src"},
                        {"x-amz-metadata-directive", "REPLACE"},
                        {"x-amz-meta-n", "2"}});
  ASSERT_EQ(replaced.status, 200);
  auto g2 = Call("HEAD", "/ckt/dst2");
  EXPECT_EQ(g2.Header("x-amz-meta-n"), "2");
  EXPECT_EQ(g2.Header("x-amz-meta-m"), "");
  EXPECT_EQ(Call("PUT", "/bkt/src", "", {{"x-amz-copy-source", "/bkt/src"}}).Code(),
            "InvalidRequest");
  EXPECT_EQ(Call("PUT", "/ckt/x", "", {{"x-amz-copy-source", "/bkt/none"}}).Code(), "NoSuchKey");
  EXPECT_EQ(Call("PUT", "/ckt/x", "",
                 {{"x-amz-copy-source", "/bkt/src"}, {"x-amz-copy-source-if-match", "\"no\""}})
                .Code(),
            "PreconditionFailed");
  EXPECT_EQ(Call("PUT", "/ckt/x", "", {{"x-amz-copy-source", "nobucketkey"}}).Code(),
            "InvalidArgument");
  // Part copies with ranges assemble the same bytes.
  std::string big(6 << 20, 'y');
  big[0] = 'A';
  ASSERT_EQ(Call("PUT", "/bkt/big", big).status, 200);
  std::string id = Call("POST", "/ckt/assembled", "", {}, {{"uploads", ""}}).Xml("UploadId");
  auto pc1 =
      Call("PUT", "/ckt/assembled", "",
           {{"x-amz-copy-source", "/bkt/big"}, {"x-amz-copy-source-range", "bytes=0-5242879"}},
           {{"partNumber", "1"}, {"uploadId", id}});
  ASSERT_EQ(pc1.status, 200) << pc1.body;
  auto pc2 = Call(
      "PUT", "/ckt/assembled", "",
      {{"x-amz-copy-source", "/bkt/big"}, {"x-amz-copy-source-range", "bytes=5242880-6291455"}},
      {{"partNumber", "2"}, {"uploadId", id}});
  ASSERT_EQ(pc2.status, 200) << pc2.body;
  std::string body = "<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>" +
                     pc1.Xml("ETag") + "</ETag></Part><Part><PartNumber>2</PartNumber><ETag>" +
                     pc2.Xml("ETag") + "</ETag></Part></CompleteMultipartUpload>";
  for (std::string q = "&quot;"; body.find(q) != std::string::npos;)
    body.replace(body.find(q), q.size(), "\"");
  ASSERT_EQ(Call("POST", "/ckt/assembled", body, {}, {{"uploadId", id}}).status, 200);
  EXPECT_EQ(Sha256::Hex(Call("GET", "/ckt/assembled").body), Sha256::Hex(big));
}

TEST_F(S3GatewayTest, DeleteObjectsReportsEachKey) {
  MakeBucket("bkt");
  for (const char* k : {"a", "b", "c"})
    ASSERT_EQ(Call("PUT", std::string("/bkt/") + k, "x").status, 200);
  std::string body =
      "<Delete><Object><Key>a</Key></Object><Object><Key>c</Key></Object>"
      "<Object><Key>missing</Key></Object><Object><Key>../bad</Key></Object></Delete>";
  std::string raw;
  HexDecode(Md5::Hex(body), &raw);
  auto r = Call("POST", "/bkt", body, {{"content-md5", Base64Encode(raw)}}, {{"delete", ""}});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_NE(r.body.find("<Deleted><Key>a</Key></Deleted>"), std::string::npos);
  EXPECT_NE(r.body.find("<Deleted><Key>missing</Key></Deleted>"), std::string::npos);
  EXPECT_NE(r.body.find("<Error><Key>../bad</Key><Code>InvalidArgument</Code>"), std::string::npos);
  EXPECT_EQ(Call("GET", "/bkt/a").Code(), "NoSuchKey");
  EXPECT_EQ(Call("GET", "/bkt/b").status, 200);
  EXPECT_EQ(Call("POST", "/bkt", "<Delete>", {}, {{"delete", ""}}).Code(), "MalformedXML");
  EXPECT_EQ(Call("POST", "/bkt", body, {{"content-md5", Base64Encode(std::string(16, 'x'))}},
                 {{"delete", ""}})
                .Code(),
            "BadDigest");
}

TEST_F(S3GatewayTest, OddKeysGetS3AnswersAndNeverLeaveTheSiteRoot) {
  MakeBucket("bkt");
  std::string k1024;
  while (k1024.size() + 3 <= 1024) k1024 += "\xE2\x82\xAC";  // 3-byte UTF-8
  while (k1024.size() < 1024) k1024 += "k";
  ASSERT_EQ(k1024.size(), 1024u);
  auto ok = Call("PUT", "/bkt/" + k1024, "long key");
  ASSERT_EQ(ok.status, 200) << ok.body;
  EXPECT_EQ(Call("GET", "/bkt/" + k1024).body, "long key");
  EXPECT_EQ(Call("PUT", "/bkt/" + k1024 + "k", "x").Code(), "KeyTooLongError");
  EXPECT_EQ(Call("PUT", "/bkt/../../../../etc/passwd", "x").Code(), "InvalidArgument");
  EXPECT_EQ(Call("PUT", "/bkt/a/../b", "x").Code(), "InvalidArgument");
  EXPECT_EQ(Call("PUT", std::string("/bkt/nul\0byte", 13), "x").Code(), "InvalidArgument");
  EXPECT_EQ(client_->SendRaw("GET", "/bkt/%zz", {}, "").Code(), "InvalidURI");
  // Whatever was accepted lives under the sites' roots only.
  for (const auto& entry : fs::recursive_directory_iterator(dir_)) {
    auto rel = fs::relative(entry.path(), dir_);
    EXPECT_NE(*rel.begin(), "..");
  }
  EXPECT_FALSE(fs::exists(dir_ / "etc"));
  EXPECT_FALSE(fs::exists(fs::path("/etc/passwd.dim")));
}

TEST_F(S3GatewayTest, OversizedHeadersAndMetadataAreRefused) {
  MakeBucket("bkt");
  // One header line over 8 KiB: httplib refuses it before routing; the answer is still S3's.
  auto line = client_->SendRaw("GET", "/bkt", {{"x-big", std::string(9000, 'h')}}, "");
  EXPECT_EQ(line.status, 400);
  EXPECT_EQ(line.Code(), "RequestHeaderSectionTooLarge");
  // Many smaller headers adding up to more than 8 KiB.
  httplib::Headers many;
  for (int i = 0; i < 20; ++i) many.emplace("x-pad-" + std::to_string(i), std::string(500, 'p'));
  auto section = client_->SendRaw("GET", "/bkt", many, "");
  EXPECT_EQ(section.Code(), "RequestHeaderSectionTooLarge");
  auto meta = Call("PUT", "/bkt/k", "x", {{"x-amz-meta-big", std::string(3000, 'm')}});
  EXPECT_EQ(meta.Code(), "MetadataTooLarge");
  // A URI over 8 KiB.
  auto uri = client_->SendRaw("GET", "/bkt/" + std::string(9000, 'u'), {}, "");
  EXPECT_EQ(uri.status, 414);
  EXPECT_EQ(uri.Code(), "InvalidURI");
  // The server is still serving.
  EXPECT_EQ(Call("HEAD", "/bkt").status, 200);
}

TEST_F(S3GatewayTest, EveryObjectRequestPublishesAnAccessEvent) {
  MakeBucket("bkt");
  DrainEvents();
  ASSERT_EQ(Call("PUT", "/bkt/k", "12345").status, 200);
  ASSERT_EQ(Call("GET", "/bkt/k").status, 200);
  ASSERT_EQ(Call("GET", "/bkt/k", "", {{"range", "bytes=0-1"}}).status, 206);
  ASSERT_EQ(Call("HEAD", "/bkt/k").status, 200);
  ASSERT_EQ(Call("GET", "/bkt/missing").status, 404);
  ASSERT_EQ(Call("DELETE", "/bkt/k").status, 204);
  // Events are published when each response is done (after the client has it), so collect
  // them for a while and compare without relying on their order.
  std::vector<AccessEvent> events;
  for (int i = 0; i < 200 && events.size() < 6; ++i) {
    auto more = DrainEvents();
    events.insert(events.end(), more.begin(), more.end());
    if (events.size() < 6) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_EQ(events.size(), 6u);
  auto count = [&](AccessOp op, int status, int64_t bytes) {
    return std::count_if(events.begin(), events.end(), [&](const AccessEvent& e) {
      return e.op == op && e.status == status && e.bytes == bytes && e.key.rfind("bkt/", 0) == 0;
    });
  };
  EXPECT_EQ(count(AccessOp::kPut, 200, 5), 1);
  EXPECT_EQ(count(AccessOp::kGet, 200, 5), 1);
  EXPECT_EQ(count(AccessOp::kGet, 206, 2), 1);
  EXPECT_EQ(count(AccessOp::kHead, 200, 0), 1);
  EXPECT_EQ(count(AccessOp::kGet, 404, 0), 1);
  EXPECT_EQ(count(AccessOp::kDelete, 204, 0), 1);
  for (const auto& e : events) EXPECT_FALSE(e.id.empty());
  std::string metrics = metrics_.RenderText();
  EXPECT_NE(metrics.find("dim_gateway_requests_total{method=\"GET\",code=\"200\"}"),
            std::string::npos);
  EXPECT_NE(metrics.find("dim_gateway_events_published_total"), std::string::npos);
}

class S3GatewayFullBusTest : public S3GatewayTest {
 protected:
  S3GatewayFullBusTest() { bus_capacity_ = 16; }
};

TEST_F(S3GatewayFullBusTest, AFullBusNeverBlocksRequestsAndIsCounted) {
  MakeBucket("bkt");
  ASSERT_EQ(Call("PUT", "/bkt/k", "x").status, 200);
  for (int i = 0; i < 40; ++i) ASSERT_EQ(Call("GET", "/bkt/k").status, 200);
  std::string m = metrics_.RenderText();
  auto pos = m.find("\ndim_gateway_events_dropped_total ");
  ASSERT_NE(pos, std::string::npos) << m;
  EXPECT_GE(std::stod(m.substr(pos + 34)), 20.0) << m.substr(pos, 60);
  EXPECT_GE(bus_->GetStats().dropped, 20);
}

TEST_F(S3GatewayTest, ReadsFailOverToAnotherLiveReplica) {
  MakeBucket("bkt");
  ASSERT_EQ(Call("PUT", "/bkt/r", "replicated").status, 200);
  auto rec = store_->GetObject({"bkt", "r"})->value();
  MetadataStore::PlacementChange pc;
  pc.object_id = rec.id;
  pc.expected_version = rec.version;
  pc.sites = {"aws", "gcp"};
  ASSERT_TRUE(store_->UpdatePlacement(pc).ok());
  auto task = store_->LeaseTask("t", 1000, clock_.NowMs()).value().value();
  StringSource copy("replicated");
  ASSERT_TRUE(sites_.Find("gcp")->store->Put(task.blob, copy, {}).ok());
  ASSERT_EQ(*store_->CommitCopy(task, "t", rec.sha256, rec.size, clock_.NowMs()),
            MetadataStore::CommitOutcome::kCommitted);
  ASSERT_TRUE(sites_.Find("aws")->store->Delete(task.blob).ok());  // the primary site lost it
  auto got = Call("GET", "/bkt/r");
  ASSERT_EQ(got.status, 200);
  EXPECT_EQ(got.body, "replicated");
  EXPECT_EQ(got.Header("x-dim-site"), "gcp");
}

TEST_F(S3GatewayTest, StopRightAfterStartReturns) {
  // A quick SIGTERM stops the gateway right after it started; that must not hang.
  for (int i = 0; i < 5; ++i) {
    S3Gateway g(*service_, *auth_, *bus_, metrics_, clock_, S3GatewayOptions{});
    ASSERT_TRUE(g.Start("127.0.0.1", 0).ok());
    g.Stop();
  }
}

}  // namespace
}  // namespace dim
