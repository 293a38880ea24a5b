#include "storage/azure/shared_key.h"

#include <gtest/gtest.h>

#include "core/checksum.h"
#include "storage/azure/azure_errors.h"
#include "storage/azure/azure_xml.h"

namespace dim::azure {
namespace {

TEST(SharedKeyTest, StringToSignLayout) {
  // The layout of Microsoft's "Authorize with Shared Key" example (Get Container Metadata).
  SharedKeyInput in;
  in.method = "GET";
  in.encoded_path = "/photos/festival";
  in.query = {{"restype", "container"}, {"comp", "metadata"}, {"timeout", "20"}};
  in.headers = {{"x-ms-version", "2009-09-19"},
                {"X-MS-Date", "Sun, 11 Oct 2009 21:49:13 GMT"},
                {"Host", "myaccount.blob.core.windows.net"}};
  EXPECT_EQ(StringToSign(in, "myaccount"),
            "GET\n\n\n\n\n\n\n\n\n\n\n\n"
            "x-ms-date:Sun, 11 Oct 2009 21:49:13 GMT\nx-ms-version:2009-09-19\n"
            "/myaccount/photos/festival\ncomp:metadata\nrestype:container\ntimeout:20");
}

TEST(SharedKeyTest, ContentHeadersLengthAndFolding) {
  SharedKeyInput in;
  in.method = "PUT";
  in.encoded_path = "/devstoreaccount1/c/my%20blob";
  in.query = {{"comp", "block"}, {"blockid", "QUJD"}, {"COMP", "x"}};
  in.headers = {{"Content-Length", "0"},
                {"Content-MD5", "1B2M2Y8AsgTpgAmY7PhCfg=="},
                {"Content-Type", "text/plain"},
                {"x-ms-meta-b", "  two   spaces  "},
                {"x-ms-meta-a", "1"}};
  std::string s = StringToSign(in, "devstoreaccount1");
  EXPECT_EQ(s,
            "PUT\n\n\n\n1B2M2Y8AsgTpgAmY7PhCfg==\ntext/plain\n\n\n\n\n\n\n"
            "x-ms-meta-a:1\nx-ms-meta-b:two spaces\n"
            "/devstoreaccount1/devstoreaccount1/c/my%20blob\nblockid:QUJD\ncomp:block,x");
  in.headers[0].second = "11";
  EXPECT_EQ(StringToSign(in, "devstoreaccount1").substr(0, 9), "PUT\n\n\n11\n");
}

TEST(SharedKeyTest, AuthorizationIsHmacOfTheStringToSign) {
  SharedKeyInput in;
  in.method = "GET";
  in.encoded_path = "/c";
  std::string key = "secret key bytes";
  auto h = AuthorizationHeader(in, "acct", Base64Encode(key));
  ASSERT_TRUE(h.ok());
  EXPECT_EQ(*h, "SharedKey acct:" + Base64Encode(HmacSha256(key, StringToSign(in, "acct"))));
  EXPECT_FALSE(AuthorizationHeader(in, "acct", "not base64!").ok());
  EXPECT_EQ(Rfc1123Date(1255297753), "Sun, 11 Oct 2009 21:49:13 GMT");
}

TEST(AzureXmlTest, ParsesBlobListsAndErrors) {
  auto l = ParseBlobList(
      "\xEF\xBB\xBF<?xml version=\"1.0\" encoding=\"utf-8\"?><EnumerationResults><Blobs>"
      "<Blob><Name>a/caf\xc3\xa9 &amp; b</Name><Properties><Content-Length>5</Content-Length>"
      "<Last-Modified>Sun, 11 Oct 2009 21:49:13 GMT</Last-Modified>"
      "<Content-MD5>1B2M2Y8AsgTpgAmY7PhCfg==</Content-MD5></Properties></Blob></Blobs>"
      "<NextMarker>2!12!abc</NextMarker></EnumerationResults>");
  ASSERT_TRUE(l.ok()) << l.status().ToString();
  ASSERT_EQ(l->items.size(), 1u);
  EXPECT_EQ(l->items[0].name, "a/caf\xc3\xa9 & b");
  EXPECT_EQ(l->items[0].size, 5);
  EXPECT_EQ(l->items[0].mtime_ms, 1255297753000);
  EXPECT_EQ(l->items[0].etag, Md5::Hex(""));
  EXPECT_EQ(l->next_marker, "2!12!abc");
  for (const char* bad :
       {"", "<x/>",
        "<EnumerationResults><Blobs><Blob><Properties/></Blob></Blobs></EnumerationResults>",
        "<EnumerationResults><Blobs><Blob><Name>n</Name><Properties><Content-Length>-3</"
        "Content-Length></Properties></Blob></Blobs></EnumerationResults>"}) {
    EXPECT_FALSE(ParseBlobList(bad).ok()) << bad;
  }
  EXPECT_EQ(
      BlockListXml({"QQ==", "Qg=="}),
      "<?xml version=\"1.0\" "
      "encoding=\"utf-8\"?><BlockList><Latest>QQ==</Latest><Latest>Qg==</Latest></BlockList>");
}

TEST(AzureErrorsTest, MapsCodes) {
  auto map = [](int status, const std::string& code, bool in_header = false) {
    HttpResponse r;
    r.status = status;
    if (in_header) {
      r.headers.emplace_back("x-ms-error-code", code);
    } else if (!code.empty()) {
      r.body = "<Error><Code>" + code + "</Code><Message>m\nRequestId:1</Message></Error>";
    }
    return StatusFromResponse(r, "site a: endpoint http://e: get b", 0);
  };
  EXPECT_EQ(map(403, "AuthenticationFailed").code(), StatusCode::kUnauthenticated);
  EXPECT_EQ(map(403, "AuthenticationFailed", true).code(), StatusCode::kUnauthenticated);
  EXPECT_EQ(map(403, "AuthorizationPermissionMismatch").code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(map(404, "BlobNotFound").code(), StatusCode::kNotFound);
  EXPECT_EQ(map(404, "ContainerNotFound").code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(map(409, "ContainerAlreadyExists").code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(map(400, "Md5Mismatch").code(), StatusCode::kDataLoss);
  EXPECT_EQ(map(400, "InvalidBlockList").code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(map(416, "InvalidRange").code(), StatusCode::kOutOfRange);
  EXPECT_EQ(map(503, "ServerBusy").code(), StatusCode::kUnavailable);
  EXPECT_EQ(map(500, "OperationTimedOut").code(), StatusCode::kUnavailable);
  Status s = map(503, "ServerBusy");
  EXPECT_NE(s.message().find("endpoint http://e"), std::string::npos);
  EXPECT_EQ(s.message().find("RequestId"), std::string::npos);
}

}  // namespace
}  // namespace dim::azure
