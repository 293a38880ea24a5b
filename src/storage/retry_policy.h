// RetryPolicy: how storage calls are retried — exponential backoff with full jitter (retry n
// waits a uniformly random time in [0, min(max_delay, base * 2^(n-1))]) that never waits less
// than the server asked for (Status::retry_after_ms, from HTTP Retry-After). Throttling answers
// get more attempts (max_throttled_attempts) than other failures (max_attempts). A hint longer
// than max_retry_after_ms, or running out of attempts or of the elapsed-time budget, ends the
// retries and hands the error to the caller (the migrator reschedules its task). Time comes from
// the injected Clock and waiting goes through the injected Sleeper, so tests run on a VirtualClock
// without sleeping. Thread-safe.
#pragma once

#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <random>
#include <string>

#include "core/clock.h"
#include "core/status.h"

namespace dim {

struct RetryOptions {
  int max_attempts = 5;  // tries in all, the first included; 1: never retry
  // Tries in all while the failures are throttling (Status::throttled: 429, 503, SlowDown), so
  // throttling alone almost never fails a call (at 30 % throttled, 0.3^10 = 6e-6) while an
  // unreachable endpoint still fails after max_attempts.
  int max_throttled_attempts = 10;
  int64_t base_delay_ms = 100;
  int64_t max_delay_ms = 5000;
  int64_t max_retry_after_ms = 30000;
  int64_t max_elapsed_ms = 120000;  // no retry starts after this much time since the first try
};

class RetryPolicy {
 public:
  using Sleeper = std::function<void(int64_t ms)>;
  // Sleeps for real (std::this_thread::sleep_for).
  static Sleeper RealSleeper();

  RetryPolicy(RetryOptions options, const Clock& clock, Sleeper sleep, uint64_t seed);

  // The wait before retry number `retry` (1: the first retry) after error `s`, or nullopt when
  // `s` is not retryable or the retries are over. `elapsed_ms`: time since the first try.
  std::optional<int64_t> NextDelayMs(int retry, const Status& s, int64_t elapsed_ms);

  // Calls fn() until it succeeds, fails with a non-retryable error, or the policy gives up;
  // returns the last result. `may_retry(status)` can veto a retry (e.g. a consumed stream).
  // on_retry(status, delay_ms) is told about every retry (metrics, logs).
  template <typename Fn>
  auto Run(Fn&& fn, const std::function<bool(const Status&)>& may_retry = nullptr,
           const std::function<void(const Status&, int64_t)>& on_retry = nullptr) -> decltype(fn());

  void Sleep(int64_t ms) const { sleep_(ms); }
  const Clock& clock() const { return clock_; }
  const RetryOptions& options() const { return options_; }

 private:
  RetryOptions options_;
  const Clock& clock_;
  Sleeper sleep_;
  std::mutex mu_;
  std::mt19937_64 rng_;
};

namespace retry_internal {
inline const Status& StatusOf(const Status& s) { return s; }
template <typename T>
const Status& StatusOf(const Result<T>& r) {
  static const Status kOk;
  return r.ok() ? kOk : r.status();
}
}  // namespace retry_internal

template <typename Fn>
auto RetryPolicy::Run(Fn&& fn, const std::function<bool(const Status&)>& may_retry,
                      const std::function<void(const Status&, int64_t)>& on_retry)
    -> decltype(fn()) {
  const int64_t start = clock_.NowMs();
  for (int retry = 1;; ++retry) {
    auto r = fn();
    const Status& s = retry_internal::StatusOf(r);
    if (s.ok()) return r;
    if (may_retry && !may_retry(s)) return r;
    auto delay = NextDelayMs(retry, s, clock_.NowMs() - start);
    if (!delay) return r;
    if (on_retry) on_retry(s, *delay);
    sleep_(*delay);
  }
}

}  // namespace dim
