// Test helper: a minimal SigV4-signing S3 client over httplib, so gateway tests can send exactly
// the request they mean (including malformed ones) without a real SDK. Not for production use.
#pragma once

#include <httplib.h>

#include <string>

#include "core/clock.h"
#include "storage/s3/sigv4.h"

namespace dim::testing {

struct S3Reply {
  int status = 0;  // 0: no response (connection failed)
  std::string body;
  httplib::Headers headers;
  std::string Header(const std::string& name) const;
  // The <Code> of an XML error body ("" if none).
  std::string Code() const;
  // The text of the first <name> element of the body ("" if none).
  std::string Xml(const std::string& name) const;
};

enum class Signing { kSha256, kUnsigned, kNone };

struct S3Call {
  std::string method = "GET";
  std::string path = "/";    // decoded
  sigv4::Pairs query;        // decoded
  httplib::Headers headers;  // sent and signed (x-amz-*, content-type, range, ...)
  std::string body;
  Signing signing = Signing::kSha256;
  std::string secret;                 // overrides the client's secret (wrong-secret tests)
  int64_t time_offset_s = 0;          // signs as if the clock were this far off
  httplib::Headers unsigned_headers;  // sent but not signed
};

class S3TestClient {
 public:
  S3TestClient(std::string host, int port, sigv4::Credentials creds, const Clock& clock,
               std::string region = "us-east-1");
  S3Reply Send(const S3Call& call);
  // Sends a raw, pre-signed aws-chunked body (the caller framed it) with the given headers.
  S3Reply SendRaw(const std::string& method, const std::string& target,
                  const httplib::Headers& headers, const std::string& body);
  // A presigned URL's path and query (the part after host:port).
  std::string Presign(const std::string& method, const std::string& path, int64_t expires_s,
                      int64_t time_offset_s = 0);
  // Signs a request for aws-chunked upload of `payload` in chunks of `chunk` bytes and returns the
  // headers and framed body. `corrupt_chunk` >= 0 flips a byte of that chunk's signature.
  std::pair<httplib::Headers, std::string> ChunkedUpload(const std::string& path,
                                                         const std::string& payload, size_t chunk,
                                                         int corrupt_chunk = -1);
  std::string host_header() const { return host_ + ":" + std::to_string(port_); }
  const sigv4::Credentials& creds() const { return creds_; }

 private:
  std::string host_;
  int port_;
  sigv4::Credentials creds_;
  const Clock& clock_;
  std::string region_;
};

// The request target for a decoded path and query, encoded as SDKs do.
std::string EncodeTarget(const std::string& path, const sigv4::Pairs& query);

}  // namespace dim::testing
