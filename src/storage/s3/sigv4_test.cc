// SigV4 against the examples AWS publishes in the S3 API reference ("Signature Calculations for
// the Authorization Header", "Authenticating Requests: Using Query Parameters", "Transferring
// Payload in Multiple Chunks") and the generic SigV4 test suite's get-vanilla case.
#include "storage/s3/sigv4.h"

#include <gtest/gtest.h>

#include "core/checksum.h"

namespace dim::sigv4 {
namespace {

const Credentials kCreds{"AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", ""};
const int64_t k20130524 = 1369353600;  // Fri, 24 May 2013 00:00:00 GMT

std::string SignatureOf(const Pairs& signed_headers) {
  for (const auto& [k, v] : signed_headers) {
    if (k == "Authorization") return v.substr(v.find("Signature=") + 10);
  }
  return "";
}

TEST(SigV4Test, GetObjectWithRange) {
  SignRequest r;
  r.method = "GET";
  r.host = "examplebucket.s3.amazonaws.com";
  r.path = "/test.txt";
  r.headers = {{"Range", "bytes=0-9"}};
  r.payload_hash = std::string(kEmptySha256);
  r.region = "us-east-1";
  r.unix_seconds = k20130524;
  auto h = SignHeaders(r, kCreds);
  EXPECT_EQ(h[0].second,
            "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,"
            "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date,"
            "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
  EXPECT_EQ(h[1], (std::pair<std::string, std::string>{"x-amz-date", "20130524T000000Z"}));
}

TEST(SigV4Test, PutObjectEncodesTheKeyAndSignsExtraHeaders) {
  SignRequest r;
  r.method = "PUT";
  r.host = "examplebucket.s3.amazonaws.com";
  r.path = "/test$file.text";
  r.headers = {{"Date", "Fri, 24 May 2013 00:00:00 GMT"}, {"x-amz-storage-class", "REDUCED_REDUNDANCY"}};
  r.payload_hash = Sha256::Hex("Welcome to Amazon S3.");
  r.region = "us-east-1";
  r.unix_seconds = k20130524;
  EXPECT_EQ(SignatureOf(SignHeaders(r, kCreds)),
            "98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd");
}

TEST(SigV4Test, SubresourceAndListQueries) {
  SignRequest r;
  r.method = "GET";
  r.host = "examplebucket.s3.amazonaws.com";
  r.path = "/";
  r.query = {{"lifecycle", ""}};
  r.payload_hash = std::string(kEmptySha256);
  r.region = "us-east-1";
  r.unix_seconds = k20130524;
  EXPECT_EQ(SignatureOf(SignHeaders(r, kCreds)),
            "fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543");
  r.query = {{"prefix", "J"}, {"max-keys", "2"}};  // order must not matter
  EXPECT_EQ(SignatureOf(SignHeaders(r, kCreds)),
            "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7");
}

TEST(SigV4Test, PresignedUrl) {
  SignRequest r;
  r.method = "GET";
  r.host = "examplebucket.s3.amazonaws.com";
  r.path = "/test.txt";
  r.region = "us-east-1";
  r.unix_seconds = k20130524;
  auto q = PresignQuery(r, kCreds, 86400);
  ASSERT_EQ(q.back().first, "X-Amz-Signature");
  EXPECT_EQ(q.back().second, "aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404");

  auto parsed = ParsePresignedQuery(q);
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  EXPECT_TRUE(parsed->presigned);
  EXPECT_EQ(parsed->access_key, "AKIAIOSFODNN7EXAMPLE");
  EXPECT_EQ(parsed->region, "us-east-1");
  EXPECT_EQ(parsed->expires_seconds, 86400);
  EXPECT_EQ(parsed->signed_headers, std::vector<std::string>{"host"});
  EXPECT_EQ(parsed->amz_date, "20130524T000000Z");
}

TEST(SigV4Test, GenericSuiteGetVanilla) {
  CanonicalInput in;
  in.method = "GET";
  in.path = "/";
  in.headers = {{"Host", "example.amazonaws.com"}, {"X-Amz-Date", "20150830T123600Z"}};
  in.payload_hash = std::string(kEmptySha256);
  const std::string key = SigningKey("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "20150830", "us-east-1", "service");
  EXPECT_EQ(Signature(key, StringToSign("20150830T123600Z", Scope("20150830", "us-east-1", "service"),
                                        CanonicalRequest(in))),
            "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31");
}

TEST(SigV4Test, ChunkedUploadChain) {
  // PUT /examplebucket/chunkObject.txt: 65 KiB of 'a' in a 64 KiB and a 1 KiB chunk.
  SignRequest r;
  r.method = "PUT";
  r.host = "s3.amazonaws.com";
  r.path = "/examplebucket/chunkObject.txt";
  r.headers = {{"content-encoding", "aws-chunked"},
               {"content-length", "66824"},
               {"x-amz-decoded-content-length", "66560"},
               {"x-amz-storage-class", "REDUCED_REDUNDANCY"}};
  r.payload_hash = std::string(kStreamingPayload);
  r.region = "us-east-1";
  r.unix_seconds = k20130524;
  const std::string seed = SignatureOf(SignHeaders(r, kCreds));
  EXPECT_EQ(seed, "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9");
  const std::string key = SigningKey(kCreds.secret_key, "20130524", "us-east-1", "s3");
  const std::string scope = Scope("20130524", "us-east-1", "s3");
  std::string c1 = ChunkSignature(key, "20130524T000000Z", scope, seed, Sha256::Hex(std::string(65536, 'a')));
  EXPECT_EQ(c1, "ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648");
  std::string c2 = ChunkSignature(key, "20130524T000000Z", scope, c1, Sha256::Hex(std::string(1024, 'a')));
  EXPECT_EQ(c2, "0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497");
  std::string c3 = ChunkSignature(key, "20130524T000000Z", scope, c2, kEmptySha256);
  EXPECT_EQ(c3, "b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9");
}

TEST(SigV4Test, CanonicalFormIgnoresWireEncodingAndHeaderSpacing) {
  CanonicalInput a;
  a.method = "GET";
  a.path = "/bucket/dir/my key+ü.txt";
  a.query = {{"prefix", "a b/c"}, {"list-type", "2"}};
  a.headers = {{"Host", "h"}, {"X-Amz-Meta-Note", "  two   words  "}};
  a.payload_hash = "UNSIGNED-PAYLOAD";
  const std::string cr = CanonicalRequest(a);
  EXPECT_NE(cr.find("/bucket/dir/my%20key%2B%C3%BC.txt\n"), std::string::npos) << cr;
  EXPECT_NE(cr.find("list-type=2&prefix=a%20b%2Fc\n"), std::string::npos) << cr;
  EXPECT_NE(cr.find("x-amz-meta-note:two words\n"), std::string::npos) << cr;
  EXPECT_NE(cr.find("\n\nhost;x-amz-meta-note\nUNSIGNED-PAYLOAD"), std::string::npos) << cr;
}

TEST(SigV4Test, UriDecodeRejectsMalformedEscapes) {
  EXPECT_EQ(UriDecode("a%20b%2Fc+d").value(), "a b/c+d");
  EXPECT_FALSE(UriDecode("abc%").ok());
  EXPECT_FALSE(UriDecode("abc%4").ok());
  EXPECT_FALSE(UriDecode("abc%zz").ok());
  EXPECT_EQ(UriEncode("a/b c~", false), "a/b%20c~");
  EXPECT_EQ(UriEncode("a/b c~", true), "a%2Fb%20c~");
}

TEST(SigV4Test, AmzDateRoundTripAndErrors) {
  EXPECT_EQ(FormatAmzDate(k20130524), "20130524T000000Z");
  EXPECT_EQ(ParseAmzDate("20130524T000000Z").value(), k20130524);
  for (const char* bad : {"", "20130524", "20130524T000000", "2013-05-24T00:00:00Z", "20131324T000000Z",
                          "20130524T250000Z", "2013052XT000000Z"}) {
    EXPECT_FALSE(ParseAmzDate(bad).ok()) << bad;
  }
}

TEST(SigV4Test, AuthorizationHeaderParsing) {
  auto ok = ParseAuthorizationHeader(
      "AWS4-HMAC-SHA256 Credential=AKID/20130524/eu-west-1/s3/aws4_request, "
      "SignedHeaders=host;x-amz-date, Signature=" + std::string(64, 'a'));
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  EXPECT_EQ(ok->access_key, "AKID");
  EXPECT_EQ(ok->date8, "20130524");
  EXPECT_EQ(ok->region, "eu-west-1");
  EXPECT_EQ(ok->service, "s3");
  EXPECT_EQ(ok->signed_headers, (std::vector<std::string>{"host", "x-amz-date"}));
  EXPECT_FALSE(ok->presigned);

  const std::string sig = ", Signature=" + std::string(64, 'a');
  for (const std::string& bad : std::vector<std::string>{
           "",
           "AWS AKID:abc",
           "AWS4-HMAC-SHA256",
           "AWS4-HMAC-SHA256 Credential=AKID/20130524/us-east-1/s3/aws4_request, SignedHeaders=host",
           "AWS4-HMAC-SHA256 Credential=AKID/2013052/us-east-1/s3/aws4_request, SignedHeaders=host" + sig,
           "AWS4-HMAC-SHA256 Credential=AKID/20130524/us-east-1/s3/aws5_request, SignedHeaders=host" + sig,
           "AWS4-HMAC-SHA256 Credential=AKID/20130524/us-east-1/s3, SignedHeaders=host" + sig,
           "AWS4-HMAC-SHA256 Credential=AKID/20130524/us-east-1/s3/aws4_request, SignedHeaders=" + sig,
           "AWS4-HMAC-SHA256 Credential=AKID/20130524/us-east-1/s3/aws4_request, SignedHeaders=host;;a" + sig,
           "AWS4-HMAC-SHA256 Credential=AKID/20130524/us-east-1/s3/aws4_request, SignedHeaders=host, "
           "Signature=XYZ",
           "AWS4-HMAC-SHA256 Credential=AKID/20130524/us-east-1/s3/aws4_request, SignedHeaders=host, "
           "Bogus=1" + sig,
           "AWS4-HMAC-SHA256 Credential" + sig,
       }) {
    EXPECT_FALSE(ParseAuthorizationHeader(bad).ok()) << bad;
  }
}

TEST(SigV4Test, PresignedQueryErrors) {
  SignRequest r;
  r.method = "GET";
  r.host = "h";
  r.path = "/b/k";
  r.region = "us-east-1";
  r.unix_seconds = k20130524;
  const Pairs good = PresignQuery(r, kCreds, 60);
  ASSERT_TRUE(ParsePresignedQuery(good).ok());
  for (size_t drop = 0; drop < good.size(); ++drop) {
    Pairs q = good;
    q.erase(q.begin() + static_cast<long>(drop));
    EXPECT_FALSE(ParsePresignedQuery(q).ok()) << "without " << good[drop].first;
  }
  auto with = [&](const std::string& k, const std::string& v) {
    Pairs q = good;
    for (auto& [qk, qv] : q) if (qk == k) qv = v;
    return ParsePresignedQuery(q);
  };
  EXPECT_FALSE(with("X-Amz-Expires", "0").ok());
  EXPECT_FALSE(with("X-Amz-Expires", "604801").ok());
  EXPECT_FALSE(with("X-Amz-Expires", "12abc").ok());
  EXPECT_FALSE(with("X-Amz-Algorithm", "AWS4-HMAC-SHA512").ok());
  EXPECT_FALSE(with("X-Amz-Date", "20130525T000000Z").ok());  // not the scope's date
  Pairs twice = good;
  twice.push_back(good.front());
  EXPECT_FALSE(ParsePresignedQuery(twice).ok());
}

TEST(SigV4Test, SessionTokenIsSignedAndSent) {
  SignRequest r;
  r.method = "GET";
  r.host = "h";
  r.path = "/b/k";
  r.payload_hash = std::string(kUnsignedPayload);
  r.region = "us-east-1";
  r.unix_seconds = k20130524;
  Credentials with_token = kCreds;
  with_token.session_token = "TOKEN";
  auto h = SignHeaders(r, with_token);
  EXPECT_NE(h[0].second.find("x-amz-security-token"), std::string::npos);
  EXPECT_EQ(h.back(), (std::pair<std::string, std::string>{"x-amz-security-token", "TOKEN"}));
  EXPECT_NE(SignatureOf(h), SignatureOf(SignHeaders(r, kCreds)));
}

TEST(SigV4Test, SignaturesEqualIsExact) {
  EXPECT_TRUE(SignaturesEqual("abc", "abc"));
  EXPECT_FALSE(SignaturesEqual("abc", "abd"));
  EXPECT_FALSE(SignaturesEqual("abc", "abcd"));
}

}  // namespace
}  // namespace dim::sigv4
