#include "migrator/backoff.h"

#include <algorithm>
#include <cmath>

namespace dim {

Backoff::Backoff(int64_t base_ms, int64_t max_ms, uint64_t seed)
    : base_ms_(std::max<int64_t>(1, base_ms)), max_ms_(std::max<int64_t>(1, max_ms)), rng_(seed) {}

int64_t Backoff::CapMs(int retry) const {
  int exponent = std::clamp(retry - 1, 0, 62);
  double cap = static_cast<double>(base_ms_) * std::ldexp(1.0, exponent);
  return static_cast<int64_t>(std::min(cap, static_cast<double>(max_ms_)));
}

int64_t Backoff::DelayMs(int retry) {
  int64_t cap = std::max<int64_t>(1, CapMs(retry));
  std::lock_guard<std::mutex> lock(mu_);
  std::uniform_int_distribution<int64_t> d(1, cap);
  return d(rng_);
}

}  // namespace dim
