#include "stream/heat.h"

#include <gtest/gtest.h>

#include <cmath>

namespace dim {
namespace {

TEST(HeatTest, SeedFormula) {
  HeatParams p;
  p.tau_s = 600;
  p.daily_weight = 0.2;
  // heat = 50 * exp(-600/600) + 10 + 0.2 * (30 - 10)
  EXPECT_NEAR(FoldHeat(50, 600, 10, 30, p), 50 * std::exp(-1.0) + 10 + 4, 1e-9);
  EXPECT_DOUBLE_EQ(FoldHeat(0, 0, 100, 100, p), 100);
  EXPECT_DOUBLE_EQ(FoldHeat(7, -5, 0, 0, p), 7);  // negative dt: no growth from decay
}

TEST(HeatTest, DecaysBetweenFolds) {
  EXPECT_NEAR(DecayedHeat(100, 0, 1800 * 1000, 1800), 100 * std::exp(-1.0), 1e-9);
  EXPECT_DOUBLE_EQ(DecayedHeat(100, 5000, 1000, 1800), 100);  // clock behind: no change
}

TEST(HeatTest, SteadyRateSettles) {
  HeatParams p;
  p.tau_s = 1800;
  p.interval_s = 60;
  double h = 0;
  for (int i = 0; i < 2000; ++i) h = FoldHeat(h, 60, 10, 10, p);
  EXPECT_NEAR(h, 10 / (1 - std::exp(-60.0 / 1800)), 1e-6);
}

TEST(HeatTest, FoldDue) {
  HeatParams p;
  p.interval_s = 60;
  EXPECT_TRUE(HeatFoldDue(0, 5, p));
  EXPECT_FALSE(HeatFoldDue(1000, 59000, p));
  EXPECT_TRUE(HeatFoldDue(1000, 61000, p));
}

}  // namespace
}  // namespace dim
