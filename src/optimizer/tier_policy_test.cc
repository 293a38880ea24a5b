#include "optimizer/tier_policy.h"

#include <gtest/gtest.h>

namespace dim {
namespace {

TEST(TierPolicyTest, ThresholdsAndPromotion) {
  TierParams p;
  TierInputs in;
  in.current = Tier::kCold;
  in.heat = 10;
  EXPECT_EQ(DecideTier(in, p).tier, Tier::kCold);
  in.heat = 30;
  EXPECT_EQ(DecideTier(in, p).tier, Tier::kWarm);
  in.heat = 100;
  in.access_1h = 100;
  auto d = DecideTier(in, p);
  EXPECT_EQ(d.tier, Tier::kHot);
  EXPECT_NE(d.reason.find("promoted"), std::string::npos);
  in.access_1h = 5;  // hot by heat but not enough evidence: stops at warm
  in.p_adj = 0.1;
  EXPECT_EQ(DecideTier(in, p).tier, Tier::kWarm);
}

TEST(TierPolicyTest, HotCap) {
  TierParams p;
  TierInputs in;
  in.current = Tier::kWarm;
  in.heat = 200;
  in.access_1h = 100;
  in.hot_share = 0.30;
  EXPECT_EQ(DecideTier(in, p).tier, Tier::kWarm);
  in.current = Tier::kHot;  // already hot objects keep their place
  EXPECT_EQ(DecideTier(in, p).tier, Tier::kHot);
}

TEST(TierPolicyTest, HotHysteresis) {
  TierParams p;
  TierInputs in;
  in.current = Tier::kHot;
  in.heat = 0;
  in.recency_s = 10;
  in.residency_s = 1e6;
  EXPECT_EQ(DecideTier(in, p).tier, Tier::kHot);  // accessed recently
  in.recency_s = 1e5;
  in.heat = 60;  // within 80% of 70
  EXPECT_EQ(DecideTier(in, p).tier, Tier::kHot);
  in.heat = 0;
  in.residency_s = 10;
  EXPECT_EQ(DecideTier(in, p).tier, Tier::kHot);  // minimum residency
  in.residency_s = 1e6;
  in.access_24h = 3;
  EXPECT_EQ(DecideTier(in, p).tier, Tier::kWarm);  // steps down to warm, never straight to cold
}

TEST(TierPolicyTest, WarmHysteresis) {
  TierParams p;
  TierInputs in;
  in.current = Tier::kWarm;
  in.residency_s = 100;
  in.recency_s = 1e6;
  EXPECT_EQ(DecideTier(in, p).tier, Tier::kWarm);
  in.residency_s = 1e6;
  in.recency_s = 100;
  EXPECT_EQ(DecideTier(in, p).tier, Tier::kWarm);
  in.recency_s = 1e6;
  EXPECT_EQ(DecideTier(in, p).tier, Tier::kCold);
}

}  // namespace
}  // namespace dim
