#include "storage/retry_policy.h"

#include <algorithm>
#include <chrono>
#include <thread>

namespace dim {

RetryPolicy::Sleeper RetryPolicy::RealSleeper() {
  return [](int64_t ms) {
    if (ms > 0) std::this_thread::sleep_for(std::chrono::milliseconds(ms));
  };
}

RetryPolicy::RetryPolicy(RetryOptions options, const Clock& clock, Sleeper sleep, uint64_t seed)
    : options_(options),
      clock_(clock),
      sleep_(sleep ? std::move(sleep) : RealSleeper()),
      rng_(seed) {}

std::optional<int64_t> RetryPolicy::NextDelayMs(int retry, const Status& s, int64_t elapsed_ms) {
  if (s.ok() || !s.IsRetryable()) return std::nullopt;
  const int attempts = s.throttled()
                           ? std::max(options_.max_attempts, options_.max_throttled_attempts)
                           : options_.max_attempts;
  if (retry >= attempts) return std::nullopt;
  if (elapsed_ms >= options_.max_elapsed_ms) return std::nullopt;
  if (s.retry_after_ms() > options_.max_retry_after_ms) return std::nullopt;
  // base * 2^(retry-1), without overflowing for large retry counts.
  int64_t cap = std::max<int64_t>(options_.base_delay_ms, 1);
  for (int i = 1; i < retry && cap < options_.max_delay_ms; ++i) cap *= 2;
  cap = std::min(cap, std::max<int64_t>(options_.max_delay_ms, 1));
  int64_t jittered;
  {
    std::lock_guard<std::mutex> lock(mu_);
    jittered = std::uniform_int_distribution<int64_t>(0, cap)(rng_);
  }
  return std::max(jittered, s.retry_after_ms());
}

}  // namespace dim
