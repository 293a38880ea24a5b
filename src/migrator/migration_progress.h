// One progress line for the migration queue: tasks queued, running, done and failed, the rate
// since the previous line (tasks/s and MiB/s, from dim_migration_bytes_total) and an ETA, the
// rates and ETA from core/progress_line.h. Used by `dim migrator` and by the migrator's own
// progress thread in `dim serve`/`demo`. Not thread-safe: one caller at a time.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "core/metrics.h"
#include "core/progress_line.h"
#include "store/metadata_store.h"

namespace dim {

class MigrationProgress {
 public:
  // bytes: dim_migration_bytes_total of the migrator being watched.
  MigrationProgress(MetadataStore& store, const Counter& bytes);
  // The line; nullopt when the store cannot count tasks, or when only_if_active and nothing is
  // queued or running and nothing finished since the previous call.
  std::optional<std::string> Line(bool only_if_active = false);

 private:
  MetadataStore& store_;
  const Counter& bytes_;
  ProgressRate tasks_rate_, bytes_rate_;
  int64_t last_finished_ = -1;
};

}  // namespace dim
