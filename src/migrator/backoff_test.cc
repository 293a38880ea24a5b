#include "migrator/backoff.h"

#include <gtest/gtest.h>

#include <algorithm>

namespace dim {
namespace {

TEST(BackoffTest, FullJitterBelowAnExponentialCap) {
  Backoff b(100, 5000, 7);
  EXPECT_EQ(b.CapMs(1), 100);
  EXPECT_EQ(b.CapMs(2), 200);
  EXPECT_EQ(b.CapMs(4), 800);
  EXPECT_EQ(b.CapMs(7), 5000);    // capped
  EXPECT_EQ(b.CapMs(500), 5000);  // no overflow
  EXPECT_EQ(b.CapMs(0), 100);
  for (int retry = 1; retry <= 8; ++retry) {
    int64_t lo = INT64_MAX, hi = 0;
    double sum = 0;
    constexpr int kN = 4000;
    for (int i = 0; i < kN; ++i) {
      int64_t d = b.DelayMs(retry);
      ASSERT_GE(d, 1);
      ASSERT_LE(d, b.CapMs(retry));
      lo = std::min(lo, d);
      hi = std::max(hi, d);
      sum += static_cast<double>(d);
    }
    // Full jitter: spread over the whole range, mean near half the cap.
    EXPECT_LT(lo, b.CapMs(retry) / 10 + 2) << retry;
    EXPECT_GT(hi, b.CapMs(retry) * 9 / 10) << retry;
    EXPECT_NEAR(sum / kN, b.CapMs(retry) / 2.0, b.CapMs(retry) * 0.06) << retry;
  }
}

TEST(BackoffTest, SameSeedSameDelays) {
  Backoff a(10, 1000, 42), b(10, 1000, 42), c(10, 1000, 43);
  bool differs = false;
  for (int i = 1; i < 20; ++i) {
    int64_t x = a.DelayMs(i), y = b.DelayMs(i), z = c.DelayMs(i);
    EXPECT_EQ(x, y);
    differs |= x != z;
  }
  EXPECT_TRUE(differs);
}

}  // namespace
}  // namespace dim
