#include "cli/train_command.h"

#include <unistd.h>

#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>

#include "core/progress_line.h"
#include "core/utc_time.h"
#include "ml/model_training.h"

namespace dim {

namespace {

std::string Utc(int64_t ms) { return FormatUtc(ms, "%Y-%m-%d %H:%M:%S UTC"); }

void PrintComparison(const Comparison& c) {
  const auto& m = c.model;
  const auto& h = c.heuristic;
  char thr[32];
  std::snprintf(thr, sizeof thr, "p >= %.2f", m.threshold);
  std::printf("  %-24s %10s %10s\n", "", "model", "heuristic");
  std::printf("  %-24s %10.4f %10.4f\n", "AUC", m.auc, h.auc);
  std::printf("  %-24s %10.4f %10.4f\n", (std::string("precision at ") + thr).c_str(), m.precision,
              h.precision);
  std::printf("  %-24s %10.4f %10.4f\n", (std::string("recall at ") + thr).c_str(), m.recall,
              h.recall);
  std::printf("  %-24s %10.4f %10.4f\n", "F1", m.f1, h.f1);
  std::printf("  %-24s %10.4f %10.4f\n", "log loss", m.log_loss, h.log_loss);
  std::printf("  %-24s %10.4f %10.4f\n", "Brier score", m.brier, h.brier);
  std::printf("  %-24s %10.4f %10.4f\n", "calibration error (ECE)", m.ece, h.ece);
}

void PrintCalibration(const Comparison& c) {
  std::printf("\n  calibration (reliability bins):\n");
  std::printf("  %-11s | %8s %8s %8s | %8s %8s %8s\n", "p_hot", "rows", "mean p", "hot", "rows",
              "mean p", "hot");
  std::printf("  %-11s | %-26s | %-26s\n", "", "model", "heuristic");
  for (size_t i = 0; i < c.model.calibration.size(); ++i) {
    const auto& a = c.model.calibration[i];
    const auto& b = c.heuristic.calibration[i];
    std::printf("  %.2f-%.2f   | %8zu %8.3f %8.3f | %8zu %8.3f %8.3f\n", a.lo, a.hi, a.count,
                a.mean_predicted, a.observed, b.count, b.mean_predicted, b.observed);
  }
}

nlohmann::json ComparisonJson(const Comparison& c) {
  return {{"model", BinaryMetricsJson(c.model, true)},
          {"heuristic", BinaryMetricsJson(c.heuristic, true)}};
}

Status Plot(const Comparison& c, const std::string& path, const std::string& title) {
  namespace fs = std::filesystem;
  std::string ext = fs::path(path).extension().string();
  std::string terminal;
  if (ext == ".svg")
    terminal = "svg size 640,480 dynamic";
  else if (ext == ".png")
    terminal = "pngcairo size 640,480";
  else
    return Status::InvalidArgument("--plot must end in .svg or .png");
  std::string data = path + ".dat";
  {
    std::ofstream out(data);
    for (size_t i = 0; i < c.model.calibration.size(); ++i) {
      const auto& a = c.model.calibration[i];
      const auto& b = c.heuristic.calibration[i];
      out << (a.count ? std::to_string(a.mean_predicted) : "NaN") << ' '
          << (a.count ? std::to_string(a.observed) : "NaN") << ' '
          << (b.count ? std::to_string(b.mean_predicted) : "NaN") << ' '
          << (b.count ? std::to_string(b.observed) : "NaN") << ' ' << a.count << ' ' << b.count
          << '\n';
    }
  }
  FILE* gp = ::popen("gnuplot 2>&1", "w");
  if (!gp) return Status::Unavailable("cannot run gnuplot (install gnuplot-nox)");
  std::fprintf(gp,
               "set terminal %s\nset output '%s'\nset title '%s' noenhanced\n"
               "set xlabel 'predicted p_hot' noenhanced\nset ylabel 'observed share hot'\n"
               "set xrange [0:1]\nset yrange [0:1]\nset key left top\nset grid\n"
               "plot x title 'perfectly calibrated' lc rgb '#adb5bd' dt 2, "
               "'%s' using 1:2 with linespoints pt 7 lc rgb '#d9480f' title 'model', "
               "'%s' using 3:4 with linespoints pt 5 lc rgb '#1971c2' title 'heuristic'\n",
               terminal.c_str(), path.c_str(), title.c_str(), data.c_str(), data.c_str());
  int rc = ::pclose(gp);
  std::error_code ec;
  fs::remove(data, ec);
  if (rc != 0) {
    return Status::Unavailable("gnuplot failed (exit " + std::to_string(rc) +
                               "); is gnuplot-nox installed?");
  }
  return Status::OK();
}

}  // namespace

Status RunTrain(const TrainCommandOptions& o) {
  if (o.out.empty()) return Status::InvalidArgument("--out FILE is required");
  TrainingOptions t;
  if (o.model == "rf")
    t.params = TrainParams::Defaults(kRandomForest);
  else if (o.model == "gbt")
    t.params = TrainParams::Defaults(kBoostedTrees);
  else
    return Status::InvalidArgument("--model must be rf or gbt");
  if (o.rounds > 0) t.params.rounds = o.rounds;
  if (o.trees > 0) t.params.trees = o.trees;
  if (o.max_depth > 0) t.params.max_depth = o.max_depth;
  if (o.eta > 0) t.params.eta = o.eta;
  if (o.subsample > 0) t.params.subsample = o.subsample;
  if (o.colsample > 0) t.params.colsample = o.colsample;
  t.params.nthread = o.threads;
  t.params.seed = o.seed;
  t.label = o.label;
  t.threshold = o.threshold;
  t.valid_fraction = o.valid_fraction;

  DIM_ASSIGN_OR_RETURN(auto built, BuildTrainingRows(o.source, o.label));
  t.source = built.source;
  const Dataset& all = built.rows;
  if (!o.source.quiet) {
    std::fprintf(stderr, "train: %zu rows (%zu hot) from %s to %s\n", all.rows(), all.positives(),
                 Utc(all.ts_ms.front()).c_str(), Utc(all.ts_ms.back()).c_str());
  }
  std::string what = t.params.kind == kRandomForest
                         ? "a forest of " + std::to_string(t.params.trees) + " trees"
                         : std::to_string(t.params.rounds) + " boosting rounds";
  ProgressLine progress("train: " + what, "rounds", o.source.quiet, 1.0);
  if (!o.source.quiet) std::fprintf(stderr, "train: growing %s...\n", what.c_str());
  auto report = TrainPopularityModel(all, t, [&](int round, int rounds, const std::string& eval) {
    // "[3]\ttrain-auc:0.97\ttrain-logloss:0.2\tvalid-auc:0.96 ..." -> the validation part.
    std::string tail = eval;
    if (auto p = eval.find("valid-"); p != std::string::npos) tail = eval.substr(p);
    for (auto& ch : tail) {
      if (ch == '\t') ch = ' ';
    }
    progress.Update(round, rounds, tail);
  });
  DIM_RETURN_IF_ERROR(report.status());
  auto& r = *report;
  DIM_RETURN_IF_ERROR(r.model->Save(o.out));
  const auto& h = r.model->header();
  if (o.json) {
    nlohmann::json j = {{"model_id", h.model_id},
                        {"kind", h.kind},
                        {"out", o.out},
                        {"train_rows", r.train_rows},
                        {"valid_rows", r.valid_rows},
                        {"train_seconds", r.train_seconds},
                        {"validation", ComparisonJson(r.validation)}};
    std::printf("%s\n", j.dump(2).c_str());
    return Status::OK();
  }
  std::printf("trained %s model %s in %.1f s -> %s\n", h.kind.c_str(), h.model_id.c_str(),
              r.train_seconds, o.out.c_str());
  std::printf("  label: hot = at least %lld accesses in the next %lld s\n",
              static_cast<long long>(h.label.min_accesses),
              static_cast<long long>(h.label.horizon_s));
  std::printf("  rows: %zu training, %zu validation (%zu hot), validation from %s\n", r.train_rows,
              r.valid_rows, r.validation.model.positives, Utc(r.split_ms).c_str());
  std::printf("\n  validation:\n");
  PrintComparison(r.validation);
  return Status::OK();
}

Status RunEvaluate(const EvaluateCommandOptions& o) {
  if (o.model.empty()) return Status::InvalidArgument("--model FILE is required");
  DIM_ASSIGN_OR_RETURN(auto model, XgbModel::Load(o.model, 2));
  const auto& h = model->header();
  LabelSpec label = h.label;
  if (o.label.horizon_s > 0) label.horizon_s = o.label.horizon_s;
  if (o.label.min_accesses > 0) label.min_accesses = o.label.min_accesses;
  if (!(label == h.label) && !o.source.quiet) {
    std::fprintf(
        stderr,
        "evaluate: judging against >= %lld accesses in %lld s; the model was trained for "
        ">= %lld in %lld s\n",
        static_cast<long long>(label.min_accesses), static_cast<long long>(label.horizon_s),
        static_cast<long long>(h.label.min_accesses), static_cast<long long>(h.label.horizon_s));
  }
  const double threshold = o.threshold > 0 ? o.threshold : h.threshold;
  DIM_ASSIGN_OR_RETURN(auto built, BuildTrainingRows(o.source, label));
  Dataset rows;
  std::string which = "all rows";
  if (o.all_rows) {
    rows = std::move(built.rows);
  } else {
    DIM_ASSIGN_OR_RETURN(auto split, SplitByTime(built.rows, o.valid_fraction, label));
    rows = std::move(split.valid);
    which = "the last " + std::to_string(static_cast<int>(o.valid_fraction * 100 + 0.5)) +
            "% of the time span (from " + Utc(split.split_ms) + ")";
  }
  DIM_ASSIGN_OR_RETURN(auto c, CompareOn(rows, *model, threshold, o.bins));
  if (!o.plot.empty()) {
    DIM_RETURN_IF_ERROR(Plot(c, o.plot, "reliability: " + h.model_id + " vs the heuristic"));
  }
  if (o.json) {
    nlohmann::json j = {
        {"model_id", h.model_id},
        {"kind", h.kind},
        {"rows", rows.rows()},
        {"label", {{"horizon_s", label.horizon_s}, {"min_accesses", label.min_accesses}}},
        {"source", built.source},
        {"which", which}};
    j.update(ComparisonJson(c));
    std::printf("%s\n", j.dump(2).c_str());
    return Status::OK();
  }
  std::printf("model %s (%s, trained %s)\n", h.model_id.c_str(), h.kind.c_str(),
              Utc(h.trained_at_ms).c_str());
  std::printf("  label: hot = at least %lld accesses in the next %lld s\n",
              static_cast<long long>(label.min_accesses), static_cast<long long>(label.horizon_s));
  std::printf("  rows: %zu (%zu hot), %s\n\n", rows.rows(), c.model.positives, which.c_str());
  PrintComparison(c);
  PrintCalibration(c);
  if (!o.plot.empty()) std::printf("\n  reliability diagram: %s\n", o.plot.c_str());
  return Status::OK();
}

}  // namespace dim
