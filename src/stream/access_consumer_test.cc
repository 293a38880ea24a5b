#include "stream/access_consumer.h"

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <map>
#include <mutex>
#include <thread>

#include "bus/memory_event_bus.h"
#include "store/sqlite/sqlite_metadata_store.h"

namespace dim {
namespace {

constexpr int64_t kT0 = 1'700'000'000'000 - (1'700'000'000'000 % 3'600'000);

class AccessConsumerTest : public ::testing::Test {
 protected:
  AccessConsumerTest() : clock_(kT0 * 1000), bus_(1 << 16) {
    store_ = SqliteMetadataStore::Open(":memory:").value();
    ConsumerOptions o;
    o.flush_interval_ms = 10;
    o.heat.interval_s = 60;
    o.heat.tau_s = 600;
    o.heat.daily_weight = 0.5;
    consumer_ = std::make_unique<AccessConsumer>(*store_, bus_, clock_, metrics_, o);
  }

  void Publish(const std::string& key, int64_t ts, AccessOp op = AccessOp::kGet,
               int32_t status = 200) {
    AccessEvent e;
    e.key = key;
    e.ts_ms = ts;
    e.op = op;
    e.bytes = 100;
    e.status = status;
    ASSERT_TRUE(bus_.Publish(e));
  }

  void Drain() {
    for (;;) {
      auto b = bus_.Poll(1000, 0).value();
      if (b.empty()) break;
      consumer_->Ingest(b);
    }
    ASSERT_TRUE(consumer_->Flush().ok());
  }

  AccessStats Stats(const std::string& key) { return store_->GetAccessStats(key).value().value(); }

  VirtualClock clock_;
  MemoryEventBus bus_;
  MetricsRegistry metrics_;
  std::unique_ptr<SqliteMetadataStore> store_;
  std::unique_ptr<AccessConsumer> consumer_;
};

TEST_F(AccessConsumerTest, CountsWindowsAndCounters) {
  for (int i = 0; i < 5; ++i) Publish("demo/a", kT0 + i * 1000);
  Publish("demo/a", kT0 + 2000, AccessOp::kPut);
  Publish("demo/b", kT0 - 2 * 3'600'000);       // two hours ago: in 24h, not in 1h
  Publish("demo/c", kT0, AccessOp::kGet, 404);  // failed request: not an access
  clock_.SetMicros((kT0 + 10'000) * 1000);
  Drain();
  auto a = Stats("demo/a");
  EXPECT_EQ(a.access_1h, 6);
  EXPECT_EQ(a.access_24h, 6);
  EXPECT_EQ(a.reads, 5);
  EXPECT_EQ(a.writes, 1);
  EXPECT_EQ(a.bytes_read, 500);
  EXPECT_EQ(a.last_access_ms, kT0 + 4000);
  EXPECT_DOUBLE_EQ(a.heat, 6);  // first fold: 6 in the last hour
  auto b = Stats("demo/b");
  EXPECT_EQ(b.access_1h, 0);
  EXPECT_EQ(b.access_24h, 1);
  EXPECT_DOUBLE_EQ(b.heat, 0.5);
  EXPECT_FALSE(store_->GetAccessStats("demo/c")->has_value());
  auto hourly = store_->ListHourly("demo/a", 0, INT64_MAX).value();
  ASSERT_EQ(hourly.size(), 1u);
  EXPECT_EQ(hourly[0].reads, 5);
  EXPECT_EQ(hourly[0].writes, 1);
  EXPECT_EQ(store_->GetConsumerOffsets("dim-consumer").value().at(0), 8);
  EXPECT_EQ(metrics_.AddCounter("dim_events_ingested_total", "").Get().Value(), 8);
}

TEST_F(AccessConsumerTest, LagIsWhatTheStoreHasNotCountedYet) {
  ASSERT_TRUE(consumer_->Init().ok());
  for (int i = 0; i < 7; ++i) Publish("demo/a", kT0);
  consumer_->Start();
  auto gauge = [&] {
    std::string text = metrics_.RenderText();
    auto at = text.find("\ndim_consumer_lag_events ");
    return at == std::string::npos ? -1.0 : std::stod(text.substr(at + 25));
  };
  // The poll loop takes the events, flushes within flush_interval_ms and samples the lag.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (consumer_->lag() != 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(consumer_->lag(), 0);
  EXPECT_EQ(gauge(), 0);
  consumer_->Stop();
  EXPECT_EQ(store_->GetConsumerOffsets("dim-consumer").value().at(0), 7);
  // Stopped: what arrives now is lag until a consumer counts it.
  for (int i = 0; i < 5; ++i) Publish("demo/a", kT0);
  EXPECT_EQ(bus_.EndOffsets().at(0), 12);
}

TEST(ConsumerOptionsTest, KafkaMembersOfAGroupShareOneOffsetName) {
  Config c;
  EXPECT_EQ(ConsumerOptions::FromConfig(c).name, "dim-consumer");
  c.bus.backend = "kafka";
  c.bus.topic = "file_access";
  c.bus.group = "fleet";
  c.stream.flush_interval_ms = 250;
  c.stream.history_retention_days = 9;
  ConsumerOptions o = ConsumerOptions::FromConfig(c);
  EXPECT_EQ(o.name, "kafka:file_access:fleet");
  EXPECT_EQ(o.flush_interval_ms, 250);
  EXPECT_EQ(o.history_retention_days, 9);
}

TEST_F(AccessConsumerTest, AccumulatesAcrossFlushesAndSlides) {
  Publish("demo/a", kT0);
  Drain();
  clock_.AdvanceMs(30 * 60'000);
  Publish("demo/a", kT0 + 30 * 60'000);
  Drain();
  EXPECT_EQ(Stats("demo/a").access_1h, 2);
  // An hour later nothing new: stored counts are stale, StatsAsOf slides them.
  clock_.AdvanceMs(61 * 60'000);
  auto now = StatsAsOf(Stats("demo/a"), clock_.NowMs(), 600);
  EXPECT_EQ(now.access_1h, 0);
  EXPECT_EQ(now.access_24h, 2);
  EXPECT_LT(now.heat, Stats("demo/a").heat);
}

TEST_F(AccessConsumerTest, KeysIdleInABatchAreNotRewrittenAndReusedEntriesCountExactly) {
  // A batch reuses the previous batch's per-key entries: an idle key's entry must write nothing
  // and a reused one must start from zero.
  for (int i = 0; i < 3; ++i) Publish("demo/a", kT0 + i * 60'000);
  Publish("demo/b", kT0, AccessOp::kPut);
  Drain();
  ASSERT_EQ(Stats("demo/b").version, 1);
  clock_.AdvanceMs(11 * 60'000);  // the accesses below are not in the future
  for (int round = 1; round <= 3; ++round) {
    clock_.AdvanceMs(1000);
    Publish("demo/a", kT0 + 10 * 60'000 + round);
    Drain();
    EXPECT_EQ(Stats("demo/a").reads, 3 + round);
    EXPECT_EQ(Stats("demo/a").version, 1 + round);
  }
  EXPECT_EQ(Stats("demo/b").version, 1) << "demo/b had no accesses since its first batch";
  EXPECT_EQ(Stats("demo/b").writes, 1);
  EXPECT_EQ(Stats("demo/a").access_1h, 6);
  auto hourly = store_->ListHourly("demo/a", kT0 / 3'600'000, kT0 / 3'600'000 + 1).value();
  ASSERT_EQ(hourly.size(), 1u);
  EXPECT_EQ(hourly[0].reads, 6);
  EXPECT_EQ(consumer_->Flush().ok(), true);  // nothing pending: writes nothing
  EXPECT_EQ(Stats("demo/a").version, 4);
}

TEST_F(AccessConsumerTest, OneBatchOfAnObjectSpanningMinutesOrDaysCountsExactly) {
  // Within a batch an object's accesses are counted per minute when they span < 128 minutes
  // ("near", both edges of that span too) and sorted by time otherwise ("far": minutes to days
  // apart, in no order); both give the same windows, counters and hourly history.
  const int64_t hour = 3'600'000, minute = 60'000;
  const std::vector<int64_t> near = {kT0 - 127 * minute,          kT0,    kT0 - 61 * minute, kT0,
                                     kT0 - 127 * minute + 59'999, kT0 - 1};
  const std::vector<int64_t> far = {kT0 - 30 * hour, kT0,
                                    kT0 - 3 * hour,  kT0 - 6 * 24 * hour,
                                    kT0 - 3 * hour,  kT0 - 128 * minute};
  for (size_t i = 0; i < near.size(); ++i) {
    Publish("demo/near", near[i], i % 2 ? AccessOp::kPut : AccessOp::kGet);
    Publish("demo/far", far[i], i % 2 ? AccessOp::kPut : AccessOp::kGet);
  }
  Drain();
  auto n = Stats("demo/near"), f = Stats("demo/far");
  EXPECT_EQ(n.reads, 3);
  EXPECT_EQ(n.writes, 3);
  EXPECT_EQ(n.last_access_ms, kT0);
  EXPECT_EQ(n.access_1h, 3) << "kT0 twice and kT0 - 1 ms";
  EXPECT_EQ(n.access_24h, 6);
  EXPECT_EQ(f.reads, 3);
  EXPECT_EQ(f.writes, 3);
  EXPECT_EQ(f.last_access_ms, kT0);
  EXPECT_EQ(f.access_1h, 1);
  EXPECT_EQ(f.access_24h, 4);
  EXPECT_EQ(f.access_7d, 6);
  auto count_hours = [&](const std::string& key) {
    std::map<int64_t, std::pair<int64_t, int64_t>> by_hour;  // hour -> (reads, writes)
    for (const auto& h : store_->ListHourly(key, 0, INT64_MAX).value()) {
      by_hour[h.hour] = {h.reads, h.writes};
      EXPECT_EQ(h.bytes, 100 * (h.reads + h.writes));
    }
    return by_hour;
  };
  const int64_t h0 = kT0 / hour;  // kT0 is on an hour boundary
  using RW = std::pair<int64_t, int64_t>;
  auto nh = count_hours("demo/near");
  EXPECT_EQ(nh.size(), 4u);
  EXPECT_EQ(nh[h0], RW(0, 2));      // kT0 twice
  EXPECT_EQ(nh[h0 - 1], RW(0, 1));  // kT0 - 1 ms
  EXPECT_EQ(nh[h0 - 2], RW(1, 0));  // kT0 - 61 min
  EXPECT_EQ(nh[h0 - 3], RW(2, 0));  // both in the minute kT0 - 127 min
  auto fh = count_hours("demo/far");
  EXPECT_EQ(fh.size(), 4u);
  EXPECT_EQ(fh[h0], RW(0, 1));
  EXPECT_EQ(fh[h0 - 3], RW(2, 1));  // kT0 - 3 h twice, kT0 - 128 min
  EXPECT_EQ(fh[h0 - 30], RW(1, 0));
  EXPECT_EQ(fh[h0 - 6 * 24], RW(0, 1));
}

TEST_F(AccessConsumerTest, HeatFoldsOncePerInterval) {
  Publish("demo/a", kT0);
  Drain();
  double h1 = Stats("demo/a").heat;
  clock_.AdvanceMs(1000);
  Publish("demo/a", kT0 + 1000);
  Drain();
  EXPECT_DOUBLE_EQ(Stats("demo/a").heat, h1);  // within the interval: not folded again
  EXPECT_EQ(Stats("demo/a").access_1h, 2);
  clock_.AdvanceMs(60'000);
  Publish("demo/a", kT0 + 61'000);
  Drain();
  EXPECT_GT(Stats("demo/a").heat, h1);
}

TEST_F(AccessConsumerTest, RecordNowIsVisibleAtOnceWithForcedHeat) {
  Publish("demo/k", kT0);
  Drain();
  std::vector<AccessEvent> burst(100);
  for (auto& e : burst) {
    e.key = "demo/k";
    e.ts_ms = kT0 + 500;
  }
  clock_.AdvanceMs(500);
  ASSERT_TRUE(consumer_->RecordNow(burst).ok());
  auto s = Stats("demo/k");
  EXPECT_EQ(s.access_1h, 101);
  EXPECT_GT(s.heat, 100);  // folded despite the interval
  // /simulate events are not bus positions.
  auto offs = store_->GetConsumerOffsets("dim-consumer").value();
  EXPECT_EQ(offs.count(-1), 0u);
}

TEST_F(AccessConsumerTest, BadEventsAreCountedAndSkipped) {
  Publish("", kT0);
  Publish("demo/x", kT0 + 10 * 3'600'000);  // ten hours in the future
  Publish("demo/x", 0);
  Publish("demo/ok", kT0);
  Drain();
  auto& rej = metrics_.AddCounter("dim_events_rejected_total", "", {"reason"});
  EXPECT_EQ(rej.Labels({"empty_key"}).Value(), 1);
  EXPECT_EQ(rej.Labels({"future_timestamp"}).Value(), 1);
  EXPECT_EQ(rej.Labels({"bad_timestamp"}).Value(), 1);
  EXPECT_TRUE(store_->GetAccessStats("demo/ok")->has_value());
  EXPECT_EQ(store_->GetConsumerOffsets("dim-consumer").value().at(0), 4);  // committed past them
}

TEST_F(AccessConsumerTest, BackgroundLoopFlushesAndStopsCleanly) {
  consumer_->Start();
  for (int i = 0; i < 1000; ++i) Publish("demo/k" + std::to_string(i % 10), kT0);
  consumer_->Stop();  // drains and flushes
  int64_t total = 0;
  for (int i = 0; i < 10; ++i) total += Stats("demo/k" + std::to_string(i)).access_1h;
  EXPECT_EQ(total, 1000);
}

TEST_F(AccessConsumerTest, RestartResumesFromStoredOffsets) {
  for (int i = 0; i < 10; ++i) Publish("demo/a", kT0);
  Drain();
  // A new consumer over the same store starts from offset 10 (Seek is a no-op on the memory bus
  // but the stored offsets are what a durable bus resumes from).
  AccessConsumer again(*store_, bus_, clock_, metrics_, ConsumerOptions{});
  ASSERT_TRUE(again.Init().ok());
  EXPECT_EQ(store_->GetConsumerOffsets("dim-consumer").value().at(0), 10);
}

TEST_F(AccessConsumerTest, AStaleCachedRowIsReadAgainNotOverwritten) {
  Publish("demo/k", kT0);
  Drain();  // consumer_ now caches demo/k
  // Another writer (here: /simulate served by a second consumer on the same store, as another
  // process would) adds 100 accesses behind consumer_'s back.
  MemoryEventBus other_bus(16);
  MetricsRegistry other_metrics;
  AccessConsumer other(*store_, other_bus, clock_, other_metrics, ConsumerOptions{});
  std::vector<AccessEvent> burst(100);
  for (auto& e : burst) {
    e.key = "demo/k";
    e.ts_ms = kT0 + 1;
  }
  ASSERT_TRUE(other.RecordNow(burst).ok());
  Publish("demo/k", kT0 + 2);
  Drain();
  EXPECT_EQ(Stats("demo/k").reads, 102) << "nobody's accesses are lost";
  EXPECT_EQ(Stats("demo/k").access_1h, 102);
  auto& errs = metrics_.AddCounter("dim_consumer_flush_errors_total", "", {"code"});
  EXPECT_GE(errs.Labels({"Aborted"}).Value(), 1) << "the stale copy was detected";
}

// cache_entries = 4: every flush of these 10 keys replaces the consumer's key index, so a
// failed batch (its ids in the old index) is requeued into the new one. The failure is real: a
// trigger running `trigger_body` makes SQLite refuse every access_stats row until it is dropped.
void FailedFlushesLoseAndDoubleNothing(const std::string& trigger_body, StatusCode expected,
                                       const std::string& name) {
  const std::string path =
      ::testing::TempDir() + "/keys-requeue-" + name + "-" + std::to_string(::getpid()) + ".db";
  std::remove(path.c_str());
  VirtualClock clock(kT0 * 1000);
  auto store = SqliteMetadataStore::Open(path).value();
  MemoryEventBus bus(1 << 16);
  MetricsRegistry metrics;
  ConsumerOptions o;
  o.cache_entries = 4;
  AccessConsumer consumer(*store, bus, clock, metrics, o);
  ASSERT_TRUE(consumer.Init().ok());
  std::map<std::string, int64_t> reads, writes;
  auto publish = [&](int n) {
    for (int i = 0; i < n; ++i) {
      AccessEvent e;
      e.key = "demo/k" + std::to_string(i % 10);
      e.ts_ms = kT0 - (i % 7) * 61'000;
      e.op = i % 3 == 0 ? AccessOp::kPut : AccessOp::kGet;
      (e.op == AccessOp::kPut ? writes : reads)[e.key]++;
      ASSERT_TRUE(bus.Publish(e));
    }
  };
  auto ingest = [&] {
    for (;;) {
      auto b = bus.Poll(1000, 0).value();
      if (b.empty()) break;
      consumer.Ingest(b);
    }
  };
  publish(100);
  ingest();
  ASSERT_TRUE(consumer.Flush().ok());

  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  auto exec = [&](const char* sql) {
    char* err = nullptr;
    int rc = sqlite3_exec(db, sql, nullptr, nullptr, &err);
    EXPECT_EQ(rc, SQLITE_OK) << (err ? err : sql);
    sqlite3_free(err);
  };
  const std::string triggers =
      "CREATE TRIGGER fail_ins BEFORE INSERT ON access_stats BEGIN " + trigger_body +
      "; END; CREATE TRIGGER fail_upd BEFORE UPDATE ON access_stats BEGIN " + trigger_body +
      "; END;";
  exec(triggers.c_str());
  publish(55);
  ingest();
  Status failed = consumer.Flush();
  EXPECT_FALSE(failed.ok()) << "the trigger refuses the rows";
  EXPECT_EQ(failed.code(), expected) << failed.ToString();
  publish(23);  // new events after the index was replaced, beside the requeued ones
  ingest();
  EXPECT_FALSE(consumer.Flush().ok());
  exec("DROP TRIGGER fail_ins; DROP TRIGGER fail_upd;");
  sqlite3_close(db);
  ASSERT_TRUE(consumer.Flush().ok());

  for (int k = 0; k < 10; ++k) {
    const std::string key = "demo/k" + std::to_string(k);
    auto st = store->GetAccessStats(key).value();
    ASSERT_TRUE(st.has_value()) << key;
    EXPECT_EQ(st->reads, reads[key]) << key;
    EXPECT_EQ(st->writes, writes[key]) << key;
    EXPECT_EQ(st->access_1h, reads[key] + writes[key]) << key;
  }
  EXPECT_EQ(store->GetConsumerOffsets("dim-consumer").value().at(0), 178);
  store.reset();
  std::remove(path.c_str());
}

TEST(AccessConsumerKeysTest, AFailedFlushAfterTheKeyIndexWasReplacedLosesAndDoublesNothing) {
  FailedFlushesLoseAndDoubleNothing("SELECT no_such_function()", StatusCode::kInternal, "internal");
}

TEST(AccessConsumerKeysTest, AConstraintErrorOnTheInProcessBusIsRetriedNotTakenForFencing) {
  // SQLite reports RAISE(ABORT) as a constraint error (FailedPrecondition, the code fencing
  // uses). The in-process bus cannot re-deliver, so the consumer keeps the batch and retries.
  FailedFlushesLoseAndDoubleNothing("SELECT RAISE(ABORT, 'refused by a test trigger')",
                                    StatusCode::kFailedPrecondition, "constraint");
}

// ---- the access journal -----------------------------------------------------------------------

ConsumerOptions JournalOptions() {
  ConsumerOptions o;
  o.flush_interval_ms = 5;
  o.journal_min_objects = 0;       // every background flush goes to the journal
  o.fold_interval_ms = 3'600'000;  // and only Flush / Stop fold it
  return o;
}

template <typename F>
bool Eventually(F done) {
  for (int i = 0; i < 3000 && !done(); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  return done();
}

TEST(AccessJournalTest, BackgroundFlushesGoToTheJournalAndStopFoldsThemExactly) {
  VirtualClock clock(kT0 * 1000);
  auto store = SqliteMetadataStore::Open(":memory:").value();
  MemoryEventBus bus(1 << 16);
  MetricsRegistry metrics;
  auto consumer = std::make_unique<AccessConsumer>(*store, bus, clock, metrics, JournalOptions());
  ASSERT_TRUE(consumer->Init().ok());
  consumer->Start();
  int64_t sent = 0;
  for (int round = 0; round < 5; ++round) {
    for (int i = 0; i < 200; ++i) {
      AccessEvent e;
      e.key = "demo/o-" + std::to_string(i % 37);
      e.ts_ms = kT0 - i * 1000;
      e.op = i % 5 == 0 ? AccessOp::kPut : AccessOp::kGet;
      e.bytes = 10;
      ASSERT_TRUE(bus.Publish(e));
      ++sent;
    }
    ASSERT_TRUE(Eventually([&] {
      auto offs = store->GetConsumerOffsets("dim-consumer").value();
      return offs.count(0) && offs.at(0) == sent;
    }));
  }
  // Durable with their offsets, in the journal; the rows wait for the fold.
  EXPECT_FALSE(store->ListAccessJournal("dim-consumer")->empty());
  EXPECT_GE(metrics.AddCounter("dim_consumer_journal_entries_total", "").Get().Value(), 1);
  consumer->Stop();
  EXPECT_TRUE(store->ListAccessJournal("dim-consumer")->empty()) << "Stop folds the journal";
  int64_t reads = 0, writes = 0;
  for (int k = 0; k < 37; ++k) {
    auto s = store->GetAccessStats("demo/o-" + std::to_string(k)).value().value();
    reads += s.reads;
    writes += s.writes;
  }
  EXPECT_EQ(reads + writes, sent);
  EXPECT_EQ(writes, sent / 5);
  int64_t hourly = 0;
  for (const auto& h : store->ListHourly("", 0, INT64_MAX).value()) hourly += h.reads + h.writes;
  EXPECT_EQ(hourly, sent) << "the hourly history is exact too";
  EXPECT_EQ(store->GetAccessStats("demo/o-0").value()->access_1h,
            (200 / 37 + 1) * 5);  // i = 0, 37, ..., 185 in every round, all within the hour
}

TEST(AccessJournalTest, ACrashedConsumersEntriesAreFoldedOnceByTheNextOne) {
  VirtualClock clock(kT0 * 1000);
  auto store = SqliteMetadataStore::Open(":memory:").value();
  // What a consumer that crashed after two journal flushes leaves: two entries, their offsets.
  DeltaMap first, second;
  first["demo/a"].reads = 3;
  first["demo/a"].window.Add(kT0 - 1000, 3);
  first["demo/a"].hours.push_back({kT0 / 3'600'000 - 1, 3, 0, 30});
  first["demo/a"].last_access_ms = kT0 - 1000;
  second["demo/a"].writes = 1;
  second["demo/a"].window.Add(kT0, 1);
  second["demo/a"].hours.push_back({kT0 / 3'600'000, 0, 1, 5});
  second["demo/a"].last_access_ms = kT0;
  second["demo/b"].reads = 2;
  second["demo/b"].window.Add(kT0, 2);
  second["demo/b"].hours.push_back({kT0 / 3'600'000, 2, 0, 0});
  ASSERT_TRUE(store->AppendAccessJournal("dim-consumer", EncodeDeltas(first), {{0, 3}}, {}).ok());
  ASSERT_TRUE(store->AppendAccessJournal("dim-consumer", EncodeDeltas(second), {{0, 6}}, {}).ok());
  ASSERT_TRUE(store->AppendAccessJournal("dim-consumer", "\x07garbage", {}, {}).ok());  // damage

  MemoryEventBus bus(16);
  MetricsRegistry metrics;
  AccessConsumer next(*store, bus, clock, metrics, ConsumerOptions{});
  ASSERT_TRUE(next.Init().ok());
  EXPECT_EQ(bus.EndOffsets().at(0), 6) << "resumes after the journal's offsets";
  ASSERT_TRUE(next.Flush().ok());
  EXPECT_TRUE(store->ListAccessJournal("dim-consumer")->empty());
  auto a = store->GetAccessStats("demo/a").value().value();
  EXPECT_EQ(a.reads, 3);
  EXPECT_EQ(a.writes, 1);
  EXPECT_EQ(a.access_1h, 4);
  EXPECT_EQ(a.last_access_ms, kT0);
  EXPECT_EQ(store->GetAccessStats("demo/b").value()->reads, 2);
  EXPECT_EQ(store->ListHourly("demo/a", 0, INT64_MAX)->size(), 2u);
  EXPECT_EQ(metrics.AddCounter("dim_events_rejected_total", "", {"reason"})
                .Labels({"corrupt_journal"})
                .Value(),
            1);
  ASSERT_TRUE(next.Flush().ok());  // folded once: nothing more to add
  EXPECT_EQ(store->GetAccessStats("demo/a").value()->reads, 3);
}

TEST(AccessJournalTest, EntriesFoldedByAnotherMemberAreNotCountedTwice) {
  VirtualClock clock(kT0 * 1000);
  auto store = SqliteMetadataStore::Open(":memory:").value();
  MemoryEventBus bus(1 << 12);
  MetricsRegistry metrics;
  AccessConsumer a(*store, bus, clock, metrics, JournalOptions());
  ASSERT_TRUE(a.Init().ok());
  a.Start();
  for (int i = 0; i < 50; ++i) {
    AccessEvent e;
    e.key = "demo/shared";
    e.ts_ms = kT0;
    ASSERT_TRUE(bus.Publish(e));
  }
  ASSERT_TRUE(Eventually([&] {
    auto offs = store->GetConsumerOffsets("dim-consumer").value();
    return offs.count(0) && offs.at(0) == 50;
  }));
  ASSERT_FALSE(store->ListAccessJournal("dim-consumer")->empty());
  // Another member of the same name (a new owner after a rebalance) folds a's entries.
  MemoryEventBus other_bus(16);
  MetricsRegistry other_metrics;
  AccessConsumer b(*store, other_bus, clock, other_metrics, ConsumerOptions{});
  ASSERT_TRUE(b.Init().ok());
  ASSERT_TRUE(b.Flush().ok());
  EXPECT_EQ(store->GetAccessStats("demo/shared").value()->reads, 50);
  // a goes on, then folds at Stop: its entries are gone, so it re-reads instead of adding them.
  for (int i = 0; i < 7; ++i) {
    AccessEvent e;
    e.key = "demo/shared";
    e.ts_ms = kT0;
    ASSERT_TRUE(bus.Publish(e));
  }
  ASSERT_TRUE(
      Eventually([&] { return store->GetConsumerOffsets("dim-consumer").value().at(0) == 57; }));
  a.Stop();
  EXPECT_EQ(store->GetAccessStats("demo/shared").value()->reads, 57);
  EXPECT_TRUE(store->ListAccessJournal("dim-consumer")->empty());
  EXPECT_GE(metrics.AddCounter("dim_consumer_flush_errors_total", "", {"code"})
                .Labels({"Aborted"})
                .Value(),
            1)
      << "a noticed that its entries had been folded";
}

// A replayable, partitioned bus for unit tests of the consumer's rebalance and fencing logic:
// a log per partition shared by every member, this member's positions, and rebalances the test
// schedules, delivered from inside Poll as Kafka delivers them. (Kafka itself is tested in
// access_consumer_kafka_test.cc against librdkafka's mock cluster.)
struct SharedLog {
  std::mutex mu;
  std::map<int32_t, std::vector<AccessEvent>> parts;
  void Append(int32_t p, const std::string& key, int64_t ts) {
    std::lock_guard<std::mutex> lock(mu);
    AccessEvent e;
    e.key = key;
    e.ts_ms = ts;
    parts[p].push_back(e);
  }
};

class LogBus final : public EventBus {
 public:
  explicit LogBus(SharedLog& log) : log_(log) {}
  bool Publish(AccessEvent) override { return false; }
  bool PublishWait(AccessEvent, int) override { return false; }
  Result<std::vector<BusMessage>> Poll(size_t max, int timeout_ms) override {
    std::vector<std::pair<bool, std::vector<int32_t>>> ops;
    {
      std::lock_guard<std::mutex> lock(mu_);
      ops.swap(ops_);
    }
    for (auto& [assign, parts] : ops) {
      if (!listener_) continue;
      if (assign) {
        auto at = listener_->OnPartitionsAssigned(parts);
        EXPECT_TRUE(at.ok());
        std::lock_guard<std::mutex> lock(mu_);
        for (int32_t p : parts) pos_[p] = at->count(p) ? at->at(p) : 0;
      } else {
        listener_->OnPartitionsRevoked(parts);
        std::lock_guard<std::mutex> lock(mu_);
        for (int32_t p : parts) pos_.erase(p);
      }
    }
    std::vector<BusMessage> out;
    {
      std::lock_guard<std::mutex> lock(mu_);
      std::lock_guard<std::mutex> log_lock(log_.mu);
      for (auto& [p, at] : pos_) {
        const auto& v = log_.parts[p];
        while (at < static_cast<int64_t>(v.size()) && out.size() < max) {
          BusMessage m;
          m.event = v[static_cast<size_t>(at)];
          m.partition = p;
          m.offset = at++;
          out.push_back(std::move(m));
        }
      }
    }
    if (out.empty() && timeout_ms > 0) {
      std::this_thread::sleep_for(std::chrono::milliseconds(std::min(timeout_ms, 5)));
    }
    return out;
  }
  Status Commit(const std::map<int32_t, int64_t>&) override { return Status::OK(); }
  Status Seek(const std::map<int32_t, int64_t>& next) override {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& [p, off] : next) {
      if (pos_.count(p)) pos_[p] = std::max<int64_t>(off, 0);
    }
    ++seeks_;
    return Status::OK();
  }
  bool Replayable() const override { return true; }
  void SetPartitionListener(PartitionListener* l) override { listener_ = l; }
  void Close() override {}
  Stats GetStats() const override { return {}; }

  void ScheduleAssign(std::vector<int32_t> parts) {
    std::lock_guard<std::mutex> lock(mu_);
    ops_.push_back({true, std::move(parts)});
  }
  void ScheduleRevoke(std::vector<int32_t> parts) {
    std::lock_guard<std::mutex> lock(mu_);
    ops_.push_back({false, std::move(parts)});
  }
  // Re-delivers from `offset` without telling the consumer (a seek that did not take effect).
  void Rewind(int32_t p, int64_t offset) {
    std::lock_guard<std::mutex> lock(mu_);
    pos_[p] = offset;
  }
  int64_t Position(int32_t p) {
    std::lock_guard<std::mutex> lock(mu_);
    return pos_.count(p) ? pos_[p] : -1;
  }
  int seeks() {
    std::lock_guard<std::mutex> lock(mu_);
    return seeks_;
  }

 private:
  SharedLog& log_;
  PartitionListener* listener_ = nullptr;
  std::mutex mu_;
  std::map<int32_t, int64_t> pos_;
  std::vector<std::pair<bool, std::vector<int32_t>>> ops_;
  int seeks_ = 0;
};

class RebalanceTest : public ::testing::Test {
 protected:
  RebalanceTest() : clock_(kT0 * 1000) { store_ = SqliteMetadataStore::Open(":memory:").value(); }
  std::unique_ptr<AccessConsumer> Make(LogBus& bus, MetricsRegistry& m) {
    ConsumerOptions o;
    o.name = "kafka:file_access:g";
    auto c = std::make_unique<AccessConsumer>(*store_, bus, clock_, m, o);
    EXPECT_TRUE(c->Init().ok());
    return c;
  }
  // Polls everything the bus has now into the consumer.
  static int Pump(LogBus& bus, AccessConsumer& c) {
    int n = 0;
    for (;;) {
      auto b = bus.Poll(1000, 0).value();
      if (b.empty()) return n;
      n += static_cast<int>(b.size());
      c.Ingest(b);
    }
  }
  int64_t TotalReads() {
    int64_t sum = 0;
    for (int k = 0; k < 10; ++k) {
      if (auto s = store_->GetAccessStats("demo/k" + std::to_string(k)).value()) sum += s->reads;
    }
    return sum;
  }
  void Fill(int32_t p, int n, int from = 0) {
    for (int i = from; i < from + n; ++i)
      log_.Append(p, "demo/k" + std::to_string(p * 5 + i % 5), kT0);
  }
  double Metric(MetricsRegistry& m, const std::string& name, const std::string& label = "") {
    auto& f = m.AddCounter(
        name, "", label.empty() ? std::vector<std::string>{} : std::vector<std::string>{"x"});
    return label.empty() ? f.Get().Value() : f.Labels({label}).Value();
  }

  VirtualClock clock_;
  std::unique_ptr<SqliteMetadataStore> store_;
  SharedLog log_;
};

TEST_F(RebalanceTest, RevocationFlushesFirstSoTheNextOwnerResumesExactly) {
  Fill(0, 60);
  Fill(1, 40);
  LogBus bus_a(log_), bus_b(log_);
  MetricsRegistry ma, mb;
  auto a = Make(bus_a, ma);
  auto b = Make(bus_b, mb);
  bus_a.ScheduleAssign({0, 1});
  EXPECT_EQ(Pump(bus_a, *a), 100);
  // A rebalance: a gives both partitions up before b gets them. Nothing was flushed before.
  bus_a.ScheduleRevoke({0, 1});
  EXPECT_EQ(Pump(bus_a, *a), 0);
  auto offs = store_->GetConsumerOffsets("kafka:file_access:g").value();
  EXPECT_EQ(offs.at(0), 60);
  EXPECT_EQ(offs.at(1), 40);
  bus_b.ScheduleAssign({0, 1});
  EXPECT_EQ(Pump(bus_b, *b), 0) << "b resumes after what a counted";
  Fill(0, 20, 60);
  EXPECT_EQ(Pump(bus_b, *b), 20);
  ASSERT_TRUE(b->Flush().ok());
  EXPECT_EQ(TotalReads(), 120);
  // Back to a: its cache was dropped on revocation, so it builds on b's rows (no stale write,
  // not even a detected one).
  bus_b.ScheduleRevoke({0, 1});
  EXPECT_EQ(Pump(bus_b, *b), 0);
  bus_a.ScheduleAssign({0, 1});
  Fill(0, 5, 80);
  EXPECT_EQ(Pump(bus_a, *a), 5);
  ASSERT_TRUE(a->Flush().ok());
  EXPECT_EQ(TotalReads(), 125);
  EXPECT_EQ(Metric(ma, "dim_consumer_flush_errors_total", "Aborted"), 0);
  EXPECT_EQ(Metric(ma, "dim_consumer_rebalances_total", "revoked"), 2);
}

TEST_F(RebalanceTest, AZombieThatLostItsPartitionIsFencedAndCountsNothingTwice) {
  Fill(0, 150);
  LogBus bus_a(log_), bus_b(log_);
  MetricsRegistry ma, mb;
  auto a = Make(bus_a, ma);
  auto b = Make(bus_b, mb);
  bus_a.ScheduleAssign({0});
  auto first = bus_a.Poll(100, 0).value();
  ASSERT_EQ(first.size(), 100u);
  a->Ingest(first);
  // a stalls (a long GC pause, a slow disk); the group gives partition 0 to b meanwhile.
  bus_b.ScheduleAssign({0});
  EXPECT_EQ(Pump(bus_b, *b), 150);
  ASSERT_TRUE(b->Flush().ok());
  // a wakes up and flushes what it holds: refused, since b moved the partition on.
  Status s = a->Flush();
  EXPECT_EQ(s.code(), StatusCode::kFailedPrecondition) << s.ToString();
  EXPECT_EQ(TotalReads(), 150) << "a's 100 events are not counted twice";
  EXPECT_EQ(store_->GetConsumerOffsets("kafka:file_access:g").value().at(0), 150);
  // a's poll loop seeks back to the stored offsets before it takes anything more.
  a->Start();
  for (int i = 0; i < 2000 && bus_a.Position(0) != 150; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  EXPECT_EQ(bus_a.Position(0), 150);
  a->Stop();
  EXPECT_EQ(TotalReads(), 150);
  EXPECT_EQ(Metric(ma, "dim_consumer_flush_errors_total", "FailedPrecondition"), 1);
}

TEST_F(RebalanceTest, ReDeliveredEventsBelowTheStoredOffsetAreSkipped) {
  Fill(0, 50);
  LogBus bus(log_);
  MetricsRegistry m;
  auto c = Make(bus, m);
  bus.ScheduleAssign({0});
  EXPECT_EQ(Pump(bus, *c), 50);
  ASSERT_TRUE(c->Flush().ok());
  bus.Rewind(0, 40);  // e.g. a seek that raced with a fetch
  Fill(0, 5, 50);
  EXPECT_EQ(Pump(bus, *c), 15);
  ASSERT_TRUE(c->Flush().ok());
  EXPECT_EQ(TotalReads(), 55);
  EXPECT_EQ(Metric(m, "dim_events_duplicate_total"), 10);
  EXPECT_EQ(store_->GetConsumerOffsets("kafka:file_access:g").value().at(0), 55);
}

}  // namespace
}  // namespace dim
