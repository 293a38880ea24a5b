// The S3 backend against a scripted fake S3 in this process (cpp-httplib). The fake checks every
// request's SigV4 signature with the server-side half of sigv4.h — which s3rver does not — and
// lets tests inject throttling and failures. The real-server tests are in
// tests/integration/s3_contract_test.cc (s3rver).
#include "storage/s3/s3_object_store.h"

#include <gtest/gtest.h>
#include <httplib.h>

#include <chrono>
#include <deque>
#include <latch>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "core/checksum.h"
#include "storage/s3/s3_errors.h"
#include "storage/s3/s3_xml.h"

namespace dim {
namespace {

constexpr const char* kKey = "AKIDEXAMPLE";
constexpr const char* kSecret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";

class FakeS3 {
 public:
  FakeS3() {
    auto any = [this](const httplib::Request& req, httplib::Response& res) { Handle(req, res); };
    server_.Get(".*", any);
    server_.Put(".*", any);
    server_.Post(".*", any);
    server_.Delete(".*", any);
    server_.Options(".*", any);
    // HEAD is routed to the GET handler by cpp-httplib.
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    while (!server_.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  ~FakeS3() {
    server_.stop();
    thread_.join();
  }
  std::string endpoint() const { return "http://127.0.0.1:" + std::to_string(port_); }
  int port() const { return port_; }

  struct Seen {
    std::string method, path, host, query;
    std::map<std::string, std::string> headers;
    bool signature_ok = false;
  };
  std::vector<Seen> seen() {
    std::lock_guard<std::mutex> l(mu_);
    return seen_;
  }
  // Responses to give instead of handling, keyed by "METHOD" or "METHOD?param".
  void Inject(const std::string& what, int status, std::string body, std::string retry_after = "") {
    std::lock_guard<std::mutex> l(mu_);
    inject_[what].push_back({status, std::move(body), std::move(retry_after)});
  }
  std::map<std::string, std::string> objects() {
    std::lock_guard<std::mutex> l(mu_);
    return objects_;
  }
  // From now on the payload hash is not checked (like s3rver).
  void AcceptAnyPayload() {
    std::lock_guard<std::mutex> l(mu_);
    lax_payload_ = true;
  }
  // The bucket is gone (with its objects) until a PUT of the bucket makes it again; a HEAD of
  // the bucket then takes `head_delay_ms`.
  void DropBucket(int head_delay_ms = 0) {
    std::lock_guard<std::mutex> l(mu_);
    bucket_missing_ = true;
    bucket_head_delay_ms_ = head_delay_ms;
    objects_.clear();
  }
  // The next single PUT stores (and answers the ETag of) its body with one byte changed.
  void CorruptNextPut() {
    std::lock_guard<std::mutex> l(mu_);
    corrupt_next_put_ = true;
  }

 private:
  struct Canned {
    int status;
    std::string body, retry_after;
  };

  bool SignatureOk(const httplib::Request& req) {
    auto auth = sigv4::ParseAuthorizationHeader(req.get_header_value("Authorization"));
    if (!auth.ok() || auth->access_key != kKey) return false;
    sigv4::CanonicalInput in;
    in.method = req.method;
    in.path = req.path;
    for (const auto& [k, v] : req.params) in.query.emplace_back(k, v);
    for (const auto& h : auth->signed_headers)
      in.headers.emplace_back(h, req.get_header_value(h.c_str()));
    in.payload_hash = req.get_header_value("x-amz-content-sha256");
    if (!lax_payload_ && in.payload_hash != sigv4::kUnsignedPayload &&
        in.payload_hash != Sha256::Hex(req.body))
      return false;
    std::string amz_date = req.get_header_value("x-amz-date");
    std::string scope = sigv4::Scope(auth->date8, auth->region, auth->service);
    std::string want =
        sigv4::Signature(sigv4::SigningKey(kSecret, auth->date8, auth->region, auth->service),
                         sigv4::StringToSign(amz_date, scope, sigv4::CanonicalRequest(in)));
    return sigv4::SignaturesEqual(want, auth->signature);
  }

  void Handle(const httplib::Request& req, httplib::Response& res) {
    const bool bucket_level = req.path == "/bkt" || req.path == "/bkt/";
    if (bucket_level && req.method == "HEAD") {
      int delay = 0;
      {
        std::lock_guard<std::mutex> l(mu_);
        delay = bucket_head_delay_ms_;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(delay));
    }
    std::lock_guard<std::mutex> l(mu_);
    Seen s;
    s.method = req.method;
    s.path = req.path;
    s.host = req.get_header_value("Host");
    for (const auto& [k, v] : req.params) s.query += k + "=" + v + "&";
    for (const auto& [k, v] : req.headers) s.headers[k] = v;
    s.signature_ok = SignatureOk(req);
    seen_.push_back(s);
    if (!s.signature_ok) {
      res.status = 403;
      res.set_content(
          "<Error><Code>SignatureDoesNotMatch</Code><Message>bad signature</Message></Error>",
          "application/xml");
      return;
    }
    // Like S3: a Content-MD5 that is not the body's is refused.
    if (req.has_header("Content-MD5")) {
      std::string raw;
      HexDecode(Md5::Hex(req.body), &raw);
      if (req.get_header_value("Content-MD5") != Base64Encode(raw)) {
        res.status = 400;
        res.set_content("<Error><Code>BadDigest</Code><Message>Content-MD5</Message></Error>",
                        "application/xml");
        return;
      }
    }
    for (const char* p : {"uploads", "uploadId", "partNumber", "list-type"}) {
      std::string k = req.method + "?" + p;
      if (req.has_param(p) && !inject_[k].empty()) return Reply(res, k);
    }
    if (!req.has_param("uploads") && !req.has_param("uploadId") && !inject_[req.method].empty()) {
      return Reply(res, req.method);
    }
    if (bucket_level && (req.method == "HEAD" || req.method == "PUT")) {
      if (req.method == "PUT") bucket_missing_ = false;
      res.status = bucket_missing_ ? 404 : 200;
      return;
    }
    if (bucket_missing_) {
      res.status = 404;
      res.set_content("<Error><Code>NoSuchBucket</Code></Error>", "application/xml");
      return;
    }
    const std::string key =
        req.path.rfind("/bkt/", 0) == 0 ? req.path.substr(5) : req.path.substr(1);
    if (req.method == "GET" && req.get_param_value("list-type") == "2") {
      // ListObjectsV2 with prefix, start-after, max-keys and encoding-type=url.
      std::string prefix = req.get_param_value("prefix"),
                  after = req.get_param_value("start-after");
      int max = std::stoi(req.get_param_value("max-keys"));
      bool url = req.get_param_value("encoding-type") == "url";
      std::string xml = "<ListBucketResult>";
      if (url) xml += "<EncodingType>url</EncodingType>";
      std::string contents;
      int n = 0;
      bool truncated = false;
      for (auto& [k, v] : objects_) {
        if (k.compare(0, prefix.size(), prefix) != 0 || (!after.empty() && k <= after)) continue;
        if (n == max) {
          truncated = true;
          break;
        }
        ++n;
        contents += "<Contents><Key>" + (url ? sigv4::UriEncode(k, false) : k) + "</Key><Size>" +
                    std::to_string(v.size()) + "</Size></Contents>";
      }
      xml += std::string("<IsTruncated>") + (truncated ? "true" : "false") + "</IsTruncated>" +
             contents + "</ListBucketResult>";
      res.set_content(xml, "application/xml");
      return;
    }
    if (req.method == "POST" && req.has_param("uploads")) {
      res.set_content(
          "<InitiateMultipartUploadResult><UploadId>up1</UploadId></InitiateMultipartUploadResult>",
          "application/xml");
    } else if (req.method == "PUT" && req.has_param("partNumber")) {
      parts_[std::stoi(req.get_param_value("partNumber"))] = req.body;
      res.set_header("ETag", "\"" + Md5::Hex(req.body) + "\"");
    } else if (req.method == "POST" && req.has_param("uploadId")) {
      std::string all, md5s;
      for (auto& [n, p] : parts_) {
        all += p;
        std::string raw;
        HexDecode(Md5::Hex(p), &raw);
        md5s += raw;
      }
      objects_[key] = all;
      res.set_content("<CompleteMultipartUploadResult><ETag>\"" + Md5::Hex(md5s) + "-" +
                          std::to_string(parts_.size()) +
                          "\"</ETag></CompleteMultipartUploadResult>",
                      "application/xml");
      parts_.clear();
    } else if (req.method == "DELETE" && req.has_param("uploadId")) {
      parts_.clear();
      res.status = 204;
    } else if (req.method == "PUT") {
      std::string stored = req.body;
      if (corrupt_next_put_ && !stored.empty()) stored[0] = static_cast<char>(stored[0] ^ 1);
      corrupt_next_put_ = false;
      objects_[key] = stored;
      res.set_header("ETag", "\"" + Md5::Hex(stored) + "\"");
    } else if (req.method == "GET" || req.method == "HEAD") {
      auto it = objects_.find(key);
      if (it == objects_.end()) {
        res.status = 404;
        if (req.method == "GET")
          res.set_content("<Error><Code>NoSuchKey</Code></Error>", "application/xml");
        return;
      }
      res.set_content(it->second, "application/octet-stream");
    } else if (req.method == "DELETE") {
      objects_.erase(key);
      res.status = 204;
    }
  }
  void Reply(httplib::Response& res, const std::string& k) {
    Canned c = inject_[k].front();
    inject_[k].pop_front();
    res.status = c.status;
    if (!c.retry_after.empty()) res.set_header("Retry-After", c.retry_after);
    res.set_content(c.body, "application/xml");
  }

  httplib::Server server_;
  std::thread thread_;
  int port_ = 0;
  std::mutex mu_;
  std::vector<Seen> seen_;
  std::map<std::string, std::deque<Canned>> inject_;
  std::map<std::string, std::string> objects_;
  std::map<int, std::string> parts_;
  bool corrupt_next_put_ = false;
  bool lax_payload_ = false;
  bool bucket_missing_ = false;
  int bucket_head_delay_ms_ = 0;
};

class S3ObjectStoreTest : public ::testing::Test {
 protected:
  std::shared_ptr<S3ObjectStore> Store(std::function<void(S3Options&)> tweak = nullptr) {
    S3Options o;
    o.site = "s3test";
    o.endpoint = fake_.endpoint();
    o.bucket = "bkt";
    o.region = "eu-west-1";
    o.credentials = {kKey, kSecret, ""};
    o.part_size = 5 << 20;
    o.upload_concurrency = 2;
    o.clock = &clock_;
    o.sleep = [this](int64_t ms) { waits_.push_back(ms); };
    if (tweak) tweak(o);
    auto s = S3ObjectStore::Make(o);
    EXPECT_TRUE(s.ok()) << s.status().ToString();
    return s.ok() ? *s : nullptr;
  }
  FakeS3 fake_;
  RealClock clock_;
  std::vector<int64_t> waits_;
};

TEST_F(S3ObjectStoreTest, EveryRequestIsSignedCorrectly) {
  auto s = Store();
  std::string odd = "dir/caf\xc3\xa9 & more+plus/%41@1";
  StringSource src("hello");
  ASSERT_TRUE(s->Put(odd, src, {}).ok());
  auto g = s->Get(odd, ByteRange{1, 3});
  ASSERT_TRUE(g.ok()) << g.status().ToString();
  EXPECT_EQ(ReadAll(**g).value(), "ell");  // the fake ignores Range: the client cut the window
  ASSERT_TRUE(s->Head(odd).ok());
  ASSERT_TRUE(s->Delete(odd).ok());
  auto seen = fake_.seen();
  ASSERT_GE(seen.size(), 4u);
  for (const auto& r : seen) {
    EXPECT_TRUE(r.signature_ok) << r.method << " " << r.path;
    EXPECT_EQ(r.path, "/bkt/" + odd);
    EXPECT_NE(r.headers.at("Authorization").find("/eu-west-1/s3/aws4_request"), std::string::npos);
  }
  // The object's SHA-256 signs the payload (S3 verifies it); its MD5 is computed while the
  // bytes go out, so S3 gets no Content-MD5 ...
  EXPECT_EQ(seen[0].headers.at("x-amz-content-sha256"), Sha256::Hex("hello"));
  EXPECT_EQ(seen[0].headers.count("Content-MD5"), 0u);
  // ... and GCS, which verifies Content-MD5, gets it.
  auto gcs = Store([](S3Options& o) { o.flavor = "gcs"; });
  StringSource again("hello");
  auto pr = gcs->Put("g@1", again, {});
  ASSERT_TRUE(pr.ok()) << pr.status().ToString();
  EXPECT_EQ(pr->md5, Md5::Hex("hello"));
  EXPECT_EQ(fake_.seen().back().headers.at("Content-MD5"), Base64Encode([] {
              std::string raw;
              HexDecode(Md5::Hex("hello"), &raw);
              return raw;
            }()));
  EXPECT_EQ(fake_.seen().back().headers.at("x-amz-content-sha256"), Sha256::Hex("hello"));
}

TEST_F(S3ObjectStoreTest, SinglePutDigestsAreOfTheBytesSentAndTheEtagIsChecked) {
  auto s = Store();
  PatternSource body(3 << 20, 5);  // one PUT (part size 5 MiB), size unknown to the store
  PatternSource again(3 << 20, 5);
  const std::string bytes = ReadAll(again).value();
  auto pr = s->Put("one@1", body, {});
  ASSERT_TRUE(pr.ok()) << pr.status().ToString();
  EXPECT_EQ(pr->size, 3 << 20);
  EXPECT_EQ(pr->sha256, Sha256::Hex(bytes));
  EXPECT_EQ(pr->md5, Md5::Hex(bytes));
  EXPECT_TRUE(fake_.objects().at("one@1") == bytes);
  // A retried PUT sends the bytes again: the MD5 is still of one copy of them.
  fake_.Inject("PUT", 503, "<Error><Code>SlowDown</Code><Message>slow</Message></Error>");
  StringSource retried("retried body");
  auto r2 = s->Put("two@1", retried, {});
  ASSERT_TRUE(r2.ok()) << r2.status().ToString();
  EXPECT_EQ(r2->md5, Md5::Hex("retried body"));
  // An endpoint that stores other bytes than were sent is caught by the ETag.
  fake_.CorruptNextPut();
  StringSource victim("precious");
  auto bad = s->Put("three@1", victim, {});
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), StatusCode::kDataLoss) << bad.status().ToString();
  EXPECT_NE(bad.status().message().find("not the MD5 of the bytes sent"), std::string::npos);
  // need_md5 = false (the migrator's copies): no MD5 pass over the bytes as they go out; the
  // payload is still signed with their SHA-256, which the server checks.
  PutOptions no_md5;
  no_md5.need_md5 = false;
  StringSource quiet("small and quiet");
  auto q = s->Put("four@1", quiet, no_md5);
  ASSERT_TRUE(q.ok()) << q.status().ToString();
  EXPECT_EQ(q->md5, "");
  EXPECT_EQ(q->sha256, Sha256::Hex("small and quiet"));
  EXPECT_EQ(fake_.objects().at("four@1"), "small and quiet");
  EXPECT_TRUE(fake_.seen().back().signature_ok);
  EXPECT_EQ(fake_.seen().back().headers.at("x-amz-content-sha256"), q->sha256);
  // A body that does not match the expected checksum is still refused before anything is sent.
  no_md5.expected_sha256 = Sha256::Hex("something else");
  StringSource mismatch("small and quiet");
  const size_t sent_before = fake_.seen().size();
  EXPECT_EQ(s->Put("five@1", mismatch, no_md5).status().code(), StatusCode::kDataLoss);
  EXPECT_EQ(fake_.seen().size(), sent_before);
}

TEST_F(S3ObjectStoreTest, KnownSizeWithAChecksumGoesUpInOneStreamedPutBelowTheCutoff) {
  auto s = Store([](S3Options& o) { o.single_put_max = 16 << 20; });
  PatternSource ref(11 << 20, 3);
  const std::string bytes = ReadAll(ref).value();
  PutOptions po;
  po.size = 11 << 20;
  po.expected_sha256 = Sha256::Hex(bytes);
  PatternSource body(11 << 20, 3);
  auto pr = s->Put("big@1", body, po);
  ASSERT_TRUE(pr.ok()) << pr.status().ToString();
  EXPECT_EQ(pr->size, 11 << 20);
  EXPECT_EQ(pr->sha256, po.expected_sha256);
  EXPECT_EQ(pr->md5, Md5::Hex(bytes));
  EXPECT_TRUE(fake_.objects().at("big@1") == bytes);
  auto seen = fake_.seen();
  ASSERT_EQ(seen.size(), 1u);  // one PUT, no multipart upload
  EXPECT_EQ(seen[0].method, "PUT");
  EXPECT_EQ(seen[0].query, "");
  // Signed with the expected SHA-256: the fake, like S3, checks the body against it.
  EXPECT_TRUE(seen[0].signature_ok);
  EXPECT_EQ(seen[0].headers.at("x-amz-content-sha256"), po.expected_sha256);

  // Bytes that do not hash to the checksum: the last ones are spoiled, so the server (which
  // checks the signed payload hash) refuses the request; nothing is stored.
  PatternSource wrong(11 << 20, 4);
  auto bad = s->Put("bad@1", wrong, po);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), StatusCode::kDataLoss) << bad.status().ToString();
  EXPECT_NE(bad.status().message().find("spoiled"), std::string::npos) << bad.status().ToString();
  EXPECT_FALSE(fake_.seen().back().signature_ok);  // the whole (spoiled) body went out
  // A source shorter than the size it was announced with: the same.
  StringSource short_src(bytes.substr(0, 6 << 20));
  auto shrt = s->Put("short@1", short_src, po);
  ASSERT_FALSE(shrt.ok());
  EXPECT_EQ(shrt.status().code(), StatusCode::kDataLoss) << shrt.status().ToString();
  EXPECT_EQ(fake_.objects().count("bad@1"), 0u);
  EXPECT_EQ(fake_.objects().count("short@1"), 0u);
  // A server that does not check signed payloads (s3rver) keeps the spoiled body: it is deleted.
  fake_.AcceptAnyPayload();
  PatternSource wrong_again(11 << 20, 4);
  auto kept = s->Put("kept@1", wrong_again, po);
  ASSERT_FALSE(kept.ok());
  EXPECT_EQ(kept.status().code(), StatusCode::kDataLoss) << kept.status().ToString();
  EXPECT_NE(kept.status().message().find("it was deleted"), std::string::npos)
      << kept.status().ToString();
  EXPECT_EQ(fake_.objects().count("kept@1"), 0u);
  EXPECT_EQ(fake_.seen().back().method, "DELETE");

  // Above the cutoff, or without a checksum to verify, it is a multipart upload as before.
  const size_t before = fake_.seen().size();
  PatternSource over(17 << 20, 5);
  PutOptions po2;
  po2.size = 17 << 20;
  PatternSource over_ref(17 << 20, 5);
  po2.expected_sha256 = Sha256::Hex(ReadAll(over_ref).value());
  ASSERT_TRUE(s->Put("over@1", over, po2).ok());
  PatternSource unchecked(11 << 20, 3);
  PutOptions po3;
  po3.size = 11 << 20;
  ASSERT_TRUE(s->Put("unchecked@1", unchecked, po3).ok());
  int creates = 0;
  seen = fake_.seen();
  for (size_t i = before; i < seen.size(); ++i)
    creates += seen[i].method == "POST" && seen[i].query.find("uploads") != std::string::npos;
  EXPECT_EQ(creates, 2);
  // need_md5 = false (the migrator's copies): no MD5 is computed, the SHA-256 still signs.
  PutOptions no_md5 = po;
  no_md5.need_md5 = false;
  PatternSource quiet(11 << 20, 3);
  auto q = s->Put("nomd5@1", quiet, no_md5);
  ASSERT_TRUE(q.ok()) << q.status().ToString();
  EXPECT_EQ(q->md5, "");
  EXPECT_EQ(q->sha256, po.expected_sha256);
  EXPECT_TRUE(fake_.objects().at("nomd5@1") == bytes);
  // The cutoff at 0 turns streamed puts off.
  auto off = Store([](S3Options& o) { o.single_put_max = 0; });
  PatternSource again(11 << 20, 3);
  ASSERT_TRUE(off->Put("off@1", again, po).ok());
  EXPECT_EQ(fake_.seen().back().method, "POST");  // CompleteMultipartUpload
}

// Workers that meet a missing bucket together: one checks and creates it, the others wait for
// that and go on, instead of each sending its own HEAD of the bucket after it.
TEST_F(S3ObjectStoreTest, ConcurrentWritersToAMissingBucketCheckItOnce) {
  auto s = Store([](S3Options& o) { o.create_bucket = true; });
  auto bucket_calls = [&](const std::string& method) {
    int n = 0;
    for (const auto& r : fake_.seen())
      n += r.method == method && (r.path == "/bkt" || r.path == "/bkt/");
    return n;
  };
  auto race = [&](int64_t size) {
    constexpr int kWriters = 4;
    const std::string bytes = ReadAll(*std::make_unique<PatternSource>(size, 9)).value();
    std::latch go(kWriters);
    std::vector<Status> got(kWriters);
    std::vector<std::thread> writers;
    for (int i = 0; i < kWriters; ++i) {
      writers.emplace_back([&, i] {
        PutOptions po;
        po.size = size;
        po.expected_sha256 = Sha256::Hex(bytes);
        PatternSource body(size, 9);
        go.arrive_and_wait();
        auto pr = s->Put("w" + std::to_string(i) + "@1", body, po);
        got[i] = pr.status();
      });
    }
    for (auto& t : writers) t.join();
    for (int i = 0; i < kWriters; ++i) {
      EXPECT_TRUE(got[i].ok()) << i << ": " << got[i].ToString();
      EXPECT_TRUE(fake_.objects().count("w" + std::to_string(i) + "@1")) << i;
    }
  };
  // Streamed PUTs (known size and checksum, at least a part): the bucket is made before the body
  // goes out. A slow HEAD keeps the first writer's check going while the others arrive.
  fake_.DropBucket(/*head_delay_ms=*/300);
  race(5 << 20);
  EXPECT_EQ(bucket_calls("HEAD"), 1);
  EXPECT_EQ(bucket_calls("PUT"), 1);
  // Small PUTs that find the bucket gone (deleted behind the store's back): one check, one
  // create, and each writer sends its PUT again.
  fake_.DropBucket(/*head_delay_ms=*/300);
  race(1000);
  EXPECT_EQ(bucket_calls("HEAD"), 2);
  EXPECT_EQ(bucket_calls("PUT"), 2);
}

TEST_F(S3ObjectStoreTest, SessionTokenAndEncryptionHeaders) {
  auto s = Store([](S3Options& o) {
    o.credentials.session_token = "FQoGZXIvYXdzEJr//token";
    o.sse = "aws:kms";
  });
  StringSource small("x");
  ASSERT_TRUE(s->Put("a@1", small, {}).ok());
  PatternSource big(11 << 20, 1);
  ASSERT_TRUE(s->Put("b@1", big, {}).ok());
  for (const auto& r : fake_.seen()) {
    EXPECT_TRUE(r.signature_ok);
    EXPECT_EQ(r.headers.at("x-amz-security-token"), "FQoGZXIvYXdzEJr//token");
    EXPECT_NE(r.headers.at("Authorization").find("x-amz-security-token"), std::string::npos);
    bool creates = r.method == "PUT" && r.query.find("partNumber") == std::string::npos;
    creates |= r.method == "POST" && r.query.find("uploads") != std::string::npos;
    if (creates) {
      EXPECT_EQ(r.headers.count("x-amz-server-side-encryption")
                    ? r.headers.at("x-amz-server-side-encryption")
                    : "",
                "aws:kms")
          << r.method << " " << r.query;
    }
  }
  // Without a configured sse, a put that asks for encryption gets AES256.
  auto plain = Store();
  StringSource e("y");
  PutOptions po;
  po.server_side_encryption = true;
  ASSERT_TRUE(plain->Put("c@1", e, po).ok());
  EXPECT_EQ(fake_.seen().back().headers.at("x-amz-server-side-encryption"), "AES256");
}

TEST_F(S3ObjectStoreTest, ThrottledPartsAreRetriedHonouringRetryAfter) {
  auto s = Store();
  fake_.Inject(
      "PUT?partNumber", 503,
      "<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>",
      "2");
  fake_.Inject("PUT?partNumber", 429, "", "");
  PatternSource big(12 << 20, 4);
  HashingSource h(big);
  auto r = s->Put("mp@1", h, {});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(fake_.objects().at("mp@1").size(), 12u << 20);
  EXPECT_EQ(Sha256::Hex(fake_.objects().at("mp@1")), r->sha256);
  ASSERT_EQ(waits_.size(), 2u);
  EXPECT_TRUE(waits_[0] >= 2000 || waits_[1] >= 2000);
  // Parts are not hashed a second time for the signature: UNSIGNED-PAYLOAD, with the part's
  // Content-MD5 (verified by the fake as by S3) carrying its integrity.
  int parts = 0;
  for (const auto& q : fake_.seen()) {
    if (q.method != "PUT" || q.query.find("partNumber") == std::string::npos) continue;
    ++parts;
    EXPECT_EQ(q.headers.at("x-amz-content-sha256"), "UNSIGNED-PAYLOAD");
    EXPECT_EQ(q.headers.count("Content-MD5"), 1u);
  }
  EXPECT_EQ(parts, 3 + 2);  // parts of 5, 5 and 2 MiB, and two throttled tries
}

TEST_F(S3ObjectStoreTest, WrongCredentialsNameEndpointAndCause) {
  auto s = Store([](S3Options& o) { o.credentials.secret_key = "wrong"; });
  auto l = s->List("", "", 10);
  ASSERT_FALSE(l.ok());
  EXPECT_EQ(l.status().code(), StatusCode::kUnauthenticated) << l.status().ToString();
  EXPECT_NE(l.status().message().find(fake_.endpoint()), std::string::npos);
  EXPECT_NE(l.status().message().find("SignatureDoesNotMatch"), std::string::npos);
  EXPECT_NE(l.status().message().find("s3test"), std::string::npos);
}

TEST_F(S3ObjectStoreTest, LateCompleteErrorAbortsTheUpload) {
  auto s = Store();
  fake_.Inject("POST?uploadId", 200,
               "<Error><Code>InvalidPart</Code><Message>One or more of the specified parts could "
               "not be found.</Message></Error>");
  PatternSource big(6 << 20, 2);
  auto r = s->Put("late@1", big, {});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("InvalidPart"), std::string::npos) << r.status().ToString();
  bool aborted = false;
  for (auto& q : fake_.seen())
    aborted |= q.method == "DELETE" && q.query.find("uploadId") != std::string::npos;
  EXPECT_TRUE(aborted);
  EXPECT_EQ(fake_.objects().count("late@1"), 0u);
}

TEST_F(S3ObjectStoreTest, ListObjectsV2PaginatesWithStartAfter) {
  auto s = Store();
  std::set<std::string> names;
  for (std::string n :
       {"p/a b@1", "p/caf\xc3\xa9@1", "p/plus+sign@1", "p/x/y@1", "p/z@1", "q/other@1"}) {
    StringSource src(n);
    ASSERT_TRUE(s->Put(n, src, {}).ok());
    if (n[0] == 'p') names.insert(n);
  }
  std::set<std::string> seen;
  std::string token;
  int pages = 0;
  do {
    auto page = s->List("p/", token, 2);
    ASSERT_TRUE(page.ok()) << page.status().ToString();
    for (auto& i : page->items) EXPECT_TRUE(seen.insert(i.name).second) << i.name;
    token = page->next_token;
    ASSERT_LT(++pages, 10);
  } while (!token.empty());
  EXPECT_EQ(seen, names);
  EXPECT_EQ(pages, 3);
  for (const auto& r : fake_.seen()) EXPECT_TRUE(r.signature_ok) << r.method << " " << r.query;
}

TEST_F(S3ObjectStoreTest, VirtualHostedAddressing) {
  auto s = Store([this](S3Options& o) {
    o.endpoint = "http://localhost:" + std::to_string(fake_.port());
    o.path_style = false;
  });
  EXPECT_EQ(s->UrlFor("k/x y"),
            "http://bkt.localhost:" + std::to_string(fake_.port()) + "/k/x%20y");
  StringSource src("v");
  ASSERT_TRUE(s->Put("k@1", src, {}).ok()) << "curl resolves *.localhost to the loopback";
  auto r = fake_.seen().back();
  EXPECT_EQ(r.host, "bkt.localhost:" + std::to_string(fake_.port()));
  EXPECT_EQ(r.path, "/k@1");
  EXPECT_TRUE(r.signature_ok);
}

TEST(S3ErrorsTest, MapsStatusesAndCodes) {
  auto map = [](int status, const std::string& code, const std::string& retry_after = "") {
    HttpResponse r;
    r.status = status;
    if (!code.empty()) r.body = "<Error><Code>" + code + "</Code><Message>m</Message></Error>";
    if (!retry_after.empty()) r.headers.emplace_back("retry-after", retry_after);
    return s3::StatusFromResponse(r, "site x: endpoint http://e: get k", 0);
  };
  EXPECT_EQ(map(404, "NoSuchKey").code(), StatusCode::kNotFound);
  EXPECT_EQ(map(404, "NoSuchBucket").code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(map(403, "InvalidAccessKeyId").code(), StatusCode::kUnauthenticated);
  EXPECT_EQ(map(403, "SignatureDoesNotMatch").code(), StatusCode::kUnauthenticated);
  EXPECT_EQ(map(403, "AccessDenied").code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(map(403, "").code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(map(429, "").code(), StatusCode::kResourceExhausted);
  Status slow = map(503, "SlowDown", "3");
  EXPECT_EQ(slow.code(), StatusCode::kUnavailable);
  EXPECT_EQ(slow.retry_after_ms(), 3000);
  EXPECT_NE(slow.message().find("SlowDown"), std::string::npos);
  // Throttling answers are marked, so retries allow them more attempts; a 500 is not throttling.
  EXPECT_TRUE(slow.throttled());
  EXPECT_TRUE(map(429, "").throttled());
  EXPECT_TRUE(map(503, "").throttled());
  EXPECT_TRUE(map(400, "SlowDown").throttled());
  EXPECT_FALSE(map(500, "InternalError").throttled());
  EXPECT_FALSE(map(400, "RequestTimeout").throttled());
  EXPECT_EQ(map(500, "InternalError").code(), StatusCode::kUnavailable);
  EXPECT_EQ(map(400, "RequestTimeout").code(), StatusCode::kUnavailable);
  EXPECT_EQ(map(400, "BadDigest").code(), StatusCode::kDataLoss);
  EXPECT_EQ(map(400, "InvalidArgument").code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(map(416, "InvalidRange").code(), StatusCode::kOutOfRange);
  EXPECT_EQ(map(405, "MethodNotAllowed").code(), StatusCode::kUnimplemented);
  EXPECT_EQ(map(301, "PermanentRedirect").code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(map(409, "BucketAlreadyOwnedByYou").code(), StatusCode::kAlreadyExists);
  for (int st : {404, 403, 429, 503, 500, 400}) {
    EXPECT_NE(map(st, "X").message().find("endpoint http://e"), std::string::npos) << st;
  }
}

TEST(S3XmlTest, ParsesListingsAndRejectsGarbage) {
  auto r = s3::ParseListBucketResult(
      "<ListBucketResult><EncodingType>url</EncodingType><IsTruncated>true</IsTruncated>"
      "<Contents><Key>a%20b+c/caf%C3%A9</Key><Size>12</Size><ETag>\"abc\"</ETag>"
      "<LastModified>2009-10-12T17:50:30.000Z</LastModified></Contents></ListBucketResult>");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->items.size(), 1u);
  EXPECT_EQ(r->items[0].name, "a b c/caf\xc3\xa9");
  EXPECT_EQ(r->items[0].size, 12);
  EXPECT_EQ(r->items[0].etag, "abc");
  EXPECT_EQ(r->items[0].mtime_ms, 1255369830000);
  EXPECT_TRUE(r->truncated);
  for (const char* bad :
       {"", "not xml", "<Other/>",
        "<ListBucketResult><Contents><Size>1</Size></Contents></ListBucketResult>",
        "<ListBucketResult><Contents><Key>k</Key><Size>-1</Size></Contents></ListBucketResult>",
        "<ListBucketResult><Contents><Key>k</Key><Size>x</Size></Contents></ListBucketResult>",
        "<ListBucketResult><EncodingType>url</EncodingType><Contents><Key>%zz</Key><Size>1</Size></"
        "Contents></ListBucketResult>"}) {
    EXPECT_FALSE(s3::ParseListBucketResult(bad).ok()) << bad;
  }
  EXPECT_FALSE(s3::ParseInitiateMultipartUpload("<InitiateMultipartUploadResult/>").ok());
  EXPECT_EQ(
      s3::ParseInitiateMultipartUpload(
          "<InitiateMultipartUploadResult><UploadId>u-1</UploadId></InitiateMultipartUploadResult>")
          .value(),
      "u-1");
  auto late = s3::ParseCompleteMultipartUpload("<Error><Code>InternalError</Code></Error>");
  EXPECT_EQ(late.status().code(), StatusCode::kUnavailable);
  EXPECT_FALSE(s3::ParseError("<html>proxy error</html>").has_value());
  EXPECT_EQ(
      s3::CompleteMultipartUploadXml({{1, "ab"}, {2, "\"cd\""}}),
      "<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>&quot;ab&quot;</ETag></Part>"
      "<Part><PartNumber>2</PartNumber><ETag>&quot;cd&quot;</ETag></Part></"
      "CompleteMultipartUpload>");
  EXPECT_FALSE(s3::ParseIso8601Ms("yesterday").has_value());
  EXPECT_FALSE(s3::ParseIso8601Ms("2009-13-12T17:50:30Z").has_value());
}

TEST(S3OptionsTest, GcsDefaultsAndS3Defaults) {
  Config root;
  SiteConfig g;
  g.name = "gcs-std";
  g.type = "gcs";
  g.region = "us-central1";
  g.bucket = "my-bucket";
  g.access_key = "GOOG1EXAMPLE";
  g.secret_key = "secret";
  auto o = S3Options::FromSiteConfig(g, root);
  ASSERT_TRUE(o.ok()) << o.status().ToString();
  EXPECT_EQ(o->endpoint, "https://storage.googleapis.com");
  EXPECT_EQ(o->region, "auto");
  EXPECT_FALSE(o->list_v2);
  EXPECT_EQ(o->flavor, "gcs");
  g.sse = "AES256";
  EXPECT_FALSE(S3Options::FromSiteConfig(g, root).ok());
  SiteConfig a;
  a.name = "aws-ia";
  a.type = "s3";
  a.region = "eu-west-1";
  a.bucket = "b";
  a.part_size_mb = 16;
  root.storage.idle_timeout_ms = 7000;
  o = S3Options::FromSiteConfig(a, root);
  ASSERT_TRUE(o.ok());
  EXPECT_EQ(o->endpoint, "https://s3.eu-west-1.amazonaws.com");
  EXPECT_EQ(o->region, "eu-west-1");
  EXPECT_TRUE(o->list_v2);
  EXPECT_EQ(o->part_size, 16 << 20);
  EXPECT_EQ(o->http.idle_timeout_ms, 7000);
  a.bucket = "";
  EXPECT_FALSE(S3Options::FromSiteConfig(a, root).ok());
}

}  // namespace
}  // namespace dim
