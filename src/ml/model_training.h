// Trains and judges a popularity model on a labelled Dataset: splits it by time (training rows'
// label windows end before the first validation row), trains, and scores the model and the
// heuristic on the same validation rows. The model's header gets the training and validation
// metadata that its file carries.
#pragma once

#include <memory>
#include <nlohmann/json.hpp>
#include <vector>

#include "ml/classification_metrics.h"
#include "ml/training_data.h"
#include "ml/xgboost_model.h"

namespace dim {

struct TrainingOptions {
  TrainParams params;
  LabelSpec label;
  double threshold = 0.5;
  double valid_fraction = 0.3;
  int calibration_bins = 10;
  nlohmann::json source = nlohmann::json::object();  // where the rows came from (recorded)
};

struct Comparison {
  BinaryMetrics model;
  BinaryMetrics heuristic;  // the seed's rule on the same rows
};

struct TrainingReport {
  std::unique_ptr<XgbModel> model;
  Comparison validation;
  size_t train_rows = 0, valid_rows = 0;
  int64_t split_ms = 0;
  double train_seconds = 0;
};

Result<TrainingReport> TrainPopularityModel(const Dataset& all, const TrainingOptions& options,
                                            const TrainProgress& progress = nullptr);

// The heuristic's p_hot for each row.
std::vector<float> HeuristicScores(const Dataset& d);
Result<Comparison> CompareOn(const Dataset& d, const XgbModel& model, double threshold, int bins);

}  // namespace dim
