#include "migrator/migration_progress.h"

#include <spdlog/spdlog.h>

#include "core/clock.h"

namespace dim {

MigrationProgress::MigrationProgress(MetadataStore& store, const Counter& bytes)
    : store_(store),
      bytes_(bytes),
      tasks_rate_(MonotonicMicros()),
      bytes_rate_(MonotonicMicros()) {}

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
  const bool idle = only_if_active && left == 0 && !first && finished == last_finished_;
  last_finished_ = finished;
  if (idle) {
    // The next line's rate covers only its own interval.
    tasks_rate_.Rebase(static_cast<double>(finished), now_us);
    bytes_rate_.Rebase(bytes, now_us);
    return std::nullopt;
  }
  const double rate = tasks_rate_.Mark(static_cast<double>(finished), now_us);
  const double bytes_per_s = bytes_rate_.Mark(bytes, now_us);
  if (first) {
    return fmt::format("migrator: {} queued, {} running, {} done, {} failed",
                       n(TaskStatus::kQueued), n(TaskStatus::kRunning), done,
                       n(TaskStatus::kFailed));
  }
  return fmt::format(
      "migrator: {} queued, {} running, {} done ({:.1f} tasks/s, {:.1f} MiB/s), {} failed; ETA {}",
      n(TaskStatus::kQueued), n(TaskStatus::kRunning), done, rate, bytes_per_s / 1048576.0,
      n(TaskStatus::kFailed), ProgressRate::Eta(static_cast<double>(left), rate));
}

}  // namespace dim
