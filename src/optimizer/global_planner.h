// The global planner service (`POST /optimize/all` and a periodic run): reads every object in
// pages (MetadataStore::ScanForPlanning: one query per page, never one per object), predicts
// p_hot a page at a time in one Predictor batch, plans the whole fleet at once (fleet_plan.h:
// capacities, migration budget, CBC or decomposition, time limit, gap), and applies the changes
// in order of saving per moved byte, each through the compare-and-swap UpdatePlacement (which
// logs the decision with its explanation and expected monthly saving, and queues the copies for
// the migrator). An object that changed since it was read loses its compare-and-swap and is left
// to the next run. One run at a time: a concurrent Run is FailedPrecondition. Thread-safe.
#pragma once

#include <atomic>
#include <functional>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/clock.h"
#include "core/metrics.h"
#include "ml/predictor.h"
#include "optimizer/fleet_plan.h"
#include "optimizer/runtime_policy.h"
#include "store/metadata_store.h"

namespace dim {

struct GlobalPlanReport {
  FleetPlan plan;  // per-object arrays cleared after the run; the summary stays
  int64_t objects = 0;
  int64_t applied = 0;    // changes committed
  int64_t conflicts = 0;  // lost their compare-and-swap (changed meanwhile)
  int64_t errors = 0;
  bool dry_run = false;
  double expected_saving_month = 0;  // over the applied (or, dry run, planned) changes
  double seconds_read = 0, seconds_plan = 0, seconds_apply = 0;
  std::vector<std::string> site_names;
  std::vector<int64_t> site_capacity;              // bytes; 0 unlimited
  nlohmann::json moves = nlohmann::json::array();  // the first moves, in order
};
nlohmann::json GlobalPlanReportJson(const GlobalPlanReport& r);

class GlobalPlanner {
 public:
  struct Settings {
    PlanContext context;  // sites, rf, SLA, tier params, objective, cost; the rest set per run
    double heat_tau_s = 1800;
    int max_attempts = 5;  // for the tasks the changes queue
    int page = 10000;
    size_t report_moves = 100;
  };
  GlobalPlanner(MetadataStore& store, PredictorSlot& predictor, RuntimePolicy& policy,
                const Clock& clock, MetricsRegistry& metrics, Settings settings);

  void SetSiteAvailability(std::function<bool(const std::string&)> available);

  // apply = false plans only (dry run). actor names who asked, for the audit log.
  Result<GlobalPlanReport> Run(const PlanOptions& options, bool apply, const std::string& actor);

  // Every object as of now_ms, with p_hot predicted (exposed for benchmarks and tests).
  Result<Fleet> ReadFleet(int64_t now_ms);
  PlanContext ContextNow(int64_t now_ms);

 private:
  MetadataStore& store_;
  PredictorSlot& predictor_;
  RuntimePolicy& policy_;
  const Clock& clock_;
  Settings settings_;
  std::mutex avail_mu_;
  std::function<bool(const std::string&)> available_;
  std::mutex run_mu_;

  Family<Counter>& runs_;
  Counter& applied_;
  Histogram& seconds_;
  Gauge& gap_;
};

}  // namespace dim
