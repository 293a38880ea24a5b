#include "migrator/circuit_breaker.h"

#include <algorithm>

namespace dim {

std::string_view CircuitStateName(CircuitState s) {
  switch (s) {
    case CircuitState::kClosed:
      return "closed";
    case CircuitState::kOpen:
      return "open";
    case CircuitState::kHalfOpen:
      return "half_open";
  }
  return "closed";
}

CircuitBreaker::CircuitBreaker(std::string endpoint, Options options, const Clock& clock)
    : endpoint_(std::move(endpoint)), options_(options), clock_(clock) {}

bool CircuitBreaker::WouldAllow() const {
  std::lock_guard<std::mutex> lock(mu_);
  switch (state_) {
    case CircuitState::kClosed:
      return true;
    case CircuitState::kOpen:
      return clock_.NowMs() >= retry_at_ms_;
    case CircuitState::kHalfOpen:
      return !probe_in_flight_;
  }
  return true;
}

CircuitBreaker::Permit CircuitBreaker::Acquire() {
  std::lock_guard<std::mutex> lock(mu_);
  if (state_ == CircuitState::kClosed) return Permit::kNormal;
  if (state_ == CircuitState::kOpen) {
    if (clock_.NowMs() < retry_at_ms_) return Permit::kDenied;
    state_ = CircuitState::kHalfOpen;
  }
  if (probe_in_flight_) return Permit::kDenied;
  probe_in_flight_ = true;
  return Permit::kProbe;
}

void CircuitBreaker::OpenLocked(int64_t now_ms) {
  state_ = CircuitState::kOpen;
  retry_at_ms_ = now_ms + options_.open_ms;
  probe_in_flight_ = false;
}

CircuitBreaker::Transition CircuitBreaker::OnSuccess(Permit p) {
  std::lock_guard<std::mutex> lock(mu_);
  if (p == Permit::kProbe) {
    state_ = CircuitState::kClosed;
    consecutive_ = 0;
    probe_in_flight_ = false;
    return Transition::kClosed;
  }
  // A call granted while closed tells nothing new once the circuit has opened since.
  if (p == Permit::kNormal && state_ == CircuitState::kClosed) consecutive_ = 0;
  return Transition::kNone;
}

CircuitBreaker::Transition CircuitBreaker::OnFailure(Permit p, const std::string& why) {
  std::lock_guard<std::mutex> lock(mu_);
  int64_t now = clock_.NowMs();
  if (p == Permit::kProbe) {
    last_error_ = why;
    OpenLocked(now);
    return Transition::kReopened;
  }
  if (p != Permit::kNormal || state_ != CircuitState::kClosed) return Transition::kNone;
  last_error_ = why;
  if (++consecutive_ < options_.failures) return Transition::kNone;
  OpenLocked(now);
  opened_ms_ = now;
  ++opens_;
  return Transition::kOpened;
}

void CircuitBreaker::OnNeutral(Permit p) {
  std::lock_guard<std::mutex> lock(mu_);
  if (p == Permit::kProbe) probe_in_flight_ = false;
}

CircuitBreaker::Snapshot CircuitBreaker::snapshot() const {
  std::lock_guard<std::mutex> lock(mu_);
  Snapshot s;
  s.state = state_;
  s.consecutive_failures = consecutive_;
  s.retry_at_ms = state_ == CircuitState::kClosed ? 0 : retry_at_ms_;
  s.opened_ms = opened_ms_;
  s.opens = opens_;
  s.last_error = last_error_;
  return s;
}

int64_t CircuitBreaker::RetryAtMs() const {
  std::lock_guard<std::mutex> lock(mu_);
  return state_ == CircuitState::kOpen ? retry_at_ms_ : clock_.NowMs();
}

}  // namespace dim
