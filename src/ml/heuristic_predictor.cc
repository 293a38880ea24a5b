#include <cmath>

#include "ml/predictor.h"

namespace dim {

double HeuristicPredictor::Score(const ObjectFeatures& f) {
  double gb = std::max(1.0, f.size_bytes / 1e9);
  double hits_per_gb_1h = f.access_1h / gb;
  if (hits_per_gb_1h >= 50 || f.access_1h >= 40) return 0.90;
  if (hits_per_gb_1h >= 10 || f.access_1h >= 10) return 0.45;
  if (f.access_24h <= 5) return 0.05;
  return 0.20;
}

Result<std::vector<double>> HeuristicPredictor::PredictHot(const std::vector<ObjectFeatures>& rows) {
  std::vector<double> out;
  out.reserve(rows.size());
  for (const auto& f : rows) out.push_back(Score(f));
  return out;
}

Result<PredictionExplanation> HeuristicPredictor::Explain(const ObjectFeatures& f) {
  auto logit = [](double p) { return std::log(p / (1 - p)); };
  PredictionExplanation e;
  e.model = name();
  e.p_hot = Score(f);
  e.margin = logit(e.p_hot);
  e.bias = logit(0.20);  // the rule's default
  const auto& names = FeatureNames();
  auto values = FeatureVector(f);
  for (size_t i = 0; i < kNumFeatures; ++i) {
    e.contributions.push_back({std::string(names[i]), values[i], 0.0});
  }
  // The deciding feature carries the difference from the default.
  size_t decider = (e.p_hot >= 0.45) ? 0 : 1;  // access_1h for the hot rules, access_24h else
  e.contributions[decider].contribution = e.margin - e.bias;
  return e;
}

}  // namespace dim
