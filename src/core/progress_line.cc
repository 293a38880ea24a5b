#include "core/progress_line.h"

#include <spdlog/fmt/fmt.h>

#include <algorithm>
#include <cstdio>

#include "core/clock.h"

namespace dim {

ProgressRate::ProgressRate(int64_t start_us) : start_us_(start_us), mark_us_(start_us) {}

double ProgressRate::Mark(double done, int64_t now_us) {
  const double secs = std::max(1e-3, (now_us - mark_us_) / 1e6);
  const double rate = (done - mark_done_) / secs;
  Rebase(done, now_us);
  return rate;
}

void ProgressRate::Rebase(double done, int64_t now_us) {
  mark_us_ = now_us;
  mark_done_ = done;
}

double ProgressRate::Average(double done, int64_t now_us) const {
  return done / std::max(1e-6, SecondsSinceStart(now_us));
}

double ProgressRate::SecondsSinceStart(int64_t now_us) const { return (now_us - start_us_) / 1e6; }

std::string ProgressRate::Eta(double left, double rate) {
  if (left <= 0) return "0 s";
  if (rate <= 0) return "-";
  return fmt::format("{} s", static_cast<int64_t>(left / rate));
}

ProgressLine::ProgressLine(std::string label, std::string unit, bool quiet, double interval_s)
    : label_(std::move(label)),
      unit_(std::move(unit)),
      quiet_(quiet),
      interval_s_(interval_s),
      rate_(MonotonicMicros()) {}

double ProgressLine::elapsed_s() const { return rate_.SecondsSinceStart(MonotonicMicros()); }

std::string ProgressLine::Format(double done, double total, const std::string& extra,
                                 double rate_of, int64_t now_us) const {
  const double rate = rate_.Average(rate_of >= 0 ? rate_of : done, now_us);
  const std::string tail = extra.empty() ? "" : " " + extra;
  if (total > 0) {
    // The ETA at the average rate of `done` (rate_of may count something else).
    const double done_rate = rate_.Average(done, now_us);
    return fmt::format("{}: {:3.0f}% ({:.0f}/{:.0f} {}, {:.0f}/s, ETA {}){}", label_,
                       100.0 * done / total, done, total, unit_, rate,
                       ProgressRate::Eta(total - done, done_rate), tail);
  }
  return fmt::format("{}: {:.0f} {} ({:.0f}/s, {:.0f} s){}", label_, done, unit_, rate,
                     rate_.SecondsSinceStart(now_us), tail);
}

void ProgressLine::Update(double done, double total, const std::string& extra, bool force,
                          double rate_of) {
  if (quiet_) return;
  const int64_t now = MonotonicMicros();
  const bool last = total > 0 && done >= total;
  if (!force && !last && (now - last_us_) / 1e6 < interval_s_) return;
  last_us_ = now;
  std::fprintf(stderr, "%s\n", Format(done, total, extra, rate_of, now).c_str());
  std::fflush(stderr);
}

}  // namespace dim
