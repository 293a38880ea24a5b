// The additional checksums S3 clients may send with a body (x-amz-checksum-crc32, -crc32c, -sha1,
// -sha256, as a header or an aws-chunked trailer): one streaming hasher for each, rendering the
// base64 value S3 compares. Not thread-safe; one hasher per stream.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace dim {

enum class ChecksumAlgorithm { kCrc32, kCrc32c, kSha1, kSha256 };

// "x-amz-checksum-crc32" (any case) -> kCrc32; nullopt for anything else.
std::optional<ChecksumAlgorithm> ChecksumAlgorithmFromHeader(std::string_view header_name);
// "CRC32" (x-amz-sdk-checksum-algorithm's spelling) -> kCrc32.
std::optional<ChecksumAlgorithm> ChecksumAlgorithmFromName(std::string_view name);
// "x-amz-checksum-crc32".
std::string_view ChecksumHeaderName(ChecksumAlgorithm a);
// Raw digest size in bytes (4, 4, 20, 32).
size_t ChecksumSize(ChecksumAlgorithm a);

class Checksummer {
 public:
  explicit Checksummer(ChecksumAlgorithm a);
  ~Checksummer();
  void Update(const void* data, size_t n);
  // Base64 of the digest (big-endian for the CRCs, as S3 sends them).
  std::string FinishBase64();

 private:
  ChecksumAlgorithm algorithm_;
  uint32_t crc_ = 0;
  struct Digest;
  std::unique_ptr<Digest> digest_;
};

}  // namespace dim
