#include "core/object_key.h"

#include <cstdio>
#include <random>

namespace dim {

Status ValidateBucketName(std::string_view b) {
  if (b.size() < 3 || b.size() > 63) {
    return Status::InvalidArgument("bucket name must be 3 to 63 characters: '" + std::string(b) + "'");
  }
  auto alnum = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
  for (char c : b) {
    if (!alnum(c) && c != '-' && c != '.') {
      return Status::InvalidArgument("bucket name may hold only a-z, 0-9, '-' and '.': '" +
                                     std::string(b) + "'");
    }
  }
  if (!alnum(b.front()) || !alnum(b.back())) {
    return Status::InvalidArgument("bucket name must start and end with a letter or digit");
  }
  if (b.find("..") != std::string_view::npos) {
    return Status::InvalidArgument("bucket name must not contain '..'");
  }
  return Status::OK();
}

size_t Utf8SequenceLength(std::string_view s, size_t i) {
  auto c = static_cast<unsigned char>(s[i]);
  size_t n;
  uint32_t cp;
  if (c < 0x80) return 1;
  if ((c & 0xE0) == 0xC0) { n = 2; cp = c & 0x1F; }
  else if ((c & 0xF0) == 0xE0) { n = 3; cp = c & 0x0F; }
  else if ((c & 0xF8) == 0xF0) { n = 4; cp = c & 0x07; }
  else return 0;
  if (i + n > s.size()) return 0;
  for (size_t k = 1; k < n; ++k) {
    auto d = static_cast<unsigned char>(s[i + k]);
    if ((d & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (d & 0x3F);
  }
  // Reject overlong forms, surrogates and out-of-range code points.
  if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000)) return 0;
  if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
  return n;
}

Status ValidateObjectKey(std::string_view key) {
  if (key.empty()) return Status::InvalidArgument("object key is empty");
  if (key.size() > kMaxKeyBytes) {
    return Status::InvalidArgument("object key is " + std::to_string(key.size()) +
                                   " bytes; the limit is 1024");
  }
  for (size_t i = 0; i < key.size();) {
    auto c = static_cast<unsigned char>(key[i]);
    if (c < 0x20 || c == 0x7F) {
      return Status::InvalidArgument("object key contains a control character at byte " +
                                     std::to_string(i));
    }
    size_t n = Utf8SequenceLength(key, i);
    if (n == 0) {
      return Status::InvalidArgument("object key is not valid UTF-8 at byte " + std::to_string(i));
    }
    i += n;
  }
  size_t start = 0;
  while (start <= key.size()) {
    size_t end = key.find('/', start);
    if (end == std::string_view::npos) end = key.size();
    std::string_view seg = key.substr(start, end - start);
    if (seg == "." || seg == "..") {
      return Status::InvalidArgument("object key must not contain a '" + std::string(seg) +
                                     "' path segment");
    }
    start = end + 1;
  }
  return Status::OK();
}

Result<ObjectKey> ObjectKey::Parse(std::string_view full) {
  size_t slash = full.find('/');
  if (slash == std::string_view::npos) {
    return Status::InvalidArgument("key must be 'bucket/key': '" + std::string(full) + "'");
  }
  ObjectKey k{std::string(full.substr(0, slash)), std::string(full.substr(slash + 1))};
  DIM_RETURN_IF_ERROR(ValidateBucketName(k.bucket));
  DIM_RETURN_IF_ERROR(ValidateObjectKey(k.key));
  return k;
}

std::string BlobName(const ObjectKey& key, std::string_view generation) {
  std::string s;
  s.reserve(key.bucket.size() + key.key.size() + generation.size() + 2);
  s += key.bucket;
  s += '/';
  s += key.key;
  s += '@';
  s += generation;
  return s;
}

std::string NewGeneration(int64_t now_ms) {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  uint64_t v = (static_cast<uint64_t>(now_ms) << 20) | (rng() & 0xFFFFF);
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(v));
  return buf;
}

}  // namespace dim
