// Progress lines of long work (`dim train`, `dim migrator`, the migrator's progress thread):
// ProgressRate turns counts into a rate and an ETA, ProgressLine prints "label: 45% (4500/10000
// unit, 1234/s, ETA 4 s) extra" to stderr at most once per interval. Not thread-safe: one
// caller at a time.
#pragma once

#include <cstdint>
#include <string>

namespace dim {

class ProgressRate {
 public:
  explicit ProgressRate(int64_t start_us);
  // Per second of `done` since the previous Mark (or the start), then marks (done, now_us).
  double Mark(double done, int64_t now_us);
  // Only moves the mark: the next Mark's rate covers its own interval, not an idle one before it.
  void Rebase(double done, int64_t now_us);
  // Per second of `done` since the start.
  double Average(double done, int64_t now_us) const;
  double SecondsSinceStart(int64_t now_us) const;
  int64_t start_us() const { return start_us_; }
  // Time left for `left` at `rate`: "0 s" when nothing is left, "-" when the rate is 0.
  static std::string Eta(double left, double rate);

 private:
  int64_t start_us_, mark_us_;
  double mark_done_ = 0;
};

class ProgressLine {
 public:
  ProgressLine(std::string label, std::string unit, bool quiet = false, double interval_s = 2.0);
  // done of total (total <= 0: unknown, no percentage or ETA); rate_of: the count the rate is
  // of (default: done). Prints when the interval has passed, on force, and for the last step.
  void Update(double done, double total, const std::string& extra = "", bool force = false,
              double rate_of = -1);
  // The line Update prints, at now_us (rates since the start).
  std::string Format(double done, double total, const std::string& extra, double rate_of,
                     int64_t now_us) const;
  double elapsed_s() const;
  int64_t start_us() const { return rate_.start_us(); }  // MonotonicMicros() at construction

 private:
  std::string label_, unit_;
  bool quiet_;
  double interval_s_;
  ProgressRate rate_;
  int64_t last_us_ = 0;
};

}  // namespace dim
