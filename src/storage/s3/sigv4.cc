#include "storage/s3/sigv4.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <ctime>
#include <map>

#include "core/checksum.h"

namespace dim::sigv4 {
namespace {

bool Unreserved(unsigned char c) {
  return std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~';
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// Trims and collapses runs of spaces/tabs into one space (SigV4's header value rule).
std::string CanonicalHeaderValue(std::string_view v) {
  std::string out;
  bool space = false;
  for (char c : v) {
    if (c == ' ' || c == '\t') {
      space = !out.empty();
      continue;
    }
    if (space) out += ' ';
    space = false;
    out += c;
  }
  return out;
}

bool IsDigits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isdigit(c); });
}

bool IsLowerHex(std::string_view s) {
  return std::all_of(s.begin(), s.end(),
                     [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

// "AKID/20130524/us-east-1/s3/aws4_request" into the fields of `out`.
Status ParseCredential(std::string_view cred, ParsedAuth& out) {
  std::vector<std::string_view> parts;
  size_t start = 0;
  for (;;) {
    size_t slash = cred.find('/', start);
    parts.push_back(cred.substr(start, slash == std::string_view::npos ? slash : slash - start));
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  if (parts.size() != 5 || parts[0].empty() || parts[2].empty() || parts[3].empty()) {
    return Status::InvalidArgument(
        "credential must be ACCESS_KEY/YYYYMMDD/REGION/SERVICE/aws4_request, got '" +
        std::string(cred) + "'");
  }
  if (parts[1].size() != 8 || !IsDigits(parts[1])) {
    return Status::InvalidArgument("credential date must be YYYYMMDD, got '" + std::string(parts[1]) + "'");
  }
  if (parts[4] != "aws4_request") {
    return Status::InvalidArgument("credential scope must end with aws4_request");
  }
  out.access_key = std::string(parts[0]);
  out.date8 = std::string(parts[1]);
  out.region = std::string(parts[2]);
  out.service = std::string(parts[3]);
  return Status::OK();
}

Status ParseSignedHeaders(std::string_view list, ParsedAuth& out) {
  out.signed_headers.clear();
  size_t start = 0;
  while (start <= list.size()) {
    size_t semi = list.find(';', start);
    std::string_view name = list.substr(start, semi == std::string_view::npos ? semi : semi - start);
    if (name.empty()) return Status::InvalidArgument("empty name in SignedHeaders");
    out.signed_headers.emplace_back(Lower(name));
    if (semi == std::string_view::npos) break;
    start = semi + 1;
  }
  if (out.signed_headers.empty()) return Status::InvalidArgument("SignedHeaders is empty");
  return Status::OK();
}

Status CheckSignature(std::string_view sig) {
  if (sig.size() != 64 || !IsLowerHex(sig)) {
    return Status::InvalidArgument("signature must be 64 lower-case hex digits");
  }
  return Status::OK();
}

}  // namespace

std::string UriEncode(std::string_view s, bool encode_slash) {
  static const char* kHex = "0123456789ABCDEF";
  std::string out;
  out.reserve(s.size() * 3 / 2);
  for (unsigned char c : s) {
    if (Unreserved(c) || (c == '/' && !encode_slash)) {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

Result<std::string> UriDecode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '%') {
      out += s[i];
      continue;
    }
    if (i + 2 >= s.size()) {
      return Status::InvalidArgument("truncated percent-escape in '" + std::string(s) + "'");
    }
    std::string decoded;
    if (!HexDecode(s.substr(i + 1, 2), &decoded)) {
      return Status::InvalidArgument("malformed percent-escape '%" + std::string(s.substr(i + 1, 2)) + "'");
    }
    out += decoded;
    i += 2;
  }
  return out;
}

std::string FormatAmzDate(int64_t unix_seconds) {
  std::time_t t = static_cast<std::time_t>(unix_seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y%m%dT%H%M%SZ", &tm);
  return buf;
}

Result<int64_t> ParseAmzDate(std::string_view d) {
  if (d.size() != 16 || d[8] != 'T' || d[15] != 'Z' || !IsDigits(d.substr(0, 8)) ||
      !IsDigits(d.substr(9, 6))) {
    return Status::InvalidArgument("date must be YYYYMMDDTHHMMSSZ, got '" + std::string(d) + "'");
  }
  auto num = [&](size_t pos, size_t len) {
    int v = 0;
    std::from_chars(d.data() + pos, d.data() + pos + len, v);
    return v;
  };
  std::tm tm{};
  tm.tm_year = num(0, 4) - 1900;
  tm.tm_mon = num(4, 2) - 1;
  tm.tm_mday = num(6, 2);
  tm.tm_hour = num(9, 2);
  tm.tm_min = num(11, 2);
  tm.tm_sec = num(13, 2);
  if (tm.tm_mon < 0 || tm.tm_mon > 11 || tm.tm_mday < 1 || tm.tm_mday > 31 || tm.tm_hour > 23 ||
      tm.tm_min > 59 || tm.tm_sec > 60) {
    return Status::InvalidArgument("date out of range: '" + std::string(d) + "'");
  }
  return static_cast<int64_t>(timegm(&tm));
}

std::string Scope(std::string_view date8, std::string_view region, std::string_view service) {
  std::string s;
  s.append(date8).append("/").append(region).append("/").append(service).append("/aws4_request");
  return s;
}

std::string SignedHeaderNames(const Pairs& headers) {
  std::vector<std::string> names;
  for (const auto& [k, v] : headers) names.push_back(Lower(k));
  std::sort(names.begin(), names.end());
  names.erase(std::unique(names.begin(), names.end()), names.end());
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "" : ";") + n;
  return out;
}

std::string CanonicalRequest(const CanonicalInput& in) {
  std::string out = in.method;
  out += '\n';
  out += in.path.empty() ? "/" : UriEncode(in.path, /*encode_slash=*/false);
  out += '\n';

  std::vector<std::pair<std::string, std::string>> q;
  q.reserve(in.query.size());
  for (const auto& [k, v] : in.query) q.emplace_back(UriEncode(k, true), UriEncode(v, true));
  std::sort(q.begin(), q.end());
  for (size_t i = 0; i < q.size(); ++i) {
    if (i) out += '&';
    out += q[i].first + "=" + q[i].second;
  }
  out += '\n';

  std::map<std::string, std::string> headers;  // sorted by lower-case name
  for (const auto& [k, v] : in.headers) {
    auto& slot = headers[Lower(k)];
    if (!slot.empty()) slot += ',';
    slot += CanonicalHeaderValue(v);
  }
  for (const auto& [k, v] : headers) out += k + ":" + v + "\n";
  out += '\n';
  out += SignedHeaderNames(in.headers);
  out += '\n';
  out += in.payload_hash;
  return out;
}

std::string StringToSign(std::string_view amz_date, std::string_view scope,
                         std::string_view canonical_request) {
  std::string s(kAlgorithm);
  s.append("\n").append(amz_date).append("\n").append(scope).append("\n");
  s += Sha256::Hex(canonical_request);
  return s;
}

std::string SigningKey(std::string_view secret, std::string_view date8, std::string_view region,
                       std::string_view service) {
  std::string k = HmacSha256("AWS4" + std::string(secret), date8);
  k = HmacSha256(k, region);
  k = HmacSha256(k, service);
  return HmacSha256(k, "aws4_request");
}

std::string Signature(std::string_view signing_key, std::string_view string_to_sign) {
  return HexEncode(HmacSha256(signing_key, string_to_sign));
}

Pairs SignHeaders(const SignRequest& r, const Credentials& creds) {
  const std::string amz_date = FormatAmzDate(r.unix_seconds);
  const std::string date8 = amz_date.substr(0, 8);
  CanonicalInput in;
  in.method = r.method;
  in.path = r.path;
  in.query = r.query;
  in.headers = r.headers;
  in.headers.emplace_back("host", r.host);
  in.headers.emplace_back("x-amz-date", amz_date);
  in.headers.emplace_back("x-amz-content-sha256", r.payload_hash);
  if (!creds.session_token.empty()) in.headers.emplace_back("x-amz-security-token", creds.session_token);
  in.payload_hash = r.payload_hash;
  const std::string scope = Scope(date8, r.region, r.service);
  const std::string sig = Signature(SigningKey(creds.secret_key, date8, r.region, r.service),
                                    StringToSign(amz_date, scope, CanonicalRequest(in)));
  Pairs out;
  out.emplace_back("Authorization", std::string(kAlgorithm) + " Credential=" + creds.access_key + "/" +
                                        scope + ",SignedHeaders=" + SignedHeaderNames(in.headers) +
                                        ",Signature=" + sig);
  out.emplace_back("x-amz-date", amz_date);
  out.emplace_back("x-amz-content-sha256", r.payload_hash);
  if (!creds.session_token.empty()) out.emplace_back("x-amz-security-token", creds.session_token);
  return out;
}

Pairs PresignQuery(const SignRequest& r, const Credentials& creds, int64_t expires_seconds) {
  const std::string amz_date = FormatAmzDate(r.unix_seconds);
  const std::string date8 = amz_date.substr(0, 8);
  const std::string scope = Scope(date8, r.region, r.service);
  CanonicalInput in;
  in.method = r.method;
  in.path = r.path;
  in.headers = r.headers;
  in.headers.emplace_back("host", r.host);
  in.payload_hash = std::string(kUnsignedPayload);
  Pairs added = {{"X-Amz-Algorithm", std::string(kAlgorithm)},
                 {"X-Amz-Credential", creds.access_key + "/" + scope},
                 {"X-Amz-Date", amz_date},
                 {"X-Amz-Expires", std::to_string(expires_seconds)},
                 {"X-Amz-SignedHeaders", SignedHeaderNames(in.headers)}};
  if (!creds.session_token.empty()) added.emplace_back("X-Amz-Security-Token", creds.session_token);
  in.query = r.query;
  in.query.insert(in.query.end(), added.begin(), added.end());
  added.emplace_back("X-Amz-Signature",
                     Signature(SigningKey(creds.secret_key, date8, r.region, r.service),
                               StringToSign(amz_date, scope, CanonicalRequest(in))));
  return added;
}

Result<ParsedAuth> ParseAuthorizationHeader(std::string_view value) {
  ParsedAuth out;
  if (value.substr(0, kAlgorithm.size()) != kAlgorithm || value.size() == kAlgorithm.size() ||
      value[kAlgorithm.size()] != ' ') {
    return Status::InvalidArgument("unsupported authorization type (only AWS4-HMAC-SHA256 is accepted)");
  }
  std::string_view rest = value.substr(kAlgorithm.size() + 1);
  bool have_cred = false, have_headers = false, have_sig = false;
  while (!rest.empty()) {
    size_t comma = rest.find(',');
    std::string_view part = rest.substr(0, comma);
    rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
    while (!part.empty() && (part.front() == ' ' || part.front() == '\t')) part.remove_prefix(1);
    while (!part.empty() && (part.back() == ' ' || part.back() == '\t')) part.remove_suffix(1);
    if (part.empty()) continue;
    size_t eq = part.find('=');
    if (eq == std::string_view::npos) {
      return Status::InvalidArgument("authorization component without '=': '" + std::string(part) + "'");
    }
    std::string_view k = part.substr(0, eq), v = part.substr(eq + 1);
    if (k == "Credential") {
      DIM_RETURN_IF_ERROR(ParseCredential(v, out));
      have_cred = true;
    } else if (k == "SignedHeaders") {
      DIM_RETURN_IF_ERROR(ParseSignedHeaders(v, out));
      have_headers = true;
    } else if (k == "Signature") {
      DIM_RETURN_IF_ERROR(CheckSignature(v));
      out.signature = std::string(v);
      have_sig = true;
    } else {
      return Status::InvalidArgument("unknown authorization component '" + std::string(k) + "'");
    }
  }
  if (!have_cred || !have_headers || !have_sig) {
    return Status::InvalidArgument("authorization header needs Credential, SignedHeaders and Signature");
  }
  return out;
}

Result<ParsedAuth> ParsePresignedQuery(const Pairs& query) {
  std::map<std::string, std::string> q;
  for (const auto& [k, v] : query) {
    if (k.rfind("X-Amz-", 0) == 0) {
      if (q.count(k)) return Status::InvalidArgument("query parameter " + k + " given twice");
      q[k] = v;
    }
  }
  for (const char* need : {"X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Date", "X-Amz-Expires",
                           "X-Amz-SignedHeaders", "X-Amz-Signature"}) {
    if (!q.count(need)) return Status::InvalidArgument(std::string("presigned URL lacks ") + need);
  }
  if (q["X-Amz-Algorithm"] != kAlgorithm) {
    return Status::InvalidArgument("X-Amz-Algorithm must be AWS4-HMAC-SHA256");
  }
  ParsedAuth out;
  out.presigned = true;
  DIM_RETURN_IF_ERROR(ParseCredential(q["X-Amz-Credential"], out));
  DIM_RETURN_IF_ERROR(ParseSignedHeaders(q["X-Amz-SignedHeaders"], out));
  DIM_RETURN_IF_ERROR(CheckSignature(q["X-Amz-Signature"]));
  out.signature = q["X-Amz-Signature"];
  DIM_ASSIGN_OR_RETURN(int64_t t, ParseAmzDate(q["X-Amz-Date"]));
  (void)t;
  out.amz_date = q["X-Amz-Date"];
  if (out.amz_date.substr(0, 8) != out.date8) {
    return Status::InvalidArgument("X-Amz-Date does not match the credential scope's date");
  }
  const std::string& e = q["X-Amz-Expires"];
  int64_t expires = 0;
  auto [p, ec] = std::from_chars(e.data(), e.data() + e.size(), expires);
  if (ec != std::errc() || p != e.data() + e.size() || expires < 1 || expires > 604800) {
    return Status::InvalidArgument("X-Amz-Expires must be 1..604800 seconds, got '" + e + "'");
  }
  out.expires_seconds = expires;
  return out;
}

bool SignaturesEqual(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  unsigned char diff = 0;
  for (size_t i = 0; i < a.size(); ++i) diff |= static_cast<unsigned char>(a[i] ^ b[i]);
  return diff == 0;
}

std::string ChunkSignature(std::string_view signing_key, std::string_view amz_date,
                           std::string_view scope, std::string_view previous_signature,
                           std::string_view chunk_sha256) {
  std::string s = "AWS4-HMAC-SHA256-PAYLOAD\n";
  s.append(amz_date).append("\n").append(scope).append("\n").append(previous_signature).append("\n");
  s.append(kEmptySha256).append("\n").append(chunk_sha256);
  return Signature(signing_key, s);
}

}  // namespace dim::sigv4
