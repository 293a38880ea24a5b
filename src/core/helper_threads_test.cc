#include "core/helper_threads.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <set>
#include <thread>
#include <vector>

namespace dim {
namespace {

TEST(HelperThreadsTest, RunsEveryChunkExactlyOnce) {
  HelperThreads pool(3);
  EXPECT_EQ(pool.helpers(), 3);
  for (size_t n : {0u, 1u, 2u, 7u, 1000u}) {
    std::vector<std::atomic<int>> hits(n);
    pool.Run(n, [&](size_t i) { hits[i].fetch_add(1); });
    for (size_t i = 0; i < n; ++i) EXPECT_EQ(hits[i].load(), 1) << "chunk " << i << " of " << n;
  }
}

TEST(HelperThreadsTest, HelpersTakeChunksWhileTheCallerWorks) {
  HelperThreads pool(1);
  std::mutex mu;
  std::set<std::thread::id> ids;
  // Slow chunks: the helper has every chance to join (no timing is asserted, only that each
  // chunk ran once, on the caller or the helper).
  std::vector<std::atomic<int>> hits(64);
  pool.Run(hits.size(), [&](size_t i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
    hits[i].fetch_add(1);
    std::lock_guard<std::mutex> lock(mu);
    ids.insert(std::this_thread::get_id());
  });
  for (auto& h : hits) EXPECT_EQ(h.load(), 1);
  EXPECT_GE(ids.size(), 1u);
  EXPECT_LE(ids.size(), 2u);
}

TEST(HelperThreadsTest, ConcurrentCallersAndNoHelpers) {
  HelperThreads pool(2);
  std::atomic<long> sum{0};
  std::vector<std::thread> callers;
  for (int c = 0; c < 4; ++c) {
    callers.emplace_back([&] {
      for (int r = 0; r < 200; ++r) pool.Run(50, [&](size_t i) { sum.fetch_add(long(i)); });
    });
  }
  for (auto& t : callers) t.join();
  EXPECT_EQ(sum.load(), 4L * 200 * (49 * 50 / 2));
  HelperThreads none(0);
  long local = 0;  // no helpers: everything on the caller's thread, no atomics needed
  none.Run(10, [&](size_t i) { local += long(i); });
  EXPECT_EQ(local, 45);
}

}  // namespace
}  // namespace dim
