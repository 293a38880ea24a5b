// The migrator: a pool of workers that lease tasks from the MetadataStore and carry them out.
//   copy:   stream the blob from a live replica (the task's source first, then any other) to the
//           destination through a running SHA-256 — never the whole object in memory — let the
//           destination refuse bytes that do not match the recorded checksum and size, compare
//           again, and commit the new replica with a version check (MetadataStore::CommitCopy).
//   delete: re-check in a transaction that the object keeps its placement's live replicas, then
//           remove the blob and the replica row.
// Around every move:
//   - each site's store is wrapped in a TimeoutStore: a call or a stream idle for
//     call_timeout_ms fails (and is retried) without cutting transfers that keep moving;
//   - a circuit breaker per endpoint opens after breaker_failures consecutive availability
//     failures (alert `circuit_open`), keeps that endpoint's tasks queued, and lets one probe
//     through after breaker_open_ms; tasks are never failed for an endpoint that is known down;
//   - throttling (ResourceExhausted: 429, 503 SlowDown, Throttling, TooManyRequests) re-queues the
//     task with exponential backoff and full jitter without using up an attempt; other transient
//     errors and rejected (corrupt) copies use an attempt and back off; after max attempts the
//     task is failed with the reason; permanent errors fail it at once;
//   - a source modified within growing_window or changed during the copy is put back with
//     reason `file_growing`; encryption enforcement blocks moves to unencrypted sites
//     (`destination_not_encrypted`) and writes to encrypted sites request server-side encryption;
//   - copies per (source, destination) pair are capped across all processes, and each site's
//     bandwidth_mib_s paces this process's reads from and writes to it.
// Leases are renewed by a keeper thread; a worker that dies lets them expire. On Stop(), copies
// under way are handed back (ReleaseTask) rather than finished. With progress_interval_ms, a
// thread logs a MigrationProgress line that often while tasks are queued or running. Thread-safe.
#pragma once

#include <atomic>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "core/clock.h"
#include "core/metrics.h"
#include "migrator/backoff.h"
#include "migrator/circuit_breaker.h"
#include "migrator/lease_keeper.h"
#include "migrator/migration_progress.h"
#include "migrator/token_bucket.h"
#include "optimizer/runtime_policy.h"
#include "storage/site_registry.h"
#include "storage/timeout_store.h"
#include "store/metadata_store.h"

namespace dim {

struct MigratorOptions {
  int workers = 2;
  int64_t lease_ms = 30000;
  int max_attempts = 5;  // for delete tasks this migrator's failed copies queue
  int64_t backoff_base_ms = 500;
  int64_t backoff_max_ms = 60000;
  int64_t poll_interval_ms = 200;
  int64_t backlog_alert_threshold = 20;
  int pair_concurrency = 4;  // 0: no limit
  std::map<std::pair<std::string, std::string>, int> pair_limits;
  int breaker_failures = 5;
  int64_t breaker_open_ms = 30000;
  int64_t growing_window_ms = 5000;  // 0: no growing-file check by age
  int64_t call_timeout_ms = 30000;
  int max_deferrals = 1000;
  int64_t progress_interval_ms = 0;  // > 0: log a progress line this often while there is work
  std::string owner = "migrator";    // prefix of worker ids (host:pid is appended)
  uint64_t seed = 0;                 // jitter; 0: random
  static MigratorOptions FromConfig(const Config& c);
};

class Migrator {
 public:
  Migrator(MetadataStore& store, const SiteRegistry& sites, RuntimePolicy& policy,
           const Clock& clock, MetricsRegistry& metrics, MigratorOptions options);
  ~Migrator();

  // Leases and runs one task as `worker`. false: nothing was runnable.
  Result<bool> RunOnce(const std::string& worker);
  // RunOnce under a worker id unique to this call (POST /migrator/tick).
  Result<bool> Tick();
  // Raises or resolves the migration_backlog alert from the current queue.
  Status CheckBacklog();

  void Start();
  void Stop();

  struct EndpointStatus {
    std::string site;
    CircuitBreaker::Snapshot circuit;
    double bandwidth_mib_s = 0;  // 0: unlimited
    int64_t timed_out_calls_in_flight = 0;
  };
  std::vector<EndpointStatus> Endpoints() const;
  const std::string& owner() const { return owner_; }
  // How many times a worker found nothing runnable (it then waits poll_interval_ms): a cheap
  // signal that the queue may have drained (`dim migrator --drain`).
  int64_t idle_polls() const { return idle_polls_.load(); }

 private:
  struct Endpoint {
    const Site* site = nullptr;
    std::shared_ptr<TimeoutStore> store;
    std::unique_ptr<CircuitBreaker> breaker;
    std::unique_ptr<TokenBucket> bandwidth;
    std::atomic<bool> alert_may_be_active{true};  // a previous process may have left one
  };
  struct Outcome;
  struct SourceResult;

  Endpoint* Find(const std::string& site) const;
  MetadataStore::LeaseFilter CurrentFilter() const;
  // Whether the task may use endpoint e now: nullopt with a permit taken, or why it must wait.
  std::optional<Outcome> Admit(const TaskRecord& t, Endpoint& e, CircuitBreaker::Permit* permit);
  Outcome RunCopy(const TaskRecord& t, const std::string& worker, LeaseKeeper::Held& held);
  SourceResult CopyFrom(const TaskRecord& t, const ObjectRecord& obj, Endpoint& src, Endpoint& dst,
                        LeaseKeeper::Held& held);
  Outcome RunDelete(const TaskRecord& t, const std::string& worker);
  void Finish(const TaskRecord& t, const std::string& worker, const Outcome& o);
  // Outcome reporting to an endpoint's breaker (alerts and metrics on transitions).
  void Report(Endpoint& e, CircuitBreaker::Permit p, const Status& s);
  void ReportSuccess(Endpoint& e, CircuitBreaker::Permit p);
  void UpdateCircuitGauge(Endpoint& e);
  int64_t Jitter(int64_t max_ms);
  void WorkerLoop(int index);
  void ProgressLoop();

  MetadataStore& store_;
  const SiteRegistry& sites_;
  RuntimePolicy& policy_;
  const Clock& clock_;
  MigratorOptions options_;
  std::string owner_;
  std::map<std::string, std::unique_ptr<Endpoint>> endpoints_;
  Backoff backoff_;
  LeaseKeeper keeper_;
  std::atomic<int64_t> ticks_{0};
  std::atomic<int64_t> idle_polls_{0};

  std::atomic<bool> stopping_{false};
  std::atomic<bool> running_{false};
  std::mutex loop_mu_;
  std::condition_variable loop_cv_;
  std::vector<std::thread> threads_;

  Family<Counter>& jobs_;
  Counter& bytes_;
  Family<Histogram>& duration_;
  Family<Counter>& endpoint_failures_;
  Family<Gauge>& circuit_state_;
  Counter& corrupt_rejected_;
};

}  // namespace dim
