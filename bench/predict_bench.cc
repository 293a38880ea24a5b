// Popularity prediction throughput: p_hot for N objects (default 1 M) through the Predictor
// interface, the way the optimizer's passes call it (batches of Optimizer::kPredictBatch), as one
// call for all of them, and — the baseline, in the same run — the seed's pattern of one
// prediction call per object. Prints predictions/s of each and the ratio batched / per-object,
// the median of --repeat runs. The model is a file from `dim train` (--model) or, by default, a
// forest with `dim train`'s defaults trained here on the generated workload; the feature rows are
// that workload's training rows, cycled up to N (real feature distributions, not random noise).
// For reference it also times XGBoost's own predictor on the same rows (the model predicts
// through the flat forest of ml/compiled_forest.h, which gives the same values).
#include <sys/resource.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "core/clock.h"
#include "ml/model_training.h"
#include "ml/xgboost_model.h"
#include "optimizer/optimizer.h"
#include "replay/hot_set_workload.h"

namespace dim {
namespace {

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

Dataset WorkloadRows() {
  HotSetWorkloadOptions wo;  // the defaults: 400 objects, 4 days
  HotSetWorkload w(wo);
  DatasetOptions o;
  DatasetBuilder b(o);
  for (const auto& e : w.Generate()) {
    if (Status s = b.Add(e); !s.ok()) {
      std::fprintf(stderr, "workload: %s\n", s.ToString().c_str());
      std::exit(1);
    }
  }
  return b.Finish(w.end_ms());
}

// The 1-, 5- and 15-minute load averages: how busy the shared machine was.
std::string LoadAverage() {
  std::ifstream in("/proc/loadavg");
  double a = 0, b = 0, c = 0;
  if (!(in >> a >> b >> c)) return "unknown";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.2f %.2f %.2f", a, b, c);
  return buf;
}

double CpuSeconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return u.ru_utime.tv_sec + u.ru_stime.tv_sec + (u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

struct Timing {
  std::vector<double> wall_s, cpu_s;
};

// Calls predict(begin, end) over [0, n) in calls of `batch`; records wall and CPU seconds (the
// CPU time says what the work costs when the shared machine is busy with other jobs).
template <typename F>
void Time(size_t n, size_t batch, Timing& t, F&& predict) {
  const int64_t start = MonotonicMicros();
  const double cpu = CpuSeconds();
  for (size_t i = 0; i < n; i += batch) predict(i, std::min(n, i + batch));
  t.wall_s.push_back((MonotonicMicros() - start) / 1e6);
  t.cpu_s.push_back(CpuSeconds() - cpu);
}

int Run(int argc, char** argv) {
  CLI::App app("Popularity prediction throughput: batched vs one call per object");
  size_t objects = 1'000'000;
  size_t single_objects = 0;
  size_t batch = Optimizer::kPredictBatch;
  int threads = 2, repeat = 3;
  std::string model_path, kind = "rf";
  app.add_option("--objects", objects, "Objects to predict for")
      ->check(CLI::Range(1000, 100'000'000));
  app.add_option("--single-objects", single_objects,
                 "Objects for the per-object baseline (default: --objects)");
  size_t xgb_single_objects = 20'000;
  app.add_option("--xgb-single-objects", xgb_single_objects,
                 "Objects for one XGBoost call per object (the seed's code path)");
  app.add_option("--batch", batch, "Objects per call in the batched pass (the optimizer's)")
      ->check(CLI::Range(1, 100'000'000));
  app.add_option("--threads", threads, "Prediction threads (flat forest and XGBoost)")
      ->check(CLI::Range(1, 256));
  app.add_option("--repeat", repeat, "Runs; medians are printed")->check(CLI::Range(1, 100));
  app.add_option("--model", model_path, "A model file from `dim train` (default: train one here)")
      ->check(CLI::ExistingFile);
  app.add_option("--kind", kind, "Model to train when no --model: rf or gbt")
      ->check(CLI::IsMember({"rf", "gbt"}));
  CLI11_PARSE(app, argc, argv);
  if (single_objects == 0) single_objects = objects;
  single_objects = std::min(single_objects, objects);
  xgb_single_objects = std::min(xgb_single_objects, objects);

  Dataset rows = WorkloadRows();
  std::shared_ptr<XgbModel> model;
  if (!model_path.empty()) {
    auto m = XgbModel::Load(model_path, threads);
    if (!m.ok()) {
      std::fprintf(stderr, "%s: %s\n", model_path.c_str(), m.status().ToString().c_str());
      return 1;
    }
    model = std::move(*m);
  } else {
    TrainingOptions t;
    t.params = TrainParams::Defaults(kind == "rf" ? kRandomForest : kBoostedTrees);
    t.params.nthread = threads;
    auto r = TrainPopularityModel(rows, t);
    if (!r.ok()) {
      std::fprintf(stderr, "training: %s\n", r.status().ToString().c_str());
      return 1;
    }
    model = std::move(r->model);
  }
  const auto& h = model->header();
  XgbPredictor predictor(model);
  HeuristicPredictor heuristic;

  std::vector<ObjectFeatures> features(objects);
  for (size_t i = 0; i < objects; ++i) features[i] = FeaturesFromVector(rows.row(i % rows.rows()));
  std::printf(
      "model %s (%s%s: %d round(s) x %d tree(s), depth %d), %zu objects (from %zu "
      "workload rows), %d thread(s), %d run(s), load average %s\n",
      h.model_id.c_str(), h.kind.c_str(), model->compiled() ? ", flat forest" : ", XGBoost",
      h.params.value("rounds", 0), h.params.value("trees_per_round", 0),
      h.params.value("max_depth", 0), objects, rows.rows(), threads, repeat, LoadAverage().c_str());

  Timing batched_t, all_t, single_t, heuristic_t, xgb_t, xgb_single_t;
  std::vector<float> xrows(objects * kNumFeatures), xout(objects);
  for (size_t i = 0; i < objects; ++i) {
    std::copy(rows.row(i % rows.rows()), rows.row(i % rows.rows()) + kNumFeatures,
              xrows.begin() + static_cast<std::ptrdiff_t>(i * kNumFeatures));
  }
  std::vector<double> p_batched(objects), p_single(single_objects);
  bool failed = false;
  auto call = [&](Predictor& p, size_t b, size_t e, double* out) {
    std::vector<ObjectFeatures> chunk(features.begin() + static_cast<std::ptrdiff_t>(b),
                                      features.begin() + static_cast<std::ptrdiff_t>(e));
    auto r = p.PredictHot(chunk);
    if (!r.ok() || r->size() != e - b) {
      failed = true;
      return;
    }
    if (out) std::copy(r->begin(), r->end(), out + b);
  };
  for (int run = 1; run <= repeat && !failed; ++run) {
    Time(objects, batch, batched_t,
         [&](size_t b, size_t e) { call(predictor, b, e, p_batched.data()); });
    Time(objects, objects, all_t, [&](size_t b, size_t e) { call(predictor, b, e, nullptr); });
    Time(objects, objects, xgb_t, [&](size_t, size_t) {
      failed |= !model->PredictWithXgboost(xrows.data(), objects, 0, xout.data()).ok();
    });
    Time(xgb_single_objects, 1, xgb_single_t, [&](size_t b, size_t) {
      failed |= !model->PredictWithXgboost(xrows.data() + b * kNumFeatures, 1, 0, &xout[b]).ok();
    });
    Time(objects, batch, heuristic_t, [&](size_t b, size_t e) { call(heuristic, b, e, nullptr); });
    Time(single_objects, 1, single_t,
         [&](size_t b, size_t e) { call(predictor, b, e, p_single.data()); });
    std::fprintf(stderr,
                 "run %d/%d: batched %.3f s, one call %.3f s, per-object %.3f s (%zu objects)\n",
                 run, repeat, batched_t.wall_s.back(), all_t.wall_s.back(), single_t.wall_s.back(),
                 single_objects);
  }
  if (failed) {
    std::fprintf(stderr, "prediction failed\n");
    return 1;
  }
  // Same model, same rows: the batched and the per-object answers must agree.
  double max_diff = 0;
  for (size_t i = 0; i < single_objects; ++i) {
    max_diff = std::max(max_diff, std::fabs(p_batched[i] - p_single[i]));
  }
  auto rate = [](size_t n, const std::vector<double>& s) { return n / Median(s); };
  const double batched = rate(objects, batched_t.wall_s);
  const double single = rate(single_objects, single_t.wall_s);
  std::printf("%-44s %14s %16s\n", "", "predictions/s", "per CPU-second");
  auto line = [&](const std::string& what, size_t n, const Timing& t) {
    std::printf("%-44s %14.0f %16.0f\n", what.c_str(), rate(n, t.wall_s), rate(n, t.cpu_s));
  };
  line("batched, " + std::to_string(batch) + " objects per call", objects, batched_t);
  line("one call for all objects", objects, all_t);
  line("baseline: one call per object (the seed's)", single_objects, single_t);
  line("(XGBoost's own predictor, one call)", objects, xgb_t);
  line("(XGBoost's own predictor, one call per object)", xgb_single_objects, xgb_single_t);
  line("(heuristic, batched)", objects, heuristic_t);
  std::printf(
      "ratio batched / per-object: %.1fx (per CPU-second %.1fx)   goal >= 1,000,000/s "
      "batched: %s\n",
      batched / single, rate(objects, batched_t.cpu_s) / rate(single_objects, single_t.cpu_s),
      batched >= 1e6 ? "met" : "NOT met");
  std::printf("max |p_batched - p_single| over %zu objects: %.2g\n", single_objects, max_diff);
  std::printf("load average at the end: %s (2 cores)\n", LoadAverage().c_str());
  return max_diff < 1e-6 ? 0 : 1;
}

}  // namespace
}  // namespace dim

int main(int argc, char** argv) { return dim::Run(argc, argv); }
