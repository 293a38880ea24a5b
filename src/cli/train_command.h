// `dim train` and `dim evaluate`: build rows from a source (training_source.h), train a
// popularity model and write its file, or judge a model file against the heuristic (AUC,
// precision and recall at the hot threshold, log loss, calibration; optionally a gnuplot
// reliability diagram). Progress on stderr, results on stdout.
#pragma once

#include <string>

#include "cli/training_source.h"
#include "core/status.h"
#include "ml/xgboost_model.h"

namespace dim {

struct TrainCommandOptions {
  TrainingSource source;
  std::string out;
  std::string model = "rf";  // rf | gbt
  LabelSpec label;
  double threshold = 0.5;
  double valid_fraction = 0.3;
  // Overrides of the kind's defaults (0 / negative: keep the default).
  int rounds = 0, trees = 0, max_depth = 0;
  double eta = 0, subsample = 0, colsample = 0;
  int threads = 2;
  uint64_t seed = 1;
  bool json = false;  // print the report as JSON
};
Status RunTrain(const TrainCommandOptions& o);

struct EvaluateCommandOptions {
  TrainingSource source;
  std::string model;     // model file
  LabelSpec label;       // 0 fields: the model's own
  double threshold = 0;  // 0: the model's
  double valid_fraction = 0.3;
  bool all_rows = false;  // judge every row, not only the last valid_fraction of the time span
  int bins = 10;
  std::string plot;  // reliability diagram (.svg or .png) through gnuplot
  bool json = false;
};
Status RunEvaluate(const EvaluateCommandOptions& o);

}  // namespace dim
