// Exponential backoff with full jitter: the n-th retry waits a uniformly random time in
// [0, min(max, base * 2^(n-1))), so clients that failed together do not retry together.
// Thread-safe; the random source is seeded by the owner (tests pass a fixed seed).
#pragma once

#include <cstdint>
#include <mutex>
#include <random>

namespace dim {

class Backoff {
 public:
  Backoff(int64_t base_ms, int64_t max_ms, uint64_t seed);
  // The delay before retry number `retry` (1 = the first retry); at least 1 ms.
  int64_t DelayMs(int retry);
  // The upper bound DelayMs(retry) draws below.
  int64_t CapMs(int retry) const;

 private:
  int64_t base_ms_;
  int64_t max_ms_;
  std::mutex mu_;
  std::mt19937_64 rng_;
};

}  // namespace dim
