#include "ml/model_training.h"

#include "core/clock.h"

namespace dim {

std::vector<float> HeuristicScores(const Dataset& d) {
  std::vector<float> p(d.rows());
  for (size_t i = 0; i < d.rows(); ++i) {
    p[i] = static_cast<float>(HeuristicPredictor::Score(FeaturesFromVector(d.row(i))));
  }
  return p;
}

Result<Comparison> CompareOn(const Dataset& d, const XgbModel& model, double threshold, int bins) {
  std::vector<float> p(d.rows());
  DIM_RETURN_IF_ERROR(model.PredictProbabilities(d.x.data(), d.rows(), p.data()));
  Comparison c;
  c.model = ComputeBinaryMetrics(p, d.y, threshold, bins);
  c.heuristic = ComputeBinaryMetrics(HeuristicScores(d), d.y, threshold, bins);
  return c;
}

Result<TrainingReport> TrainPopularityModel(const Dataset& all, const TrainingOptions& o,
                                            const TrainProgress& progress) {
  DIM_ASSIGN_OR_RETURN(auto split, SplitByTime(all, o.valid_fraction, o.label));
  TrainingReport r;
  r.train_rows = split.train.rows();
  r.valid_rows = split.valid.rows();
  r.split_ms = split.split_ms;
  const int64_t start = MonotonicMicros();
  DIM_ASSIGN_OR_RETURN(r.model, XgbModel::Train(o.params, o.label, o.threshold, split.train,
                                                &split.valid, progress));
  r.train_seconds = (MonotonicMicros() - start) / 1e6;
  DIM_ASSIGN_OR_RETURN(r.validation,
                       CompareOn(split.valid, *r.model, o.threshold, o.calibration_bins));
  auto& h = r.model->mutable_header();
  h.training = {{"source", o.source},
                {"rows", all.rows()},
                {"train_rows", r.train_rows},
                {"train_positives", split.train.positives()},
                {"valid_rows", r.valid_rows},
                {"valid_fraction", o.valid_fraction},
                {"first_row_ms", all.ts_ms.front()},
                {"split_ms", r.split_ms},
                {"last_row_ms", all.ts_ms.back()},
                {"train_seconds", r.train_seconds}};
  h.validation = BinaryMetricsJson(r.validation.model, /*with_calibration=*/true);
  h.validation["heuristic"] = BinaryMetricsJson(r.validation.heuristic, false);
  return r;
}

}  // namespace dim
