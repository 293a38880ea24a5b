// A progress line on stderr for long commands: "label: 45% (4,500/10,000 unit, 1,234/s,
// ETA 4 s) extra", at most once per interval and always for the last step. Not thread-safe.
#pragma once

#include <cstdint>
#include <string>

namespace dim {

class ProgressLine {
 public:
  ProgressLine(std::string label, std::string unit, bool quiet = false, double interval_s = 2.0);
  // done of total (total <= 0: unknown, no percentage or ETA); rate_of: the count the rate is
  // of (default: done).
  void Update(double done, double total, const std::string& extra = "", bool force = false,
              double rate_of = -1);
  double elapsed_s() const;

 private:
  std::string label_, unit_;
  bool quiet_;
  double interval_s_;
  int64_t start_us_;
  int64_t last_us_ = 0;
};

}  // namespace dim
