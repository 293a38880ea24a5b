#include "migrator/migrator.h"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>

#include "migrator/copy_source.h"

namespace dim {

// What one attempt at a task came to; Finish() records it.
struct Migrator::Outcome {
  enum class Kind {
    kSettled,  // the store already knows (done, stale, blocked, kept, ...): count `result`
    kDefer,    // put back without using an attempt: reason, not_before_ms
    kFail,     // status says what went wrong; blame names the endpoint at fault, if any
  };
  Kind kind = Kind::kSettled;
  std::string result;
  Status status;
  std::string reason;
  int64_t not_before_ms = 0;
  std::string blame;

  static Outcome Settled(std::string result) {
    return {Kind::kSettled, std::move(result), {}, {}, 0, {}};
  }
  static Outcome Defer(std::string result, std::string reason, int64_t at) {
    return {Kind::kDefer, std::move(result), {}, std::move(reason), at, {}};
  }
  static Outcome Fail(Status s, std::string blame = {}) {
    return {Kind::kFail, {}, std::move(s), {}, 0, std::move(blame)};
  }
};

// What copying from one source replica came to.
struct Migrator::SourceResult {
  Status status;              // OK: put holds the verified copy
  bool source_fault = false;  // the source replica (not the destination) failed
  bool growing = false;       // the source is being written: try again after growing_until_ms
  std::string growing_why;
  int64_t growing_until_ms = 0;
  PutResult put;
};

namespace {

std::string HostPid() {
  char host[256] = {0};
  gethostname(host, sizeof host - 1);
  return std::string(host) + ":" + std::to_string(getpid());
}

// Failures that say an endpoint is unavailable or overloaded (they feed its circuit breaker).
bool IsAvailabilityFailure(const Status& s) { return s.IsRetryable(); }

std::string FailureClass(const Status& s) {
  if (s.throttled()) return "throttled";  // e.g. 503 SlowDown: the code says Unavailable
  switch (s.code()) {
    case StatusCode::kResourceExhausted:
      return "throttled";
    case StatusCode::kDeadlineExceeded:
      return "timeout";
    default:
      return "unavailable";
  }
}

}  // namespace

MigratorOptions MigratorOptions::FromConfig(const Config& c) {
  MigratorOptions o;
  o.workers = static_cast<int>(c.migrator.workers);
  o.lease_ms = c.migrator.lease_s * 1000;
  o.max_attempts = static_cast<int>(c.migrator.max_attempts);
  o.backoff_base_ms = c.migrator.backoff_base_ms;
  o.backoff_max_ms = c.migrator.backoff_max_ms;
  o.poll_interval_ms = c.migrator.poll_interval_ms;
  o.backlog_alert_threshold = c.migrator.backlog_alert_threshold;
  o.pair_concurrency = static_cast<int>(c.migrator.pair_concurrency);
  o.pair_limits = ParsePairLimits(c.migrator.pair_concurrency_overrides).value_or({});
  o.breaker_failures = static_cast<int>(c.migrator.breaker_failures);
  o.breaker_open_ms = c.migrator.breaker_open_ms;
  o.growing_window_ms = c.migrator.growing_window_s * 1000;
  o.call_timeout_ms = c.migrator.call_timeout_ms;
  o.max_deferrals = static_cast<int>(c.migrator.max_deferrals);
  o.progress_interval_ms = c.migrator.progress_interval_s * 1000;
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
      backoff_(options_.backoff_base_ms, options_.backoff_max_ms,
               options_.seed ? options_.seed : std::random_device{}()),
      keeper_(store, clock, options_.lease_ms),
      jobs_(
          metrics.AddCounter("dim_migration_jobs_total",
                             "Migration task attempts by result (copied, deleted, retry, failed, "
                             "throttled, circuit_open, file_growing, corrupt, blocked, stale, ...)",
                             {"result"})),
      bytes_(
          metrics.AddCounter("dim_migration_bytes_total", "Bytes copied by verified moves").Get()),
      duration_(metrics.AddHistogram("dim_migration_duration_seconds",
                                     "Time to run one migration task attempt", {"kind"})),
      endpoint_failures_(metrics.AddCounter(
          "dim_migration_endpoint_failures_total",
          "Availability failures of endpoints seen by the migrator", {"endpoint", "class"})),
      circuit_state_(metrics.AddGauge("dim_migration_circuit_state",
                                      "Circuit breaker per endpoint: 0 closed, 1 half-open, 2 open",
                                      {"endpoint"})),
      corrupt_rejected_(metrics
                            .AddCounter("dim_migration_corrupt_rejected_total",
                                        "Copies whose bytes did not verify and were rejected")
                            .Get()) {
  CircuitBreaker::Options bo;
  bo.failures = options_.breaker_failures;
  bo.open_ms = options_.breaker_open_ms;
  for (const Site& s : sites_.sites()) {
    auto e = std::make_unique<Endpoint>();
    e->site = &s;
    e->store = TimeoutStore::Make(s.store, options_.call_timeout_ms);
    e->breaker = std::make_unique<CircuitBreaker>(s.name(), bo, clock_);
    if (s.config.bandwidth_mib_s > 0) {
      double rate = s.config.bandwidth_mib_s * 1048576.0;
      // A quarter second of burst, at least two stream chunks.
      e->bandwidth = std::make_unique<TokenBucket>(rate, std::max(rate / 4, 2.0 * kStreamChunk));
    }
    UpdateCircuitGauge(*e);
    endpoints_.emplace(s.name(), std::move(e));
  }
}

Migrator::~Migrator() { Stop(); }

Migrator::Endpoint* Migrator::Find(const std::string& site) const {
  auto it = endpoints_.find(site);
  return it == endpoints_.end() ? nullptr : it->second.get();
}

int64_t Migrator::Jitter(int64_t max_ms) {
  return backoff_.DelayMs(1) % std::max<int64_t>(1, max_ms);
}

MetadataStore::LeaseFilter Migrator::CurrentFilter() const {
  MetadataStore::LeaseFilter f;
  f.pair_limit = options_.pair_concurrency;
  f.pair_limits = options_.pair_limits;
  for (const auto& [name, e] : endpoints_) {
    if (!e->breaker->WouldAllow()) f.exclude_sites.push_back(name);
  }
  return f;
}

void Migrator::UpdateCircuitGauge(Endpoint& e) {
  auto st = e.breaker->snapshot().state;
  circuit_state_.Labels({e.site->name()})
      .Set(st == CircuitState::kClosed     ? 0
           : st == CircuitState::kHalfOpen ? 1
                                           : 2);
}

void Migrator::ReportSuccess(Endpoint& e, CircuitBreaker::Permit p) {
  auto tr = e.breaker->OnSuccess(p);
  if (tr == CircuitBreaker::Transition::kClosed) {
    spdlog::info("circuit for endpoint {} closed: the probe succeeded", e.site->name());
  }
  if (tr == CircuitBreaker::Transition::kClosed || e.alert_may_be_active.exchange(false)) {
    Status s = store_.ResolveAlert("circuit_open", e.site->name());
    if (!s.ok()) spdlog::warn("resolving circuit_open for {}: {}", e.site->name(), s.ToString());
  }
  UpdateCircuitGauge(e);
}

void Migrator::Report(Endpoint& e, CircuitBreaker::Permit p, const Status& s) {
  if (p == CircuitBreaker::Permit::kDenied) return;
  if (s.ok()) return ReportSuccess(e, p);
  if (!IsAvailabilityFailure(s)) {
    e.breaker->OnNeutral(p);
    UpdateCircuitGauge(e);
    return;
  }
  endpoint_failures_.Labels({e.site->name(), FailureClass(s)}).Inc();
  auto tr = e.breaker->OnFailure(p, s.ToString());
  UpdateCircuitGauge(e);
  if (tr == CircuitBreaker::Transition::kOpened || tr == CircuitBreaker::Transition::kReopened) {
    auto snap = e.breaker->snapshot();
    int64_t retry_in = std::max<int64_t>(0, snap.retry_at_ms - clock_.NowMs());
    std::string msg = tr == CircuitBreaker::Transition::kOpened
                          ? "circuit breaker for endpoint " + e.site->name() + " opened after " +
                                std::to_string(options_.breaker_failures) +
                                " consecutive failures; its tasks wait, " + "a probe goes in " +
                                std::to_string(retry_in) + " ms. Last error: " + s.ToString()
                          : "endpoint " + e.site->name() +
                                " still failing (probe: " + s.ToString() + "); next probe in " +
                                std::to_string(retry_in) + " ms";
    if (tr == CircuitBreaker::Transition::kOpened) spdlog::warn("{}", msg);
    nlohmann::json details = {{"endpoint", e.site->name()},
                              {"failures", options_.breaker_failures},
                              {"retry_in_ms", retry_in},
                              {"last_error", s.ToString()}};
    auto a = store_.RaiseAlert("circuit_open", "critical", e.site->name(), msg, details.dump(),
                               clock_.NowMs());
    if (!a.ok())
      spdlog::warn("raising circuit_open for {}: {}", e.site->name(), a.status().ToString());
    e.alert_may_be_active = true;
  }
}

Result<bool> Migrator::Tick() { return RunOnce(owner_ + "/tick" + std::to_string(++ticks_)); }

Result<bool> Migrator::RunOnce(const std::string& worker) {
  DIM_ASSIGN_OR_RETURN(
      auto task, store_.LeaseTask(worker, options_.lease_ms, clock_.NowMs(), CurrentFilter()));
  if (!task) return false;
  const int64_t start_us = MonotonicMicros();
  auto held = keeper_.Track(task->id, worker);
  Outcome o =
      task->kind == TaskKind::kCopy ? RunCopy(*task, worker, *held) : RunDelete(*task, worker);
  keeper_.Untrack(held);
  Finish(*task, worker, o);
  duration_.Labels({std::string(TaskKindName(task->kind))})
      .Observe((MonotonicMicros() - start_us) / 1e6);
  return true;
}

void Migrator::Finish(const TaskRecord& t, const std::string& worker, const Outcome& o) {
  const int64_t now = clock_.NowMs();
  auto record = [&](const Status& s, const char* what) {
    if (!s.ok()) spdlog::warn("{} task {}: {}", what, t.id, s.ToString());
  };
  switch (o.kind) {
    case Outcome::Kind::kSettled:
      jobs_.Labels({o.result}).Inc();
      return;
    case Outcome::Kind::kDefer:
      if (t.deferrals + 1 > options_.max_deferrals) {
        jobs_.Labels({"failed"}).Inc();
        record(
            store_.FailTask(t.id, worker,
                            "put back " + std::to_string(t.deferrals) + " times; last: " + o.reason,
                            false, now, now),
            "failing");
        return;
      }
      jobs_.Labels({o.result}).Inc();
      spdlog::debug("task {} ({} {}) put back until +{} ms: {}", t.id, TaskKindName(t.kind),
                    t.object_key, o.not_before_ms - now, o.reason);
      record(store_.DeferTask(t.id, worker, o.reason, o.not_before_ms, now), "deferring");
      return;
    case Outcome::Kind::kFail:
      break;
  }
  const Status& s = o.status;
  if (s.IsAborted()) {
    if (stopping_.load()) {
      jobs_.Labels({"handed_back"}).Inc();
      Status r = store_.ReleaseTask(t.id, worker, now);
      if (!r.ok() && !r.IsAborted()) spdlog::warn("handing back task {}: {}", t.id, r.ToString());
    } else {
      jobs_.Labels({"lease_lost"}).Inc();
      spdlog::warn("task {} ({} {}): {}", t.id, TaskKindName(t.kind), t.object_key, s.ToString());
    }
    return;
  }
  Endpoint* blamed = o.blame.empty() ? nullptr : Find(o.blame);
  const bool circuit_open = blamed && blamed->breaker->snapshot().state != CircuitState::kClosed;
  if (s.code() == StatusCode::kResourceExhausted || s.throttled() ||
      (circuit_open && s.IsRetryable())) {
    // Throttled, or the endpoint is known down: wait without using up an attempt.
    int64_t at = now + backoff_.DelayMs(std::min(t.deferrals + 1, 16));
    if (circuit_open)
      at = std::max(at, blamed->breaker->RetryAtMs() + Jitter(options_.breaker_open_ms / 4 + 1));
    Outcome d = Outcome::Defer(circuit_open ? "circuit_open" : "throttled", s.ToString(), at);
    return Finish(t, worker, d);
  }
  bool retryable = s.IsRetryable() || s.code() == StatusCode::kDataLoss || s.IsNotFound();
  bool last = t.attempts >= t.max_attempts;
  jobs_
      .Labels({!retryable || last                  ? "failed"
               : s.code() == StatusCode::kDataLoss ? "corrupt"
                                                   : "retry"})
      .Inc();
  spdlog::warn("task {} ({} {} -> {}) attempt {}/{}: {}", t.id, TaskKindName(t.kind), t.object_key,
               t.dst_site, t.attempts, t.max_attempts, s.ToString());
  record(store_.FailTask(t.id, worker, s.ToString(), retryable, now + backoff_.DelayMs(t.attempts),
                         now),
         "recording failure of");
}

Migrator::SourceResult Migrator::CopyFrom(const TaskRecord& t, const ObjectRecord& obj,
                                          Endpoint& src, Endpoint& dst, LeaseKeeper::Held& held) {
  SourceResult r;
  auto fault = [&](Status s, bool source) {
    r.status = std::move(s);
    r.source_fault = source;
    return r;
  };
  auto grow = [&](std::string why, int64_t until) {
    r.growing = true;
    r.growing_why = "file_growing: " + why;
    r.growing_until_ms = until;
    r.status = Status::Unavailable(r.growing_why);
    return r;
  };
  const std::string& blob = t.blob;
  // One request: the replica's size, mtime and etag come with its bytes (no HEAD before), and the
  // stream is of that one version or fails with FailedPrecondition if it changes under the read
  // (ObjectStore::GetWithInfo), so no HEAD after either.
  auto opened = src.store->GetWithInfo(blob);
  if (!opened.ok()) {
    if (opened.status().IsNotFound()) {
      return fault(
          Status::NotFound("site " + src.site->name() + ": replica " + blob + " is missing"), true);
    }
    return fault(opened.status(), true);
  }
  const ObjectInfo info = opened->info;
  std::unique_ptr<ByteSource> stream = std::move(opened->body);
  const int64_t now = clock_.NowMs();
  if (options_.growing_window_ms > 0 && info.mtime_ms > now - options_.growing_window_ms) {
    return grow(blob + " on " + src.site->name() + " was modified " +
                    std::to_string(now - info.mtime_ms) + " ms ago",
                std::max(info.mtime_ms, now - options_.growing_window_ms) +
                    options_.growing_window_ms + Jitter(250));
  }
  if (info.size != obj.size) {
    return fault(Status::DataLoss("site " + src.site->name() + ": replica " + blob + " has " +
                                  std::to_string(info.size) + " bytes, recorded " +
                                  std::to_string(obj.size)),
                 true);
  }
  auto should_stop = [this, &held]() -> Status {
    if (stopping_.load()) return Status::Aborted("shutting down");
    if (held.lost.load()) return Status::Aborted("lease lost");
    return Status::OK();
  };
  CopySource cs(*stream, {src.bandwidth.get(), dst.bandwidth.get()}, &held.bytes_done, should_stop);
  PutOptions po;
  po.size = obj.size;
  po.content_type = obj.content_type;
  // The destination hashes every byte it takes and refuses a mismatch: a corrupt read never
  // becomes visible. The running checksum of this copy is that one (CopySource does not hash).
  po.expected_sha256 = obj.sha256;
  po.server_side_encryption = dst.site->config.encrypted;
  po.need_md5 = false;  // replicas are verified by SHA-256; the object's ETag is in the store
  auto put = dst.store->Put(blob, cs, po);
  stream.reset();
  // Did the source change under us? Asked only when the bytes did not verify (a store whose GET
  // is not a snapshot, say, mixed two versions): growing, not corrupt.
  auto changed = [&]() -> std::optional<std::string> {
    auto after = src.store->Head(blob);
    if (!after.ok()) return std::nullopt;  // cannot tell; the checksum decides
    if (!*after) return "it disappeared during the copy";
    if ((*after)->size != info.size || (*after)->mtime_ms != info.mtime_ms ||
        (*after)->etag != info.etag) {
      return "it changed during the copy (" + std::to_string(info.size) + " -> " +
             std::to_string((*after)->size) + " bytes)";
    }
    return std::nullopt;
  };
  const Status& src_error = cs.source_error();
  if (src_error.code() == StatusCode::kFailedPrecondition) {
    // The replica changed while it was read (GetWithInfo): nothing of it may stay.
    if (put.ok()) (void)dst.store->Delete(blob);
    return grow(blob + " on " + src.site->name() + ": it changed during the copy (" +
                    src_error.message() + ")",
                clock_.NowMs() + options_.growing_window_ms + Jitter(250));
  }
  if (!put.ok()) {
    if (!src_error.ok()) return fault(src_error, true);
    if (put.status().IsAborted()) return fault(put.status(), false);
    if (put.status().code() == StatusCode::kDataLoss) {
      if (auto why = changed())
        return grow(blob + " on " + src.site->name() + ": " + *why,
                    clock_.NowMs() + options_.growing_window_ms + Jitter(250));
      // The destination refused the bytes it was given, and every one of them came from this
      // replica's stream: the read was bad (another replica may do).
      corrupt_rejected_.Inc();
      return fault(
          put.status().WithContext("copy " + src.site->name() + " -> " + dst.site->name() +
                                   " rejected (" + std::to_string(cs.bytes()) + " bytes read)"),
          true);
    }
    return fault(put.status().WithContext("copy " + src.site->name() + " -> " + dst.site->name()),
                 false);
  }
  if (put->sha256 != obj.sha256 || put->size != obj.size || cs.bytes() != obj.size) {
    // The destination kept bytes that do not verify (or did not say what it hashed): remove
    // them, then retry.
    (void)dst.store->Delete(blob);
    if (auto why = changed())
      return grow(blob + " on " + src.site->name() + ": " + *why,
                  clock_.NowMs() + options_.growing_window_ms + Jitter(250));
    corrupt_rejected_.Inc();
    return fault(
        Status::DataLoss("copy of " + t.object_key + " from " + src.site->name() +
                         " did not verify (read " + std::to_string(cs.bytes()) + " bytes; wrote " +
                         std::to_string(put->size) + " bytes, sha256 " +
                         (put->sha256.empty() ? "not reported" : put->sha256) + "; recorded " +
                         std::to_string(obj.size) + " bytes, " + obj.sha256 + ")"),
        put->sha256 != obj.sha256 || cs.bytes() != obj.size);
  }
  r.put = *put;
  return r;
}

std::optional<Migrator::Outcome> Migrator::Admit(const TaskRecord& t, Endpoint& e,
                                                 CircuitBreaker::Permit* permit) {
  if (e.store->WriteInFlight(t.blob)) {
    // An earlier attempt's write timed out but may still land: not this attempt's failure.
    return Outcome::Defer("write_in_flight",
                          "an earlier write of " + t.blob + " to " + e.site->name() +
                              " timed out and is still running",
                          clock_.NowMs() + backoff_.DelayMs(std::min(t.deferrals + 1, 10)));
  }
  *permit = e.breaker->Acquire();
  if (*permit == CircuitBreaker::Permit::kDenied) {
    return Outcome::Defer("circuit_open",
                          "circuit_open: endpoint " + e.site->name() + " is failing",
                          e.breaker->RetryAtMs() + Jitter(500));
  }
  return std::nullopt;
}

Migrator::Outcome Migrator::RunCopy(const TaskRecord& t, const std::string& worker,
                                    LeaseKeeper::Held& held) {
  const int64_t now = clock_.NowMs();
  auto stop = [&](TaskStatus st, const std::string& reason, const char* result) {
    Status s = store_.StopTask(t.id, worker, st, reason, now);
    return s.ok() ? Outcome::Settled(result) : Outcome::Fail(s);
  };
  Endpoint* dst = Find(t.dst_site);
  if (!dst) return stop(TaskStatus::kFailed, "unknown destination site " + t.dst_site, "failed");
  if (policy_.EncryptionEnforced() && !dst->site->config.encrypted) {
    return stop(TaskStatus::kFailed, "destination_not_encrypted", "blocked");
  }
  auto obj = store_.GetObjectById(t.object_id);
  if (!obj.ok()) return Outcome::Fail(obj.status());
  if (!*obj || (*obj)->generation != t.generation)
    return stop(TaskStatus::kCancelled, "stale", "stale");
  // Sources: live replicas of this generation, the task's source first.
  auto replicas = store_.GetReplicas(t.object_id);
  if (!replicas.ok()) return Outcome::Fail(replicas.status());
  std::vector<const ReplicaRecord*> sources;
  for (const auto& r : *replicas) {
    if (r.generation == t.generation && r.state == ReplicaState::kLive && r.site != t.dst_site) {
      sources.push_back(&r);
    }
  }
  std::stable_sort(sources.begin(), sources.end(), [&](auto* a, auto* b) {
    return (a->site == t.src_site) > (b->site == t.src_site);
  });
  if (sources.empty())
    return Outcome::Fail(Status::NotFound("no live replica of " + t.object_key + " to copy from"));

  CircuitBreaker::Permit dperm;
  if (auto wait = Admit(t, *dst, &dperm)) return *wait;
  Outcome last = Outcome::Fail(Status::Unavailable("no usable source for " + t.object_key));
  int64_t earliest_source_ms = 0;
  bool dst_reported = false;
  for (const ReplicaRecord* rep : sources) {
    Endpoint* src = Find(rep->site);
    if (!src) continue;
    auto sperm = src->breaker->Acquire();
    if (sperm == CircuitBreaker::Permit::kDenied) {
      int64_t at = src->breaker->RetryAtMs();
      earliest_source_ms = earliest_source_ms ? std::min(earliest_source_ms, at) : at;
      continue;
    }
    SourceResult r = CopyFrom(t, **obj, *src, *dst, held);
    if (r.status.ok()) {
      Report(*src, sperm, Status::OK());
      Report(*dst, dperm, Status::OK());
      auto outcome = store_.CommitCopy(t, worker, r.put.sha256, r.put.size, clock_.NowMs());
      if (!outcome.ok()) return Outcome::Fail(outcome.status());
      if (*outcome != MetadataStore::CommitOutcome::kCommitted) return Outcome::Settled("stale");
      bytes_.Inc(static_cast<double>(r.put.size));
      spdlog::info("moved {} ({} bytes) {} -> {}, sha256 verified", t.object_key, r.put.size,
                   src->site->name(), dst->site->name());
      return Outcome::Settled("copied");
    }
    if (r.growing) {
      Report(*src, sperm, Status::OK());
      Report(*dst, dperm, Status::OK());
      return Outcome::Defer("file_growing", r.growing_why, r.growing_until_ms);
    }
    if (r.status.IsAborted()) {
      src->breaker->OnNeutral(sperm);
      dst->breaker->OnNeutral(dperm);
      return Outcome::Fail(r.status);
    }
    if (r.source_fault) {
      Report(*src, sperm, r.status);
      last = Outcome::Fail(r.status, src->site->name());
      continue;  // another replica may do
    }
    src->breaker->OnNeutral(sperm);
    Report(*dst, dperm, r.status);
    dst_reported = true;
    last = Outcome::Fail(r.status, dst->site->name());
    break;  // the destination failed: another source will not help
  }
  if (!dst_reported) dst->breaker->OnNeutral(dperm);
  UpdateCircuitGauge(*dst);
  if (last.status.code() == StatusCode::kUnavailable && last.blame.empty() &&
      earliest_source_ms > 0) {
    return Outcome::Defer("circuit_open",
                          "circuit_open: every source of " + t.object_key + " is failing",
                          earliest_source_ms + Jitter(500));
  }
  return last;
}

Migrator::Outcome Migrator::RunDelete(const TaskRecord& t, const std::string& worker) {
  const int64_t now = clock_.NowMs();
  Endpoint* e = Find(t.dst_site);
  if (!e) {
    Status s =
        store_.StopTask(t.id, worker, TaskStatus::kFailed, "unknown site " + t.dst_site, now);
    return s.ok() ? Outcome::Settled("failed") : Outcome::Fail(s);
  }
  CircuitBreaker::Permit perm;
  if (auto wait = Admit(t, *e, &perm)) return *wait;
  auto check = store_.BeginReplicaDelete(
      t, worker, now + backoff_.DelayMs(std::min(t.deferrals + 1, 10)), now);
  if (!check.ok()) {
    e->breaker->OnNeutral(perm);
    return Outcome::Fail(check.status());
  }
  switch (*check) {
    case MetadataStore::DeleteCheck::kNotSafeYet:
      e->breaker->OnNeutral(perm);
      return Outcome::Settled("deferred");
    case MetadataStore::DeleteCheck::kKeep:
      e->breaker->OnNeutral(perm);
      return Outcome::Settled("kept");
    case MetadataStore::DeleteCheck::kProceed:
      break;
  }
  Status d = e->store->Delete(t.blob);
  Report(*e, perm, d);
  if (!d.ok()) return Outcome::Fail(d, e->site->name());
  Status f = store_.FinishReplicaDelete(t, worker, clock_.NowMs());
  if (!f.ok()) return Outcome::Fail(f);
  return Outcome::Settled("deleted");
}

Status Migrator::CheckBacklog() {
  DIM_ASSIGN_OR_RETURN(auto counts, store_.CountTasks());
  int64_t queued = counts[TaskStatus::kQueued];
  if (queued > options_.backlog_alert_threshold) {
    return store_
        .RaiseAlert("migration_backlog", "warning", "migrator",
                    std::to_string(queued) + " migration tasks queued (threshold " +
                        std::to_string(options_.backlog_alert_threshold) + ")",
                    "{\"queued\":" + std::to_string(queued) + "}", clock_.NowMs())
        .status();
  }
  return store_.ResolveAlert("migration_backlog", "migrator");
}

std::vector<Migrator::EndpointStatus> Migrator::Endpoints() const {
  std::vector<EndpointStatus> out;
  for (const auto& [name, e] : endpoints_) {
    EndpointStatus s;
    s.site = name;
    s.circuit = e->breaker->snapshot();
    s.bandwidth_mib_s = e->site->config.bandwidth_mib_s;
    s.timed_out_calls_in_flight = e->store->abandoned_in_flight();
    out.push_back(std::move(s));
  }
  return out;
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
    if (r.ok()) idle_polls_.fetch_add(1);
    std::unique_lock<std::mutex> lock(loop_mu_);
    loop_cv_.wait_for(lock, std::chrono::milliseconds(options_.poll_interval_ms),
                      [&] { return !running_.load(); });
  }
}

void Migrator::Start() {
  if (running_.exchange(true)) return;
  stopping_ = false;
  for (int i = 0; i < options_.workers; ++i) threads_.emplace_back([this, i] { WorkerLoop(i); });
  if (options_.progress_interval_ms > 0) threads_.emplace_back([this] { ProgressLoop(); });
}

void Migrator::ProgressLoop() {
  MigrationProgress progress(store_, bytes_);
  progress.Line();  // the baseline for the first rate
  std::unique_lock<std::mutex> lock(loop_mu_);
  while (!loop_cv_.wait_for(lock, std::chrono::milliseconds(options_.progress_interval_ms),
                            [&] { return !running_.load(); })) {
    lock.unlock();
    if (auto line = progress.Line(/*only_if_active=*/true)) spdlog::info("{}", *line);
    lock.lock();
  }
}

void Migrator::Stop() {
  if (!running_.exchange(false)) return;
  stopping_ = true;
  { std::lock_guard<std::mutex> lock(loop_mu_); }
  loop_cv_.notify_all();
  for (auto& t : threads_) t.join();
  threads_.clear();
}

}  // namespace dim
