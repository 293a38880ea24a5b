#include "gateway/s3_auth.h"

#include <algorithm>
#include <cstdlib>

namespace dim {
namespace {

bool IsLowerHex64(const std::string& s) {
  return s.size() == 64 && std::all_of(s.begin(), s.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

bool HasPresignParams(const sigv4::Pairs& q) {
  for (const auto& [k, v] : q) {
    if (k == "X-Amz-Algorithm" || k == "X-Amz-Signature" || k == "X-Amz-Credential") return true;
  }
  return false;
}

// The signed headers (name, value) in the request's order; every x-amz-* header present must be
// signed (S3's rule), and so must host.
S3Result<sigv4::Pairs> SignedHeaderValues(const HeaderList& headers,
                                          const std::vector<std::string>& signed_names) {
  if (std::find(signed_names.begin(), signed_names.end(), "host") == signed_names.end()) {
    return S3Error(S3Code::kAccessDenied, "the host header must be signed");
  }
  sigv4::Pairs out;
  for (const auto& name : signed_names) {
    bool found = false;
    for (const auto& [k, v] : headers) {
      if (k == name) {
        out.emplace_back(k, v);
        found = true;
      }
    }
    if (!found) out.emplace_back(name, "");  // signed but absent: the signature will not match
  }
  for (const auto& [k, v] : headers) {
    if (k.rfind("x-amz-", 0) == 0 &&
        std::find(signed_names.begin(), signed_names.end(), k) == signed_names.end()) {
      return S3Error(S3Code::kAccessDenied,
                     "There were headers present in the request which were not signed: " + k);
    }
  }
  return out;
}

}  // namespace

S3Authenticator::S3Authenticator(S3AuthOptions options, const Clock& clock)
    : options_(std::move(options)), clock_(clock) {}

std::string S3Authenticator::SigningKeyFor(const std::string& date8, const std::string& region,
                                           const std::string& service) const {
  std::string scope = sigv4::Scope(date8, region, service);
  std::lock_guard<std::mutex> lock(mu_);
  if (scope != cached_scope_) {
    cached_key_ = sigv4::SigningKey(options_.secret_key, date8, region, service);
    cached_scope_ = scope;
  }
  return cached_key_;
}

S3Result<AuthResult> S3Authenticator::Authenticate(const AuthRequest& r) const {
  if (const std::string* auth = FindHeader(*r.headers, "authorization"))
    return FromHeader(r, *auth);
  if (HasPresignParams(*r.query)) return FromQuery(r);
  if (!options_.allow_anonymous) {
    return S3Error(S3Code::kAccessDenied,
                   "Anonymous requests are not allowed; sign requests with the gateway's access "
                   "key (DATA_DIR/s3-credentials)");
  }
  AuthResult a;
  a.anonymous = true;
  if (const std::string* h = FindHeader(*r.headers, "x-amz-content-sha256");
      h && IsLowerHex64(*h)) {
    a.payload = PayloadMode::kSha256;
    a.payload_sha256 = *h;
  }
  return a;
}

S3Result<Done> S3Authenticator::CheckSignature(const sigv4::CanonicalInput& in,
                                               const sigv4::ParsedAuth& auth,
                                               const std::string& amz_date,
                                               std::string* signing_key) const {
  const std::string scope = sigv4::Scope(auth.date8, auth.region, auth.service);
  const std::string canonical = sigv4::CanonicalRequest(in);
  const std::string to_sign = sigv4::StringToSign(amz_date, scope, canonical);
  *signing_key = SigningKeyFor(auth.date8, auth.region, auth.service);
  if (!sigv4::SignaturesEqual(sigv4::Signature(*signing_key, to_sign), auth.signature)) {
    S3Error e(S3Code::kSignatureDoesNotMatch);
    e.details = {{"AWSAccessKeyId", auth.access_key},
                 {"StringToSign", to_sign},
                 {"SignatureProvided", auth.signature},
                 {"CanonicalRequest", canonical}};
    return e;
  }
  return Done{};
}

S3Result<AuthResult> S3Authenticator::FromHeader(const AuthRequest& r,
                                                 const std::string& authorization) const {
  if (authorization.rfind("AWS ", 0) == 0) {
    return S3Error(S3Code::kInvalidRequest,
                   "The authorization mechanism you have provided is not supported. Please use "
                   "AWS4-HMAC-SHA256.");
  }
  auto parsed = sigv4::ParseAuthorizationHeader(authorization);
  if (!parsed.ok())
    return S3Error(S3Code::kAuthorizationHeaderMalformed, parsed.status().message());
  const sigv4::ParsedAuth& auth = *parsed;
  if (auth.access_key != options_.access_key) return S3Error(S3Code::kInvalidAccessKeyId);
  if (auth.service != "s3") {
    return S3Error(S3Code::kAuthorizationHeaderMalformed,
                   "the credential scope's service must be s3, not '" + auth.service + "'");
  }
  const std::string* amz_date = FindHeader(*r.headers, "x-amz-date");
  if (!amz_date) {
    return S3Error(S3Code::kAccessDenied, "AWS authentication requires a valid x-amz-date header");
  }
  auto t = sigv4::ParseAmzDate(*amz_date);
  if (!t.ok()) return S3Error(S3Code::kAccessDenied, t.status().message());
  int64_t now = clock_.NowMs() / 1000;
  if (std::llabs(now - *t) > options_.max_skew_s) {
    return S3Error(S3Code::kRequestTimeTooSkewed,
                   "The difference between the request time (" + *amz_date +
                       ") and the current time (" + sigv4::FormatAmzDate(now) + ") is too large.");
  }
  if (amz_date->substr(0, 8) != auth.date8) {
    return S3Error(S3Code::kAuthorizationHeaderMalformed,
                   "the credential scope's date does not match x-amz-date");
  }
  const std::string* payload = FindHeader(*r.headers, "x-amz-content-sha256");
  if (!payload) {
    return S3Error(S3Code::kInvalidRequest,
                   "Missing required header for this request: x-amz-content-sha256");
  }
  AuthResult out;
  out.access_key = auth.access_key;
  if (*payload == sigv4::kUnsignedPayload) {
    out.payload = PayloadMode::kUnsigned;
  } else if (*payload == sigv4::kStreamingPayload) {
    out.payload = PayloadMode::kChunkedSigned;
  } else if (*payload == sigv4::kStreamingUnsignedTrailer) {
    out.payload = PayloadMode::kChunkedUnsignedTrailer;
  } else if (*payload == sigv4::kStreamingPayloadTrailer) {
    return S3Error(S3Code::kNotImplemented,
                   "signed trailers (STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER) are not "
                   "supported; use STREAMING-UNSIGNED-PAYLOAD-TRAILER or signed chunks");
  } else if (IsLowerHex64(*payload)) {
    out.payload = PayloadMode::kSha256;
    out.payload_sha256 = *payload;
  } else {
    return S3Error(S3Code::kInvalidArgument,
                   "x-amz-content-sha256 must be UNSIGNED-PAYLOAD, a STREAMING-* value or the "
                   "hex SHA-256 of the body");
  }
  DIM_S3_ASSIGN_OR_RETURN(sigv4::Pairs signed_headers,
                          SignedHeaderValues(*r.headers, auth.signed_headers));
  sigv4::CanonicalInput in;
  in.method = r.method;
  in.path = r.path;
  in.query = *r.query;
  in.headers = std::move(signed_headers);
  in.payload_hash = *payload;
  std::string key;
  DIM_S3_ASSIGN_OR_RETURN(Done ok, CheckSignature(in, auth, *amz_date, &key));
  (void)ok;
  if (out.payload == PayloadMode::kChunkedSigned) {
    out.chunk_signing = AwsChunkedDecoder::Signing{
        key, *amz_date, sigv4::Scope(auth.date8, auth.region, auth.service), auth.signature};
  }
  return out;
}

S3Result<AuthResult> S3Authenticator::FromQuery(const AuthRequest& r) const {
  auto parsed = sigv4::ParsePresignedQuery(*r.query);
  if (!parsed.ok()) {
    return S3Error(S3Code::kAuthorizationQueryParametersError, parsed.status().message());
  }
  const sigv4::ParsedAuth& auth = *parsed;
  if (auth.access_key != options_.access_key) return S3Error(S3Code::kInvalidAccessKeyId);
  if (auth.service != "s3") {
    return S3Error(S3Code::kAuthorizationQueryParametersError,
                   "the credential scope's service must be s3");
  }
  int64_t t = sigv4::ParseAmzDate(auth.amz_date).value_or(0);
  int64_t now = clock_.NowMs() / 1000;
  if (now + options_.max_skew_s < t)
    return S3Error(S3Code::kAccessDenied, "Request is not valid yet");
  if (now > t + auth.expires_seconds) return S3Error(S3Code::kAccessDenied, "Request has expired");
  DIM_S3_ASSIGN_OR_RETURN(sigv4::Pairs signed_headers,
                          SignedHeaderValues(*r.headers, auth.signed_headers));
  sigv4::CanonicalInput in;
  in.method = r.method;
  in.path = r.path;
  for (const auto& kv : *r.query) {
    if (kv.first != "X-Amz-Signature") in.query.push_back(kv);
  }
  in.headers = std::move(signed_headers);
  const std::string* payload = FindQuery(*r.query, "X-Amz-Content-Sha256");
  in.payload_hash = payload ? *payload : std::string(sigv4::kUnsignedPayload);
  std::string key;
  DIM_S3_ASSIGN_OR_RETURN(Done ok, CheckSignature(in, auth, auth.amz_date, &key));
  (void)ok;
  AuthResult out;
  out.access_key = auth.access_key;
  if (payload && IsLowerHex64(*payload)) {
    out.payload = PayloadMode::kSha256;
    out.payload_sha256 = *payload;
  }
  return out;
}

}  // namespace dim
