// The stream consumer: turns AccessEvents from the bus into per-object windows (1 h, 24 h, 7 d),
// last access, read/write/byte counters, the decaying heat score and hourly history, and writes
// them to the MetadataStore in batches (every flush_interval_ms or flush_max_events). Each batch
// is one transaction that also records the bus offsets it covers, so the effect of every event
// is exactly once across crashes, restarts and partition rebalances:
//   - on start (Init) and on every partition assignment it resumes from the stored offsets, and
//     skips re-delivered events below them;
//   - before partitions are revoked it flushes what it holds (or, if that fails, forgets it and
//     re-reads from the stored offsets), and forgets its cached per-object state;
//   - a batch is fenced: it commits only if the stored offsets are still the ones this consumer
//     last saw (a consumer that lost its partitions cannot double-count), and each object's row
//     only if no one else wrote it since it was read (a stale cache is re-read, never written).
// Flushes run on their own thread while polling goes on; memory is bounded by pausing the
// polling when a flush falls behind. Bad events are counted in dim_events_rejected_total{reason}
// and skipped. Thread-safe: Ingest/Flush/RecordNow may be called from any thread while Run polls.
#pragma once

#include <atomic>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "bus/event_bus.h"
#include "core/clock.h"
#include "core/config.h"
#include "core/metrics.h"
#include "store/metadata_store.h"
#include "stream/access_delta.h"
#include "stream/heat.h"
#include "stream/key_index.h"
#include "stream/sliding_window.h"

namespace dim {

struct ConsumerOptions {
  std::string name = "dim-consumer";  // offsets are stored under this name
  int64_t flush_interval_ms = 1000;
  int64_t flush_max_events = 200000;
  HeatParams heat;
  int64_t history_retention_days = 30;
  int64_t max_future_skew_ms = 3'600'000;  // events further ahead of now are rejected
  size_t cache_entries = 500000;           // per-object states kept in memory between flushes
  size_t poll_batch = 10000;               // messages per bus poll
  // A background flush with more objects to write than this records one journal entry (the
  // batch's per-object deltas, with its offsets, in one transaction) instead of rewriting
  // every object's row; the rows are then rewritten ("folded") every fold_interval_ms, and at
  // once by RecordNow, Flush, a revocation and Stop. Events are durable and counted exactly
  // once either way; only the rows readers see lag by up to fold_interval_ms.
  int64_t journal_min_objects = 20000;
  int64_t fold_interval_ms = 10000;

  // The stream.* settings; offsets are stored under "dim-consumer" for the in-process bus and
  // "kafka:TOPIC:GROUP" for Kafka (shared by every member of the group).
  static ConsumerOptions FromConfig(const Config& c);
};

// Stats as of now_ms: window counts slid forward from window_state and heat decayed since its
// last fold. Readers (API, optimizer) use this instead of the stored counts, which are only as
// fresh as the object's last flush.
AccessStats StatsAsOf(const AccessStats& stored, int64_t now_ms, double tau_s);

class AccessConsumer final : public PartitionListener {
 public:
  AccessConsumer(MetadataStore& store, EventBus& bus, const Clock& clock, MetricsRegistry& metrics,
                 ConsumerOptions options);
  ~AccessConsumer() override;

  // Reads the stored offsets, seeks the bus to them and listens for partition changes.
  Status Init();
  // Adds messages to the pending batch.
  void Ingest(const std::vector<BusMessage>& messages);
  // Writes the pending batch and folds the journal into the rows in one transaction, then
  // commits the offsets on the bus. Heat is folded for objects whose fold is due and for every
  // key in force_heat_keys.
  // FailedPrecondition: fenced (another consumer moved a partition on); the batch was dropped
  // and the consumer re-reads from the stored offsets.
  Status Flush(const std::vector<std::string>& force_heat_keys = {});
  // Ingests events that did not come through the bus (the API's /simulate) and flushes at once,
  // folding heat for their keys, so their effect is visible when this returns.
  Status RecordNow(const std::vector<AccessEvent>& events);

  // Poll loop and flusher on background threads; Stop() flushes what is pending and joins.
  void Start();
  void Stop();

  // PartitionListener (called by the bus inside Poll).
  void OnPartitionsRevoked(const std::vector<int32_t>& partitions) override;
  Result<std::map<int32_t, int64_t>> OnPartitionsAssigned(
      const std::vector<int32_t>& partitions) override;

  int64_t events_ingested() const { return ingested_.load(); }
  // Events in this consumer's partitions not yet counted in the store (the bus's end offsets
  // minus the stored offsets), as of the poll loop's last look (about twice a second); -1
  // before it looked. Also the gauge dim_consumer_lag_events.
  int64_t lag() const { return lag_.load(); }

 private:
  // One accepted access as Ingest logs it: the object's id in the log's KeyIndex and what the
  // flush needs (an append per event, no per-object work while polling).
  struct LoggedAccess {
    uint32_t id = 0;
    bool write = false;
    int64_t ts_ms = 0;
    int64_t bytes = 0;
  };
  struct State {
    AccessStats stats;
    SlidingWindows windows;
  };

  void Reject(std::string_view reason);
  // Puts a batch's accesses (ids in `keys`) back in front of the pending ones.
  void Requeue(const KeyIndex& keys, const std::vector<LoggedAccess>& log);
  // Empties a written batch's log, keeping its memory unless it is far larger than the batch.
  static void ReleaseLog(std::vector<LoggedAccess>& log);
  // The log's accesses as per-object deltas (keys[id] for id < n_keys): sorted by object, then
  // by time, each object's minutes run-length coded into window buckets. Reorders *log (the
  // same records: a failed batch requeues them).
  // REQUIRES: flush_mu_ held (uses the scratch vectors).
  DeltaMap BuildDeltas(const KeyIndex& keys, size_t n_keys, std::vector<LoggedAccess>* log);
  // Forgets everything not yet written and arranges for the poll thread to seek every owned
  // partition back to its stored offset (SeekIfNeeded); bus messages are dropped until it has.
  // REQUIRES: mu_ held.
  void ResyncLocked();
  // may_journal: the batch may go to the journal instead of the rows (background flushes).
  // REQUIRES: flush_mu_ held.
  Status FlushLocked(const std::vector<std::string>& force, bool may_journal);
  // Writes the rows of every object in batch or unfolded_ (and the forced ones), deleting the
  // journal entries unfolded_ids_, with the offsets. REQUIRES: flush_mu_ held.
  Status WriteBatch(const DeltaMap& batch, const std::map<int32_t, int64_t>& offsets,
                    const std::map<int32_t, int64_t>& expected,
                    const std::vector<std::string>& force);
  // Adds every stored journal entry of this consumer name not yet in unfolded_ (a crashed
  // member's, or another member's: folding those is safe, see WriteBatch) and asks for a fold.
  // REQUIRES: flush_mu_ held.
  Status RecoverJournal();
  // After a fold was refused because one of unfolded_ids_ is gone (another member folded it):
  // unfolded_ becomes the sum of those still stored. REQUIRES: flush_mu_ held.
  Status RebuildUnfolded();
  // Adds one stored entry to unfolded_; a corrupt one is counted, logged and dropped.
  void TakeJournalEntry(const AccessJournalEntry& e);
  void Loop();
  void FlusherLoop();
  void SeekIfNeeded();
  void UpdateLag();

  MetadataStore& store_;
  EventBus& bus_;
  const Clock& clock_;
  ConsumerOptions options_;
  const bool fenced_;  // the bus can re-deliver (Kafka): offsets are fenced and floors apply
  // A failed write that means "another member moved a partition on": only on a fenced bus (the
  // in-process bus sends no expected offsets, so there FailedPrecondition is, e.g., a constraint
  // error, and the batch is kept and retried — it could not be re-read).
  bool IsFenced(const Status& s) const {
    return fenced_ && s.code() == StatusCode::kFailedPrecondition;
  }

  std::mutex mu_;  // guards everything down to flush_mu_
  // The pending accesses: ids in keys_, which is replaced by a fresh index at a flush once it
  // holds more than cache_entries keys (a batch keeps the index its ids refer to).
  std::shared_ptr<KeyIndex> keys_;
  std::vector<LoggedAccess> log_;
  std::vector<std::string_view> ingest_keys_;  // scratch of Ingest
  std::vector<uint32_t> ingest_ids_;           // scratch of Ingest
  int64_t pending_events_ = 0;
  std::map<int32_t, int64_t> next_offsets_;  // consumed so far (not yet written) per partition
  std::map<int32_t, int64_t> committed_;     // what the store holds per owned partition
  bool seek_pending_ = false;                // see ResyncLocked

  std::mutex flush_mu_;  // serialises flushes; guards cache_, spare_log_ and the scratch
  std::unordered_map<std::string, State> cache_;
  std::vector<LoggedAccess> spare_log_;  // empty, keeping its memory: swapped with log_
  std::vector<LoggedAccess> sorted_;     // scratch of BuildDeltas
  std::vector<uint32_t> run_start_;      // scratch of BuildDeltas
  std::vector<uint32_t> part_next_;      // scratch of BuildDeltas
  // The journal entries recorded (or recovered) and not folded yet, and the sum of their deltas.
  std::vector<int64_t> unfolded_ids_;
  DeltaMap unfolded_;
  int64_t last_fold_us_ = 0;
  bool fold_requested_ = false;
  int64_t last_prune_hour_ = 0;

  std::mutex flusher_mu_;
  std::condition_variable flusher_cv_;
  bool flush_requested_ = false, flush_running_ = false;

  std::atomic<bool> running_{false};
  std::thread thread_, flusher_;
  std::atomic<int64_t> ingested_{0};
  std::atomic<int64_t> lag_{-1};

  Counter& ingested_metric_;
  Family<Counter>& rejected_metric_;
  Counter& duplicates_metric_;
  Counter& flushes_metric_;
  Counter& journal_metric_;
  Family<Counter>& flush_errors_metric_;
  Family<Counter>& rebalances_metric_;
  Histogram& flush_seconds_;
  Gauge& pending_gauge_;
  Gauge& lag_gauge_;
};

}  // namespace dim
