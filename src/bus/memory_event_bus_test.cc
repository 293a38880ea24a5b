#include "bus/memory_event_bus.h"

#include <gtest/gtest.h>

#include <atomic>
#include <set>
#include <thread>

namespace dim {
namespace {

AccessEvent Ev(const std::string& key) {
  AccessEvent e;
  e.key = key;
  return e;
}

TEST(MemoryEventBusTest, FifoWithIncreasingOffsets) {
  MemoryEventBus bus(8);
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(bus.Publish(Ev("k" + std::to_string(i))));
  auto batch = bus.Poll(3, 0).value();
  ASSERT_EQ(batch.size(), 3u);
  EXPECT_EQ(batch[0].event.key, "k0");
  EXPECT_EQ(batch[2].offset, 2);
  batch = bus.Poll(10, 0).value();
  ASSERT_EQ(batch.size(), 2u);
  EXPECT_EQ(batch[1].event.key, "k4");
  EXPECT_EQ(batch[1].offset, 4);
  EXPECT_TRUE(bus.Poll(10, 10)->empty());
}

TEST(MemoryEventBusTest, FullBusDropsAndCountsNeverGrows) {
  MemoryEventBus bus(4);
  int ok = 0;
  for (int i = 0; i < 10; ++i) ok += bus.Publish(Ev("k"));
  EXPECT_EQ(ok, 4);
  auto st = bus.GetStats();
  EXPECT_EQ(st.published, 4);
  EXPECT_EQ(st.dropped, 6);
  EXPECT_EQ(st.depth, 4);
  EXPECT_FALSE(bus.PublishWait(Ev("k"), 20));
  EXPECT_EQ(bus.GetStats().dropped, 7);
}

TEST(MemoryEventBusTest, PublishWaitGetsRoomWhenConsumed) {
  MemoryEventBus bus(1);
  ASSERT_TRUE(bus.Publish(Ev("a")));
  std::thread consumer([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    (void)bus.Poll(1, 0);
  });
  EXPECT_TRUE(bus.PublishWait(Ev("b"), 5000));
  consumer.join();
  EXPECT_EQ(bus.Poll(1, 0)->at(0).event.key, "b");
}

TEST(MemoryEventBusTest, PublishBatchKeepsOrderAndWaitsForRoomChunkByChunk) {
  MemoryEventBus bus(16);
  std::vector<AccessEvent> batch;
  for (int i = 0; i < 100; ++i) batch.push_back(Ev("k" + std::to_string(i)));
  std::vector<std::string> got;
  std::thread consumer([&] {
    while (got.size() < 100) {
      for (auto& m : bus.Poll(7, 100).value()) {
        EXPECT_EQ(m.offset, static_cast<int64_t>(got.size()));
        got.push_back(m.event.key);
      }
    }
  });
  EXPECT_EQ(bus.PublishBatch(batch, 10'000), 100u);
  consumer.join();
  for (int i = 0; i < 100; ++i) EXPECT_EQ(got[i], "k" + std::to_string(i));
  EXPECT_EQ(bus.GetStats().published, 100);
  EXPECT_EQ(bus.GetStats().dropped, 0);
}

TEST(MemoryEventBusTest, PublishBatchDropsAndCountsWhatDoesNotFitInTime) {
  MemoryEventBus bus(4);
  std::vector<AccessEvent> batch;
  for (int i = 0; i < 10; ++i) batch.push_back(Ev("k" + std::to_string(i)));
  EXPECT_EQ(bus.PublishBatch(batch, 20), 4u);
  auto st = bus.GetStats();
  EXPECT_EQ(st.published, 4);
  EXPECT_EQ(st.dropped, 6);
  auto got = bus.Poll(10, 0).value();
  ASSERT_EQ(got.size(), 4u);
  EXPECT_EQ(got[3].event.key, "k3");
  bus.Close();
  std::vector<AccessEvent> more{Ev("x"), Ev("y")};
  EXPECT_EQ(bus.PublishBatch(more, 1000), 0u);  // closed: nothing accepted, no wait
  EXPECT_EQ(bus.GetStats().dropped, 8);
}

TEST(MemoryEventBusTest, ConcurrentPublishersLoseNothingAccepted) {
  MemoryEventBus bus(1 << 16);
  std::atomic<int> accepted{0};
  std::vector<std::thread> ts;
  for (int t = 0; t < 4; ++t) {
    ts.emplace_back([&, t] {
      for (int i = 0; i < 5000; ++i) accepted += bus.Publish(Ev(std::to_string(t) + ":" + std::to_string(i)));
    });
  }
  std::set<std::string> seen;
  int64_t last = -1;
  while (seen.size() < 20000) {
    for (auto& m : bus.Poll(1000, 100).value()) {
      EXPECT_EQ(m.offset, last + 1);
      last = m.offset;
      seen.insert(m.event.key);
    }
    if (seen.size() == static_cast<size_t>(accepted.load()) && accepted == 20000) break;
  }
  for (auto& t : ts) t.join();
  EXPECT_EQ(accepted.load(), 20000);
  EXPECT_EQ(seen.size(), 20000u);
}

TEST(MemoryEventBusTest, CloseWakesPollerAndRejects) {
  MemoryEventBus bus(4);
  std::thread closer([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(30));
    bus.Close();
  });
  auto r = bus.Poll(10, 10000);
  closer.join();
  EXPECT_TRUE(r.ok() && r->empty());
  EXPECT_FALSE(bus.Publish(Ev("x")));
}

TEST(MemoryEventBusTest, SeekRenumbersSoOffsetsGrowAcrossRestarts) {
  MemoryEventBus bus(8);
  ASSERT_TRUE(bus.Publish(Ev("a")));
  ASSERT_TRUE(bus.Seek({{0, 1000}}).ok());  // what the store recorded in the previous run
  ASSERT_TRUE(bus.Publish(Ev("b")));
  auto batch = bus.Poll(10, 0).value();
  ASSERT_EQ(batch.size(), 2u);
  EXPECT_EQ(batch[0].offset, 1000);
  EXPECT_EQ(batch[1].offset, 1001);
  EXPECT_TRUE(bus.Seek({{3, 5}}).ok());  // other partitions do not exist here: ignored
}

TEST(AccessEventTest, OpNames) {
  EXPECT_EQ(ParseAccessOp("read"), AccessOp::kGet);
  EXPECT_EQ(ParseAccessOp("write"), AccessOp::kPut);
  EXPECT_FALSE(ParseAccessOp("frobnicate").has_value());
  EXPECT_EQ(AccessOpName(AccessOp::kHead), "head");
}

}  // namespace
}  // namespace dim
