// Clock: the one source of "now" for everything time-based (windows, heat decay, residency,
// leases, backoff). RealClock reads the system clock; VirtualClock is set and advanced by its
// owner, so tests and trace replay run at any speed. Both are thread-safe.
#pragma once

#include <atomic>
#include <cstdint>

namespace dim {

class Clock {
 public:
  virtual ~Clock() = default;
  // Microseconds since the Unix epoch.
  virtual int64_t NowMicros() const = 0;
  int64_t NowMs() const { return NowMicros() / 1000; }
  double NowSeconds() const { return static_cast<double>(NowMicros()) / 1e6; }
};

class RealClock final : public Clock {
 public:
  int64_t NowMicros() const override;
  // A process-wide instance; RealClock has no state, so sharing it is safe.
  static const Clock& Instance();
};

class VirtualClock final : public Clock {
 public:
  explicit VirtualClock(int64_t start_micros = 1'700'000'000'000'000) : now_(start_micros) {}
  int64_t NowMicros() const override { return now_.load(std::memory_order_acquire); }
  void SetMicros(int64_t t) { now_.store(t, std::memory_order_release); }
  void AdvanceMicros(int64_t d) { now_.fetch_add(d, std::memory_order_acq_rel); }
  void AdvanceMs(int64_t d) { AdvanceMicros(d * 1000); }
  void AdvanceSeconds(double s) { AdvanceMicros(static_cast<int64_t>(s * 1e6)); }

 private:
  std::atomic<int64_t> now_;
};

// Monotonic microseconds for measuring durations (not wall time).
int64_t MonotonicMicros();

}  // namespace dim
