#include "storage/settle_once.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <latch>
#include <thread>
#include <vector>

namespace dim {
namespace {

// Callers that found the resource missing at the same epoch: one makes it, the others wait for
// that and go on without making it again.
TEST(SettleOnceTest, CallersThatMeetTogetherMakeItOnce) {
  SettleOnce once;
  std::atomic<int> makes{0};
  constexpr int kCallers = 4;
  std::latch go(kCallers);
  std::vector<Status> got(kCallers);
  std::vector<std::thread> callers;
  for (int i = 0; i < kCallers; ++i) {
    callers.emplace_back([&, i] {
      const uint64_t seen = once.epoch();
      go.arrive_and_wait();
      got[i] = once.Settle(seen, [&] {
        ++makes;
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
        return Status::OK();
      });
    });
  }
  for (auto& t : callers) t.join();
  EXPECT_EQ(makes.load(), 1);
  for (int i = 0; i < kCallers; ++i) EXPECT_TRUE(got[i].ok()) << i;
  // A caller that read the epoch after that success (a resource gone again) makes it again.
  EXPECT_TRUE(once.Settle(once.epoch(), [&] { return ++makes, Status::OK(); }).ok());
  EXPECT_EQ(makes.load(), 2);
}

// A failed make settles nothing: its error goes to its caller, and the next caller tries again.
TEST(SettleOnceTest, AFailedMakeIsTriedAgainByTheNextCaller) {
  SettleOnce once;
  const uint64_t seen = once.epoch();
  Status s = once.Settle(seen, [] { return Status::Unavailable("endpoint down"); });
  EXPECT_EQ(s.code(), StatusCode::kUnavailable);
  EXPECT_EQ(once.epoch(), seen);
  int makes = 0;
  EXPECT_TRUE(once.Settle(seen, [&] { return ++makes, Status::OK(); }).ok());
  EXPECT_EQ(makes, 1);
  // One that read the epoch before that success does not make it again.
  EXPECT_TRUE(once.Settle(seen, [&] { return ++makes, Status::OK(); }).ok());
  EXPECT_EQ(makes, 1);
}

}  // namespace
}  // namespace dim
