#include "gateway/s3_checksum.h"

#include <openssl/evp.h>
#include <zlib.h>

#include <algorithm>
#include <array>
#include <cctype>

#include "core/checksum.h"

namespace dim {
namespace {

std::string Lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), table-driven.
const std::array<uint32_t, 256>& Crc32cTable() {
  static const std::array<uint32_t, 256> table = [] {
    std::array<uint32_t, 256> t{};
    for (uint32_t i = 0; i < 256; ++i) {
      uint32_t c = i;
      for (int k = 0; k < 8; ++k) c = (c & 1) ? (c >> 1) ^ 0x82F63B78u : c >> 1;
      t[i] = c;
    }
    return t;
  }();
  return table;
}

uint32_t Crc32cUpdate(uint32_t crc, const unsigned char* p, size_t n) {
  const auto& t = Crc32cTable();
  crc = ~crc;
  for (size_t i = 0; i < n; ++i) crc = t[(crc ^ p[i]) & 0xFF] ^ (crc >> 8);
  return ~crc;
}

}  // namespace

std::optional<ChecksumAlgorithm> ChecksumAlgorithmFromHeader(std::string_view header_name) {
  std::string n = Lower(header_name);
  if (n == "x-amz-checksum-crc32") return ChecksumAlgorithm::kCrc32;
  if (n == "x-amz-checksum-crc32c") return ChecksumAlgorithm::kCrc32c;
  if (n == "x-amz-checksum-sha1") return ChecksumAlgorithm::kSha1;
  if (n == "x-amz-checksum-sha256") return ChecksumAlgorithm::kSha256;
  return std::nullopt;
}

std::optional<ChecksumAlgorithm> ChecksumAlgorithmFromName(std::string_view name) {
  return ChecksumAlgorithmFromHeader("x-amz-checksum-" + Lower(name));
}

std::string_view ChecksumHeaderName(ChecksumAlgorithm a) {
  switch (a) {
    case ChecksumAlgorithm::kCrc32:
      return "x-amz-checksum-crc32";
    case ChecksumAlgorithm::kCrc32c:
      return "x-amz-checksum-crc32c";
    case ChecksumAlgorithm::kSha1:
      return "x-amz-checksum-sha1";
    case ChecksumAlgorithm::kSha256:
      return "x-amz-checksum-sha256";
  }
  return "";
}

size_t ChecksumSize(ChecksumAlgorithm a) {
  switch (a) {
    case ChecksumAlgorithm::kCrc32:
    case ChecksumAlgorithm::kCrc32c:
      return 4;
    case ChecksumAlgorithm::kSha1:
      return 20;
    case ChecksumAlgorithm::kSha256:
      return 32;
  }
  return 0;
}

struct Checksummer::Digest {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  ~Digest() { EVP_MD_CTX_free(ctx); }
};

Checksummer::Checksummer(ChecksumAlgorithm a) : algorithm_(a) {
  if (a == ChecksumAlgorithm::kSha1 || a == ChecksumAlgorithm::kSha256) {
    digest_ = std::make_unique<Digest>();
    EVP_DigestInit_ex(digest_->ctx, a == ChecksumAlgorithm::kSha1 ? EVP_sha1() : EVP_sha256(),
                      nullptr);
  } else if (a == ChecksumAlgorithm::kCrc32) {
    crc_ = static_cast<uint32_t>(crc32(0L, Z_NULL, 0));
  }
}

Checksummer::~Checksummer() = default;

void Checksummer::Update(const void* data, size_t n) {
  const auto* p = static_cast<const unsigned char*>(data);
  switch (algorithm_) {
    case ChecksumAlgorithm::kCrc32:
      while (n > 0) {  // zlib takes a uInt length
        uInt k = static_cast<uInt>(std::min<size_t>(n, 1u << 30));
        crc_ = static_cast<uint32_t>(crc32(crc_, p, k));
        p += k;
        n -= k;
      }
      break;
    case ChecksumAlgorithm::kCrc32c:
      crc_ = Crc32cUpdate(crc_, p, n);
      break;
    default:
      EVP_DigestUpdate(digest_->ctx, p, n);
      break;
  }
}

std::string Checksummer::FinishBase64() {
  std::string raw;
  if (digest_) {
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    EVP_DigestFinal_ex(digest_->ctx, md, &len);
    raw.assign(reinterpret_cast<char*>(md), len);
  } else {
    for (int shift = 24; shift >= 0; shift -= 8) raw += static_cast<char>((crc_ >> shift) & 0xFF);
  }
  return Base64Encode(raw);
}

}  // namespace dim
