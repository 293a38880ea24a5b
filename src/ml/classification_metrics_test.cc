#include "ml/classification_metrics.h"

#include <gtest/gtest.h>

#include <cmath>

namespace dim {
namespace {

TEST(ClassificationMetricsTest, AucOfKnownRankings) {
  EXPECT_DOUBLE_EQ(RocAuc({0.1f, 0.2f, 0.8f, 0.9f}, {0, 0, 1, 1}), 1.0);
  EXPECT_DOUBLE_EQ(RocAuc({0.9f, 0.8f, 0.2f, 0.1f}, {0, 0, 1, 1}), 0.0);
  // One of the four positive/negative pairs is misordered.
  EXPECT_DOUBLE_EQ(RocAuc({0.1f, 0.5f, 0.4f, 0.9f}, {0, 0, 1, 1}), 0.75);
  // Ties count half.
  EXPECT_DOUBLE_EQ(RocAuc({0.5f, 0.5f, 0.5f, 0.5f}, {0, 1, 0, 1}), 0.5);
  EXPECT_DOUBLE_EQ(RocAuc({0.2f, 0.5f, 0.5f}, {0, 0, 1}), 0.75);
  // One class only: undefined, reported as chance.
  EXPECT_DOUBLE_EQ(RocAuc({0.2f, 0.3f}, {1, 1}), 0.5);
  EXPECT_DOUBLE_EQ(RocAuc({0.2f, NAN, 0.9f}, {0, 0, 1}), 1.0);
}

TEST(ClassificationMetricsTest, PrecisionRecallAtThreshold) {
  std::vector<float> p = {0.9f, 0.8f, 0.6f, 0.4f, 0.3f, 0.1f};
  std::vector<float> y = {1, 0, 1, 1, 0, 0};
  auto m = ComputeBinaryMetrics(p, y, 0.5);
  EXPECT_EQ(m.rows, 6u);
  EXPECT_EQ(m.positives, 3u);
  EXPECT_EQ(m.true_pos, 2u);
  EXPECT_EQ(m.false_pos, 1u);
  EXPECT_EQ(m.false_neg, 1u);
  EXPECT_DOUBLE_EQ(m.precision, 2.0 / 3);
  EXPECT_DOUBLE_EQ(m.recall, 2.0 / 3);
  EXPECT_NEAR(m.f1, 2.0 / 3, 1e-12);
  double ll = -(std::log(0.9) + std::log(0.2) + std::log(0.6) + std::log(0.4) + std::log(0.7) +
                std::log(0.9)) /
              6;
  EXPECT_NEAR(m.log_loss, ll, 1e-6);
  // Nothing called hot: precision 0 by convention, recall 0.
  auto none = ComputeBinaryMetrics(p, y, 0.95);
  EXPECT_EQ(none.precision, 0);
  EXPECT_EQ(none.recall, 0);
}

TEST(ClassificationMetricsTest, CalibrationBins) {
  // Bin [0.2, 0.3): 4 rows predicted 0.25, one positive -> observed 0.25, perfectly calibrated.
  // Bin [0.9, 1.0]: 2 rows predicted 0.95 (one of them p = 1), both negative.
  std::vector<float> p = {0.25f, 0.25f, 0.25f, 0.25f, 0.95f, 1.0f};
  std::vector<float> y = {1, 0, 0, 0, 0, 0};
  auto m = ComputeBinaryMetrics(p, y, 0.5, 10);
  ASSERT_EQ(m.calibration.size(), 10u);
  EXPECT_EQ(m.calibration[2].count, 4u);
  EXPECT_NEAR(m.calibration[2].mean_predicted, 0.25, 1e-6);
  EXPECT_NEAR(m.calibration[2].observed, 0.25, 1e-12);
  EXPECT_EQ(m.calibration[9].count, 2u);
  EXPECT_NEAR(m.calibration[9].observed, 0, 1e-12);
  EXPECT_NEAR(m.ece, 2.0 / 6 * 0.975, 1e-6);
  auto j = BinaryMetricsJson(m, true);
  EXPECT_EQ(j["calibration"].size(), 10u);
  EXPECT_FALSE(BinaryMetricsJson(m, false).contains("calibration"));
}

}  // namespace
}  // namespace dim
