#include "storage/local_path_codec.h"

#include <vector>

namespace dim {
namespace {

constexpr size_t kMaxPiece = 200;

std::string EscapeSegment(std::string_view seg) {
  if (seg.empty()) return "%%";
  static const char* kHex = "0123456789ABCDEF";
  std::string out;
  for (size_t i = 0; i < seg.size(); ++i) {
    auto c = static_cast<unsigned char>(seg[i]);
    bool esc = c == '%' || c == '\\' || c < 0x20 || c == 0x7F || (i == 0 && c == '.');
    if (esc) {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    } else {
      out += static_cast<char>(c);
    }
  }
  return out;
}

int Hex(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

std::string EncodeBlobPath(std::string_view blob) {
  std::string out;
  size_t start = 0;
  for (;;) {
    size_t end = blob.find('/', start);
    std::string_view seg = blob.substr(start, end == std::string_view::npos ? blob.npos : end - start);
    std::string esc = EscapeSegment(seg);
    // Cut long segments, never inside a %XX escape.
    size_t pos = 0;
    while (esc.size() - pos > kMaxPiece) {
      size_t cut = pos + kMaxPiece;
      if (esc[cut - 1] == '%') cut -= 1;
      else if (esc[cut - 2] == '%') cut -= 2;
      out += esc.substr(pos, cut - pos);
      out += "%+/";
      pos = cut;
    }
    out += esc.substr(pos);
    if (end == std::string_view::npos) break;
    out += '/';
    start = end + 1;
  }
  return out;
}

std::optional<std::string> DecodeBlobPath(std::string_view path) {
  std::string out;
  std::string seg;
  size_t i = 0;
  bool seg_start = true;
  while (i <= path.size()) {
    if (i == path.size() || path[i] == '/') {
      if (seg_start) return std::nullopt;  // empty path component
      out += seg;
      seg.clear();
      if (i == path.size()) break;
      out += '/';
      seg_start = true;
      ++i;
      continue;
    }
    char c = path[i];
    if (c == '%') {
      if (i + 1 < path.size() && path[i + 1] == '%') {
        if (!seg_start || !(i + 2 == path.size() || path[i + 2] == '/')) return std::nullopt;
        i += 2;
        seg_start = false;
        continue;
      }
      if (i + 1 < path.size() && path[i + 1] == '+') {
        // Continuation: the segment goes on in the next path component.
        if (i + 2 >= path.size() || path[i + 2] != '/') return std::nullopt;
        i += 3;
        if (i >= path.size()) return std::nullopt;
        seg_start = false;
        continue;
      }
      if (i + 2 >= path.size()) return std::nullopt;
      int hi = Hex(path[i + 1]), lo = Hex(path[i + 2]);
      if (hi < 0 || lo < 0) return std::nullopt;
      seg += static_cast<char>(hi * 16 + lo);
      i += 3;
      seg_start = false;
      continue;
    }
    if (seg_start && c == '.') return std::nullopt;
    seg += c;
    ++i;
    seg_start = false;
  }
  return out;
}

}  // namespace dim
