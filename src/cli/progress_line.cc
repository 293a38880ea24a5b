#include "cli/progress_line.h"

#include <algorithm>
#include <cstdio>

#include "core/clock.h"

namespace dim {

ProgressLine::ProgressLine(std::string label, std::string unit, bool quiet, double interval_s)
    : label_(std::move(label)),
      unit_(std::move(unit)),
      quiet_(quiet),
      interval_s_(interval_s),
      start_us_(MonotonicMicros()) {}

double ProgressLine::elapsed_s() const { return (MonotonicMicros() - start_us_) / 1e6; }

void ProgressLine::Update(double done, double total, const std::string& extra, bool force,
                          double rate_of) {
  if (quiet_) return;
  const int64_t now = MonotonicMicros();
  const bool last = total > 0 && done >= total;
  if (!force && !last && (now - last_us_) / 1e6 < interval_s_) return;
  last_us_ = now;
  const double secs = std::max(1e-6, (now - start_us_) / 1e6);
  const double rate = (rate_of >= 0 ? rate_of : done) / secs;
  if (total > 0) {
    const double eta = done > 0 ? (total - done) * secs / done : 0;
    std::fprintf(stderr, "%s: %3.0f%% (%.0f/%.0f %s, %.0f/s, ETA %.0f s)%s%s\n", label_.c_str(),
                 100.0 * done / total, done, total, unit_.c_str(), rate, eta,
                 extra.empty() ? "" : " ", extra.c_str());
  } else {
    std::fprintf(stderr, "%s: %.0f %s (%.0f/s, %.0f s)%s%s\n", label_.c_str(), done, unit_.c_str(),
                 rate, secs, extra.empty() ? "" : " ", extra.c_str());
  }
  std::fflush(stderr);
}

}  // namespace dim
