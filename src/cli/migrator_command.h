// `dim migrator`: the migrator role on its own — worker threads that lease tasks from the
// configured metadata store and move bytes between the configured sites, nothing else. Several
// may run at once (on one machine they share the SQLite file; elsewhere PostgreSQL). With
// --api-listen it also serves this process's API (/healthz, /metrics, /tasks, /migrator).
// A progress line (queue, rate, ETA) is logged periodically. SIGTERM or SIGINT: stop leasing,
// hand back the tasks under way, exit 0. --drain: exit 0 once nothing is queued or running.
#pragma once

#include <cstdint>
#include <string>

namespace dim {

struct MigratorCommandOptions {
  std::string config;
  std::string data_dir;
  std::string api_listen;  // empty: no API
  std::string log_level;
  int workers = -1;  // -1: migrator.workers from the configuration
  bool drain = false;
  int64_t drain_timeout_s = 0;  // --drain gives up (exit 3) after this long; 0: never
  int64_t progress_interval_s = 10;
};

// Returns the process exit code (0 ok, 1 start-up failure, 2 bad configuration, 3 drain timeout).
int RunMigratorCommand(const MigratorCommandOptions& options);

}  // namespace dim
