#include "migrator/token_bucket.h"

#include <gtest/gtest.h>

namespace dim {
namespace {

TEST(TokenBucketTest, BurstThenTheRate) {
  TokenBucket b(1000.0, 500.0);            // 1000 bytes/s, 0.5 s of burst
  EXPECT_EQ(b.Reserve(500, 0), 0);         // within the burst
  EXPECT_EQ(b.Reserve(500, 0), 500000);    // must wait 0.5 s
  EXPECT_EQ(b.Reserve(1000, 0), 1500000);  // and another second after that
  // Idle time refills the burst but never beyond it.
  EXPECT_EQ(b.Reserve(100, 100'000'000), 0);
  EXPECT_EQ(b.Reserve(400, 100'000'000), 0);
  EXPECT_EQ(b.Reserve(100, 100'000'000), 100000);
}

TEST(TokenBucketTest, LongRunAverageIsTheRate) {
  TokenBucket b(1 << 20, 1 << 18);  // 1 MiB/s
  int64_t now = 0;
  for (int i = 0; i < 64; ++i) now += b.Reserve(1 << 18, now);  // 16 MiB, sleeping as told
  // 16 MiB at 1 MiB/s, minus the burst: about 15.75 s.
  EXPECT_NEAR(now / 1e6, 15.75, 0.01);
}

}  // namespace
}  // namespace dim
