// The S3 gateway's request parsing: the request target, path-style addressing and key checks,
// Range, conditional and metadata headers, body promises, and authentication of a request whose
// headers come from the input. Malformed input is an S3 error, never a crash.
#include <cstdint>
#include <string>

#include "core/clock.h"
#include "gateway/body_verifier.h"
#include "gateway/http_date.h"
#include "gateway/s3_auth.h"
#include "gateway/s3_conditions.h"
#include "gateway/s3_request.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string s(reinterpret_cast<const char*>(data), size);
  using namespace dim;
  // The first line is a request target; the rest are "name: value" header lines.
  size_t nl = s.find('\n');
  std::string target = s.substr(0, nl);
  HeaderList headers;
  for (size_t pos = nl == std::string::npos ? s.size() : nl + 1; pos < s.size();) {
    size_t end = s.find('\n', pos);
    std::string line = s.substr(pos, end == std::string::npos ? std::string::npos : end - pos);
    size_t colon = line.find(':');
    if (colon != std::string::npos) {
      std::string name = line.substr(0, colon);
      for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      std::string value = line.substr(colon + 1);
      while (!value.empty() && value.front() == ' ') value.erase(0, 1);
      headers.emplace_back(name, value);
    }
    if (end == std::string::npos) break;
    pos = end + 1;
  }
  auto t = ParseRequestTarget(target);
  if (t.ok()) {
    auto a = SplitPath(t->path);
    if (CheckObjectKey(a.key).ok() && (a.key.empty() || a.key.size() > 1024)) __builtin_trap();
    (void)CheckBucketName(a.bucket);
  }
  for (const std::string& v : {s, target}) {
    if (auto r = ParseRangeHeader(v)) {
      for (int64_t n : {int64_t{0}, int64_t{1}, int64_t{1000}, int64_t{1} << 40}) {
        auto b = ResolveRange(*r, n);
        if (b.ok() && (b->offset < 0 || b->length <= 0 || b->offset + b->length > n))
          __builtin_trap();
      }
    }
    (void)ParseHttpDate(v);
    (void)ParseByteCount(v);
  }
  auto p = ParsePreconditions(headers);
  (void)EvaluatePreconditions(p, true, "abc", 784111777000, true);
  (void)EvaluatePreconditions(p, false, "", 0, false);
  auto meta = UserMetadataFromHeaders(headers);
  if (meta.ok()) {
    size_t total = 0;
    for (const auto& [k, v] : *meta) total += k.size() + v.size();
    (void)total;
  }
  (void)StoredHeadersFromRequest(headers);
  (void)ParseBodyExpectations(headers);
  static VirtualClock clock(1'369'353'600'000'000);  // 2013-05-24, the date of AWS's examples
  static S3Authenticator auth(
      {"AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", false}, clock);
  if (t.ok()) {
    AuthRequest ar{"GET", t->path, &t->query, &headers};
    auto r = auth.Authenticate(ar);
    if (r.ok() && r->anonymous) __builtin_trap();  // anonymous access is off
  }
  return 0;
}
