#include "cli/train_cli.h"

#include <cstdio>

#include "cli/train_command.h"
#include "core/config.h"

namespace dim {

struct TrainCli {
  CLI::App* train = nullptr;
  CLI::App* evaluate = nullptr;
  TrainCommandOptions t;
  EvaluateCommandOptions e;
  std::string t_config, e_config;
  std::string t_data_dir, e_data_dir;
  int64_t t_horizon = 0, t_min = 0, e_horizon = 0, e_min = 0;
  double t_threshold = 0;
  int t_threads = 0;
};

namespace {

void AddSourceFlags(CLI::App* cmd, TrainingSource& s, std::string& config, std::string& data_dir) {
  cmd->add_option("--trace", s.trace, "Trace file (csv `ts,key,op,size` or IBM COS)")
      ->check(CLI::ExistingFile);
  cmd->add_option("--format", s.format, "Trace format: csv or ibm (default: detect)")
      ->check(CLI::IsMember({"csv", "ibm"}));
  cmd->add_flag("--synthetic", s.synthetic,
                "Use a generated workload with a known hot set instead of history");
  cmd->add_option("--objects", s.workload.objects, "--synthetic: objects")
      ->check(CLI::Range(1, 1000000));
  cmd->add_option("--days", s.workload.days, "--synthetic: days of traffic")
      ->check(CLI::Range(0.1, 365.0));
  cmd->add_option("--workload-seed", s.workload.seed, "--synthetic: random seed");
  cmd->add_option("--data-dir", data_dir,
                  "Data dir whose store history to use (default: dim-data)");
  cmd->add_option("--config", config, "TOML configuration (store and ml defaults)")
      ->check(CLI::ExistingFile);
  cmd->add_option("--history-days", s.history_days, "Days of store history to use")
      ->check(CLI::Range(0.01, 3650.0));
  cmd->add_option("--step", s.step_s, "Seconds between training snapshots")
      ->check(CLI::Range(1, 86400));
  cmd->add_flag("--quiet", s.quiet, "No progress lines");
}

// Fills what the flags left unset from the configuration; false (with a message) on a bad one.
bool ApplyConfig(const std::string& file, const std::string& data_dir, TrainingSource& s,
                 Config* out) {
  auto loaded = LoadConfigFile(file, ProcessEnv(), ProcessEnvNames());
  if (!loaded.ok()) {
    std::fputs(loaded.ErrorText(file.empty() ? "(environment)" : file).c_str(), stderr);
    return false;
  }
  *out = loaded.config;
  s.data_dir = data_dir.empty() ? out->data_dir : data_dir;
  s.store_path = data_dir.empty() ? out->store.path : "";
  return true;
}

int Report(const char* cmd, const Status& s) {
  if (s.ok()) return 0;
  std::fprintf(stderr, "dim %s: %s\n", cmd, s.ToString().c_str());
  return 1;
}

}  // namespace

std::shared_ptr<TrainCli> AddTrainCommands(CLI::App& app) {
  auto c = std::make_shared<TrainCli>();
  c->train = app.add_subcommand(
      "train", "Train a popularity model (XGBoost) from the store's history or a trace");
  auto* t = c->train;
  t->add_option("--out", c->t.out, "Model file to write")->required();
  t->add_option("--model", c->t.model, "rf (random forest) or gbt (boosted trees)")
      ->check(CLI::IsMember({"rf", "gbt"}));
  AddSourceFlags(t, c->t.source, c->t_config, c->t_data_dir);
  t->add_option("--horizon", c->t_horizon, "Label horizon T in seconds (default ml.horizon_s)")
      ->check(CLI::Range(1, 30 * 86400));
  t->add_option("--min-accesses", c->t_min, "Label threshold H (default ml.min_accesses)")
      ->check(CLI::Range(1, 1000000000));
  t->add_option("--threshold", c->t_threshold,
                "p_hot that calls an object hot (default ml.hot_p_threshold)")
      ->check(CLI::Range(0.01, 0.99));
  t->add_option("--valid-fraction", c->t.valid_fraction, "Share of the time span that validates")
      ->check(CLI::Range(0.05, 0.9));
  t->add_option("--rounds", c->t.rounds, "Boosting rounds")->check(CLI::Range(1, 100000));
  t->add_option("--trees", c->t.trees, "Trees per round (the forest's size)")
      ->check(CLI::Range(1, 10000));
  t->add_option("--max-depth", c->t.max_depth, "Maximum tree depth")->check(CLI::Range(1, 30));
  t->add_option("--eta", c->t.eta, "Learning rate")->check(CLI::Range(0.0001, 1.0));
  t->add_option("--subsample", c->t.subsample, "Row subsample")->check(CLI::Range(0.01, 1.0));
  t->add_option("--colsample", c->t.colsample, "Column subsample")->check(CLI::Range(0.01, 1.0));
  t->add_option("--threads", c->t_threads, "XGBoost threads (default ml.threads)")
      ->check(CLI::Range(1, 256));
  t->add_option("--seed", c->t.seed, "XGBoost random seed");
  t->add_flag("--json", c->t.json, "Print the report as JSON");

  c->evaluate = app.add_subcommand(
      "evaluate", "Judge a model file against the heuristic: AUC, precision, recall, calibration");
  auto* e = c->evaluate;
  e->add_option("--model", c->e.model, "Model file")->required()->check(CLI::ExistingFile);
  AddSourceFlags(e, c->e.source, c->e_config, c->e_data_dir);
  e->add_option("--horizon", c->e_horizon, "Label horizon (default: the model's)")
      ->check(CLI::Range(1, 30 * 86400));
  e->add_option("--min-accesses", c->e_min, "Label threshold (default: the model's)")
      ->check(CLI::Range(1, 1000000000));
  e->add_option("--threshold", c->e.threshold,
                "p_hot that calls an object hot (default: the model's)")
      ->check(CLI::Range(0.01, 0.99));
  e->add_option("--valid-fraction", c->e.valid_fraction,
                "Judge the last share of the time span (as training validated)")
      ->check(CLI::Range(0.05, 0.95));
  e->add_flag("--all", c->e.all_rows, "Judge every row (for data the model never saw)");
  e->add_option("--bins", c->e.bins, "Calibration bins")->check(CLI::Range(2, 100));
  e->add_option("--plot", c->e.plot, "Write a reliability diagram (.svg or .png, needs gnuplot)");
  e->add_flag("--json", c->e.json, "Print the report as JSON");
  return c;
}

int RunTrainCommands(const TrainCli& cli) {
  if (cli.train->parsed()) {
    TrainCommandOptions o = cli.t;
    Config cfg;
    if (!ApplyConfig(cli.t_config, cli.t_data_dir, o.source, &cfg)) return 2;
    o.label.horizon_s = cli.t_horizon > 0 ? cli.t_horizon : cfg.ml.horizon_s;
    o.label.min_accesses = cli.t_min > 0 ? cli.t_min : cfg.ml.min_accesses;
    o.threshold = cli.t_threshold > 0 ? cli.t_threshold : cfg.ml.hot_p_threshold;
    o.threads = cli.t_threads > 0 ? cli.t_threads : static_cast<int>(cfg.ml.threads);
    return Report("train", RunTrain(o));
  }
  if (cli.evaluate->parsed()) {
    EvaluateCommandOptions o = cli.e;
    Config cfg;
    if (!ApplyConfig(cli.e_config, cli.e_data_dir, o.source, &cfg)) return 2;
    o.label.horizon_s = cli.e_horizon;
    o.label.min_accesses = cli.e_min;
    return Report("evaluate", RunEvaluate(o));
  }
  return -1;
}

}  // namespace dim
