// The stream consumer: turns AccessEvents from the bus into per-object windows (1 h, 24 h, 7 d),
// last access, read/write/byte counters, the decaying heat score and hourly history, and writes
// them to the MetadataStore in batches (every flush_interval_ms or flush_max_events). Each batch
// is one transaction that also records the bus offsets it covers; Init() resumes from those
// offsets, so after a crash nothing is counted twice or lost.
// Thread-safe: Ingest/Flush/RecordNow may be called from any thread while Run() polls.
#pragma once

#include <atomic>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "bus/event_bus.h"
#include "core/clock.h"
#include "core/metrics.h"
#include "store/metadata_store.h"
#include "stream/heat.h"
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
};

// Stats as of now_ms: window counts slid forward from window_state and heat decayed since its
// last fold. Readers (API, optimizer) use this instead of the stored counts, which are only as
// fresh as the object's last flush.
AccessStats StatsAsOf(const AccessStats& stored, int64_t now_ms, double tau_s);

class AccessConsumer {
 public:
  AccessConsumer(MetadataStore& store, EventBus& bus, const Clock& clock, MetricsRegistry& metrics,
                 ConsumerOptions options);
  ~AccessConsumer();

  // Seeks the bus to the offsets stored with the last committed batch.
  Status Init();
  // Adds messages to the pending batch.
  void Ingest(const std::vector<BusMessage>& messages);
  // Writes the pending batch in one transaction, then commits the offsets on the bus. Heat is
  // folded for objects whose fold is due and for every key in force_heat_keys.
  Status Flush(const std::vector<std::string>& force_heat_keys = {});
  // Ingests events that did not come through the bus (the API's /simulate) and flushes at once,
  // folding heat for their keys, so their effect is visible when this returns.
  Status RecordNow(const std::vector<AccessEvent>& events);

  // Poll/flush loop on a background thread; Stop() flushes what is pending and joins.
  void Start();
  void Stop();

  int64_t events_ingested() const { return ingested_.load(); }

 private:
  struct Pending {
    std::vector<std::pair<int64_t, int64_t>> minutes;  // (ts_ms of minute start, count)
    std::map<int64_t, HourlyAccess> hours;
    int64_t last_access_ms = 0;
    int64_t reads = 0, writes = 0, bytes_read = 0, bytes_written = 0;
  };
  struct State {
    AccessStats stats;
    SlidingWindows windows;
  };

  void Reject(const std::string& reason);
  void Requeue(std::unordered_map<std::string, Pending> batch);
  void Loop();
  Status FlushLocked(std::unordered_map<std::string, Pending> pending,
                     std::map<int32_t, int64_t> offsets, const std::vector<std::string>& force);

  MetadataStore& store_;
  EventBus& bus_;
  const Clock& clock_;
  ConsumerOptions options_;

  std::mutex mu_;  // guards pending_, next_offsets_, pending_events_
  std::unordered_map<std::string, Pending> pending_;
  std::map<int32_t, int64_t> next_offsets_;
  int64_t pending_events_ = 0;

  std::mutex flush_mu_;  // serialises flushes; guards cache_
  std::unordered_map<std::string, State> cache_;
  int64_t last_prune_hour_ = 0;

  std::atomic<bool> running_{false};
  std::thread thread_;
  std::atomic<int64_t> ingested_{0};

  Counter& ingested_metric_;
  Family<Counter>& rejected_metric_;
  Counter& flushes_metric_;
  Family<Counter>& flush_errors_metric_;
  Histogram& flush_seconds_;
};

}  // namespace dim
