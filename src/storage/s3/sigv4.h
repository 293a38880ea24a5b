// AWS Signature Version 4: the one implementation both sides of S3 use — the S3 backend signs
// the requests it sends (headers, presigned URLs), the gateway recomputes and checks the
// signatures of the requests it receives (headers, presigned URLs, aws-chunked payload chunks).
// Pure functions over strings; thread-safe; nothing here does I/O.
//
// Inputs are *decoded* values (a path like "/bucket/my key", query pairs like {"prefix", "a b"});
// the canonical form re-encodes them the way SigV4 specifies, so a request's signature does not
// depend on how a client chose to percent-encode it on the wire.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/status.h"

namespace dim::sigv4 {

inline constexpr std::string_view kAlgorithm = "AWS4-HMAC-SHA256";
inline constexpr std::string_view kUnsignedPayload = "UNSIGNED-PAYLOAD";
inline constexpr std::string_view kStreamingPayload = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD";
inline constexpr std::string_view kStreamingUnsignedTrailer = "STREAMING-UNSIGNED-PAYLOAD-TRAILER";
inline constexpr std::string_view kStreamingPayloadTrailer = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER";
// SHA-256 of the empty string, the payload hash of a bodiless request.
inline constexpr std::string_view kEmptySha256 =
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

using Pairs = std::vector<std::pair<std::string, std::string>>;

struct Credentials {
  std::string access_key;
  std::string secret_key;
  std::string session_token;  // STS; sent as x-amz-security-token when set
};

// Percent-encodes everything but A-Z a-z 0-9 - _ . ~ (and '/' when !encode_slash), upper-case hex.
std::string UriEncode(std::string_view s, bool encode_slash);
// Decodes %XX escapes ('+' stays '+'). InvalidArgument on a malformed escape.
Result<std::string> UriDecode(std::string_view s);

// "20130524T000000Z" for a Unix time in seconds, and back. Parse fails with InvalidArgument.
std::string FormatAmzDate(int64_t unix_seconds);
Result<int64_t> ParseAmzDate(std::string_view amz_date);

// The credential scope "20130524/us-east-1/s3/aws4_request".
std::string Scope(std::string_view date8, std::string_view region, std::string_view service);

struct CanonicalInput {
  std::string method;  // "GET"
  std::string path;    // decoded, starting with '/': "/bucket/key with spaces"
  Pairs query;         // decoded names and values; order does not matter
  Pairs headers;       // the signed headers, any case and order; duplicates are joined with ','
  std::string payload_hash;  // hex SHA-256 of the body, or UNSIGNED-PAYLOAD, STREAMING-...
};

// The canonical request text (exposed for tests and for diagnostics in error responses).
std::string CanonicalRequest(const CanonicalInput& in);
// "host;range;x-amz-date": lower-cased, sorted, ';'-joined names of in.headers.
std::string SignedHeaderNames(const Pairs& headers);
std::string StringToSign(std::string_view amz_date, std::string_view scope,
                         std::string_view canonical_request);
// kSigning = HMAC chain over date, region, service, "aws4_request" (raw bytes).
std::string SigningKey(std::string_view secret, std::string_view date8, std::string_view region,
                       std::string_view service);
// Lower-case hex HMAC-SHA256 of the string to sign.
std::string Signature(std::string_view signing_key, std::string_view string_to_sign);

// --- Client side -----------------------------------------------------------------------------

struct SignRequest {
  std::string method;
  std::string host;  // the Host header value, with ":port" when not the default
  std::string path;  // decoded
  Pairs query;       // decoded
  Pairs headers;     // extra headers to sign (e.g. range, content-type, x-amz-meta-*)
  std::string payload_hash;  // hex SHA-256, or UNSIGNED-PAYLOAD
  std::string region;
  std::string service = "s3";
  int64_t unix_seconds = 0;
};

// Headers to add to the request: Authorization, x-amz-date, x-amz-content-sha256 and, with a
// session token, x-amz-security-token.
Pairs SignHeaders(const SignRequest& r, const Credentials& creds);

// The query parameters of a presigned URL (X-Amz-Algorithm ... X-Amz-Signature), to append to
// r.query. Only "host" and r.headers are signed; the payload is UNSIGNED-PAYLOAD.
Pairs PresignQuery(const SignRequest& r, const Credentials& creds, int64_t expires_seconds);

// --- Server side -----------------------------------------------------------------------------

// The parsed Authorization header, or the X-Amz-* query parameters of a presigned URL.
struct ParsedAuth {
  std::string access_key;
  std::string date8;    // from the credential scope
  std::string region;
  std::string service;
  std::vector<std::string> signed_headers;  // lower-case, as listed
  std::string signature;                    // lower-case hex
  // Presigned only:
  std::string amz_date;
  int64_t expires_seconds = 0;
  bool presigned = false;
};

// "AWS4-HMAC-SHA256 Credential=AKID/20130524/us-east-1/s3/aws4_request, SignedHeaders=host;x-amz-date,
// Signature=abcd..." -> ParsedAuth. InvalidArgument (with what is wrong) when malformed.
Result<ParsedAuth> ParseAuthorizationHeader(std::string_view value);
// From decoded query pairs of a presigned URL. InvalidArgument when malformed or incomplete.
Result<ParsedAuth> ParsePresignedQuery(const Pairs& query);

// Constant-time comparison of two signatures.
bool SignaturesEqual(std::string_view a, std::string_view b);

// aws-chunked payload signing: the signature of one chunk, chained from the previous one (the
// seed signature is the request's). chunk_sha256 is the hex SHA-256 of the chunk's bytes (of the
// empty string for the final chunk).
std::string ChunkSignature(std::string_view signing_key, std::string_view amz_date,
                           std::string_view scope, std::string_view previous_signature,
                           std::string_view chunk_sha256);

}  // namespace dim::sigv4
