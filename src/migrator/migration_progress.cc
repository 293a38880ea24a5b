#include "migrator/migration_progress.h"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "core/clock.h"

namespace dim {

std::optional<std::string> MigrationProgress::Line(bool only_if_active) {
  auto counts = store_.CountTasks();
  if (!counts.ok()) return std::nullopt;
  auto n = [&](TaskStatus s) { return (*counts)[s]; };
  const int64_t now_us = MonotonicMicros();
  const int64_t done = n(TaskStatus::kDone);
  const int64_t finished = done + n(TaskStatus::kFailed) + n(TaskStatus::kCancelled);
  const int64_t left = n(TaskStatus::kQueued) + n(TaskStatus::kRunning);
  const double bytes = bytes_.Value();
  const bool first = last_finished_ < 0;
  if (only_if_active && left == 0 && !first && finished == last_finished_) {
    last_us_ = now_us;  // the next line's rate covers only its own interval
    last_bytes_ = bytes;
    return std::nullopt;
  }
  std::string line;
  if (first) {
    line =
        fmt::format("migrator: {} queued, {} running, {} done, {} failed", n(TaskStatus::kQueued),
                    n(TaskStatus::kRunning), done, n(TaskStatus::kFailed));
  } else {
    const double secs = std::max(1e-3, (now_us - last_us_) / 1e6);
    const double rate = (finished - last_finished_) / secs;
    const std::string eta = left == 0  ? "0 s"
                            : rate > 0 ? fmt::format("{} s", static_cast<int64_t>(left / rate))
                                       : "-";
    line = fmt::format(
        "migrator: {} queued, {} running, {} done ({:.1f} tasks/s, {:.1f} MiB/s), {} failed; ETA "
        "{}",
        n(TaskStatus::kQueued), n(TaskStatus::kRunning), done, rate,
        (bytes - last_bytes_) / secs / 1048576.0, n(TaskStatus::kFailed), eta);
  }
  last_us_ = now_us;
  last_finished_ = finished;
  last_bytes_ = bytes;
  return line;
}

}  // namespace dim
