#include "migrator/migrator.h"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>

namespace dim {
namespace {

// Passes bytes through, renewing the task's lease as they flow and stopping when asked to.
class LeaseKeepingSource final : public ByteSource {
 public:
  LeaseKeepingSource(ByteSource& inner, MetadataStore& store, const TaskRecord& task,
                     const std::string& owner, int64_t lease_ms, const Clock& clock,
                     const std::atomic<bool>& stopping)
      : inner_(inner), store_(store), task_(task), owner_(owner), lease_ms_(lease_ms),
        clock_(clock), stopping_(stopping), last_renew_us_(MonotonicMicros()) {}

  Result<size_t> Read(char* buf, size_t n) override {
    if (stopping_.load()) return Status::Aborted("shutting down");
    int64_t now_us = MonotonicMicros();
    if (now_us - last_renew_us_ > lease_ms_ * 1000 / 3) {
      DIM_RETURN_IF_ERROR(store_.RenewLease(task_.id, owner_, lease_ms_, clock_.NowMs()));
      last_renew_us_ = now_us;
    }
    return inner_.Read(buf, n);
  }

 private:
  ByteSource& inner_;
  MetadataStore& store_;
  const TaskRecord& task_;
  const std::string& owner_;
  int64_t lease_ms_;
  const Clock& clock_;
  const std::atomic<bool>& stopping_;
  int64_t last_renew_us_;
};

std::string HostPid() {
  char host[256] = {0};
  gethostname(host, sizeof host - 1);
  return std::string(host) + ":" + std::to_string(getpid());
}

}  // namespace

MigratorOptions MigratorOptions::FromConfig(const Config& c) {
  MigratorOptions o;
  o.workers = static_cast<int>(c.migrator.workers);
  o.lease_ms = c.migrator.lease_s * 1000;
  o.backoff_base_ms = c.migrator.backoff_base_ms;
  o.backoff_max_ms = c.migrator.backoff_max_ms;
  o.poll_interval_ms = c.migrator.poll_interval_ms;
  o.backlog_alert_threshold = c.migrator.backlog_alert_threshold;
  return o;
}

Migrator::Migrator(MetadataStore& store, const SiteRegistry& sites, RuntimePolicy& policy,
                   const Clock& clock, MetricsRegistry& metrics, MigratorOptions options)
    : store_(store),
      sites_(sites),
      policy_(policy),
      clock_(clock),
      options_(std::move(options)),
      owner_(options_.owner + "@" + HostPid()),
      rng_(std::random_device{}()),
      jobs_(metrics.AddCounter("dim_migration_jobs_total", "Migration task outcomes", {"result"})),
      bytes_(metrics.AddCounter("dim_migration_bytes_total", "Bytes copied by verified moves").Get()),
      duration_(metrics.AddHistogram("dim_migration_duration_seconds",
                                     "Time to run one migration task", {"kind"})) {}

Migrator::~Migrator() { Stop(); }

int64_t Migrator::RetryAt(int attempts) {
  // Exponential backoff with full jitter: uniform in [0, min(max, base * 2^attempts)).
  double cap = std::min<double>(static_cast<double>(options_.backoff_max_ms),
                                options_.backoff_base_ms * std::pow(2.0, std::max(0, attempts - 1)));
  std::lock_guard<std::mutex> lock(rng_mu_);
  std::uniform_real_distribution<double> d(0, std::max(1.0, cap));
  return clock_.NowMs() + static_cast<int64_t>(d(rng_));
}

Result<bool> Migrator::RunOnce(const std::string& worker) {
  DIM_ASSIGN_OR_RETURN(auto task, store_.LeaseTask(worker, options_.lease_ms, clock_.NowMs()));
  if (!task) return false;
  const int64_t start_us = MonotonicMicros();
  Status s = task->kind == TaskKind::kCopy ? RunCopy(*task, worker) : RunDelete(*task, worker);
  Finish(*task, worker, s);
  duration_.Labels({std::string(TaskKindName(task->kind))}).Observe((MonotonicMicros() - start_us) / 1e6);
  return true;
}

void Migrator::Finish(const TaskRecord& t, const std::string& worker, const Status& s) {
  if (s.ok()) return;
  if (s.IsAborted() && stopping_.load()) {
    Status r = store_.ReleaseTask(t.id, worker, clock_.NowMs());
    if (!r.ok()) spdlog::warn("handing back task {}: {}", t.id, r.ToString());
    jobs_.Labels({"handed_back"}).Inc();
    return;
  }
  if (s.IsAborted()) {  // lost the lease: another worker owns the task now
    jobs_.Labels({"lease_lost"}).Inc();
    spdlog::warn("task {} ({} {}): {}", t.id, TaskKindName(t.kind), t.object_key, s.ToString());
    return;
  }
  bool retryable = s.IsRetryable() || s.code() == StatusCode::kDataLoss || s.IsNotFound();
  bool last = t.attempts >= t.max_attempts;
  jobs_.Labels({retryable && !last ? "retry" : "failed"}).Inc();
  spdlog::warn("task {} ({} {} -> {}) attempt {}/{}: {}", t.id, TaskKindName(t.kind), t.object_key,
               t.dst_site, t.attempts, t.max_attempts, s.ToString());
  Status f = store_.FailTask(t.id, worker, s.ToString(), retryable, RetryAt(t.attempts), clock_.NowMs());
  if (!f.ok()) spdlog::warn("recording failure of task {}: {}", t.id, f.ToString());
}

Status Migrator::RunCopy(const TaskRecord& t, const std::string& worker) {
  const Site* dst = sites_.Find(t.dst_site);
  if (!dst) {
    jobs_.Labels({"failed"}).Inc();
    return store_.StopTask(t.id, worker, TaskStatus::kFailed, "unknown destination site " + t.dst_site,
                           clock_.NowMs());
  }
  if (policy_.EncryptionEnforced() && !dst->config.encrypted) {
    jobs_.Labels({"blocked"}).Inc();
    return store_.StopTask(t.id, worker, TaskStatus::kFailed, "destination_not_encrypted",
                           clock_.NowMs());
  }
  DIM_ASSIGN_OR_RETURN(auto obj, store_.GetObjectById(t.object_id));
  if (!obj || obj->generation != t.generation) {
    jobs_.Labels({"stale"}).Inc();
    return store_.StopTask(t.id, worker, TaskStatus::kCancelled, "stale", clock_.NowMs());
  }
  // Sources: live replicas of this generation, the task's source first.
  DIM_ASSIGN_OR_RETURN(auto replicas, store_.GetReplicas(t.object_id));
  std::vector<const ReplicaRecord*> sources;
  for (const auto& r : replicas) {
    if (r.generation == t.generation && r.state == ReplicaState::kLive && r.site != t.dst_site) {
      sources.push_back(&r);
    }
  }
  std::stable_sort(sources.begin(), sources.end(),
                   [&](auto* a, auto* b) { return (a->site == t.src_site) > (b->site == t.src_site); });
  if (sources.empty()) return Status::NotFound("no live replica of " + t.object_key + " to copy from");
  Status last = Status::OK();
  for (const ReplicaRecord* src_rep : sources) {
    const Site* src = sites_.Find(src_rep->site);
    if (!src) continue;
    auto stream = src->store->Get(src_rep->blob);
    if (!stream.ok()) {
      last = stream.status();
      continue;
    }
    HashingSource hashing(**stream);
    LeaseKeepingSource keeper(hashing, store_, t, worker, options_.lease_ms, clock_, stopping_);
    PutOptions po;
    po.size = obj->size;
    po.expected_sha256 = obj->sha256;  // a corrupt read never becomes visible
    po.server_side_encryption = dst->config.encrypted;
    auto put = dst->store->Put(t.blob, keeper, po);
    if (!put.ok()) {
      last = put.status().WithContext("copy " + src->name() + " -> " + dst->name());
      if (last.IsAborted()) return last;
      continue;
    }
    std::string read_sha = hashing.Sha256Hex();
    if (read_sha != obj->sha256 || put->sha256 != obj->sha256 || put->size != obj->size) {
      // The destination kept bytes that do not verify: remove them, then retry.
      (void)dst->store->Delete(t.blob);
      last = Status::DataLoss("copy of " + t.object_key + " from " + src->name() +
                              " did not verify (read " + read_sha + ", wrote " + put->sha256 +
                              ", recorded " + obj->sha256 + ")");
      continue;
    }
    DIM_ASSIGN_OR_RETURN(auto outcome, store_.CommitCopy(t, worker, put->sha256, put->size, clock_.NowMs()));
    if (outcome == MetadataStore::CommitOutcome::kCommitted) {
      jobs_.Labels({"copied"}).Inc();
      bytes_.Inc(static_cast<double>(put->size));
      spdlog::info("moved {} ({} bytes) {} -> {}, sha256 verified", t.object_key, put->size,
                   src->name(), dst->name());
    } else {
      jobs_.Labels({"stale"}).Inc();
    }
    return Status::OK();
  }
  return last;
}

Status Migrator::RunDelete(const TaskRecord& t, const std::string& worker) {
  const Site* site = sites_.Find(t.dst_site);
  if (!site) {
    jobs_.Labels({"failed"}).Inc();
    return store_.StopTask(t.id, worker, TaskStatus::kFailed, "unknown site " + t.dst_site, clock_.NowMs());
  }
  DIM_ASSIGN_OR_RETURN(auto check, store_.BeginReplicaDelete(t, worker, RetryAt(t.attempts), clock_.NowMs()));
  switch (check) {
    case MetadataStore::DeleteCheck::kNotSafeYet:
      jobs_.Labels({"deferred"}).Inc();
      return Status::OK();
    case MetadataStore::DeleteCheck::kKeep:
      jobs_.Labels({"kept"}).Inc();
      return Status::OK();
    case MetadataStore::DeleteCheck::kProceed:
      break;
  }
  DIM_RETURN_IF_ERROR(site->store->Delete(t.blob));
  DIM_RETURN_IF_ERROR(store_.FinishReplicaDelete(t, worker, clock_.NowMs()));
  jobs_.Labels({"deleted"}).Inc();
  return Status::OK();
}

Status Migrator::CheckBacklog() {
  DIM_ASSIGN_OR_RETURN(auto counts, store_.CountTasks());
  int64_t queued = counts[TaskStatus::kQueued];
  if (queued > options_.backlog_alert_threshold) {
    return store_.RaiseAlert("migration_backlog", "warning", "migrator",
                             std::to_string(queued) + " migration tasks queued",
                             "{\"queued\":" + std::to_string(queued) + "}", clock_.NowMs())
        .status();
  }
  return store_.ResolveAlert("migration_backlog", "migrator");
}

void Migrator::WorkerLoop(int index) {
  std::string worker = owner_ + "/w" + std::to_string(index);
  int64_t last_check_us = 0;
  while (running_.load()) {
    if (index == 0 && MonotonicMicros() - last_check_us > 2'000'000) {
      Status s = CheckBacklog();
      if (!s.ok()) spdlog::warn("backlog check: {}", s.ToString());
      last_check_us = MonotonicMicros();
    }
    auto r = RunOnce(worker);
    if (!r.ok()) spdlog::warn("migrator {}: {}", worker, r.status().ToString());
    if (r.ok() && *r) continue;
    std::unique_lock<std::mutex> lock(loop_mu_);
    loop_cv_.wait_for(lock, std::chrono::milliseconds(options_.poll_interval_ms),
                      [&] { return !running_.load(); });
  }
}

void Migrator::Start() {
  if (running_.exchange(true)) return;
  stopping_ = false;
  for (int i = 0; i < options_.workers; ++i) threads_.emplace_back([this, i] { WorkerLoop(i); });
}

void Migrator::Stop() {
  if (!running_.exchange(false)) return;
  stopping_ = true;
  {
    std::lock_guard<std::mutex> lock(loop_mu_);
  }
  loop_cv_.notify_all();
  for (auto& t : threads_) t.join();
  threads_.clear();
}

}  // namespace dim
