#include "stream/access_consumer.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <string_view>
#include <unordered_set>

#include "bus/event_codec.h"

namespace dim {
namespace {
constexpr int64_t kMinuteMs = 60'000;
constexpr int64_t kHourMs = 3'600'000;
constexpr int kConflictRetries = 3;
}  // namespace

ConsumerOptions ConsumerOptions::FromConfig(const Config& c) {
  ConsumerOptions o;
  if (c.bus.backend == "kafka") o.name = "kafka:" + c.bus.topic + ":" + c.bus.group;
  o.flush_interval_ms = c.stream.flush_interval_ms;
  o.flush_max_events = c.stream.flush_max_events;
  o.heat.tau_s = c.stream.heat_tau_s;
  o.heat.daily_weight = c.stream.heat_daily_weight;
  o.heat.interval_s = c.stream.heat_interval_s;
  o.history_retention_days = c.stream.history_retention_days;
  o.journal_min_objects = c.stream.journal_min_objects;
  o.fold_interval_ms = c.stream.fold_interval_ms;
  return o;
}

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
      fenced_(bus.Replayable()),
      keys_(std::make_shared<KeyIndex>()),
      ingested_metric_(
          metrics
              .AddCounter("dim_events_ingested_total", "Access events taken into windows and heat")
              .Get()),
      rejected_metric_(metrics.AddCounter(
          "dim_events_rejected_total", "Access events skipped as invalid, by reason", {"reason"})),
      duplicates_metric_(metrics
                             .AddCounter("dim_events_duplicate_total",
                                         "Re-delivered events below the stored offsets, skipped")
                             .Get()),
      flushes_metric_(
          metrics.AddCounter("dim_consumer_flushes_total", "Batches written by the stream consumer")
              .Get()),
      journal_metric_(metrics
                          .AddCounter("dim_consumer_journal_entries_total",
                                      "Batches recorded in the access journal (with their "
                                      "offsets) instead of rewriting the objects' rows")
                          .Get()),
      flush_errors_metric_(metrics.AddCounter(
          "dim_consumer_flush_errors_total",
          "Batches that failed to write, by code (Aborted: a stale object row, re-read and "
          "retried; FailedPrecondition: fenced, another consumer moved a partition on)",
          {"code"})),
      rebalances_metric_(metrics.AddCounter("dim_consumer_rebalances_total",
                                            "Partitions assigned to or revoked from this consumer",
                                            {"kind"})),
      flush_seconds_(
          metrics.AddHistogram("dim_consumer_flush_duration_seconds", "Time to write one batch")
              .Get()),
      pending_gauge_(metrics
                         .AddGauge("dim_consumer_pending_events",
                                   "Events aggregated in memory, not yet written")
                         .Get()),
      lag_gauge_(metrics
                     .AddGauge("dim_consumer_lag_events",
                               "Events in this consumer's partitions not yet counted in the store "
                               "(end of the bus's log minus the stored offsets)")
                     .Get()) {}

AccessConsumer::~AccessConsumer() {
  Stop();
  bus_.SetPartitionListener(nullptr);
}

Status AccessConsumer::Init() {
  {
    std::lock_guard<std::mutex> flush_lock(flush_mu_);
    DIM_RETURN_IF_ERROR(RecoverJournal());
  }
  DIM_ASSIGN_OR_RETURN(auto offsets, store_.GetConsumerOffsets(options_.name));
  if (!fenced_) {
    // The in-process bus has one partition that is always ours.
    std::lock_guard<std::mutex> lock(mu_);
    committed_ = offsets;
  }
  bus_.SetPartitionListener(this);
  return bus_.Seek(offsets);
}

void AccessConsumer::Reject(std::string_view reason) {
  rejected_metric_.Labels({std::string(reason)}).Inc();
}

void AccessConsumer::Ingest(const std::vector<BusMessage>& messages) {
  namespace rr = reject_reason;
  const int64_t now = clock_.NowMs();
  const int64_t max_ts = now + options_.max_future_skew_ms;
  int64_t taken = 0, duplicates = 0;
  {
    std::lock_guard<std::mutex> lock(mu_);
    int32_t cur_partition = INT32_MIN;
    int64_t* next = nullptr;
    int64_t floor = MetadataStore::kNoOffset;
    const size_t first = log_.size();
    ingest_keys_.clear();
    for (const auto& m : messages) {
      if (m.partition >= 0) {         // events from /simulate carry no bus position
        if (seek_pending_) continue;  // the coming seek reads them again
        if (m.partition != cur_partition) {
          cur_partition = m.partition;
          next = &next_offsets_[m.partition];
          floor = MetadataStore::kNoOffset;
          if (fenced_) {
            if (auto it = committed_.find(m.partition); it != committed_.end()) floor = it->second;
          }
        }
        if (m.offset < floor) {  // already counted (re-delivered after a resync)
          ++duplicates;
          continue;
        }
        *next = std::max(*next, m.offset + 1);
      }
      if (!m.rejected.empty()) {
        Reject(m.rejected);
        continue;
      }
      const AccessEvent& e = m.event;
      // The codec checked Kafka's events in full; these are the checks every source needs.
      if (e.key.empty()) {
        Reject(rr::kEmptyKey);
        continue;
      }
      if (e.key.size() > kMaxEventKeyBytes) {
        Reject(rr::kOversizedKey);
        continue;
      }
      if (e.ts_ms <= 0) {
        Reject(rr::kBadTimestamp);
        continue;
      }
      if (e.ts_ms > max_ts) {
        Reject(rr::kFutureTimestamp);
        continue;
      }
      ++taken;
      // Failed requests, deletes and listings are not accesses of the object's bytes.
      if (e.status >= 400 || (!IsRead(e.op) && !IsWrite(e.op))) continue;
      log_.push_back(LoggedAccess{0, IsWrite(e.op), e.ts_ms, e.bytes});
      ingest_keys_.push_back(e.key);
      ++pending_events_;
    }
    // The ids in one pass over the batch, which overlaps the index's cache misses.
    ingest_ids_.resize(ingest_keys_.size());
    keys_->InternBatch(ingest_keys_.data(), ingest_keys_.size(), ingest_ids_.data());
    for (size_t i = 0; i < ingest_ids_.size(); ++i) log_[first + i].id = ingest_ids_[i];
    pending_gauge_.Set(static_cast<double>(pending_events_));
  }
  if (taken) {
    ingested_.fetch_add(taken, std::memory_order_relaxed);
    ingested_metric_.Inc(static_cast<double>(taken));
  }
  if (duplicates) duplicates_metric_.Inc(static_cast<double>(duplicates));
}

Status AccessConsumer::Flush(const std::vector<std::string>& force_heat_keys) {
  std::lock_guard<std::mutex> flush_lock(flush_mu_);
  return FlushLocked(force_heat_keys, /*may_journal=*/false);
}

Status AccessConsumer::FlushLocked(const std::vector<std::string>& force, bool may_journal) {
  const int64_t start_us = MonotonicMicros();
  // Double buffering: the batch takes log_ and log_ gets the previous batch's (emptied) vector.
  std::vector<LoggedAccess>& log = spare_log_;
  std::shared_ptr<KeyIndex> keys;
  size_t n_keys = 0;
  std::map<int32_t, int64_t> offsets, expected;
  {
    std::lock_guard<std::mutex> lock(mu_);
    log.swap(log_);
    keys = keys_;
    n_keys = keys_->size();
    // Ids only grow within an index: start afresh once it holds more keys than we cache.
    if (n_keys > options_.cache_entries) keys_ = std::make_shared<KeyIndex>();
    pending_events_ = 0;
    pending_gauge_.Set(0);
    for (const auto& [p, next] : next_offsets_) {
      auto it = committed_.find(p);
      int64_t have = it != committed_.end() ? it->second : MetadataStore::kNoOffset;
      if (next <= have || next == 0) continue;  // nothing new from p
      offsets[p] = next;
      if (fenced_) expected[p] = have;
    }
  }
  const bool fold_due =
      !unfolded_ids_.empty() && (fold_requested_ || !may_journal ||
                                 start_us - last_fold_us_ >= options_.fold_interval_ms * 1000);
  if (log.empty() && offsets.empty() && force.empty() && !fold_due) return Status::OK();

  DeltaMap batch = BuildDeltas(*keys, n_keys, &log);
  const bool journal =
      may_journal && force.empty() && !fold_due && !batch.empty() &&
      static_cast<int64_t>(batch.size() + unfolded_.size()) > options_.journal_min_objects;
  Status s;
  if (journal) {
    // One entry with the offsets: durable and fenced like a batch, the rows untouched.
    auto id = store_.AppendAccessJournal(options_.name, EncodeDeltas(batch), offsets, expected);
    s = id.status();
    if (id.ok()) {
      if (unfolded_ids_.empty()) last_fold_us_ = start_us;  // the interval runs from the first
      unfolded_ids_.push_back(*id);
      for (auto& [k, d] : batch) {
        auto [it, inserted] = unfolded_.try_emplace(k);
        if (inserted) {
          it->second = std::move(d);
        } else {
          it->second.Merge(d);
        }
      }
      journal_metric_.Inc();
    }
  } else {
    for (int attempt = 0;; ++attempt) {
      s = WriteBatch(batch, offsets, expected, force);
      if (!s.IsAborted() || attempt + 1 >= kConflictRetries) break;
      // Someone else wrote one of these objects (RecordNow in another process, a producer that
      // partitions differently) or folded one of our journal entries: forget the cached
      // states, take the journal as it now is, and build the batch again.
      flush_errors_metric_.Labels({"Aborted"}).Inc();
      spdlog::info("consumer {}: {}; re-reading", options_.name, s.message());
      cache_.clear();
      Status r = RebuildUnfolded();
      if (!r.ok()) {
        s = r;
        break;
      }
    }
    if (s.ok()) {
      unfolded_.clear();
      unfolded_ids_.clear();
      fold_requested_ = false;
      last_fold_us_ = start_us;
    }
  }
  if (s.ok()) {
    ReleaseLog(log);
    {
      std::lock_guard<std::mutex> lock(mu_);
      for (const auto& [p, next] : offsets) committed_[p] = next;
    }
    if (!offsets.empty()) {
      Status c = bus_.Commit(offsets);
      if (!c.ok())
        spdlog::warn("committing bus offsets: {} (the store holds them; harmless)", c.ToString());
    }
    flushes_metric_.Inc();
    flush_seconds_.Observe((MonotonicMicros() - start_us) / 1e6);
    return Status::OK();
  }
  flush_errors_metric_.Labels({std::string(StatusCodeName(s.code()))}).Inc();
  cache_.clear();
  if (IsFenced(s)) {
    // Fenced: a partition moved on without us. What we hold may be counted already; drop it
    // and re-read from the stored offsets. (The journal entries we recorded are in the store
    // with their offsets: unfolded_ stays, and is folded by us or by the new owner.)
    int64_t events = 0;
    for (const auto& [k, d] : batch) events += d.events();
    spdlog::warn("consumer {}: {}; dropping {} unwritten events and re-reading", options_.name,
                 s.message(), events);
    log.clear();
    std::lock_guard<std::mutex> lock(mu_);
    ResyncLocked();
  } else {
    Requeue(*keys, log);
    ReleaseLog(log);
  }
  return s.WithContext("writing access batch");
}

void AccessConsumer::TakeJournalEntry(const AccessJournalEntry& e) {
  if (!DecodeDeltasInto(e.data, &unfolded_)) {
    // Written by a consumer, in our own store: only damage gets here. It cannot be applied;
    // the next fold deletes it.
    spdlog::error(
        "consumer {}: access journal entry {} is unreadable ({} bytes); its events are lost",
        options_.name, e.id, e.data.size());
    Reject("corrupt_journal");
  }
  unfolded_ids_.push_back(e.id);
}

Status AccessConsumer::RecoverJournal() {
  DIM_ASSIGN_OR_RETURN(auto entries, store_.ListAccessJournal(options_.name));
  std::unordered_set<int64_t> have(unfolded_ids_.begin(), unfolded_ids_.end());
  for (const auto& e : entries) {
    if (!have.count(e.id)) TakeJournalEntry(e);
  }
  if (!unfolded_ids_.empty()) fold_requested_ = true;
  return Status::OK();
}

Status AccessConsumer::RebuildUnfolded() {
  if (unfolded_ids_.empty()) return Status::OK();
  DIM_ASSIGN_OR_RETURN(auto entries, store_.ListAccessJournal(options_.name));
  std::unordered_set<int64_t> mine(unfolded_ids_.begin(), unfolded_ids_.end());
  unfolded_.clear();
  unfolded_ids_.clear();
  for (const auto& e : entries) {
    if (mine.count(e.id)) TakeJournalEntry(e);
  }
  return Status::OK();
}

void AccessConsumer::ReleaseLog(std::vector<LoggedAccess>& log) {
  // Keep the memory for the next batch unless a burst left it far larger than batches are.
  const size_t keep = 4 * std::max<size_t>(log.size(), 65536);
  log.clear();
  if (log.capacity() > keep) std::vector<LoggedAccess>().swap(log);
}

DeltaMap AccessConsumer::BuildDeltas(const KeyIndex& keys, size_t n_keys,
                                     std::vector<LoggedAccess>* log) {
  DeltaMap batch;
  if (log->empty()) return batch;
  // Group by object: a counting sort by id, or a comparison sort when the log is much smaller
  // than the index (RecordNow's few events). Either way *log ends grouped.
  if (log->size() * 8 < n_keys) {
    std::sort(log->begin(), log->end(), [](const LoggedAccess& a, const LoggedAccess& b) {
      return a.id != b.id ? a.id < b.id : a.ts_ms < b.ts_ms;
    });
  } else {
    // A counting sort by id in two scatters that stay in cache: first into partitions of 512
    // ids (a few hundred write streams), then each partition's records to their id's run
    // (within that partition's region). One direct scatter into runs of 100 k ids missed the
    // cache on nearly every record.
    constexpr int kShift = 9;
    run_start_.assign(n_keys + 1, 0);
    for (const auto& a : *log) ++run_start_[a.id + 1];
    for (size_t i = 1; i <= n_keys; ++i) run_start_[i] += run_start_[i - 1];
    const size_t parts = (n_keys >> kShift) + 1;
    part_next_.resize(parts);
    for (size_t p = 0; p < parts; ++p) part_next_[p] = run_start_[std::min(p << kShift, n_keys)];
    sorted_.resize(log->size());
    for (const auto& a : *log) sorted_[part_next_[a.id >> kShift]++] = a;
    for (const auto& a : sorted_) (*log)[run_start_[a.id]++] = a;
  }
  // Runs are sorted by time in place.
  std::vector<LoggedAccess>& sorted = *log;
  size_t objects = 0;
  for (size_t i = 1; i <= sorted.size(); ++i) {
    if (i == sorted.size() || sorted[i].id != sorted[i - 1].id) ++objects;
  }
  batch.reserve(objects);
  // Per object: when its accesses span fewer than kSpan minutes (a batch of live traffic
  // always does) they are counted into per-minute and per-hour slots, else sorted by time.
  constexpr int64_t kSpan = 128;
  constexpr int64_t kSpanHours = kSpan / 60 + 2;
  for (size_t b = 0; b < sorted.size();) {
    const uint32_t id = sorted[b].id;
    int64_t lo = sorted[b].ts_ms / kMinuteMs, hi = lo, last = sorted[b].ts_ms;
    size_t e = b + 1;
    for (; e < sorted.size() && sorted[e].id == id; ++e) {
      const int64_t m = sorted[e].ts_ms / kMinuteMs;
      lo = std::min(lo, m);
      hi = std::max(hi, m);
      last = std::max(last, sorted[e].ts_ms);
    }
    ObjectDelta& d = batch[keys.Key(id)];
    d.last_access_ms = last;
    auto count = [&d](const LoggedAccess& a, HourDelta& h) {
      if (a.write) {
        d.writes++;
        d.bytes_written += a.bytes;
        h.writes++;
      } else {
        d.reads++;
        d.bytes_read += a.bytes;
        h.reads++;
      }
      h.bytes += a.bytes;
    };
    if (hi - lo < kSpan) {
      uint32_t per_minute[kSpan];
      HourDelta per_hour[kSpanHours];
      const int64_t first_hour = lo / 60;
      std::fill(per_minute, per_minute + (hi - lo + 1), 0);
      for (auto& h : per_hour) h = HourDelta{};
      for (size_t i = b; i < e; ++i) {
        const int64_t m = sorted[i].ts_ms / kMinuteMs;
        ++per_minute[m - lo];
        count(sorted[i], per_hour[m / 60 - first_hour]);
      }
      size_t minutes = 0, hours = 0;
      for (int64_t k = 0; k <= hi - lo; ++k) minutes += per_minute[k] != 0;
      for (const auto& h : per_hour) hours += h.reads + h.writes != 0;
      d.window.Reserve(minutes, hours);
      d.hours.reserve(hours);
      for (int64_t k = 0; k <= hi - lo; ++k) {
        if (per_minute[k]) d.window.Add((lo + k) * kMinuteMs, per_minute[k]);
      }
      for (int64_t k = 0; k < kSpanHours; ++k) {
        if (per_hour[k].reads + per_hour[k].writes == 0) continue;
        per_hour[k].hour = first_hour + k;
        d.hours.push_back(per_hour[k]);
      }
    } else {
      std::sort(sorted.begin() + static_cast<std::ptrdiff_t>(b),
                sorted.begin() + static_cast<std::ptrdiff_t>(e),
                [](const LoggedAccess& x, const LoggedAccess& y) { return x.ts_ms < y.ts_ms; });
      int64_t minute = -1, run = 0;
      for (size_t i = b; i < e; ++i) {
        const LoggedAccess& a = sorted[i];
        const int64_t m = a.ts_ms / kMinuteMs, hour = a.ts_ms / kHourMs;
        if (m != minute) {
          if (run) d.window.Add(minute * kMinuteMs, run);
          minute = m;
          run = 0;
        }
        ++run;
        if (d.hours.empty() || d.hours.back().hour != hour) d.hours.push_back(HourDelta{hour});
        count(a, d.hours.back());
      }
      d.window.Add(minute * kMinuteMs, run);
    }
    b = e;
  }
  return batch;
}

Status AccessConsumer::WriteBatch(const DeltaMap& batch_deltas,
                                  const std::map<int32_t, int64_t>& offsets,
                                  const std::map<int32_t, int64_t>& expected,
                                  const std::vector<std::string>& force) {
  // States are updated in cache_ in place; every caller clears cache_ when this fails, so a
  // state changed for a batch that was not written is never used. Folding another member's
  // journal entries is safe: each entry is applied in the one transaction that deletes it
  // (ApplyAccessBatch refuses if it is gone), and rows are version-checked.
  const int64_t now = clock_.NowMs();
  struct Item {
    const std::string* key;
    const ObjectDelta* delta = nullptr;     // from this batch
    const ObjectDelta* unfolded = nullptr;  // from the journal
    State* state = nullptr;
  };
  std::vector<Item> items;
  items.reserve(batch_deltas.size() + unfolded_.size() + force.size());
  for (const auto& [k, d] : batch_deltas) {
    Item item{&k, &d};
    if (auto it = unfolded_.find(k); it != unfolded_.end()) item.unfolded = &it->second;
    items.push_back(item);
  }
  for (const auto& [k, d] : unfolded_) {
    if (!batch_deltas.count(k)) items.push_back({&k, nullptr, &d});
  }
  std::unordered_set<std::string_view> forced;
  for (const auto& k : force) {
    if (!forced.insert(k).second) continue;
    if (!batch_deltas.count(k) && !unfolded_.count(k)) items.push_back({&k});
  }
  // Load the states we do not hold.
  std::vector<std::string> misses;
  for (const auto& item : items) {
    if (!cache_.count(*item.key)) misses.push_back(*item.key);
  }
  if (cache_.size() + misses.size() > options_.cache_entries) {
    cache_.clear();
    misses.clear();
    for (const auto& item : items) misses.push_back(*item.key);
  }
  if (!misses.empty()) {
    auto rows = store_.GetAccessStatsMany(misses);
    if (!rows.ok()) return rows.status().WithContext("loading access stats");
    for (auto& a : *rows) {
      State st;
      auto w = SlidingWindows::Decode(a.window_state);
      if (!w) {
        spdlog::warn("access stats of {} had unreadable window state; starting it afresh", a.key);
        Reject("corrupt_window_state");
      } else {
        st.windows = std::move(*w);
      }
      std::string key = a.key;
      st.stats = std::move(a);
      st.stats.window_state.clear();  // the decoded windows are the state
      cache_.insert_or_assign(std::move(key), std::move(st));
    }
  }

  MetadataStore::AccessBatch batch;
  batch.consumer = options_.name;
  batch.next_offsets = offsets;
  batch.expected_offsets = expected;
  batch.check_versions = true;
  batch.fold_journal = unfolded_ids_;
  batch.stats.reserve(items.size());
  for (auto& item : items) {
    auto [it, inserted] = cache_.try_emplace(*item.key);
    State& st = it->second;
    if (inserted) st.stats.key = *item.key;  // version 0: a new row
    item.state = &st;
    for (const ObjectDelta* d : {item.unfolded, item.delta}) {
      if (!d) continue;
      st.windows.Merge(d->window);
      st.stats.last_access_ms = std::max(st.stats.last_access_ms, d->last_access_ms);
      st.stats.reads += d->reads;
      st.stats.writes += d->writes;
      st.stats.bytes_read += d->bytes_read;
      st.stats.bytes_written += d->bytes_written;
      for (const auto& h : d->hours) {
        batch.hourly.push_back({*item.key, h.hour, h.reads, h.writes, h.bytes});
      }
    }
    st.windows.Prune(now);
    st.stats.access_1h = st.windows.Count1h(now);
    st.stats.access_24h = st.windows.Count24h(now);
    st.stats.access_7d = st.windows.Count7d(now);
    if (forced.count(*item.key) || HeatFoldDue(st.stats.heat_updated_ms, now, options_.heat)) {
      double dt = st.stats.heat_updated_ms ? (now - st.stats.heat_updated_ms) / 1000.0 : 0.0;
      st.stats.heat =
          FoldHeat(st.stats.heat, dt, st.stats.access_1h, st.stats.access_24h, options_.heat);
      st.stats.heat_updated_ms = now;
    }
    st.stats.updated_ms = now;
    st.stats.window_state = st.windows.Encode();
    batch.stats.push_back(std::move(st.stats));
  }
  DIM_RETURN_IF_ERROR(store_.ApplyAccessBatch(batch));

  for (size_t i = 0; i < items.size(); ++i) {
    State& st = *items[i].state;
    st.stats = std::move(batch.stats[i]);
    st.stats.version += 1;  // what the store now holds
    st.stats.window_state.clear();
  }
  // Hourly history retention, checked once an hour.
  int64_t hour = now / kHourMs;
  if (hour != last_prune_hour_) {
    last_prune_hour_ = hour;
    auto pruned = store_.PruneHourly(hour - options_.history_retention_days * 24);
    if (!pruned.ok()) spdlog::warn("pruning hourly history: {}", pruned.status().ToString());
  }
  return Status::OK();
}

void AccessConsumer::Requeue(const KeyIndex& keys, const std::vector<LoggedAccess>& log) {
  // A failed flush puts its events back so nothing is lost; the next flush retries them.
  std::lock_guard<std::mutex> lock(mu_);
  if (&keys == keys_.get()) {
    log_.insert(log_.end(), log.begin(), log.end());
  } else {  // the index was replaced at the flush: the ids are the old index's
    log_.reserve(log_.size() + log.size());
    for (LoggedAccess a : log) {
      a.id = keys_->Intern(keys.Key(a.id));
      log_.push_back(a);
    }
  }
  pending_events_ += static_cast<int64_t>(log.size());
  pending_gauge_.Set(static_cast<double>(pending_events_));
}

void AccessConsumer::ResyncLocked() {
  log_.clear();
  pending_events_ = 0;
  pending_gauge_.Set(0);
  next_offsets_.clear();
  seek_pending_ = true;
}

void AccessConsumer::SeekIfNeeded() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!seek_pending_) return;
  }
  std::lock_guard<std::mutex> flush_lock(flush_mu_);
  auto stored = store_.GetConsumerOffsets(options_.name);
  if (!stored.ok()) {
    spdlog::warn("consumer {}: reading offsets to resume from: {}", options_.name,
                 stored.status().ToString());
    return;  // still dropping; tried again on the next round
  }
  std::map<int32_t, int64_t> to;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto& [p, have] : committed_) {
      auto it = stored->find(p);
      have = it != stored->end() ? it->second : MetadataStore::kNoOffset;
      to[p] = have;
    }
  }
  Status s = bus_.Seek(to);
  if (!s.ok()) {
    spdlog::warn("consumer {}: seeking back to the stored offsets: {}", options_.name,
                 s.ToString());
    return;
  }
  std::lock_guard<std::mutex> lock(mu_);
  seek_pending_ = false;
  next_offsets_.clear();
}

void AccessConsumer::UpdateLag() {
  const std::map<int32_t, int64_t> ends = bus_.EndOffsets();
  int64_t lag = 0;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& [p, stored] : committed_) {
      auto it = ends.find(p);
      if (it != ends.end()) lag += std::max<int64_t>(0, it->second - std::max<int64_t>(0, stored));
    }
  }
  lag_.store(lag);
  lag_gauge_.Set(static_cast<double>(lag));
}

void AccessConsumer::OnPartitionsRevoked(const std::vector<int32_t>& partitions) {
  rebalances_metric_.Labels({"revoked"}).Inc(static_cast<double>(partitions.size()));
  // Flush everything (more than the revoked partitions is harmless); the next owner resumes
  // exactly where this batch ends.
  std::lock_guard<std::mutex> flush_lock(flush_mu_);
  Status s = FlushLocked({}, /*may_journal=*/false);
  if (!s.ok() && !IsFenced(s)) {
    spdlog::error(
        "consumer {}: flush before giving up {} partition(s) failed ({}); the new owner "
        "re-reads those events",
        options_.name, partitions.size(), s.ToString());
    std::lock_guard<std::mutex> lock(mu_);
    ResyncLocked();
  }
  // Objects of these partitions may now be written by another consumer.
  cache_.clear();
  std::lock_guard<std::mutex> lock(mu_);
  for (int32_t p : partitions) {
    committed_.erase(p);
    next_offsets_.erase(p);
  }
}

Result<std::map<int32_t, int64_t>> AccessConsumer::OnPartitionsAssigned(
    const std::vector<int32_t>& partitions) {
  rebalances_metric_.Labels({"assigned"}).Inc(static_cast<double>(partitions.size()));
  Result<std::map<int32_t, int64_t>> stored = Status::Internal("not read");
  for (int attempt = 0; attempt < 5; ++attempt) {
    stored = store_.GetConsumerOffsets(options_.name);
    if (stored.ok()) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(200 << attempt));
  }
  if (!stored.ok()) return stored.status().WithContext("reading consumer offsets");
  std::map<int32_t, int64_t> out;
  std::lock_guard<std::mutex> flush_lock(flush_mu_);
  cache_.clear();
  // A member that crashed may have left journal entries (counted in the offsets just read):
  // take them, so they are folded into the rows.
  if (Status r = RecoverJournal(); !r.ok()) return r.WithContext("reading the access journal");
  std::lock_guard<std::mutex> lock(mu_);
  for (int32_t p : partitions) {
    auto it = stored->find(p);
    int64_t at = it != stored->end() ? it->second : MetadataStore::kNoOffset;
    committed_[p] = at;
    next_offsets_.erase(p);
    if (at >= 0) out[p] = at;
  }
  return out;
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
  flusher_ = std::thread([this] { FlusherLoop(); });
  thread_ = std::thread([this] { Loop(); });
}

void AccessConsumer::Stop() {
  if (!running_.exchange(false)) return;
  if (thread_.joinable()) thread_.join();
}

void AccessConsumer::FlusherLoop() {
  int backoff_ms = 100;
  std::unique_lock<std::mutex> lock(flusher_mu_);
  for (;;) {
    flusher_cv_.wait(lock, [&] { return flush_requested_ || !running_.load(); });
    if (!flush_requested_) return;  // stopping, nothing asked
    flush_requested_ = false;
    flush_running_ = true;
    lock.unlock();
    Status s;
    {
      std::lock_guard<std::mutex> flush_lock(flush_mu_);
      s = FlushLocked({}, /*may_journal=*/true);
    }
    lock.lock();
    flush_running_ = false;
    if (!s.ok() && !IsFenced(s)) {
      spdlog::error("consumer flush failed (will retry): {}", s.ToString());
      flusher_cv_.wait_for(lock, std::chrono::milliseconds(backoff_ms),
                           [&] { return !running_.load(); });
      backoff_ms = std::min(backoff_ms * 2, 5000);
      flush_requested_ = true;
    } else {
      backoff_ms = 100;
    }
  }
}

void AccessConsumer::Loop() {
  int64_t last_flush = MonotonicMicros(), last_lag = 0;
  const int64_t backlog_limit = std::max<int64_t>(2 * options_.flush_max_events, 100000);
  while (running_.load()) {
    SeekIfNeeded();
    int64_t pending;
    {
      std::lock_guard<std::mutex> lock(mu_);
      pending = pending_events_;
    }
    bool busy;
    {
      std::lock_guard<std::mutex> lock(flusher_mu_);
      busy = flush_requested_ || flush_running_;
    }
    if (busy && pending >= backlog_limit) {
      // The store is behind: stop taking events until the running flush is done (the bus
      // buffers them, or drops and counts them if it is the bounded in-process one).
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
      continue;
    }
    auto batch = bus_.Poll(options_.poll_batch, 50);
    if (!batch.ok()) {
      spdlog::warn("consumer poll: {}", batch.status().ToString());
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    } else if (!batch->empty()) {
      Ingest(*batch);
      pending += static_cast<int64_t>(batch->size());
    }
    if (MonotonicMicros() - last_lag >= 500'000) {
      UpdateLag();
      last_lag = MonotonicMicros();
    }
    int64_t since = (MonotonicMicros() - last_flush) / 1000;
    if (!busy && (pending >= options_.flush_max_events || since >= options_.flush_interval_ms)) {
      {
        std::lock_guard<std::mutex> lock(flusher_mu_);
        flush_requested_ = true;
      }
      flusher_cv_.notify_one();
      last_flush = MonotonicMicros();
    }
  }
  // The in-process bus loses what it holds at exit: take it. A replayable bus keeps it for
  // whoever resumes from the stored offsets.
  if (!fenced_) {
    for (;;) {
      auto batch = bus_.Poll(options_.poll_batch, 0);
      if (!batch.ok() || batch->empty()) break;
      Ingest(*batch);
    }
  }
  {
    // running_ is false: taking the lock orders that before the flusher's next wait, so the
    // notification below cannot be lost.
    std::lock_guard<std::mutex> lock(flusher_mu_);
  }
  flusher_cv_.notify_all();
  if (flusher_.joinable()) flusher_.join();
  Status s = Flush();
  if (!s.ok()) spdlog::error("final consumer flush failed: {}", s.ToString());
}

}  // namespace dim
