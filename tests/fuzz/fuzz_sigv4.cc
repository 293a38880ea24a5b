// SigV4 inputs from the wire: the Authorization header, presigned-URL query parameters,
// x-amz-date and percent-escapes. Malformed input is an InvalidArgument, never a crash.
#include <cstdint>
#include <string>

#include "storage/s3/sigv4.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string s(reinterpret_cast<const char*>(data), size);
  namespace v4 = dim::sigv4;
  auto a = v4::ParseAuthorizationHeader(s);
  if (a.ok() && (a->signature.size() != 64 || a->signed_headers.empty())) __builtin_trap();
  (void)v4::ParseAmzDate(s);
  auto d = v4::UriDecode(s);
  if (d.ok()) {
    auto round = v4::UriDecode(v4::UriEncode(*d, true));
    if (!round.ok() || *round != *d) __builtin_trap();
  }
  // As a query string: name=value pairs split on '&', decoded.
  v4::Pairs q;
  size_t start = 0;
  while (start <= s.size()) {
    size_t amp = s.find('&', start);
    std::string part = s.substr(start, amp == std::string::npos ? std::string::npos : amp - start);
    size_t eq = part.find('=');
    auto k = v4::UriDecode(part.substr(0, eq));
    auto v = v4::UriDecode(eq == std::string::npos ? "" : part.substr(eq + 1));
    if (k.ok() && v.ok()) q.emplace_back(*k, *v);
    if (amp == std::string::npos) break;
    start = amp + 1;
  }
  auto p = v4::ParsePresignedQuery(q);
  if (p.ok() && (!p->presigned || p->expires_seconds < 1)) __builtin_trap();
  return 0;
}
