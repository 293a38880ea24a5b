// A token bucket that limits bytes per second (an endpoint's bandwidth). Reserve() never blocks:
// it books the bytes and returns how long the caller must wait before moving them, so the limit
// holds for every thread sharing the bucket while each sleeps on its own. Thread-safe.
#pragma once

#include <cstdint>
#include <mutex>

namespace dim {

class TokenBucket {
 public:
  // bytes_per_s > 0; burst_bytes: how much may go at once after an idle period.
  TokenBucket(double bytes_per_s, double burst_bytes);
  // Books n bytes at monotonic time now_us; returns the microseconds to wait first (0: go now).
  int64_t Reserve(int64_t n, int64_t now_us);
  double bytes_per_s() const { return rate_; }

 private:
  double rate_;
  int64_t burst_us_;
  std::mutex mu_;
  int64_t tat_us_ = 0;  // when the bytes booked so far have drained at the rate
};

}  // namespace dim
