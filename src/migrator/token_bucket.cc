#include "migrator/token_bucket.h"

#include <algorithm>

namespace dim {

TokenBucket::TokenBucket(double bytes_per_s, double burst_bytes)
    : rate_(std::max(1.0, bytes_per_s)),
      burst_us_(static_cast<int64_t>(std::max(0.0, burst_bytes) / rate_ * 1e6)) {}

int64_t TokenBucket::Reserve(int64_t n, int64_t now_us) {
  int64_t cost_us =
      static_cast<int64_t>(static_cast<double>(std::max<int64_t>(0, n)) / rate_ * 1e6);
  std::lock_guard<std::mutex> lock(mu_);
  tat_us_ = std::max(tat_us_, now_us) + cost_us;
  return std::max<int64_t>(0, tat_us_ - now_us - burst_us_);
}

}  // namespace dim
