#include "ml/classification_metrics.h"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace dim {

double RocAuc(const std::vector<float>& p_in, const std::vector<float>& y) {
  const size_t n = std::min(p_in.size(), y.size());
  std::vector<float> p(p_in.begin(), p_in.begin() + static_cast<std::ptrdiff_t>(n));
  for (auto& v : p) {
    if (std::isnan(v)) v = 0;  // a NaN would break the sort's ordering
  }
  std::vector<size_t> idx(n);
  std::iota(idx.begin(), idx.end(), 0);
  std::sort(idx.begin(), idx.end(), [&](size_t a, size_t b) { return p[a] < p[b]; });
  // Mann-Whitney U: sum of the positives' ranks (average rank for ties).
  double rank_sum = 0, pos = 0;
  for (size_t i = 0; i < n;) {
    size_t j = i;
    while (j < n && p[idx[j]] == p[idx[i]]) ++j;
    double avg_rank = (static_cast<double>(i + 1) + static_cast<double>(j)) / 2.0;
    for (size_t k = i; k < j; ++k) {
      if (y[idx[k]] > 0.5f) {
        rank_sum += avg_rank;
        pos += 1;
      }
    }
    i = j;
  }
  double neg = static_cast<double>(n) - pos;
  if (pos == 0 || neg == 0) return 0.5;
  return (rank_sum - pos * (pos + 1) / 2.0) / (pos * neg);
}

BinaryMetrics ComputeBinaryMetrics(const std::vector<float>& p, const std::vector<float>& y,
                                   double threshold, int bins) {
  BinaryMetrics m;
  const size_t n = std::min(p.size(), y.size());
  m.rows = n;
  m.threshold = threshold;
  m.auc = RocAuc(p, y);
  bins = std::max(1, bins);
  m.calibration.resize(static_cast<size_t>(bins));
  for (int b = 0; b < bins; ++b) {
    m.calibration[static_cast<size_t>(b)].lo = static_cast<double>(b) / bins;
    m.calibration[static_cast<size_t>(b)].hi = static_cast<double>(b + 1) / bins;
  }
  double ll = 0, brier = 0;
  for (size_t i = 0; i < n; ++i) {
    const bool hot = y[i] > 0.5f;
    const double q = std::isnan(p[i]) ? 0.0 : std::clamp(static_cast<double>(p[i]), 0.0, 1.0);
    m.positives += hot ? 1 : 0;
    const bool called = q >= threshold;
    if (called && hot)
      m.true_pos++;
    else if (called)
      m.false_pos++;
    else if (hot)
      m.false_neg++;
    const double qc = std::clamp(q, 1e-15, 1 - 1e-15);
    ll -= hot ? std::log(qc) : std::log(1 - qc);
    brier += (q - (hot ? 1.0 : 0.0)) * (q - (hot ? 1.0 : 0.0));
    auto b = std::min<size_t>(static_cast<size_t>(q * bins), static_cast<size_t>(bins - 1));
    auto& bin = m.calibration[b];
    bin.count++;
    bin.mean_predicted += q;
    bin.observed += hot ? 1 : 0;
  }
  if (n > 0) {
    m.log_loss = ll / static_cast<double>(n);
    m.brier = brier / static_cast<double>(n);
  }
  const double called = static_cast<double>(m.true_pos + m.false_pos);
  const double actual = static_cast<double>(m.true_pos + m.false_neg);
  m.precision = called > 0 ? static_cast<double>(m.true_pos) / called : 0;
  m.recall = actual > 0 ? static_cast<double>(m.true_pos) / actual : 0;
  m.f1 = m.precision + m.recall > 0 ? 2 * m.precision * m.recall / (m.precision + m.recall) : 0;
  for (auto& bin : m.calibration) {
    if (bin.count == 0) continue;
    bin.mean_predicted /= static_cast<double>(bin.count);
    bin.observed /= static_cast<double>(bin.count);
    m.ece += static_cast<double>(bin.count) / static_cast<double>(n) *
             std::abs(bin.observed - bin.mean_predicted);
  }
  return m;
}

nlohmann::json BinaryMetricsJson(const BinaryMetrics& m, bool with_calibration) {
  nlohmann::json j = {{"rows", m.rows},
                      {"positives", m.positives},
                      {"auc", m.auc},
                      {"threshold", m.threshold},
                      {"precision", m.precision},
                      {"recall", m.recall},
                      {"f1", m.f1},
                      {"log_loss", m.log_loss},
                      {"brier", m.brier},
                      {"ece", m.ece}};
  if (with_calibration) {
    nlohmann::json bins = nlohmann::json::array();
    for (const auto& b : m.calibration) {
      bins.push_back({{"lo", b.lo},
                      {"hi", b.hi},
                      {"count", b.count},
                      {"mean_predicted", b.mean_predicted},
                      {"observed", b.observed}});
    }
    j["calibration"] = bins;
  }
  return j;
}

}  // namespace dim
