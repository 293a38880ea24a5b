#include <gtest/gtest.h>

#include <cmath>

#include "ml/features.h"
#include "ml/predictor.h"
#include "stream/sliding_window.h"

namespace dim {
namespace {

TEST(HeuristicPredictorTest, SeedThresholds) {
  ObjectFeatures f;
  f.size_bytes = 1e6;
  f.access_1h = 40;
  EXPECT_DOUBLE_EQ(HeuristicPredictor::Score(f), 0.90);
  f.access_1h = 10;
  EXPECT_DOUBLE_EQ(HeuristicPredictor::Score(f), 0.45);
  f.access_1h = 0;
  f.access_24h = 5;
  EXPECT_DOUBLE_EQ(HeuristicPredictor::Score(f), 0.05);
  f.access_24h = 6;
  EXPECT_DOUBLE_EQ(HeuristicPredictor::Score(f), 0.20);
  f.size_bytes = 4e9;  // 4 GB: 10 hits is 2.5 per GB
  f.access_1h = 10;
  EXPECT_DOUBLE_EQ(HeuristicPredictor::Score(f), 0.45);  // still >= 10 hits
}

TEST(HeuristicPredictorTest, ExplanationSumsToMargin) {
  HeuristicPredictor h;
  ObjectFeatures f;
  f.access_1h = 50;
  auto e = h.Explain(f).value();
  double sum = e.bias;
  for (auto& c : e.contributions) sum += c.contribution;
  EXPECT_NEAR(sum, e.margin, 1e-12);
  EXPECT_NEAR(1 / (1 + std::exp(-e.margin)), e.p_hot, 1e-12);
  EXPECT_EQ(e.contributions.size(), kNumFeatures);
}

TEST(FeaturesTest, ExtractFromStats) {
  constexpr int64_t kNow = 1'700'000'000'000;
  ObjectRecord o;
  o.size = 1234;
  o.created_ms = kNow - 10'000;
  AccessStats s;
  s.access_1h = 6;
  s.access_24h = 8;
  s.access_7d = 9;
  s.last_access_ms = kNow - 2'000;
  s.reads = 9;
  s.writes = 2;
  SlidingWindows w;
  for (int i = 0; i < 6; ++i) w.Add(kNow - i * 60'000);
  s.window_state = w.Encode();
  auto f = ExtractFeatures(&o, s, kNow);
  EXPECT_EQ(f.access_1h, 6);
  EXPECT_DOUBLE_EQ(f.recency_s, 2);
  EXPECT_DOUBLE_EQ(f.size_bytes, 1234);
  EXPECT_DOUBLE_EQ(f.age_s, 10);
  EXPECT_DOUBLE_EQ(f.read_write_ratio, 3);
  EXPECT_DOUBLE_EQ(f.interarrival_mean_s, 600);
  EXPECT_GT(f.interarrival_cv, 0);
  EXPECT_EQ(FeatureNames()[3], "recency_s");
  AccessStats never;
  EXPECT_DOUBLE_EQ(ExtractFeatures(nullptr, never, kNow).recency_s, 30.0 * 86400);
}

}  // namespace
}  // namespace dim
