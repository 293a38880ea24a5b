#include "stream/access_consumer.h"

#include <gtest/gtest.h>

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

  void Publish(const std::string& key, int64_t ts, AccessOp op = AccessOp::kGet, int32_t status = 200) {
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
  Publish("demo/b", kT0 - 2 * 3'600'000);  // two hours ago: in 24h, not in 1h
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

}  // namespace
}  // namespace dim
