// Predictor: the probability that an object will be hot soon, for a batch of objects, and the
// per-feature contributions behind one prediction. An XGBoost model when one is loaded; the
// documented heuristic otherwise. Implementations are thread-safe for concurrent calls.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "core/status.h"
#include "ml/features.h"

namespace dim {

struct FeatureContribution {
  std::string feature;
  double value = 0;         // the feature's value
  double contribution = 0;  // its share of the margin (log-odds)
};

struct PredictionExplanation {
  double p_hot = 0;
  double margin = 0;  // log-odds; bias + sum of contributions
  double bias = 0;
  std::vector<FeatureContribution> contributions;
  std::string model;  // which predictor produced it
};

class Predictor {
 public:
  virtual ~Predictor() = default;
  virtual std::string name() const = 0;
  virtual Result<std::vector<double>> PredictHot(const std::vector<ObjectFeatures>& rows) = 0;
  virtual Result<PredictionExplanation> Explain(const ObjectFeatures& row) = 0;
};

// The seed's fallback rule, by hits in the last hour per GB (size rounded up to 1 GB):
//   >= 50 hits/GB or >= 40 hits -> 0.90;  >= 10 hits/GB or >= 10 hits -> 0.45;
//   <= 5 hits in 24 h -> 0.05;  otherwise 0.20.
// Its explanation puts the whole margin on the feature whose threshold decided.
class HeuristicPredictor final : public Predictor {
 public:
  std::string name() const override { return "heuristic"; }
  Result<std::vector<double>> PredictHot(const std::vector<ObjectFeatures>& rows) override;
  Result<PredictionExplanation> Explain(const ObjectFeatures& row) override;
  static double Score(const ObjectFeatures& f);
};

// Holds the predictor in use; swapped at run time (model load, fallback) without stopping
// readers. Get() returns a snapshot the caller may use while another thread swaps.
class PredictorSlot {
 public:
  explicit PredictorSlot(std::shared_ptr<Predictor> p) : p_(std::move(p)) {}
  std::shared_ptr<Predictor> Get() const {
    std::lock_guard<std::mutex> lock(mu_);
    return p_;
  }
  void Set(std::shared_ptr<Predictor> p) {
    std::lock_guard<std::mutex> lock(mu_);
    p_ = std::move(p);
  }

 private:
  mutable std::mutex mu_;
  std::shared_ptr<Predictor> p_;
};

}  // namespace dim
