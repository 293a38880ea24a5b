#include "stream/access_consumer.h"

#include <spdlog/spdlog.h>

#include <algorithm>

namespace dim {
namespace {
constexpr int64_t kMinuteMs = 60'000;
constexpr int64_t kHourMs = 3'600'000;
}  // namespace

AccessStats StatsAsOf(const AccessStats& stored, int64_t now_ms, double tau_s) {
  AccessStats s = stored;
  if (auto w = SlidingWindows::Decode(stored.window_state)) {
    s.access_1h = w->Count1h(now_ms);
    s.access_24h = w->Count24h(now_ms);
    s.access_7d = w->Count7d(now_ms);
  }
  s.heat = DecayedHeat(stored.heat, stored.heat_updated_ms, now_ms, tau_s);
  return s;
}

AccessConsumer::AccessConsumer(MetadataStore& store, EventBus& bus, const Clock& clock,
                               MetricsRegistry& metrics, ConsumerOptions options)
    : store_(store),
      bus_(bus),
      clock_(clock),
      options_(std::move(options)),
      ingested_metric_(metrics.AddCounter("dim_events_ingested_total",
                                          "Access events taken into windows and heat").Get()),
      rejected_metric_(metrics.AddCounter("dim_events_rejected_total",
                                          "Access events skipped as invalid, by reason", {"reason"})),
      flushes_metric_(metrics.AddCounter("dim_consumer_flushes_total",
                                         "Batches written by the stream consumer").Get()),
      flush_errors_metric_(metrics.AddCounter("dim_consumer_flush_errors_total",
                                              "Batches that failed to write (retried)", {"code"})),
      flush_seconds_(metrics.AddHistogram("dim_consumer_flush_duration_seconds",
                                          "Time to write one batch").Get()) {}

AccessConsumer::~AccessConsumer() { Stop(); }

Status AccessConsumer::Init() {
  DIM_ASSIGN_OR_RETURN(auto offsets, store_.GetConsumerOffsets(options_.name));
  return bus_.Seek(offsets);
}

void AccessConsumer::Reject(const std::string& reason) { rejected_metric_.Labels({reason}).Inc(); }

void AccessConsumer::Ingest(const std::vector<BusMessage>& messages) {
  const int64_t now = clock_.NowMs();
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& m : messages) {
    if (m.partition >= 0) {  // events from /simulate carry no bus position
      int64_t& next = next_offsets_[m.partition];
      next = std::max(next, m.offset + 1);
    }
    const AccessEvent& e = m.event;
    if (e.key.empty()) {
      Reject("empty_key");
      continue;
    }
    if (e.ts_ms > now + options_.max_future_skew_ms) {
      Reject("future_timestamp");
      continue;
    }
    if (e.ts_ms <= 0) {
      Reject("bad_timestamp");
      continue;
    }
    ingested_.fetch_add(1, std::memory_order_relaxed);
    ingested_metric_.Inc();
    // Failed requests, deletes and listings are not accesses of the object's bytes.
    if (e.status >= 400 || (!IsRead(e.op) && !IsWrite(e.op))) continue;
    Pending& p = pending_[e.key];
    int64_t minute = e.ts_ms - (e.ts_ms % kMinuteMs);
    if (!p.minutes.empty() && p.minutes.back().first == minute) {
      p.minutes.back().second++;
    } else {
      p.minutes.push_back({minute, 1});
    }
    int64_t hour = e.ts_ms / kHourMs;
    HourlyAccess& h = p.hours[hour];
    h.key = e.key;
    h.hour = hour;
    p.last_access_ms = std::max(p.last_access_ms, e.ts_ms);
    if (IsRead(e.op)) {
      p.reads++;
      p.bytes_read += e.bytes;
      h.reads++;
    } else {
      p.writes++;
      p.bytes_written += e.bytes;
      h.writes++;
    }
    h.bytes += e.bytes;
    ++pending_events_;
  }
}

Status AccessConsumer::Flush(const std::vector<std::string>& force_heat_keys) {
  std::lock_guard<std::mutex> flush_lock(flush_mu_);
  std::unordered_map<std::string, Pending> pending;
  std::map<int32_t, int64_t> offsets;
  {
    std::lock_guard<std::mutex> lock(mu_);
    pending.swap(pending_);
    offsets = next_offsets_;
    pending_events_ = 0;
  }
  if (pending.empty() && offsets.empty() && force_heat_keys.empty()) return Status::OK();
  return FlushLocked(std::move(pending), std::move(offsets), force_heat_keys);
}

Status AccessConsumer::FlushLocked(std::unordered_map<std::string, Pending> pending,
                                   std::map<int32_t, int64_t> offsets,
                                   const std::vector<std::string>& force) {
  const int64_t start_us = MonotonicMicros();
  const int64_t now = clock_.NowMs();
  std::vector<std::string> keys;
  keys.reserve(pending.size() + force.size());
  for (const auto& [k, _] : pending) keys.push_back(k);
  for (const auto& k : force) {
    if (!pending.count(k)) keys.push_back(k);
  }
  // Load the states we do not hold.
  std::vector<std::string> misses;
  for (const auto& k : keys) {
    if (!cache_.count(k)) misses.push_back(k);
  }
  std::unordered_map<std::string, State> loaded;
  if (!misses.empty()) {
    auto rows = store_.GetAccessStatsMany(misses);
    if (!rows.ok()) {
      Requeue(std::move(pending));
      flush_errors_metric_.Labels({std::string(StatusCodeName(rows.status().code()))}).Inc();
      return rows.status().WithContext("loading access stats");
    }
    for (auto& a : *rows) {
      State st;
      st.stats = a;
      auto w = SlidingWindows::Decode(a.window_state);
      if (!w) {
        spdlog::warn("access stats of {} had unreadable window state; starting it afresh", a.key);
        Reject("corrupt_window_state");
      } else {
        st.windows = std::move(*w);
      }
      loaded.emplace(a.key, std::move(st));
    }
  }
  std::unordered_map<std::string, bool> forced;
  for (const auto& k : force) forced[k] = true;

  MetadataStore::AccessBatch batch;
  batch.consumer = options_.name;
  batch.next_offsets = offsets;
  std::unordered_map<std::string, State> updated;
  for (const auto& k : keys) {
    State st;
    if (auto it = cache_.find(k); it != cache_.end()) st = it->second;
    else if (auto it2 = loaded.find(k); it2 != loaded.end()) st = std::move(it2->second);
    else st.stats.key = k;
    if (auto it = pending.find(k); it != pending.end()) {
      const Pending& p = it->second;
      for (const auto& [minute, n] : p.minutes) st.windows.Add(minute, n);
      st.stats.last_access_ms = std::max(st.stats.last_access_ms, p.last_access_ms);
      st.stats.reads += p.reads;
      st.stats.writes += p.writes;
      st.stats.bytes_read += p.bytes_read;
      st.stats.bytes_written += p.bytes_written;
      for (const auto& [h, v] : p.hours) batch.hourly.push_back(v);
    }
    st.windows.Prune(now);
    st.stats.access_1h = st.windows.Count1h(now);
    st.stats.access_24h = st.windows.Count24h(now);
    st.stats.access_7d = st.windows.Count7d(now);
    if (forced.count(k) || HeatFoldDue(st.stats.heat_updated_ms, now, options_.heat)) {
      double dt = st.stats.heat_updated_ms ? (now - st.stats.heat_updated_ms) / 1000.0 : 0.0;
      st.stats.heat = FoldHeat(st.stats.heat, dt, st.stats.access_1h, st.stats.access_24h, options_.heat);
      st.stats.heat_updated_ms = now;
    }
    st.stats.updated_ms = now;
    st.stats.window_state = st.windows.Encode();
    batch.stats.push_back(st.stats);
    updated.emplace(k, std::move(st));
  }
  Status s = store_.ApplyAccessBatch(batch);
  if (!s.ok()) {
    flush_errors_metric_.Labels({std::string(StatusCodeName(s.code()))}).Inc();
    Requeue(std::move(pending));
    return s.WithContext("writing access batch");
  }
  if (cache_.size() + updated.size() > options_.cache_entries) cache_.clear();
  for (auto& [k, st] : updated) cache_[k] = std::move(st);
  if (!offsets.empty()) {
    Status c = bus_.Commit(offsets);
    if (!c.ok()) spdlog::warn("committing bus offsets: {} (the store holds them; harmless)", c.ToString());
  }
  // Hourly history retention, checked once an hour.
  int64_t hour = now / kHourMs;
  if (hour != last_prune_hour_) {
    last_prune_hour_ = hour;
    auto pruned = store_.PruneHourly(hour - options_.history_retention_days * 24);
    if (!pruned.ok()) spdlog::warn("pruning hourly history: {}", pruned.status().ToString());
  }
  flushes_metric_.Inc();
  flush_seconds_.Observe((MonotonicMicros() - start_us) / 1e6);
  return Status::OK();
}

void AccessConsumer::Requeue(std::unordered_map<std::string, Pending> batch) {
  // A failed flush puts its events back so nothing is lost; the next flush retries them.
  std::lock_guard<std::mutex> lock(mu_);
  for (auto& [k, p] : batch) {
    Pending& dst = pending_[k];
    dst.minutes.insert(dst.minutes.end(), p.minutes.begin(), p.minutes.end());
    for (auto& [h, v] : p.hours) {
      HourlyAccess& d = dst.hours[h];
      d.key = v.key;
      d.hour = h;
      d.reads += v.reads;
      d.writes += v.writes;
      d.bytes += v.bytes;
    }
    dst.last_access_ms = std::max(dst.last_access_ms, p.last_access_ms);
    dst.reads += p.reads;
    dst.writes += p.writes;
    dst.bytes_read += p.bytes_read;
    dst.bytes_written += p.bytes_written;
  }
}

Status AccessConsumer::RecordNow(const std::vector<AccessEvent>& events) {
  std::vector<BusMessage> msgs;
  msgs.reserve(events.size());
  std::vector<std::string> keys;
  for (const auto& e : events) {
    BusMessage m;
    m.event = e;
    m.partition = -1;  // not from the bus: no offset to record
    m.offset = -1;
    msgs.push_back(std::move(m));
    if (keys.empty() || keys.back() != e.key) keys.push_back(e.key);
  }
  Ingest(msgs);
  std::sort(keys.begin(), keys.end());
  keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
  return Flush(keys);
}

void AccessConsumer::Start() {
  if (running_.exchange(true)) return;
  thread_ = std::thread([this] { Loop(); });
}

void AccessConsumer::Stop() {
  if (!running_.exchange(false)) return;
  if (thread_.joinable()) thread_.join();
}

void AccessConsumer::Loop() {
  int64_t last_flush = MonotonicMicros();
  int backoff_ms = 100;
  while (running_.load()) {
    auto batch = bus_.Poll(10000, 50);
    if (!batch.ok()) {
      spdlog::warn("consumer poll: {}", batch.status().ToString());
    } else if (!batch->empty()) {
      Ingest(*batch);
    }
    int64_t pending;
    {
      std::lock_guard<std::mutex> lock(mu_);
      pending = pending_events_;
    }
    int64_t since = (MonotonicMicros() - last_flush) / 1000;
    if (pending >= options_.flush_max_events || since >= options_.flush_interval_ms) {
      Status s = Flush();
      last_flush = MonotonicMicros();
      if (!s.ok()) {
        spdlog::error("consumer flush failed (will retry): {}", s.ToString());
        std::this_thread::sleep_for(std::chrono::milliseconds(backoff_ms));
        backoff_ms = std::min(backoff_ms * 2, 5000);
      } else {
        backoff_ms = 100;
      }
    }
  }
  // Drain what the bus already holds, then flush it.
  for (;;) {
    auto batch = bus_.Poll(10000, 0);
    if (!batch.ok() || batch->empty()) break;
    Ingest(*batch);
  }
  Status s = Flush();
  if (!s.ok()) spdlog::error("final consumer flush failed: {}", s.ToString());
}

}  // namespace dim
