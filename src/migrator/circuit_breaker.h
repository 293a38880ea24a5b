// One endpoint's circuit breaker. Closed: calls flow, consecutive failures are counted; after
// `failures` in a row it opens and rejects work for `open_ms`; then it is half-open and lets
// exactly one probe through: the probe's success closes it, its failure opens it again.
// Callers take a Permit before using the endpoint and report every permit's outcome once.
// Only failures that speak about the endpoint's availability (unavailable, timed out,
// throttled) should be reported as failures. Thread-safe; time comes from the injected Clock.
#pragma once

#include <cstdint>
#include <mutex>
#include <string>

#include "core/clock.h"

namespace dim {

enum class CircuitState { kClosed, kOpen, kHalfOpen };
std::string_view CircuitStateName(CircuitState s);

class CircuitBreaker {
 public:
  struct Options {
    int failures = 5;
    int64_t open_ms = 30000;
  };
  enum class Permit { kDenied, kNormal, kProbe };
  // What an outcome changed, so the owner can raise or resolve its alert.
  enum class Transition { kNone, kOpened, kReopened, kClosed };

  CircuitBreaker(std::string endpoint, Options options, const Clock& clock);

  // Whether Acquire() would grant a permit now (for choosing which work to take).
  bool WouldAllow() const;
  Permit Acquire();
  Transition OnSuccess(Permit p);
  Transition OnFailure(Permit p, const std::string& why);
  // The call ended without saying anything about the endpoint (e.g. bad data, lost lease).
  void OnNeutral(Permit p);

  struct Snapshot {
    CircuitState state = CircuitState::kClosed;
    int consecutive_failures = 0;
    int64_t retry_at_ms = 0;  // open: when the next probe may go
    int64_t opened_ms = 0;
    int64_t opens = 0;  // times it opened (not counting re-opens after a failed probe)
    std::string last_error;
  };
  Snapshot snapshot() const;
  // When an open circuit lets its next probe through (now if it is not open).
  int64_t RetryAtMs() const;
  const std::string& endpoint() const { return endpoint_; }

 private:
  void OpenLocked(int64_t now_ms);

  const std::string endpoint_;
  const Options options_;
  const Clock& clock_;
  mutable std::mutex mu_;
  CircuitState state_ = CircuitState::kClosed;
  int consecutive_ = 0;
  bool probe_in_flight_ = false;
  int64_t retry_at_ms_ = 0;
  int64_t opened_ms_ = 0;
  int64_t opens_ = 0;
  std::string last_error_;
};

}  // namespace dim
