// Optimizer benchmark (bench/README.md): per-object decisions/s, the fleet re-plan, the seed's
// way (PuLP + the CBC binary per object, bench/pulp_placement.py) on the same instances with the
// ratio, and the global MILP on N objects x 6 sites with binding capacities and a budget.
// Inputs are the synthetic six-site catalog and fleet of sample_fleet.h. Each figure is the
// median of --runs runs.
#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <numeric>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "optimizer/cost_model.h"
#include "optimizer/fleet_plan.h"
#include "optimizer/placement.h"
#include "optimizer/placement_engine.h"
#include "optimizer/placement_problem.h"
#include "optimizer/sample_fleet.h"
#include "optimizer/site_score.h"
#include "optimizer/tier_policy.h"

namespace dim {
namespace {

using Clock = std::chrono::steady_clock;
using json = nlohmann::json;

double Since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  if (v.empty()) return 0;
  size_t m = v.size() / 2;
  return v.size() % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
}

std::string Runs(const std::vector<double>& v, const char* fmt) {
  std::string out;
  char buf[64];
  for (double x : v) {
    std::snprintf(buf, sizeof buf, fmt, x);
    out += (out.empty() ? "" : " ") + std::string(buf);
  }
  return out;
}

// What the per-object path (Optimizer::EvaluateObject) does for one object, from the fleet's
// columns: site scores and p_adj, the tier policy, the demand forecast, every site's cost terms,
// then the Placer.
struct PerObject {
  const std::vector<SiteConfig>& sites;
  std::vector<SitePrices> prices;
  std::vector<ScoredSite> scored;
  CostParams cp;
  TierParams tp;
  PlacementObjective objective;
  int rf;
  int64_t now_ms;

  PerObject(const std::vector<SiteConfig>& s, PlacementObjective obj, int rf_, int64_t now)
      : sites(s), objective(obj), rf(rf_), now_ms(now) {
    for (const auto& x : sites) {
      prices.push_back(SitePrices::From(x));
      scored.push_back({x.name, x.region, x.p95_ms, x.cost_per_gb_month});
    }
  }

  PlacementRequest Request(const Fleet& f, size_t i, bool explain) const {
    const double p = f.p_hot[i];
    const std::string primary = f.primary[i] >= 0 ? f.site_names[f.primary[i]] : std::string();
    std::vector<double> scores = SiteScores(scored, p, primary);
    TierInputs in;
    in.heat = f.heat[i];
    in.p_adj = AdjustedPHot(p, scores);
    in.access_1h = f.access_1h[i];
    in.access_24h = f.access_24h[i];
    in.current = f.tier[i];
    in.residency_s = static_cast<double>(now_ms - f.tier_since_ms[i]) / 1000.0;
    in.recency_s = f.recency_s[i];
    in.hot_share = 0.1;
    TierDecision td = DecideTier(in, tp, /*with_reason=*/explain);
    Demand d = ForecastDemand(f.size[i], f.access_24h[i], f.access_7d[i], f.write_share[i],
                              f.bytes_per_read[i], p, cp);
    std::vector<double> age(sites.size(), -1);
    double source_out = 0;
    bool any = false;
    for (uint32_t h = f.held_begin[i]; h < f.held_begin[i + 1]; ++h) {
      int s = f.held_site[h];
      age[s] = f.held_age_days[h];
      double out = MoveOutPerGb(prices[s]);
      if (!any || out < source_out) source_out = out;
      any = true;
    }
    PlacementRequest req;
    req.sites.reserve(sites.size());
    for (size_t s = 0; s < sites.size(); ++s) {
      SiteCandidate c;
      c.name = sites[s].name;
      c.provider = sites[s].provider;
      c.storage_class = sites[s].storage_class;
      c.encrypted = sites[s].encrypted;
      c.p95_ms = sites[s].p95_ms;
      c.cost_per_gb = sites[s].cost_per_gb_month;
      c.score = scores[s];
      c.cost = CostAt(prices[s], d, age[s] >= 0, std::max(0.0, age[s]), source_out, cp);
      req.sites.push_back(std::move(c));
    }
    req.rf = rf;
    req.sla_ms = cp.sla_ms;
    req.score_weight = 0.2 + 0.6 * p;
    req.tier = td.tier;
    req.objective = objective;
    req.horizon_days = cp.horizon_days;
    req.explain = explain;
    return req;
  }
};

double ThreadCpuSeconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

struct PerObjectRun {
  double seconds = 0;
  double cpu_seconds = 0;  // summed over the threads: the machine is shared
  size_t decisions = 0, errors = 0;
  double checksum = 0;
};

// Decides objects [0, n) of `f` on `threads` threads, each with its own Placer.
PerObjectRun RunPerObject(const Fleet& f, size_t n, const PerObject& po, int threads,
                          bool explain) {
  std::vector<PerObjectRun> part(threads);
  auto t0 = Clock::now();
  std::vector<std::thread> ts;
  for (int t = 0; t < threads; ++t) {
    ts.emplace_back([&, t] {
      ExactPlacer placer;
      PerObjectRun& r = part[t];
      const double cpu0 = ThreadCpuSeconds();
      for (size_t i = t; i < n; i += threads) {
        auto res = placer.Solve(po.Request(f, i, explain));
        if (!res.ok()) {
          r.errors++;
          continue;
        }
        r.decisions++;
        r.checksum += res->objective;
      }
      r.cpu_seconds = ThreadCpuSeconds() - cpu0;
    });
  }
  for (auto& t : ts) t.join();
  PerObjectRun out;
  out.seconds = Since(t0);
  for (const auto& r : part) {
    out.decisions += r.decisions;
    out.errors += r.errors;
    out.checksum += r.checksum;
    out.cpu_seconds += r.cpu_seconds;
  }
  return out;
}

json ProblemJson(const CompactProblem& p, const PlacementRules& r) {
  json j;
  j["n"] = p.n;
  j["k"] = p.k;
  j["allowed"] = p.allowed;
  j["sla"] = p.sla;
  j["cls"] = p.cls;
  j["constant"] = p.constant;
  j["sla_active"] = p.SlaActive(r);
  j["class_active"] = p.ClassActive(r);
  j["diversity_active"] = p.DiversityActive(r);
  json a = json::array(), b = json::array(), prov = json::array();
  for (int s = 0; s < p.n; ++s) {
    a.push_back(p.a[s]);
    b.push_back(p.b[s]);
    prov.push_back(p.provider[s]);
  }
  j["a"] = a;
  j["b"] = b;
  j["provider"] = prov;
  return j;
}

struct PulpRun {
  bool ok = false;
  double seconds = 0;
  size_t solved = 0, agree = 0;
  std::string error;
};

// Writes the instances, runs the PuLP script once over all of them, compares its optima with
// enumeration's.
PulpRun RunPulp(const std::string& script, const std::vector<CompactProblem>& problems,
                const std::vector<double>& exact_objectives, const std::string& dir) {
  PulpRun out;
  PlacementRules rules;
  std::string in = dir + "/pulp_in.jsonl", res = dir + "/pulp_out.json";
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) {
    out.error = "cannot create --workdir " + dir + ": " + ec.message();
    return out;
  }
  {
    std::ofstream f(in);
    for (const auto& p : problems) f << ProblemJson(p, rules).dump() << "\n";
    f.flush();
    if (!f) {
      out.error = "cannot write " + in;
      return out;
    }
  }
  std::string cmd = "/usr/bin/python3 '" + script + "' '" + in + "' '" + res + "'";
  int rc = std::system(cmd.c_str());
  if (rc != 0) {
    out.error = "`" + cmd + "` exited with " + std::to_string(rc);
    return out;
  }
  std::ifstream f(res);
  json j = json::parse(f, nullptr, false);
  if (j.is_discarded() || !j.contains("seconds") || !j.contains("objectives")) {
    out.error = res + ": not the script's output";
    return out;
  }
  out.ok = true;
  out.seconds = j["seconds"].get<double>();
  const auto& objs = j["objectives"];
  for (size_t i = 0; i < problems.size() && i < objs.size(); ++i) {
    if (objs[i].is_null()) continue;
    out.solved++;
    double a = objs[i].get<double>(), b = exact_objectives[i];
    if (std::abs(a - b) <= 1e-6 * std::max(1.0, std::abs(b))) out.agree++;
  }
  return out;
}

// A fleet in steady state: every object on the placement and tier the unconstrained plan gives
// it, held long enough that no early-deletion fee applies; then `changed` of the objects get
// another object's access pattern (from a fleet drawn with another seed), as a day of shifting
// demand would. This is what a periodic global run sees; a freshly generated fleet is far from
// any optimum (nearly every object moves).
Fleet SteadyFleet(const Fleet& f, const PlanContext& ctx, double changed, uint32_t seed) {
  PlanOptions o;
  o.threads = 2;
  Fleet g = f;
  auto plan = PlanFleet(f, ctx, o);
  if (!plan.ok()) return g;
  g.held_begin.assign(1, 0);
  g.held_site.clear();
  g.held_age_days.clear();
  for (size_t i = 0; i < f.size_objects(); ++i) {
    const PlanOption& c = plan->Chosen(i);
    g.placed[i] = c.mask;
    g.held[i] = c.mask;
    g.primary[i] = c.primary;
    g.tier[i] = plan->tier[i];
    g.tier_since_ms[i] = ctx.now_ms - 10 * 86'400'000LL;
    for (uint64_t m = c.mask; m; m &= m - 1) {
      g.held_site.push_back(static_cast<uint8_t>(__builtin_ctzll(m)));
      g.held_age_days.push_back(120);
    }
    g.held_begin.push_back(static_cast<uint32_t>(g.held_site.size()));
  }
  SampleFleetOptions so;
  so.objects = f.size_objects();
  so.seed = seed;
  so.rf = ctx.rf;
  so.now_ms = ctx.now_ms;
  Fleet h = SampleFleet(ctx.sites, so);
  uint64_t x = seed;
  for (size_t i = 0; i < f.size_objects(); ++i) {
    x = x * 6364136223846793005ULL + 1442695040888963407ULL;
    if (static_cast<double>(x >> 11) / 9007199254740992.0 >= changed) continue;
    g.heat[i] = h.heat[i];
    g.recency_s[i] = h.recency_s[i];
    g.write_share[i] = h.write_share[i];
    g.bytes_per_read[i] = h.bytes_per_read[i];
    g.access_1h[i] = h.access_1h[i];
    g.access_24h[i] = h.access_24h[i];
    g.access_7d[i] = h.access_7d[i];
    g.p_hot[i] = h.p_hot[i];
  }
  return g;
}

// Capacities on the two sites the unconstrained plan wants to grow most: what they hold now
// plus `cap_share` of that growth; and a byte budget of `budget_share` of what that plan moves.
// Staying put fits, the unconstrained plan does not: both bind.
struct Coupling {
  std::vector<SiteConfig> sites;
  int64_t budget_bytes = 0;
  std::string text;
};

Coupling MakeCoupling(const Fleet& f, const PlanContext& ctx, double cap_share,
                      double budget_share) {
  PlanOptions o;
  o.threads = 2;
  Coupling c;
  c.sites = ctx.sites;
  auto unconstrained = PlanFleet(f, ctx, o);
  if (!unconstrained.ok()) return c;
  const auto& before = unconstrained->site_gb_before;
  const auto& after = unconstrained->site_gb_after;
  std::vector<size_t> idx(ctx.sites.size());
  std::iota(idx.begin(), idx.end(), 0);
  std::sort(idx.begin(), idx.end(),
            [&](size_t a, size_t b) { return after[a] - before[a] > after[b] - before[b]; });
  std::ostringstream text;
  for (size_t r = 0; r < 2 && r < idx.size(); ++r) {
    size_t s = idx[r];
    if (after[s] <= before[s]) break;
    double cap_gb = before[s] + cap_share * (after[s] - before[s]);
    c.sites[s].capacity_bytes = static_cast<int64_t>(cap_gb * 1e9);
    text << c.sites[s].name << " capacity " << static_cast<int64_t>(cap_gb) << " GB (holds "
         << static_cast<int64_t>(before[s]) << ", unconstrained " << static_cast<int64_t>(after[s])
         << "), ";
  }
  c.budget_bytes =
      static_cast<int64_t>(static_cast<double>(unconstrained->moved_bytes) * budget_share);
  text << "budget " << c.budget_bytes / 1'000'000'000 << " GB (unconstrained moves "
       << unconstrained->moved_bytes / 1'000'000'000 << " GB in " << unconstrained->moves
       << " objects)";
  c.text = text.str();
  return c;
}

// Recomputes the plan's objective and checks capacities and the budget, independently of the
// planner's own bookkeeping.
std::string CheckPlan(const Fleet& f, const PlanContext& ctx, const FleetPlan& plan,
                      int64_t budget_bytes) {
  std::vector<double> bytes(ctx.sites.size(), 0);
  int64_t moved = 0;
  for (size_t i = 0; i < f.size_objects(); ++i) {
    const PlanOption& o = plan.Chosen(i);
    for (uint64_t m = o.mask; m; m &= m - 1) bytes[__builtin_ctzll(m)] += f.size[i];
    moved += plan.MovedBytes(f, i, o);
  }
  std::ostringstream err;
  for (size_t s = 0; s < ctx.sites.size(); ++s) {
    if (ctx.sites[s].capacity_bytes > 0 && bytes[s] > ctx.sites[s].capacity_bytes * (1 + 1e-9))
      err << ctx.sites[s].name << " over capacity; ";
  }
  if (budget_bytes > 0 && moved > budget_bytes) err << "over the byte budget; ";
  return err.str();
}

int Main(int argc, char** argv) {
  std::setvbuf(stdout, nullptr, _IOLBF, 0);  // progress as it happens, also into a file
  CLI::App app{
      "Optimizer benchmark: per-object decisions/s, fleet re-plan, PuLP baseline, "
      "global MILP"};
  size_t per_object = 200000, replan = 1000000, pulp_n = 200;
  std::vector<size_t> global = {10000, 100000};
  std::vector<std::string> solvers = {"auto", "cbc", "decomposition"};
  int runs = 3, global_runs = 3, rf = 2;
  double time_limit = 60, cap_share = 0.5, budget_share = 0.5, changed = 0.2;
  std::string script, workdir = "/tmp";
  std::string json_out;
  app.add_option("--per-object", per_object, "objects for the per-object rate (1 core)");
  app.add_option("--replan", replan, "objects re-planned on 2 cores");
  app.add_option("--pulp", pulp_n, "instances for the PuLP baseline (0: skip)");
  app.add_option("--global", global, "fleet sizes for the global MILP (x 6 sites), comma-separated")
      ->delimiter(',');
  app.add_option("--solvers", solvers, "global MILP solvers to run, comma-separated")
      ->delimiter(',');
  app.add_option("--runs", runs, "runs per figure (medians)");
  app.add_option("--global-runs", global_runs, "runs per global MILP size");
  app.add_option("--rf", rf, "replication factor");
  app.add_option("--time-limit", time_limit, "global MILP time limit, s");
  app.add_option("--cap-share", cap_share,
                 "capacity: now plus this share of the growth the unconstrained plan wants");
  app.add_option("--changed", changed, "global MILP: share of objects whose demand changed");
  app.add_option("--budget-share", budget_share, "budget: share of the unconstrained moves");
  app.add_option("--pulp-script", script, "bench/pulp_placement.py")->required();
  app.add_option("--workdir", workdir, "for the PuLP instances");
  app.add_option("--json", json_out, "also write the medians here");
  CLI11_PARSE(app, argc, argv);
  if (runs < 1 || global_runs < 1) {
    std::cerr << "--runs and --global-runs must be >= 1\n";
    return 2;
  }
  const auto sites = SixSiteCatalog();
  const int64_t now = 1'700'000'000'000;
  json results;
  int failures = 0;

  // 1. Per-object decisions, one core: seed and cost objectives, without and with explanations.
  {
    SampleFleetOptions so;
    so.objects = per_object;
    so.rf = rf;
    so.now_ms = now;
    Fleet f = SampleFleet(sites, so);
    std::printf(
        "per-object path (tier policy, costs, ExactPlacer), %zu objects x 6 sites, "
        "RF %d, 1 thread\n",
        per_object, rf);
    for (auto [obj, name] : {std::pair{PlacementObjective::kSeed, "seed"},
                             std::pair{PlacementObjective::kCost, "cost"}}) {
      for (bool explain : {false, true}) {
        PerObject po(sites, obj, rf, now);
        size_t n = explain ? std::max<size_t>(1, per_object / 10) : per_object;
        std::vector<double> rates, cpu_rates;
        for (int r = 0; r < runs; ++r) {
          PerObjectRun pr = RunPerObject(f, n, po, 1, explain);
          if (pr.errors) {
            std::printf("  %zu errors\n", pr.errors);
            failures++;
          }
          rates.push_back(pr.decisions / pr.seconds);
          cpu_rates.push_back(pr.decisions / pr.cpu_seconds);
        }
        std::printf(
            "  objective %-4s explain %-3s: %8.0f decisions/s wall, %8.0f per CPU-second "
            "(runs: %s)%s\n",
            name, explain ? "yes" : "no", Median(rates), Median(cpu_rates),
            Runs(rates, "%.0f").c_str(),
            !explain ? (Median(rates) >= 100000 ? "  goal >= 100k/s: met"
                                                : "  goal >= 100k/s: NOT met (wall)")
                     : "");
        results["per_object"][name][explain ? "explain" : "plain"] = {{"wall", Median(rates)},
                                                                      {"cpu", Median(cpu_rates)}};
      }
    }

    // 2. The seed's way on the same instances: PuLP + CBC binary per object.
    if (pulp_n > 0) {
      PerObject po(sites, PlacementObjective::kSeed, rf, now);
      std::vector<CompactProblem> problems;
      std::vector<double> exact;
      PlacementRules rules;
      for (size_t i = 0; i < f.size_objects() && problems.size() < pulp_n; ++i) {
        auto b = BuildCompactProblem(po.Request(f, i, false));
        if (!b.ok()) continue;
        Choice c;
        if (BestChoices(b->problem, rules, &c, 1) != 1) continue;
        problems.push_back(b->problem);
        exact.push_back(c.objective);
      }
      std::vector<double> ours_rates, pulp_rates, ratios;
      for (int r = 0; r < runs; ++r) {
        PerObjectRun pr = RunPerObject(f, per_object, po, 1, false);
        double ours = pr.decisions / pr.seconds;
        PulpRun pu = RunPulp(script, problems, exact, workdir);
        if (!pu.ok) {
          std::printf("  PuLP baseline failed: %s\n", pu.error.c_str());
          failures++;
          break;
        }
        double theirs = pu.solved / pu.seconds;
        std::printf(
            "  run %d: PuLP+CBC %zu problems in %.1f s (%.1f/s), %zu of %zu optima equal "
            "to enumeration's\n",
            r + 1, pu.solved, pu.seconds, theirs, pu.agree, problems.size());
        if (pu.agree != problems.size()) failures++;
        ours_rates.push_back(ours);
        pulp_rates.push_back(theirs);
        ratios.push_back(ours / theirs);
      }
      if (!ratios.empty()) {
        std::printf(
            "  seed's way (PuLP builds, CBC binary solves, once per object): %.1f "
            "decisions/s; ours %.0f/s; ratio %.0fx (runs: %s)\n",
            Median(pulp_rates), Median(ours_rates), Median(ratios), Runs(ratios, "%.0f").c_str());
        results["pulp"] = {
            {"rate", Median(pulp_rates)}, {"ours", Median(ours_rates)}, {"ratio", Median(ratios)}};
      }
    }
  }

  // 3. Re-plan the whole fleet: the per-object path on 2 threads, and the batch planner.
  if (replan > 0) {
    SampleFleetOptions so;
    so.objects = replan;
    so.rf = rf;
    so.now_ms = now;
    auto tg = Clock::now();
    Fleet f = SampleFleet(sites, so);
    std::printf("re-plan %zu objects x 6 sites, RF %d, 2 threads (fleet generated in %.1f s)\n",
                replan, rf, Since(tg));
    PerObject po(sites, PlacementObjective::kCost, rf, now);
    std::vector<double> secs, plan_secs;
    for (int r = 0; r < runs; ++r) {
      PerObjectRun pr = RunPerObject(f, replan, po, 2, false);
      secs.push_back(pr.seconds);
      std::printf("  run %d: per-object path %.2f s\n", r + 1, pr.seconds);
    }
    PlanContext ctx;
    ctx.sites = sites;
    ctx.rf = rf;
    ctx.now_ms = now;
    for (int r = 0; r < runs; ++r) {
      PlanOptions o;
      o.threads = 2;
      auto t0 = Clock::now();
      auto plan = PlanFleet(f, ctx, o);
      double s = Since(t0);
      if (!plan.ok()) {
        std::printf("  PlanFleet: %s\n", plan.status().ToString().c_str());
        failures++;
        break;
      }
      plan_secs.push_back(s);
      std::printf("  run %d: global planner (options + solve, %s) %.2f s, %lld changes\n", r + 1,
                  plan->solver.c_str(), s, static_cast<long long>(plan->changes));
    }
    std::printf(
        "  per-object path: %.2f s (%.0f objects/s); global planner: %.2f s; goal < 10 "
        "s: %s\n",
        Median(secs), replan / Median(secs), Median(plan_secs),
        std::max(Median(secs), Median(plan_secs)) < 10 ? "met" : "NOT met");
    results["replan"] = {
        {"objects", replan}, {"per_object_s", Median(secs)}, {"planner_s", Median(plan_secs)}};
  }

  // 4. The global MILP with binding capacities and a budget.
  for (size_t n : global) {
    SampleFleetOptions so;
    so.objects = n;
    so.rf = rf;
    so.now_ms = now;
    so.seed = 7;
    PlanContext ctx;
    ctx.sites = sites;
    ctx.rf = rf;
    ctx.now_ms = now;
    Fleet f = SteadyFleet(SampleFleet(sites, so), ctx, changed, 8);
    Coupling c = MakeCoupling(f, ctx, cap_share, budget_share);
    ctx.sites = c.sites;
    std::printf(
        "global plan %zu objects x 6 sites, RF %d, steady state with %.0f%% of the "
        "objects' demand changed: %s; time limit %.0f s\n",
        n, rf, changed * 100, c.text.c_str(), time_limit);
    for (const std::string& name : solvers) {
      const char* solver = name.c_str();
      std::vector<double> secs, gaps;
      std::string status, used;
      long long columns = 0;
      for (int r = 0; r < global_runs; ++r) {
        PlanOptions o;
        o.threads = 2;
        o.solver = solver;
        o.time_limit_s = time_limit;
        o.budget_bytes = c.budget_bytes;
        o.milp_max_columns = std::string(solver) == "cbc" ? INT64_MAX : 200000;
        auto t0 = Clock::now();
        auto plan = PlanFleet(f, ctx, o);
        double s = Since(t0);
        if (!plan.ok()) {
          std::printf("  %s: %s\n", solver, plan.status().ToString().c_str());
          failures++;
          break;
        }
        std::string bad = CheckPlan(f, ctx, *plan, c.budget_bytes);
        if (!bad.empty()) {
          std::printf("  %s: plan breaks its constraints: %s\n", solver, bad.c_str());
          failures++;
        }
        secs.push_back(s);
        gaps.push_back(plan->gap);
        status = plan->status;
        used = plan->solver;
        columns = plan->milp_columns;
        std::printf(
            "  %-13s run %d: %s/%s in %.2f s (options %.2f s, solve %.2f s), objective "
            "%.2f, bound %.2f, gap %.2e, %lld columns, %lld moves, budget binding %s\n",
            solver, r + 1, plan->solver.c_str(), plan->status.c_str(), s, plan->seconds_options,
            plan->seconds_solve, plan->objective, plan->bound, plan->gap,
            static_cast<long long>(plan->milp_columns), static_cast<long long>(plan->moves),
            plan->budget_binding ? "yes" : "no");
      }
      if (secs.empty()) continue;
      std::printf("  %-13s median %.2f s, gap %.2e (%s, %s)\n", solver, Median(secs), Median(gaps),
                  used.c_str(), status.c_str());
      results["global"][std::to_string(n)][solver] = {{"seconds", Median(secs)},
                                                      {"gap", Median(gaps)},
                                                      {"solver", used},
                                                      {"status", status},
                                                      {"columns", columns}};
    }
  }
  if (!json_out.empty()) std::ofstream(json_out) << results.dump(2) << "\n";
  if (failures) std::printf("%d FAILURES\n", failures);
  return failures ? 1 : 0;
}

}  // namespace
}  // namespace dim

int main(int argc, char** argv) { return dim::Main(argc, argv); }
