// Unit tests of the gateway's parsers and small pieces: request targets, ranges, metadata,
// conditions, dates, checksums, the aws-chunked decoder (on AWS's published example), XML bodies
// and the XML writer, body verification and the body pipe.
#include <gtest/gtest.h>

#include <pugixml.hpp>
#include <thread>

#include "core/checksum.h"
#include "gateway/aws_chunked_decoder.h"
#include "gateway/body_pipe.h"
#include "gateway/body_verifier.h"
#include "gateway/http_date.h"
#include "gateway/s3_checksum.h"
#include "gateway/s3_conditions.h"
#include "gateway/s3_error.h"
#include "gateway/s3_request.h"
#include "gateway/s3_request_bodies.h"
#include "gateway/s3_responses.h"
#include "gateway/xml_writer.h"
#include "storage/s3/sigv4.h"

namespace dim {
namespace {

TEST(S3ErrorTest, TableRowsMatchTheirCodes) {
  EXPECT_EQ(InfoOf(S3Code::kAccessDenied).name, "AccessDenied");
  EXPECT_EQ(InfoOf(S3Code::kNoSuchKey).http_status, 404);
  EXPECT_EQ(InfoOf(S3Code::kInvalidRange).http_status, 416);
  EXPECT_EQ(InfoOf(S3Code::kSignatureDoesNotMatch).http_status, 403);
  EXPECT_EQ(InfoOf(S3Code::kEntityTooSmall).name, "EntityTooSmall");
  EXPECT_EQ(InfoOf(S3Code::kXAmzContentSHA256Mismatch).name, "XAmzContentSHA256Mismatch");
  EXPECT_EQ(InfoOf(S3Code::kMissingContentLength).http_status, 411);
  EXPECT_EQ(FromStatus(Status::NotFound("x"), S3Code::kNoSuchBucket).code, S3Code::kNoSuchBucket);
  EXPECT_EQ(FromStatus(Status::Unavailable("x")).http_status(), 503);
  EXPECT_EQ(FromStatus(Status::ResourceExhausted("x")).name(), "SlowDown");
  EXPECT_EQ(FromStatus(Status::OutOfRange("x")).code, S3Code::kInvalidRange);
}

TEST(S3RequestTest, TargetsAreDecodedStrictly) {
  auto t = ParseRequestTarget("/bucket/a%20b/c%2Bd+e?list-type=2&prefix=x%2Fy&uploads&=&a=b=c");
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->path, "/bucket/a b/c+d+e");
  ASSERT_EQ(t->query.size(), 5u);
  EXPECT_EQ(t->query[0], (std::pair<std::string, std::string>{"list-type", "2"}));
  EXPECT_EQ(t->query[1].second, "x/y");
  EXPECT_EQ(t->query[2], (std::pair<std::string, std::string>{"uploads", ""}));
  EXPECT_EQ(t->query[4].second, "b=c");
  EXPECT_EQ(ParseRequestTarget("/b/%zz").error().code, S3Code::kInvalidURI);
  EXPECT_EQ(ParseRequestTarget("/b/%4").error().code, S3Code::kInvalidURI);
  EXPECT_EQ(ParseRequestTarget("http://evil/b").error().code, S3Code::kInvalidURI);
  EXPECT_EQ(ParseRequestTarget("").error().code, S3Code::kInvalidURI);
  EXPECT_EQ(ParseRequestTarget("/b?x=%").error().code, S3Code::kInvalidURI);
  // %00 decodes to a NUL byte here; the key check refuses it.
  auto nul = ParseRequestTarget("/b/a%00b");
  ASSERT_TRUE(nul.ok());
  EXPECT_EQ(CheckObjectKey(SplitPath(nul->path).key).error().code, S3Code::kInvalidArgument);
}

TEST(S3RequestTest, PathStyleAddressing) {
  EXPECT_EQ(SplitPath("/").bucket, "");
  EXPECT_EQ(SplitPath("/b").bucket, "b");
  EXPECT_EQ(SplitPath("/b/").key, "");
  auto a = SplitPath("/b/k/x//y");
  EXPECT_EQ(a.bucket, "b");
  EXPECT_EQ(a.key, "k/x//y");
}

TEST(S3RequestTest, KeysAndBucketsGetS3Answers) {
  EXPECT_TRUE(CheckObjectKey(std::string(1024, 'k')).ok());
  std::string utf8;
  while (utf8.size() + 3 <= 1024) utf8 += "\xE2\x82\xAC";  // the euro sign, 3 bytes
  utf8 += "a";
  ASSERT_EQ(utf8.size(), 1024u);
  EXPECT_TRUE(CheckObjectKey(utf8).ok());
  EXPECT_EQ(CheckObjectKey(utf8 + "a").error().code, S3Code::kKeyTooLongError);
  EXPECT_EQ(CheckObjectKey("../etc/passwd").error().code, S3Code::kInvalidArgument);
  EXPECT_EQ(CheckObjectKey("a/./b").error().code, S3Code::kInvalidArgument);
  EXPECT_EQ(CheckObjectKey("bad\xff").error().code, S3Code::kInvalidArgument);
  EXPECT_TRUE(CheckObjectKey("a..b/c").ok());
  EXPECT_EQ(CheckBucketName("UPPER").error().code, S3Code::kInvalidBucketName);
  EXPECT_TRUE(CheckBucketName("my-bucket.1").ok());
}

TEST(S3RequestTest, RangesFollowS3) {
  auto r = ParseRangeHeader("bytes=0-9");
  ASSERT_TRUE(r);
  EXPECT_EQ(ResolveRange(*r, 100)->offset, 0);
  EXPECT_EQ(ResolveRange(*r, 100)->length, 10);
  EXPECT_EQ(ResolveRange(*r, 5)->length, 5);  // clamped to the end
  auto open = ParseRangeHeader("bytes=90-");
  EXPECT_EQ(ResolveRange(*open, 100)->length, 10);
  auto suffix = ParseRangeHeader("bytes=-30");
  EXPECT_EQ(ResolveRange(*suffix, 100)->offset, 70);
  EXPECT_EQ(ResolveRange(*suffix, 10)->offset, 0);
  EXPECT_EQ(ResolveRange(*ParseRangeHeader("bytes=100-"), 100).error().code, S3Code::kInvalidRange);
  EXPECT_EQ(ResolveRange(*ParseRangeHeader("bytes=-0"), 100).error().code, S3Code::kInvalidRange);
  EXPECT_EQ(ResolveRange(*ParseRangeHeader("bytes=0-"), 0).error().code, S3Code::kInvalidRange);
  // What S3 ignores (serving the whole object): other units, several ranges, garbage.
  EXPECT_FALSE(ParseRangeHeader("items=0-1"));
  EXPECT_FALSE(ParseRangeHeader("bytes=0-1,5-6"));
  EXPECT_FALSE(ParseRangeHeader("bytes=5-2"));
  EXPECT_FALSE(ParseRangeHeader("bytes=x-"));
  EXPECT_FALSE(ParseRangeHeader("bytes=-"));
  EXPECT_FALSE(ParseRangeHeader("bytes=99999999999999999999-"));
}

TEST(S3RequestTest, UserMetadataAndStoredHeaders) {
  HeaderList h = {{"x-amz-meta-owner", "ops"},    {"x-amz-meta-owner", "dev"},
                  {"x-amz-meta-", "skip"},        {"content-encoding", "aws-chunked,gzip"},
                  {"cache-control", "max-age=5"}, {"x-amz-date", "x"}};
  auto m = UserMetadataFromHeaders(h);
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->at("owner"), "ops,dev");
  EXPECT_EQ(m->size(), 1u);
  auto stored = StoredHeadersFromRequest(h);
  EXPECT_EQ(stored.at("Content-Encoding"), "gzip");
  EXPECT_EQ(stored.at("Cache-Control"), "max-age=5");
  EXPECT_FALSE(
      StoredHeadersFromRequest({{"content-encoding", "aws-chunked"}}).count("Content-Encoding"));
  HeaderList big = {{"x-amz-meta-a", std::string(2048, 'v')}};
  EXPECT_EQ(UserMetadataFromHeaders(big).error().code, S3Code::kMetadataTooLarge);
  EXPECT_EQ(ParseByteCount("123"), 123);
  EXPECT_FALSE(ParseByteCount("-1"));
  EXPECT_FALSE(ParseByteCount("12a"));
  EXPECT_FALSE(ParseByteCount(""));
}

TEST(HttpDateTest, FormatsAndParsesTheThreeForms) {
  EXPECT_EQ(FormatHttpDate(784111777000), "Sun, 06 Nov 1994 08:49:37 GMT");
  EXPECT_EQ(FormatIso8601(1255369830123), "2009-10-12T17:50:30.123Z");
  EXPECT_EQ(ParseHttpDate("Sun, 06 Nov 1994 08:49:37 GMT").value(), 784111777);
  EXPECT_EQ(ParseHttpDate("Sunday, 06-Nov-94 08:49:37 GMT").value(), 784111777);
  EXPECT_EQ(ParseHttpDate("Sun Nov  6 08:49:37 1994").value(), 784111777);
  EXPECT_FALSE(ParseHttpDate("yesterday").ok());
  EXPECT_FALSE(ParseHttpDate("Sun, 06 Nov 1994 08:49:37 GMT trailing").ok());
  EXPECT_FALSE(ParseHttpDate(std::string(100, 'x')).ok());
}

TEST(S3ConditionsTest, EvaluatedInRfcOrder) {
  const int64_t t = 784111777000;  // modified at
  auto eval = [&](HeaderList h, bool read = true, bool exists = true) {
    return EvaluatePreconditions(ParsePreconditions(h), exists, "abc", t, read);
  };
  using O = ConditionOutcome;
  EXPECT_EQ(eval({}), O::kProceed);
  EXPECT_EQ(eval({{"if-match", "\"abc\""}}), O::kProceed);
  EXPECT_EQ(eval({{"if-match", "\"x\", \"abc\""}}), O::kProceed);
  EXPECT_EQ(eval({{"if-match", "*"}}), O::kProceed);
  EXPECT_EQ(eval({{"if-match", "\"x\""}}), O::kPreconditionFailed);
  EXPECT_EQ(eval({{"if-none-match", "\"abc\""}}), O::kNotModified);
  EXPECT_EQ(eval({{"if-none-match", "\"abc\""}}, false), O::kPreconditionFailed);
  EXPECT_EQ(eval({{"if-none-match", "W/\"abc\""}}), O::kNotModified);
  EXPECT_EQ(eval({{"if-none-match", "\"x\""}}), O::kProceed);
  EXPECT_EQ(eval({{"if-none-match", "*"}}, false, false), O::kProceed);
  EXPECT_EQ(eval({{"if-none-match", "*"}}, false, true), O::kPreconditionFailed);
  EXPECT_EQ(eval({{"if-modified-since", "Sun, 06 Nov 1994 08:49:37 GMT"}}), O::kNotModified);
  EXPECT_EQ(eval({{"if-modified-since", "Sat, 05 Nov 1994 08:49:37 GMT"}}), O::kProceed);
  EXPECT_EQ(eval({{"if-modified-since", "garbage"}}), O::kProceed);  // invalid dates are ignored
  EXPECT_EQ(eval({{"if-unmodified-since", "Sat, 05 Nov 1994 08:49:37 GMT"}}),
            O::kPreconditionFailed);
  EXPECT_EQ(eval({{"if-unmodified-since", "Sun, 06 Nov 1994 08:49:37 GMT"}}), O::kProceed);
  // If-Match true wins over a failing If-Unmodified-Since; If-None-Match over If-Modified-Since.
  EXPECT_EQ(
      eval({{"if-match", "\"abc\""}, {"if-unmodified-since", "Sat, 05 Nov 1994 08:49:37 GMT"}}),
      O::kProceed);
  EXPECT_EQ(
      eval({{"if-none-match", "\"x\""}, {"if-modified-since", "Sun, 06 Nov 1994 08:49:37 GMT"}}),
      O::kProceed);
  auto copy =
      ParsePreconditions({{"x-amz-copy-source-if-match", "\"q\""}}, "x-amz-copy-source-if-");
  EXPECT_EQ(*copy.if_match, "\"q\"");
}

TEST(S3ChecksumTest, KnownValues) {
  auto b64 = [](ChecksumAlgorithm a, std::string_view s) {
    Checksummer c(a);
    c.Update(s.data(), s.size());
    return c.FinishBase64();
  };
  // The standard check values of "123456789": CRC-32 0xCBF43926, CRC-32C 0xE3069283.
  EXPECT_EQ(b64(ChecksumAlgorithm::kCrc32, "123456789"), Base64Encode("\xCB\xF4\x39\x26"));
  EXPECT_EQ(b64(ChecksumAlgorithm::kCrc32c, "123456789"), Base64Encode("\xE3\x06\x92\x83"));
  std::string raw;
  ASSERT_TRUE(HexDecode(Sha256::Hex("abc"), &raw));
  EXPECT_EQ(b64(ChecksumAlgorithm::kSha256, "abc"), Base64Encode(raw));
  EXPECT_EQ(b64(ChecksumAlgorithm::kSha1, "abc"), "qZk+NkcGgWq6PiVxeFDCbJzQ2J0=");
  EXPECT_EQ(ChecksumAlgorithmFromHeader("X-Amz-Checksum-CRC32C"), ChecksumAlgorithm::kCrc32c);
  EXPECT_EQ(ChecksumAlgorithmFromName("SHA256"), ChecksumAlgorithm::kSha256);
  EXPECT_FALSE(ChecksumAlgorithmFromHeader("x-amz-checksum-crc64nvme"));
}

// AWS's published aws-chunked example: 65 KiB of 'a' in a 64 KiB and a 1 KiB chunk.
struct AwsExample {
  AwsChunkedDecoder::Signing signing{
      sigv4::SigningKey("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "20130524", "us-east-1", "s3"),
      "20130524T000000Z", sigv4::Scope("20130524", "us-east-1", "s3"),
      "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9"};
  std::string body =
      "10000;chunk-signature=ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648\r\n" +
      std::string(65536, 'a') +
      "\r\n400;chunk-signature="
      "0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497\r\n" +
      std::string(1024, 'a') +
      "\r\n0;chunk-signature="
      "b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9\r\n\r\n";
};

TEST(AwsChunkedDecoderTest, DecodesAwsExampleInAnySplit) {
  AwsExample ex;
  ASSERT_EQ(ex.body.size(), 66824u);  // the example's Content-Length
  for (size_t step : {size_t{1}, size_t{7}, size_t{4096}, ex.body.size()}) {
    std::string out;
    AwsChunkedDecoder d(ex.signing, [&](const char* p, size_t n) {
      out.append(p, n);
      return true;
    });
    for (size_t off = 0; off < ex.body.size(); off += step) {
      auto r = d.Feed(std::string_view(ex.body).substr(off, step));
      ASSERT_TRUE(r.ok()) << "step " << step << ": " << r.error().Message();
    }
    ASSERT_TRUE(d.Finish().ok());
    EXPECT_EQ(out, std::string(66560, 'a'));
    EXPECT_EQ(d.decoded_bytes(), 66560);
  }
}

TEST(AwsChunkedDecoderTest, RefusesTamperedTruncatedAndMalformedBodies) {
  AwsExample ex;
  auto run = [&](const std::string& body) {
    AwsChunkedDecoder d(ex.signing, [](const char*, size_t) { return true; });
    auto r = d.Feed(body);
    if (!r.ok()) return r.error().code;
    auto f = d.Finish();
    return f.ok() ? S3Code::kInternalError /* accepted */ : f.error().code;
  };
  std::string tampered = ex.body;
  tampered[200] = 'b';  // a data byte of the first chunk
  EXPECT_EQ(run(tampered), S3Code::kSignatureDoesNotMatch);
  std::string bad_sig = ex.body;
  bad_sig[30] = bad_sig[30] == '0' ? '1' : '0';
  EXPECT_EQ(run(bad_sig), S3Code::kSignatureDoesNotMatch);
  EXPECT_EQ(run(ex.body.substr(0, 66000)), S3Code::kIncompleteBody);
  EXPECT_EQ(run(ex.body.substr(0, ex.body.size() - 90)), S3Code::kIncompleteBody);
  EXPECT_EQ(run("zz;chunk-signature=" + std::string(64, '0') + "\r\n"), S3Code::kInvalidRequest);
  EXPECT_EQ(run("10;chunk-signature=short\r\n"), S3Code::kSignatureDoesNotMatch);
  EXPECT_EQ(run("10;other=1\r\n"), S3Code::kInvalidRequest);
  EXPECT_EQ(run(std::string(5000, '1')), S3Code::kInvalidRequest);  // endless size line
  EXPECT_EQ(run("3\n"), S3Code::kInvalidRequest);                   // bare LF
  // The whole, untouched body is accepted.
  EXPECT_EQ(run(ex.body), S3Code::kInternalError);
}

TEST(AwsChunkedDecoderTest, UnsignedChunksWithTrailer) {
  std::string out;
  AwsChunkedDecoder d(std::nullopt, [&](const char* p, size_t n) {
    out.append(p, n);
    return true;
  });
  std::string body = "5\r\nhello\r\n6\r\n world\r\n0\r\nx-amz-checksum-crc32:DUoRhQ==\r\n\r\n";
  ASSERT_TRUE(d.Feed(body).ok());
  ASSERT_TRUE(d.Finish().ok());
  EXPECT_EQ(out, "hello world");
  EXPECT_EQ(d.trailers().at("x-amz-checksum-crc32"), "DUoRhQ==");
  AwsChunkedDecoder d2(std::nullopt, [](const char*, size_t) { return true; });
  EXPECT_EQ(d2.Feed("5;chunk-signature=" + std::string(64, 'a') + "\r\n").error().code,
            S3Code::kInvalidRequest);
  AwsChunkedDecoder d3(std::nullopt, [](const char*, size_t) { return true; });
  ASSERT_TRUE(d3.Feed("3\r\nabc\r\n0\r\nnot a header\r\n").ok() == false);
}

TEST(AwsChunkedDecoderTest, ASinkThatStopsIsReported) {
  AwsExample ex;
  AwsChunkedDecoder d(ex.signing, [](const char*, size_t) { return false; });
  ASSERT_TRUE(d.Feed(ex.body.substr(0, 1000)).ok());
  EXPECT_TRUE(d.stopped());
}

TEST(S3RequestBodiesTest, CompleteMultipartUpload) {
  auto parts = ParseCompleteMultipartUpload(
      "<?xml version=\"1.0\"?><CompleteMultipartUpload "
      "xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
      "<Part><PartNumber>1</PartNumber><ETag>\"aa\"</ETag></Part>"
      "<Part><ETag>bb</ETag><PartNumber>2</PartNumber><ChecksumCRC32>x</ChecksumCRC32></Part>"
      "</CompleteMultipartUpload>");
  ASSERT_TRUE(parts.ok()) << parts.error().Message();
  ASSERT_EQ(parts->size(), 2u);
  EXPECT_EQ((*parts)[0].etag, "\"aa\"");
  EXPECT_EQ((*parts)[1].part_number, 2);
  auto code = [](std::string_view xml) { return ParseCompleteMultipartUpload(xml).error().code; };
  EXPECT_EQ(code(""), S3Code::kMalformedXML);
  EXPECT_EQ(code("<CompleteMultipartUpload>"), S3Code::kMalformedXML);
  EXPECT_EQ(code("<CompleteMultipartUpload></CompleteMultipartUpload>"), S3Code::kMalformedXML);
  EXPECT_EQ(code("<Other/>"), S3Code::kMalformedXML);
  EXPECT_EQ(code("<CompleteMultipartUpload><Part><PartNumber>x</PartNumber><ETag>a</ETag></Part>"
                 "</CompleteMultipartUpload>"),
            S3Code::kMalformedXML);
  EXPECT_EQ(code("<CompleteMultipartUpload><Part><PartNumber>0</PartNumber><ETag>a</ETag></Part>"
                 "</CompleteMultipartUpload>"),
            S3Code::kInvalidArgument);
  EXPECT_EQ(code("<CompleteMultipartUpload><Part><PartNumber>1</PartNumber></Part>"
                 "</CompleteMultipartUpload>"),
            S3Code::kMalformedXML);
  // Entities are not expanded from a DTD (no billion laughs, no external files).
  auto dtd = ParseCompleteMultipartUpload(
      "<!DOCTYPE x [<!ENTITY e SYSTEM \"file:///etc/passwd\">]><CompleteMultipartUpload><Part>"
      "<PartNumber>1</PartNumber><ETag>&e;</ETag></Part></CompleteMultipartUpload>");
  if (dtd.ok()) {
    EXPECT_EQ((*dtd)[0].etag.find("root"), std::string::npos);
  }
}

TEST(S3RequestBodiesTest, DeleteObjectsAndCreateBucket) {
  auto d = ParseDeleteObjects(
      "<Delete><Quiet>true</Quiet><Object><Key>a &amp; b</Key></Object>"
      "<Object><Key>c</Key><VersionId>null</VersionId></Object></Delete>");
  ASSERT_TRUE(d.ok());
  EXPECT_TRUE(d->quiet);
  EXPECT_EQ(d->keys, (std::vector<std::string>{"a & b", "c"}));
  EXPECT_EQ(ParseDeleteObjects("<Delete/>").error().code, S3Code::kMalformedXML);
  EXPECT_EQ(ParseDeleteObjects("<Delete><Object/></Delete>").error().code, S3Code::kMalformedXML);
  EXPECT_EQ(ParseDeleteObjects("<Delete><Quiet>maybe</Quiet><Object><Key>a</Key></Object></Delete>")
                .error()
                .code,
            S3Code::kMalformedXML);
  std::string many = "<Delete>";
  for (int i = 0; i < 1001; ++i) many += "<Object><Key>k</Key></Object>";
  EXPECT_EQ(ParseDeleteObjects(many + "</Delete>").error().code, S3Code::kMalformedXML);
  EXPECT_EQ(ParseCreateBucketConfiguration("  \n").value(), "");
  EXPECT_EQ(ParseCreateBucketConfiguration(
                "<CreateBucketConfiguration><LocationConstraint>eu-west-1</LocationConstraint>"
                "</CreateBucketConfiguration>")
                .value(),
            "eu-west-1");
  EXPECT_EQ(ParseCreateBucketConfiguration("<x").error().code, S3Code::kMalformedXML);
}

TEST(XmlWriterTest, OutputAlwaysParses) {
  XmlWriter w;
  w.Open("Root", kS3Xmlns)
      .Element("Key", "a<b>&\"c'\x01\xff\xE2\x82\xAC")
      .Number("Size", 5)
      .Bool("T", true);
  w.OpenWith("G", {{"xsi:type", "a\"b"}}).Close();
  std::string doc = w.Finish();
  pugi::xml_document d;
  ASSERT_TRUE(d.load_string(doc.c_str())) << doc;
  EXPECT_EQ(std::string(d.child("Root").child_value("Key")),
            "a<b>&\"c'\xEF\xBF\xBD\xEF\xBF\xBD\xE2\x82\xAC");
  EXPECT_EQ(std::string(d.child("Root").child_value("Size")), "5");
  EXPECT_EQ(std::string(d.child("Root").child("G").attribute("xsi:type").value()), "a\"b");
  // Error documents keep S3's shape.
  S3Error e(S3Code::kNoSuchKey);
  std::string err = RenderError(e, "/b/k", "REQ1");
  pugi::xml_document ed;
  ASSERT_TRUE(ed.load_string(err.c_str()));
  EXPECT_EQ(std::string(ed.child("Error").child_value("Code")), "NoSuchKey");
  EXPECT_EQ(std::string(ed.child("Error").child_value("RequestId")), "REQ1");
}

TEST(BodyVerifierTest, ChecksPromisesAtTheEnd) {
  auto read = [](const std::string& data, BodyExpectations e,
                 const std::map<std::string, std::string>* trailers = nullptr) {
    StringSource src(data);
    VerifyingSource v(src, std::move(e), trailers);
    auto all = ReadAll(v);
    return std::make_pair(all.ok(), v.failure() ? v.failure()->code : S3Code::kInternalError);
  };
  BodyExpectations ok;
  ok.size = 5;
  ok.content_md5 = [] {
    std::string raw;
    HexDecode(Md5::Hex("hello"), &raw);
    return raw;
  }();
  ok.payload_sha256 = Sha256::Hex("hello");
  EXPECT_TRUE(read("hello", ok).first);
  EXPECT_EQ(read("hellO", ok).second, S3Code::kBadDigest);
  BodyExpectations sha = ok;
  sha.content_md5.clear();
  EXPECT_EQ(read("hellO", sha).second, S3Code::kXAmzContentSHA256Mismatch);
  EXPECT_EQ(read("hell", ok).second, S3Code::kIncompleteBody);
  EXPECT_EQ(read("hello!", ok).second, S3Code::kInvalidRequest);
  BodyExpectations crc;
  crc.checksum = ChecksumAlgorithm::kCrc32;
  crc.checksum_in_trailer = true;
  std::map<std::string, std::string> t = {{"x-amz-checksum-crc32", "DUoRhQ=="}};
  EXPECT_TRUE(read("hello world", crc, &t).first);
  EXPECT_EQ(read("hello there", crc, &t).second, S3Code::kBadDigest);
  EXPECT_EQ(read("hello world", crc, nullptr).second, S3Code::kInvalidRequest);

  auto parse = [](HeaderList h) { return ParseBodyExpectations(h); };
  EXPECT_EQ(parse({{"content-md5", "nope"}}).error().code, S3Code::kInvalidDigest);
  EXPECT_EQ(parse({{"x-amz-checksum-sha256", "AAAA"}}).error().code, S3Code::kInvalidRequest);
  EXPECT_EQ(parse({{"x-amz-checksum-crc64nvme", "AAAAAAAAAAA="}}).error().code,
            S3Code::kNotImplemented);
  EXPECT_EQ(parse({{"x-amz-checksum-crc32", "DUoRhQ=="}, {"x-amz-checksum-crc32c", "DUoRhQ=="}})
                .error()
                .code,
            S3Code::kInvalidRequest);
  EXPECT_TRUE(
      parse({{"x-amz-checksum-crc32", "DUoRhQ=="}, {"x-amz-checksum-mode", "ENABLED"}}).ok());
  EXPECT_TRUE(parse({{"x-amz-trailer", "x-amz-checksum-crc32"}})->checksum_in_trailer);
}

TEST(BodyPipeTest, CarriesABodyBetweenThreadsWithBoundedMemory) {
  BodyPipe pipe(1000);
  std::string sent;
  for (int i = 0; i < 5000; ++i) sent += static_cast<char>('a' + i % 26);
  std::thread writer([&] {
    for (size_t off = 0; off < sent.size(); off += 333) {
      ASSERT_TRUE(pipe.Write(std::string_view(sent).substr(off, 333)));
    }
    pipe.CloseWrite(Status::OK());
  });
  EXPECT_EQ(ReadAll(pipe).value(), sent);
  writer.join();

  BodyPipe failing(100);
  std::thread w2([&] {
    failing.Write("abc");
    failing.CloseWrite(Status::DataLoss("client went away"));
  });
  std::string got;
  char buf[16];
  Status end;
  for (;;) {
    auto r = failing.Read(buf, sizeof buf);
    if (!r.ok()) {
      end = r.status();
      break;
    }
    if (*r == 0) break;
    got.append(buf, *r);
  }
  w2.join();
  EXPECT_EQ(got, "abc");
  EXPECT_EQ(end.code(), StatusCode::kDataLoss);

  BodyPipe abandoned(10);
  std::thread w3([&] { EXPECT_FALSE(abandoned.Write(std::string(1000, 'x'))); });
  abandoned.CloseRead();
  w3.join();
}

}  // namespace
}  // namespace dim
