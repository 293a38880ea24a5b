#include "storage/local_path_codec.h"

#include <vector>

namespace dim {
namespace {

constexpr size_t kMaxPiece = 200;

// Escapes one byte of a segment; `piece_start` is true for the first byte of a path component.
void EscapeByte(unsigned char c, bool piece_start, std::string& out) {
  static const char* kHex = "0123456789ABCDEF";
  bool esc = c == '%' || c == '\\' || c < 0x20 || c == 0x7F || (piece_start && c == '.');
  if (esc) {
    out += '%';
    out += kHex[c >> 4];
    out += kHex[c & 15];
  } else {
    out += static_cast<char>(c);
  }
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
    if (seg.empty()) out += "%%";
    // Long segments are cut into pieces of at most kMaxPiece bytes, never inside an escape; every
    // piece is its own path component, so a '.' that starts a piece is escaped as well (no piece
    // can be "." or "..").
    std::string piece;
    for (unsigned char c : seg) {
      std::string one;
      EscapeByte(c, piece.empty(), one);
      if (piece.size() + one.size() > kMaxPiece) {
        out += piece;
        out += "%+/";
        piece.clear();
        one.clear();
        EscapeByte(c, true, one);
      }
      piece += one;
    }
    out += piece;
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
  bool component_start = true;
  while (i <= path.size()) {
    if (i == path.size() || path[i] == '/') {
      if (seg_start) return std::nullopt;  // empty path component
      out += seg;
      seg.clear();
      if (i == path.size()) break;
      out += '/';
      seg_start = true;
      component_start = true;
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
        component_start = true;
        continue;
      }
      if (i + 2 >= path.size()) return std::nullopt;
      int hi = Hex(path[i + 1]), lo = Hex(path[i + 2]);
      if (hi < 0 || lo < 0) return std::nullopt;
      seg += static_cast<char>(hi * 16 + lo);
      i += 3;
      seg_start = false;
      component_start = false;
      continue;
    }
    if (component_start && c == '.') return std::nullopt;
    seg += c;
    ++i;
    seg_start = false;
    component_start = false;
  }
  // Only the encoder's own output is accepted (no needless escapes, raw control bytes or
  // arbitrary cuts), so every file name maps back to exactly one blob name.
  if (EncodeBlobPath(out) != path) return std::nullopt;
  return out;
}

}  // namespace dim
