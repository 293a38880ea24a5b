// How well probabilities rank and call a binary label: ROC AUC (ties counted half), precision
// and recall at a threshold, log loss, Brier score and calibration (reliability bins and the
// expected calibration error). Pure functions; inputs are not modified.
#pragma once

#include <cstddef>
#include <nlohmann/json.hpp>
#include <vector>

namespace dim {

struct CalibrationBin {
  double lo = 0, hi = 0;  // predicted probability range [lo, hi)
  size_t count = 0;
  double mean_predicted = 0;
  double observed = 0;  // fraction of positives
};

struct BinaryMetrics {
  size_t rows = 0;
  size_t positives = 0;
  double auc = 0.5;
  double threshold = 0.5;
  size_t true_pos = 0, false_pos = 0, false_neg = 0;
  double precision = 0;  // 0 when nothing is called hot
  double recall = 0;
  double f1 = 0;
  double log_loss = 0;
  double brier = 0;
  double ece = 0;  // sum over bins of count/rows * |observed - mean_predicted|
  std::vector<CalibrationBin> calibration;
};

// p and y have the same length; y is 0/1. bins: equal-width calibration bins over [0, 1].
BinaryMetrics ComputeBinaryMetrics(const std::vector<float>& p, const std::vector<float>& y,
                                   double threshold, int bins = 10);
// The ROC AUC alone (0.5 when one class is missing).
double RocAuc(const std::vector<float>& p, const std::vector<float>& y);

nlohmann::json BinaryMetricsJson(const BinaryMetrics& m, bool with_calibration);

}  // namespace dim
