#include "storage/azure/shared_key.h"

#include <algorithm>
#include <cctype>
#include <ctime>
#include <map>

#include "core/checksum.h"

namespace dim::azure {
namespace {

std::string Lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string FoldWhitespace(const std::string& v) {
  std::string out;
  bool space = false;
  for (char c : v) {
    if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
      space = true;
      continue;
    }
    if (space && !out.empty()) out += ' ';
    space = false;
    out += c;
  }
  return out;
}

std::string HeaderValue(const Pairs& headers, const std::string& lower_name) {
  for (const auto& [k, v] : headers) {
    if (Lower(k) == lower_name) return v;
  }
  return "";
}

}  // namespace

std::string CanonicalizedHeaders(const Pairs& headers) {
  std::map<std::string, std::string> ms;
  for (const auto& [k, v] : headers) {
    std::string name = Lower(k);
    if (name.rfind("x-ms-", 0) != 0) continue;
    auto& slot = ms[name];
    if (!slot.empty()) slot += ',';
    slot += FoldWhitespace(v);
  }
  std::string out;
  for (const auto& [k, v] : ms) out += k + ":" + v + "\n";
  return out;
}

std::string CanonicalizedResource(const std::string& account, const std::string& encoded_path,
                                  const Pairs& query) {
  std::string out = "/" + account + (encoded_path.empty() ? "/" : encoded_path);
  std::map<std::string, std::vector<std::string>> q;
  for (const auto& [k, v] : query) q[Lower(k)].push_back(v);
  for (auto& [k, vs] : q) {
    std::sort(vs.begin(), vs.end());
    out += "\n" + k + ":";
    for (size_t i = 0; i < vs.size(); ++i) out += (i ? "," : "") + vs[i];
  }
  return out;
}

std::string StringToSign(const SharedKeyInput& in, const std::string& account) {
  auto h = [&](const char* name) { return HeaderValue(in.headers, name); };
  std::string length = h("content-length");
  if (length == "0") length = "";
  std::string out = in.method + "\n";
  out += h("content-encoding") + "\n";
  out += h("content-language") + "\n";
  out += length + "\n";
  out += h("content-md5") + "\n";
  out += h("content-type") + "\n";
  out += h("date") + "\n";
  out += h("if-modified-since") + "\n";
  out += h("if-match") + "\n";
  out += h("if-none-match") + "\n";
  out += h("if-unmodified-since") + "\n";
  out += h("range") + "\n";
  out += CanonicalizedHeaders(in.headers);
  out += CanonicalizedResource(account, in.encoded_path, in.query);
  return out;
}

Result<std::string> AuthorizationHeader(const SharedKeyInput& in, const std::string& account,
                                        const std::string& base64_key) {
  std::string key;
  if (!Base64Decode(base64_key, &key) || key.empty()) {
    return Status::InvalidArgument("the account key is not valid base64");
  }
  return "SharedKey " + account + ":" + Base64Encode(HmacSha256(key, StringToSign(in, account)));
}

std::string Rfc1123Date(int64_t unix_seconds) {
  time_t t = static_cast<time_t>(unix_seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  static const char* days[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static const char* months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                 "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  char buf[64];
  std::snprintf(buf, sizeof buf, "%s, %02d %s %04d %02d:%02d:%02d GMT", days[tm.tm_wday],
                tm.tm_mday, months[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
  return buf;
}

}  // namespace dim::azure
