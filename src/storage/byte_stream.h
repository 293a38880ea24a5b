// Pull-based byte streams. Objects flow through ByteSource in bounded chunks, so memory use never
// depends on object size. Sources are single-use and not thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "core/checksum.h"
#include "core/status.h"

namespace dim {

inline constexpr size_t kStreamChunk = 1 << 20;  // 1 MiB

class ByteSource {
 public:
  virtual ~ByteSource() = default;
  // Reads up to n bytes into buf; returns how many. 0 means the end of the stream.
  virtual Result<size_t> Read(char* buf, size_t n) = 0;
};

// Serves a string (tests, small bodies).
class StringSource final : public ByteSource {
 public:
  explicit StringSource(std::string data) : data_(std::move(data)) {}
  Result<size_t> Read(char* buf, size_t n) override;

 private:
  std::string data_;
  size_t pos_ = 0;
};

// Passes bytes through while computing SHA-256 and MD5 of everything read (one pass over each
// chunk while it is in cache). With md5 = false only SHA-256 until StartMd5.
class HashingSource final : public ByteSource {
 public:
  explicit HashingSource(ByteSource& inner, bool md5 = true) : inner_(inner), md5_on_(md5) {}
  Result<size_t> Read(char* buf, size_t n) override;
  // Turns MD5 on, starting with `already_read` (the bytes this source served before).
  void StartMd5(std::string_view already_read);
  int64_t bytes() const { return bytes_; }
  std::string Sha256Hex() { return sha_.FinishHex(); }
  std::string Md5Hex() { return md5_.FinishHex(); }
  std::string Md5Raw() { return md5_.FinishRaw(); }

 private:
  ByteSource& inner_;
  Sha256 sha_;
  Md5 md5_;
  bool md5_on_;
  int64_t bytes_ = 0;
};

// Serves exactly `size` bytes of the inner source, hashing them on the way (SHA-256 and MD5, one
// pass), and holds back the read that completes them until it has checked that the inner source
// ends there and, when expected_sha256 (hex) is not empty, that the bytes hash to it. A short or
// long source or a mismatch fails that read with DataLoss (naming `what`) instead of serving the
// last bytes, so an upload streaming from here never completes its body with bytes that do not
// verify: the server never sees a whole request.
// With spoil = true such a failure is recorded (failure()) and the body completed instead, with
// one byte of the last read flipped (a short source padded with zeros): for an upload whose
// payload is signed with expected_sha256, a server that checks it refuses the request, and one
// that does not (and would keep a cut-off body anyway) answers with what it stored, so the
// caller can remove it. An error of the inner source still fails the read. md5 = false: SHA-256
// only.
class HoldbackVerifyingSource final : public ByteSource {
 public:
  HoldbackVerifyingSource(ByteSource& inner, int64_t size, std::string expected_sha256,
                          std::string what, bool spoil = false, bool md5 = true)
      : inner_(inner),
        hashing_(inner, md5),
        size_(size),
        expected_(std::move(expected_sha256)),
        what_(std::move(what)),
        spoil_(spoil),
        md5_on_(md5) {}
  Result<size_t> Read(char* buf, size_t n) override;
  // Checks the end (as the read that completes the bytes does); for a size of 0, or when the
  // consumer stopped asking at exactly `size` bytes.
  Status Finish();
  // Why the bytes did not verify (DataLoss), OK otherwise.
  const Status& failure() const { return failed_; }
  bool verified() const { return verified_; }
  int64_t bytes() const { return hashing_.bytes(); }
  // Hex digests of the bytes served; set once verified() (md5: empty when not computed).
  const std::string& sha256_hex() const { return sha256_; }
  const std::string& md5_hex() const { return md5_; }

 private:
  ByteSource& inner_;
  HashingSource hashing_;
  int64_t size_;
  std::string expected_;
  std::string what_;
  bool spoil_;
  bool md5_on_;
  bool verified_ = false;
  int64_t padded_ = 0;  // zeros served after a short source (spoil)
  Status failed_;
  std::string sha256_, md5_;
};

// Serves at most `limit` bytes of the inner source.
class LimitedSource final : public ByteSource {
 public:
  LimitedSource(ByteSource& inner, int64_t limit) : inner_(inner), left_(limit) {}
  Result<size_t> Read(char* buf, size_t n) override;

 private:
  ByteSource& inner_;
  int64_t left_;
};

// Serves bytes [skip, skip + limit) of the inner stream (limit -1: to the end); for a server that
// answered a ranged request with the whole object.
class WindowSource final : public ByteSource {
 public:
  WindowSource(std::unique_ptr<ByteSource> inner, int64_t skip, int64_t limit)
      : inner_(std::move(inner)), skip_(skip), left_(limit) {}
  Result<size_t> Read(char* buf, size_t n) override;

 private:
  std::unique_ptr<ByteSource> inner_;
  int64_t skip_;
  int64_t left_;
};

// Deterministic pseudo-random bytes (xorshift64) generated on the fly: test data and demo
// objects of any size without memory proportional to it.
class PatternSource final : public ByteSource {
 public:
  PatternSource(int64_t size, uint64_t seed) : left_(size), state_(seed | 1) {}
  Result<size_t> Read(char* buf, size_t n) override;

 private:
  int64_t left_;
  uint64_t state_;
  int used_ = 8;  // bytes of state_ already served
};

// Reads the whole source into a string (for small objects and tests only).
Result<std::string> ReadAll(ByteSource& src, size_t max_bytes = SIZE_MAX);
// Feeds every chunk of src to sink; stops at the first error from either.
Status Drain(ByteSource& src, const std::function<Status(std::string_view)>& sink);

}  // namespace dim
