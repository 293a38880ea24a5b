// The migrator: workers lease tasks from the MetadataStore and carry them out.
//   copy:   stream the blob from a live replica (the task's source first, then any other) to the
//           destination through a running SHA-256, let the destination refuse bytes that do not
//           match the recorded checksum, and commit the new replica (MetadataStore::CommitCopy).
//   delete: re-check in a transaction that the object keeps its placement's live replicas, then
//           remove the blob and the replica row.
// Failures are retried with exponential backoff and full jitter up to the task's attempts; a
// worker that dies simply lets its lease expire. Leases are renewed while bytes flow. On Stop(),
// running copies are handed back (ReleaseTask) rather than finished. Thread-safe.
#pragma once

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "core/clock.h"
#include "core/metrics.h"
#include "optimizer/runtime_policy.h"
#include "storage/site_registry.h"
#include "store/metadata_store.h"

namespace dim {

struct MigratorOptions {
  int workers = 2;
  int64_t lease_ms = 30000;
  int64_t backoff_base_ms = 500;
  int64_t backoff_max_ms = 60000;
  int64_t poll_interval_ms = 200;
  int64_t backlog_alert_threshold = 20;
  std::string owner = "migrator";  // prefix of worker ids (host:pid is appended)
  static MigratorOptions FromConfig(const Config& c);
};

class Migrator {
 public:
  Migrator(MetadataStore& store, const SiteRegistry& sites, RuntimePolicy& policy,
           const Clock& clock, MetricsRegistry& metrics, MigratorOptions options);
  ~Migrator();

  // Leases and runs one task as `worker`. false: nothing was runnable.
  Result<bool> RunOnce(const std::string& worker);
  // Raises or resolves the migration_backlog alert from the current queue.
  Status CheckBacklog();

  void Start();
  void Stop();

 private:
  Status RunCopy(const TaskRecord& t, const std::string& worker);
  Status RunDelete(const TaskRecord& t, const std::string& worker);
  int64_t RetryAt(int attempts);
  void Finish(const TaskRecord& t, const std::string& worker, const Status& s);
  void WorkerLoop(int index);

  MetadataStore& store_;
  const SiteRegistry& sites_;
  RuntimePolicy& policy_;
  const Clock& clock_;
  MigratorOptions options_;
  std::string owner_;

  std::mutex rng_mu_;
  std::mt19937_64 rng_;

  std::atomic<bool> stopping_{false};
  std::atomic<bool> running_{false};
  std::mutex loop_mu_;
  std::condition_variable loop_cv_;
  std::vector<std::thread> threads_;

  Family<Counter>& jobs_;
  Counter& bytes_;
  Family<Histogram>& duration_;
};

}  // namespace dim
