// Streaming digests over OpenSSL's EVP interface: feed bytes in any number of pieces, then
// Finish() once. Used to verify every replica (SHA-256) and for S3 ETags (MD5).
// Not thread-safe; one hasher per stream.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace dim {

class StreamingDigest {
 public:
  enum class Algorithm { kSha256, kMd5 };
  explicit StreamingDigest(Algorithm algorithm);
  ~StreamingDigest();
  StreamingDigest(StreamingDigest&&) noexcept;
  StreamingDigest& operator=(StreamingDigest&&) noexcept;

  void Update(const void* data, size_t size);
  void Update(std::string_view data) { Update(data.data(), data.size()); }
  // Raw digest bytes; the hasher is then reset and can be reused.
  std::string FinishRaw();
  // Lower-case hex digest; resets like FinishRaw.
  std::string FinishHex();
  uint64_t bytes() const { return bytes_; }

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  Algorithm algorithm_;
  uint64_t bytes_ = 0;
};

class Sha256 : public StreamingDigest {
 public:
  Sha256() : StreamingDigest(Algorithm::kSha256) {}
  static std::string Hex(std::string_view data);
};

class Md5 : public StreamingDigest {
 public:
  Md5() : StreamingDigest(Algorithm::kMd5) {}
  static std::string Hex(std::string_view data);
};

std::string HexEncode(std::string_view raw);
// Returns false (and leaves *out unspecified) when `hex` is not even-length hex.
bool HexDecode(std::string_view hex, std::string* out);
std::string Base64Encode(std::string_view raw);
// Returns false on malformed input.
bool Base64Decode(std::string_view b64, std::string* out);
// HMAC-SHA256 of data under key, raw bytes.
std::string HmacSha256(std::string_view key, std::string_view data);
// Cryptographically random bytes rendered as lower-case hex (2*n characters).
std::string RandomHex(size_t n);

}  // namespace dim
