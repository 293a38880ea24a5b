// An XGBoost tree model (random forest or gradient-boosted trees) with our metadata, trained
// here or loaded from a model file (model_file.h), through XGBoost's C API. Loading refuses a
// file whose header, checksum, schema or booster does not check out, with the reason; a loaded
// model has already predicted once. Prediction and contributions are thread-safe (XGBoost's
// in-place prediction, >= 1.4); the model owns its booster handles.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/status.h"
#include "ml/model_file.h"
#include "ml/predictor.h"
#include "ml/training_data.h"

namespace dim {

class CompiledForest;
class HelperThreads;

struct TrainParams {
  std::string kind = std::string(kRandomForest);
  int rounds = 1;  // boosting rounds (a random forest is one round)
  int trees = 64;  // trees per round (num_parallel_tree; the forest's size)
  int max_depth = 8;
  double eta = 1.0;  // learning rate; 1 for a forest
  double subsample = 0.632;
  double colsample = 0.6;  // per split (forest) or per tree (boosting)
  double min_child_weight = 1;
  double lambda = 1;
  int nthread = 2;
  uint64_t seed = 1;
  // The kind's defaults (docs/ml.md): kRandomForest or kBoostedTrees.
  static TrainParams Defaults(std::string_view kind);
};

// round is 1-based; eval holds XGBoost's line ("[3] train-auc:0.9 valid-auc:0.88 ...").
using TrainProgress = std::function<void(int round, int rounds, const std::string& eval)>;

class XgbModel {
 public:
  ~XgbModel();
  XgbModel(const XgbModel&) = delete;
  XgbModel& operator=(const XgbModel&) = delete;

  // Trains on `train` (validation rows, if given, are only reported in the progress). The
  // header gets kind, params, label and threshold; the caller adds training/validation details.
  static Result<std::unique_ptr<XgbModel>> Train(const TrainParams& params, const LabelSpec& label,
                                                 double threshold, const Dataset& train,
                                                 const Dataset* valid,
                                                 const TrainProgress& progress = nullptr);
  static Result<std::unique_ptr<XgbModel>> Load(const std::string& path, int nthread);
  static Result<std::unique_ptr<XgbModel>> FromFile(ModelFile file, int nthread);

  Status Save(const std::string& path) const;
  const ModelHeader& header() const { return header_; }
  ModelHeader& mutable_header() { return header_; }
  const std::string& booster_json() const { return booster_; }

  // rows: n x kNumFeatures, row-major. out: n values. Through the flat forest
  // (compiled_forest.h) when it reads the booster, which gives XGBoost's values; else XGBoost.
  Status PredictProbabilities(const float* rows, size_t n, float* out) const;
  Status PredictMargins(const float* rows, size_t n, float* out) const;
  // XGBoost's own predictor (type 0: probabilities, 1: margins), the reference.
  Status PredictWithXgboost(const float* rows, size_t n, int type, float* out) const;
  bool compiled() const { return forest_ != nullptr; }
  // Exact tree SHAP for one row: bias + contributions == margin.
  Result<PredictionExplanation> Explain(const ObjectFeatures& row) const;
  // Total gain of each feature over all splits, in FeatureNames() order (0 when unused).
  Result<std::vector<std::pair<std::string, double>>> FeatureImportance() const;

 private:
  XgbModel() = default;
  Status Init(int nthread);  // from header_ and booster_
  Status Predict(const float* rows, size_t n, int type, float* out) const;

  ModelHeader header_;
  std::string booster_;
  std::shared_ptr<const CompiledForest> forest_;  // null: XGBoost predicts
  std::unique_ptr<HelperThreads> helpers_;        // nthread - 1 threads for the flat forest
  int nthread_ = 1;
  void* batch_ = nullptr;   // BoosterHandle with nthread threads, for large batches
  void* single_ = nullptr;  // BoosterHandle with one thread: small batches, contributions
};

// Predictor over an XgbModel. name(): "xgboost:<model_id>".
class XgbPredictor final : public Predictor {
 public:
  explicit XgbPredictor(std::shared_ptr<const XgbModel> model);
  std::string name() const override { return name_; }
  Result<std::vector<double>> PredictHot(const std::vector<ObjectFeatures>& rows) override;
  Result<PredictionExplanation> Explain(const ObjectFeatures& row) override;
  const XgbModel& model() const { return *model_; }

 private:
  std::shared_ptr<const XgbModel> model_;
  std::string name_;
};

}  // namespace dim
