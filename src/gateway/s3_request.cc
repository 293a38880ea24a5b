#include "gateway/s3_request.h"

#include <algorithm>
#include <charconv>

#include "core/object_key.h"

namespace dim {
namespace {

bool IsDigits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

}  // namespace

const std::string* FindHeader(const HeaderList& headers, std::string_view name) {
  for (const auto& [k, v] : headers) {
    if (k == name) return &v;
  }
  return nullptr;
}

const std::string* FindQuery(const sigv4::Pairs& query, std::string_view name) {
  for (const auto& [k, v] : query) {
    if (k == name) return &v;
  }
  return nullptr;
}

S3Result<RequestTarget> ParseRequestTarget(std::string_view target) {
  if (target.empty() || target.front() != '/') {
    return S3Error(S3Code::kInvalidURI, "the request target must be an absolute path");
  }
  RequestTarget out;
  size_t q = target.find('?');
  auto path = sigv4::UriDecode(target.substr(0, q));
  if (!path.ok()) return S3Error(S3Code::kInvalidURI, path.status().message());
  out.path = std::move(path).value();
  if (q == std::string_view::npos) return out;
  std::string_view rest = target.substr(q + 1);
  while (!rest.empty()) {
    size_t amp = rest.find('&');
    std::string_view part = rest.substr(0, amp);
    rest = amp == std::string_view::npos ? std::string_view() : rest.substr(amp + 1);
    if (part.empty()) continue;
    size_t eq = part.find('=');
    auto name = sigv4::UriDecode(part.substr(0, eq));
    auto value =
        sigv4::UriDecode(eq == std::string_view::npos ? std::string_view() : part.substr(eq + 1));
    if (!name.ok()) return S3Error(S3Code::kInvalidURI, name.status().message());
    if (!value.ok()) return S3Error(S3Code::kInvalidURI, value.status().message());
    out.query.emplace_back(std::move(name).value(), std::move(value).value());
  }
  return out;
}

S3Address SplitPath(std::string_view path) {
  S3Address a;
  if (!path.empty() && path.front() == '/') path.remove_prefix(1);
  size_t slash = path.find('/');
  a.bucket = std::string(path.substr(0, slash));
  if (slash != std::string_view::npos) a.key = std::string(path.substr(slash + 1));
  return a;
}

S3Result<Done> CheckBucketName(std::string_view bucket) {
  Status s = ValidateBucketName(bucket);
  if (!s.ok()) return S3Error(S3Code::kInvalidBucketName, s.message());
  return Done{};
}

S3Result<Done> CheckObjectKey(std::string_view key) {
  if (key.size() > kMaxKeyBytes) {
    return S3Error(S3Code::kKeyTooLongError, "Your key is too long: " + std::to_string(key.size()) +
                                                 " bytes; the limit is 1024");
  }
  Status s = ValidateObjectKey(key);
  if (!s.ok()) return S3Error(S3Code::kInvalidArgument, s.message());
  return Done{};
}

std::optional<RangeSpec> ParseRangeHeader(std::string_view value) {
  value = Trim(value);
  constexpr std::string_view kUnit = "bytes=";
  if (value.substr(0, kUnit.size()) != kUnit) return std::nullopt;
  std::string_view spec = Trim(value.substr(kUnit.size()));
  if (spec.find(',') != std::string_view::npos) return std::nullopt;
  size_t dash = spec.find('-');
  if (dash == std::string_view::npos) return std::nullopt;
  std::string_view a = Trim(spec.substr(0, dash)), b = Trim(spec.substr(dash + 1));
  auto num = [](std::string_view s, int64_t* out) {
    if (!IsDigits(s) || s.size() > 18) return false;
    std::from_chars(s.data(), s.data() + s.size(), *out);
    return true;
  };
  RangeSpec r;
  if (a.empty()) {
    if (!num(b, &r.suffix)) return std::nullopt;
    return r;
  }
  if (!num(a, &r.first)) return std::nullopt;
  if (!b.empty()) {
    if (!num(b, &r.last) || r.last < r.first) return std::nullopt;
  }
  return r;
}

S3Result<ByteRange> ResolveRange(const RangeSpec& r, int64_t size) {
  if (r.first < 0) {
    if (r.suffix <= 0 || size == 0) return S3Error(S3Code::kInvalidRange);
    int64_t n = std::min(r.suffix, size);
    return ByteRange{size - n, n};
  }
  if (r.first >= size) return S3Error(S3Code::kInvalidRange);
  int64_t last = r.last < 0 ? size - 1 : std::min(r.last, size - 1);
  return ByteRange{r.first, last - r.first + 1};
}

S3Result<std::map<std::string, std::string>> UserMetadataFromHeaders(const HeaderList& headers) {
  constexpr std::string_view kPrefix = "x-amz-meta-";
  std::map<std::string, std::string> out;
  size_t total = 0;
  for (const auto& [k, v] : headers) {
    if (k.size() <= kPrefix.size() || k.compare(0, kPrefix.size(), kPrefix) != 0) continue;
    std::string name = k.substr(kPrefix.size());
    total += name.size() + v.size();
    auto& slot = out[name];
    if (!slot.empty()) slot += ',';
    slot += v;
  }
  if (total > kMaxUserMetadataBytes) {
    return S3Error(S3Code::kMetadataTooLarge, "Your metadata headers are " + std::to_string(total) +
                                                  " bytes; the limit is 2048");
  }
  return out;
}

std::map<std::string, std::string> StoredHeadersFromRequest(const HeaderList& headers) {
  static const std::pair<std::string_view, std::string_view> kStored[] = {
      {"cache-control", "Cache-Control"},
      {"content-disposition", "Content-Disposition"},
      {"content-encoding", "Content-Encoding"},
      {"content-language", "Content-Language"},
      {"expires", "Expires"},
  };
  std::map<std::string, std::string> out;
  for (const auto& [lower, canonical] : kStored) {
    const std::string* v = FindHeader(headers, lower);
    if (!v) continue;
    std::string value = *v;
    if (lower == "content-encoding") {
      // "aws-chunked" or "aws-chunked,gzip": the transfer coding is not the object's.
      std::string kept;
      std::string_view rest = value;
      while (!rest.empty()) {
        size_t comma = rest.find(',');
        std::string_view part = Trim(rest.substr(0, comma));
        rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
        if (part.empty() || part == "aws-chunked") continue;
        kept += (kept.empty() ? "" : ",") + std::string(part);
      }
      value = kept;
    }
    if (!value.empty()) out[std::string(canonical)] = value;
  }
  return out;
}

S3Result<ContentFields> ContentFieldsFromHeaders(const HeaderList& headers) {
  ContentFields f;
  if (const std::string* ct = FindHeader(headers, "content-type")) f.content_type = *ct;
  DIM_S3_ASSIGN_OR_RETURN(f.user_meta, UserMetadataFromHeaders(headers));
  f.headers = StoredHeadersFromRequest(headers);
  return f;
}

std::optional<int64_t> ParseByteCount(std::string_view s) {
  s = Trim(s);
  if (!IsDigits(s) || s.size() > 18) return std::nullopt;
  int64_t v = 0;
  std::from_chars(s.data(), s.data() + s.size(), v);
  return v;
}

}  // namespace dim
