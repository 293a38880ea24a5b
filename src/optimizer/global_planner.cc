#include "optimizer/global_planner.h"

#include <spdlog/spdlog.h>

#include <chrono>

#include "ml/features.h"
#include "stream/access_consumer.h"

namespace dim {

using nlohmann::json;

namespace {

using SteadyClock = std::chrono::steady_clock;

double Since(SteadyClock::time_point t0) {
  return std::chrono::duration<double>(SteadyClock::now() - t0).count();
}

// A line every couple of seconds for long phases: done/total, rate, ETA.
class Progress {
 public:
  Progress(std::string what, int64_t total) : what_(std::move(what)), total_(total) {}
  void Update(int64_t done) {
    auto now = SteadyClock::now();
    if (now - last_ < std::chrono::seconds(2)) return;
    last_ = now;
    double secs = std::chrono::duration<double>(now - start_).count();
    double rate = secs > 0 ? static_cast<double>(done) / secs : 0;
    double eta = rate > 0 && total_ > done ? static_cast<double>(total_ - done) / rate : 0;
    spdlog::info("global plan: {} {}/{} ({:.0f}/s, ETA {:.0f} s)", what_, done, total_, rate, eta);
  }

 private:
  std::string what_;
  int64_t total_;
  SteadyClock::time_point start_ = SteadyClock::now();
  SteadyClock::time_point last_ = SteadyClock::now();
};

std::string Money(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.6g", v);
  return buf;
}

}  // namespace

json GlobalPlanReportJson(const GlobalPlanReport& r) {
  const FleetPlan& p = r.plan;
  json sites = json::object();
  for (size_t s = 0; s < r.site_names.size(); ++s) {
    json j = {{"gb_before", s < p.site_gb_before.size() ? p.site_gb_before[s] : 0.0},
              {"gb_after", s < p.site_gb_after.size() ? p.site_gb_after[s] : 0.0},
              {"capacity_gb", static_cast<double>(r.site_capacity[s]) / 1e9}};
    if (r.site_capacity[s] > 0 && s < p.site_gb_after.size()) {
      j["full"] = p.site_gb_after[s] >= 0.999 * static_cast<double>(r.site_capacity[s]) / 1e9;
      if (s < p.capacity_price.size()) j["price_per_gb"] = p.capacity_price[s];
    }
    sites[r.site_names[s]] = j;
  }
  return {
      {"total", r.objects},
      {"updated", r.applied},
      {"errors", r.errors},
      {"conflicts", r.conflicts},
      {"dry_run", r.dry_run},
      {"solver", p.solver},
      {"status", p.status},
      {"objective_before", p.objective_before},
      {"objective", p.objective},
      {"bound", p.bound},
      {"gap", p.gap},
      {"changes", p.changes},
      {"moves", p.moves},
      {"constrained", p.constrained},
      {"deferred", p.deferred},
      {"moved_bytes", p.moved_bytes},
      {"move_dollars", p.move_dollars},
      {"budget_binding", p.budget_binding},
      {"expected_saving_month", r.expected_saving_month},
      {"hot_before", p.hot_before},
      {"hot_after", p.hot_after},
      {"milp_columns", p.milp_columns},
      {"milp_nodes", p.milp_nodes},
      {"iterations", p.iterations},
      {"sites", sites},
      {"seconds", {{"read", r.seconds_read}, {"plan", r.seconds_plan}, {"apply", r.seconds_apply}}},
      {"first_moves", r.moves}};
}

GlobalPlanner::GlobalPlanner(MetadataStore& store, PredictorSlot& predictor, RuntimePolicy& policy,
                             const Clock& clock, MetricsRegistry& metrics, Settings settings)
    : store_(store),
      predictor_(predictor),
      policy_(policy),
      clock_(clock),
      settings_(std::move(settings)),
      available_([](const std::string&) { return true; }),
      runs_(metrics.AddCounter("dim_global_plan_runs_total", "Global placement runs, by solver",
                               {"solver"})),
      applied_(metrics
                   .AddCounter("dim_global_plan_changes_total",
                               "Placement changes committed by global runs")
                   .Get()),
      seconds_(metrics
                   .AddHistogram("dim_global_plan_duration_seconds",
                                 "Wall time of a global placement run")
                   .Get()),
      gap_(metrics
               .AddGauge("dim_global_plan_gap_ratio",
                         "Relative gap to the proven bound of the last global run")
               .Get()) {}

void GlobalPlanner::SetSiteAvailability(std::function<bool(const std::string&)> available) {
  std::lock_guard<std::mutex> lock(avail_mu_);
  available_ = std::move(available);
}

PlanContext GlobalPlanner::ContextNow(int64_t now_ms) {
  PlanContext ctx = settings_.context;
  ctx.now_ms = now_ms;
  ctx.enforce_encryption = policy_.EncryptionEnforced();
  std::function<bool(const std::string&)> avail;
  {
    std::lock_guard<std::mutex> lock(avail_mu_);
    avail = available_;
  }
  ctx.available.clear();
  for (const auto& s : ctx.sites) ctx.available.push_back(avail(s.name));
  return ctx;
}

Result<Fleet> GlobalPlanner::ReadFleet(int64_t now_ms) {
  Fleet f;
  for (const auto& s : settings_.context.sites) f.site_names.push_back(s.name);
  DIM_ASSIGN_OR_RETURN(auto counts, store_.CountObjectsByTier());
  int64_t total = 0;
  for (const auto& [t, c] : counts) total += c;
  f.Reserve(static_cast<size_t>(total));
  auto predictor = predictor_.Get();
  Progress progress("read", total);
  int64_t after = 0;
  std::vector<ObjectFeatures> features;
  std::vector<AccessStats> stats;
  for (;;) {
    DIM_ASSIGN_OR_RETURN(auto rows, store_.ScanForPlanning(after, settings_.page));
    if (rows.empty()) break;
    features.clear();
    stats.clear();
    for (const auto& row : rows) {
      AccessStats s;
      if (row.stats)
        s = StatsAsOf(*row.stats, now_ms, settings_.heat_tau_s);
      else
        s.key = row.object.key.Full();
      features.push_back(ExtractFeatures(&row.object, s, now_ms));
      stats.push_back(std::move(s));
    }
    auto p = predictor->PredictHot(features);
    if (!p.ok() || p->size() != rows.size()) {
      spdlog::warn("predictor {} failed on a page ({}); using the heuristic for it",
                   predictor->name(), p.ok() ? "wrong row count" : p.status().ToString());
      p = HeuristicPredictor().PredictHot(features);
    }
    for (size_t k = 0; k < rows.size(); ++k) {
      f.Append(rows[k].object, stats[k], features[k].recency_s, rows[k].live, (*p)[k], now_ms);
    }
    after = rows.back().object.id;
    progress.Update(static_cast<int64_t>(f.size_objects()));
  }
  return f;
}

Result<GlobalPlanReport> GlobalPlanner::Run(const PlanOptions& options, bool apply,
                                            const std::string& actor) {
  std::unique_lock<std::mutex> lock(run_mu_, std::try_to_lock);
  if (!lock.owns_lock()) return Status::FailedPrecondition("a global plan is already running");
  const auto t0 = SteadyClock::now();
  const int64_t now = clock_.NowMs();
  GlobalPlanReport report;
  report.dry_run = !apply;
  DIM_ASSIGN_OR_RETURN(Fleet fleet, ReadFleet(now));
  report.objects = static_cast<int64_t>(fleet.size_objects());
  report.seconds_read = Since(t0);
  const auto t1 = SteadyClock::now();
  PlanContext ctx = ContextNow(now);
  DIM_ASSIGN_OR_RETURN(report.plan, PlanFleet(fleet, ctx, options));
  report.seconds_plan = Since(t1);
  FleetPlan& plan = report.plan;
  for (const auto& s : ctx.sites) {
    report.site_names.push_back(s.name);
    report.site_capacity.push_back(s.capacity_bytes);
  }
  spdlog::info("global plan: {} objects, {} changes ({} moves, {:.3f} GB), solver {} {} gap {:.2e}",
               report.objects, plan.changes, plan.moves, plan.moved_bytes / 1e9, plan.solver,
               plan.status, plan.gap);

  const auto t2 = SteadyClock::now();
  Progress progress(apply ? "apply" : "explain", static_cast<int64_t>(plan.order.size()));
  int64_t done = 0;
  for (uint32_t i : plan.order) {
    const PlanOption& c = plan.Chosen(i);
    const PlanOption& stay = plan.Option(i, plan.stay[i]);
    const PlanOption& own = plan.Option(i, plan.best[i]);
    const Tier from_tier = fleet.tier[i];
    const Tier to_tier = plan.tier[i];
    std::vector<std::string> from = OptionSites(fleet, ctx, stay, from_tier);
    std::vector<std::string> to = OptionSites(fleet, ctx, c, to_tier);
    const int64_t bytes = plan.MovedBytes(fleet, i, c);
    const double saving = stay.cost - c.cost;
    const double saving_month = MonthlyCost(fleet, ctx, i, stay) - MonthlyCost(fleet, ctx, i, c);
    json binding = json::array();
    if (plan.chosen[i] != plan.best[i]) {
      for (uint64_t m = own.mask & ~c.mask; m; m &= m - 1) {
        int s = __builtin_ctzll(m);
        const double cap = static_cast<double>(ctx.sites[s].capacity_bytes) / 1e9;
        if (cap > 0 && plan.site_gb_after[s] + fleet.size[i] / 1e9 > cap) {
          binding.push_back("capacity:" + ctx.sites[s].name);
        }
      }
      if (plan.budget_binding) binding.push_back("migration_budget");
    }
    // Runner-up: the cheapest other option.
    json runner = nullptr;
    for (uint32_t j = 0; j < plan.count[i]; ++j) {
      if (j == plan.chosen[i]) continue;
      const PlanOption& r = plan.Option(i, j);
      std::string why = r.cost < c.cost
                            ? "cheaper by $" + Money(c.cost - r.cost) +
                                  " but does not fit the run's capacity or migration budget"
                            : "costs $" + Money(r.cost - c.cost) + " more over " +
                                  Money(ctx.cost.horizon_days) + " days";
      if (r.flags & PlanOption::kBreaksRule) why = "breaks a placement rule";
      runner = {{"chosen",
                 OptionSites(fleet, ctx, r, (r.flags & PlanOption::kStay) ? from_tier : to_tier)},
                {"objective", r.cost},
                {"stays", (r.flags & PlanOption::kStay) != 0},
                {"lost_because", why}};
      break;
    }
    json ex = {{"planner", "global"},
               {"solver", plan.solver},
               {"status", plan.status},
               {"gap", plan.gap},
               {"key", fleet.key[i]},
               {"objective_kind", PlacementObjectiveName(ctx.objective)},
               {"tier", TierName(to_tier)},
               {"chosen", to},
               {"objective", c.cost},
               {"stay_objective", stay.cost},
               {"saving_horizon", saving},
               {"moved_bytes", bytes},
               {"move_dollars", c.move_dollars},
               {"p_hot", fleet.p_hot[i]},
               {"binding_constraints", binding},
               {"runner_up", runner},
               {"expected_saving_month", saving_month}};
    if (plan.relaxed[i]) {
      json rel = json::array();
      if (plan.relaxed[i] & 1) rel.push_back("provider_diversity");
      if (plan.relaxed[i] & 2) rel.push_back("tier_class");
      if (plan.relaxed[i] & 4) rel.push_back("sla");
      ex["relaxed_constraints"] = rel;
    }
    std::string outcome = "planned";
    if (apply) {
      MetadataStore::PlacementChange pc;
      pc.object_id = fleet.id[i];
      pc.expected_version = fleet.version[i];
      pc.tier = to_tier;
      pc.sites = to;
      pc.max_attempts = settings_.max_attempts;
      pc.now_ms = now;
      pc.reason = "global_plan";
      DecisionRecord d;
      d.objective = c.cost;
      d.expected_saving_month = saving_month;
      d.explanation_json = ex.dump();
      pc.decision = d;
      auto r = store_.UpdatePlacement(pc);
      if (r.ok()) {
        ++report.applied;
        applied_.Inc();
        report.expected_saving_month += saving_month;
        outcome = "applied";
      } else if (r.status().IsAborted() || r.status().IsNotFound()) {
        ++report.conflicts;
        outcome = "conflict";
      } else {
        ++report.errors;
        outcome = "error: " + r.status().ToString();
        if (report.errors <= 5)
          spdlog::warn("global plan: {}: {}", fleet.key[i], r.status().ToString());
      }
    } else {
      report.expected_saving_month += saving_month;
    }
    if (report.moves.size() < settings_.report_moves) {
      report.moves.push_back({{"key", fleet.key[i]},
                              {"from_tier", TierName(from_tier)},
                              {"to_tier", TierName(to_tier)},
                              {"from_sites", from},
                              {"to_sites", to},
                              {"moved_bytes", bytes},
                              {"saving", saving},
                              {"saving_per_gb", bytes > 0 ? saving / (bytes / 1e9) : 0.0},
                              {"expected_saving_month", saving_month},
                              {"outcome", outcome}});
    }
    progress.Update(++done);
  }
  report.seconds_apply = Since(t2);
  AuditRecord a;
  a.ts_ms = now;
  a.actor = actor;
  a.action = apply ? "optimize.all" : "optimize.all.dry_run";
  json summary = GlobalPlanReportJson(report);
  summary.erase("first_moves");
  a.detail_json = summary.dump();
  DIM_RETURN_IF_ERROR(store_.AppendAudit(a));
  runs_.Labels({plan.solver}).Inc();
  seconds_.Observe(Since(t0));
  gap_.Set(plan.gap);
  // Keep the summary, free the per-object arrays.
  plan.options = {};
  plan.count = {};
  plan.chosen = {};
  plan.stay = {};
  plan.best = {};
  plan.tier = {};
  plan.relaxed = {};
  plan.order = {};
  return report;
}

}  // namespace dim
