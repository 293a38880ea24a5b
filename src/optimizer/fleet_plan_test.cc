// The global planner's core: without coupling it is every object's own optimum; with capacities
// and a migration budget it respects both, CBC is optimal on small fleets (checked by brute
// force), decomposition is feasible and its bound is consistent with CBC's, moves come by saving
// per byte, and no chosen placement breaks RF, provider diversity or the SLA rule.
#include "optimizer/fleet_plan.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <random>
#include <set>

#include "optimizer/placement.h"
#include "optimizer/sample_fleet.h"

namespace dim {
namespace {

PlanContext Context(const std::vector<SiteConfig>& sites, int rf, int64_t now) {
  PlanContext c;
  c.sites = sites;
  c.rf = rf;
  c.sla_ms = 80;
  c.now_ms = now;
  return c;
}

// The per-object request the Optimizer would build for object i with the plan's tier.
PlacementRequest RequestFor(const Fleet& f, const PlanContext& ctx, size_t i, Tier tier) {
  CostParams cp = ctx.cost;
  cp.sla_ms = ctx.sla_ms;
  Demand d = ForecastDemand(f.size[i], f.access_24h[i], f.access_7d[i], f.write_share[i],
                            f.bytes_per_read[i], f.p_hot[i], cp);
  std::vector<float> age(ctx.sites.size(), 0);
  double source = 0;
  bool any = false;
  for (uint32_t k = f.held_begin[i]; k < f.held_begin[i + 1]; ++k) {
    age[f.held_site[k]] = f.held_age_days[k];
    double out = MoveOutPerGb(SitePrices::From(ctx.sites[f.held_site[k]]));
    if (!any || out < source) source = out;
    any = true;
  }
  PlacementRequest r;
  r.objective = PlacementObjective::kCost;
  r.rf = ctx.rf;
  r.sla_ms = ctx.sla_ms;
  r.tier = tier;
  r.enforce_encryption = ctx.enforce_encryption;
  r.explain = false;
  for (size_t s = 0; s < ctx.sites.size(); ++s) {
    const auto& sc = ctx.sites[s];
    SiteCandidate c;
    c.name = sc.name;
    c.provider = sc.provider;
    c.storage_class = sc.storage_class;
    c.encrypted = sc.encrypted;
    c.p95_ms = sc.p95_ms;
    c.cost_per_gb = sc.cost_per_gb_month;
    c.available = ctx.available.empty() || ctx.available[s];
    c.cost = CostAt(SitePrices::From(sc), d, f.held[i] >> s & 1, age[s], source, cp);
    r.sites.push_back(c);
  }
  return r;
}

void ExpectRulesHold(const Fleet& f, const PlanContext& ctx, const FleetPlan& plan) {
  for (size_t i = 0; i < f.size_objects(); ++i) {
    if (!plan.Changes(i)) continue;
    const PlanOption& c = plan.Chosen(i);
    ASSERT_FALSE(c.flags & PlanOption::kBreaksRule) << i;
    int k = std::min<int>(ctx.rf, static_cast<int>(ctx.sites.size()));
    EXPECT_EQ(__builtin_popcountll(c.mask), k) << "RF broken for object " << i;
    std::set<std::string> providers;
    bool sla = false, any_sla = false;
    for (size_t s = 0; s < ctx.sites.size(); ++s) {
      any_sla |= ctx.sites[s].p95_ms <= ctx.sla_ms;
      if (!(c.mask >> s & 1)) continue;
      providers.insert(ctx.sites[s].provider);
      sla |= ctx.sites[s].p95_ms <= ctx.sla_ms;
      if (!ctx.available.empty()) {
        EXPECT_TRUE(ctx.available[s]) << i;
      }
    }
    // A fallback left a capacitated site out, which may switch the class and SLA rules off.
    const bool fallback = c.flags & PlanOption::kFallback;
    bool sla_all_capacitated = true, class_all_capacitated = true;
    for (size_t s = 0; s < ctx.sites.size(); ++s) {
      if (ctx.sites[s].capacity_bytes > 0) continue;
      if (ctx.sites[s].p95_ms <= ctx.sla_ms) sla_all_capacitated = false;
      if (ctx.sites[s].storage_class == plan.tier[i]) class_all_capacitated = false;
    }
    if (k >= 2 && !(c.relaxed & 1)) {
      EXPECT_EQ(providers.size(), static_cast<size_t>(k)) << i;
    }
    if (any_sla && !(c.relaxed & 4) && !(fallback && sla_all_capacitated)) {
      EXPECT_TRUE(sla) << "SLA rule broken for object " << i;
    }
    bool any_class = false;
    for (size_t s = 0; s < ctx.sites.size(); ++s) {
      bool allowed = (ctx.available.empty() || ctx.available[s]) &&
                     (!ctx.enforce_encryption || ctx.sites[s].encrypted);
      any_class |= allowed && ctx.sites[s].storage_class == plan.tier[i];
    }
    if (any_class && !(c.relaxed & 2) && !fallback) {
      EXPECT_EQ(ctx.sites[c.primary].storage_class, plan.tier[i]) << "primary off class " << i;
    } else if (any_class && fallback && !class_all_capacitated && !(c.relaxed & 2)) {
      EXPECT_EQ(ctx.sites[c.primary].storage_class, plan.tier[i]) << "primary off class " << i;
    }
  }
}

TEST(FleetPlanTest, WithoutCouplingEveryObjectGetsItsOwnOptimum) {
  for (int rf : {1, 2}) {
    SampleFleetOptions so;
    so.objects = 3000;
    so.rf = rf;
    so.seed = 7 + rf;
    auto sites = SixSiteCatalog();
    Fleet f = SampleFleet(sites, so);
    PlanContext ctx = Context(sites, rf, so.now_ms);
    ctx.available = {true, true, true, true, false, true};  // gcs-nearline is down
    FleetPlan plan = PlanFleet(f, ctx, PlanOptions{}).value();
    EXPECT_EQ(plan.solver, "independent");
    EXPECT_EQ(plan.status, "optimal");
    EXPECT_EQ(plan.gap, 0);
    EXPECT_EQ(plan.constrained, 0);
    EXPECT_GT(plan.changes, 0);
    ExactPlacer exact;
    int compared = 0;
    for (size_t i = 0; i < f.size_objects(); ++i) {
      auto r = exact.Solve(RequestFor(f, ctx, i, plan.tier[i])).value();
      const PlanOption& c = plan.Chosen(i);
      auto names = OptionSites(f, ctx, c, plan.tier[i]);
      EXPECT_NEAR(c.cost, r.objective, 1e-9 * (1 + std::abs(r.objective))) << i;
      if (c.cost < r.objective - 1e-12 || c.cost > r.objective + 1e-12) continue;
      EXPECT_EQ(names.front(), r.chosen.front()) << "primary of object " << i;
      EXPECT_EQ(std::set<std::string>(names.begin(), names.end()),
                std::set<std::string>(r.chosen.begin(), r.chosen.end()))
          << i;
      ++compared;
    }
    EXPECT_GT(compared, 2900);
    ExpectRulesHold(f, ctx, plan);
  }
}

// Brute force over every combination of the objects' options.
double BruteForce(const Fleet& f, const PlanContext& ctx, const FleetPlan& plan,
                  const PlanOptions& o, bool* feasible) {
  const size_t n = f.size_objects();
  std::vector<uint32_t> pick(n, 0);
  double best = 1e300;
  std::function<void(size_t, double, double, double, std::vector<double>&)> rec =
      [&](size_t i, double cost, double bytes, double dollars, std::vector<double>& use) {
        if (o.budget_bytes > 0 && bytes > o.budget_bytes / 1e9 + 1e-12) return;
        if (o.budget_dollars > 0 && dollars > o.budget_dollars + 1e-12) return;
        if (i == n) {
          double over = 0;
          for (size_t s = 0; s < ctx.sites.size(); ++s) {
            if (ctx.sites[s].capacity_bytes > 0) {
              over += std::max(0.0, use[s] - ctx.sites[s].capacity_bytes / 1e9);
            }
          }
          best = std::min(best, cost + kOverCapacityPenaltyPerGb * over);
          return;
        }
        for (uint32_t j = 0; j < plan.count[i]; ++j) {
          const PlanOption& op = plan.Option(i, j);
          double gb = f.size[i] / 1e9;
          bool stay = j == plan.stay[i];
          for (uint64_t m = op.mask; m; m &= m - 1) use[__builtin_ctzll(m)] += gb;
          rec(i + 1, cost + op.cost, bytes + (stay ? 0 : plan.MovedBytes(f, i, op) / 1e9),
              dollars + (stay ? 0 : op.move_dollars), use);
          for (uint64_t m = op.mask; m; m &= m - 1) use[__builtin_ctzll(m)] -= gb;
        }
      };
  std::vector<double> use(ctx.sites.size(), 0.0);
  rec(0, 0, 0, 0, use);
  *feasible = best < 1e300;
  return best;
}

TEST(FleetPlanTest, CbcIsOptimalOnSmallFleetsAndDecompositionIsFeasible) {
  std::mt19937 rng(3);
  auto catalog = SixSiteCatalog();
  int binding = 0;
  for (int iter = 0; iter < 120; ++iter) {
    std::vector<SiteConfig> sites(catalog.begin(), catalog.begin() + 3 + rng() % 3);
    SampleFleetOptions so;
    so.objects = 4 + rng() % 3;
    so.seed = 100 + iter;
    so.hot_fraction = 0.5;
    so.rf = 1 + static_cast<int>(rng() % 2);
    Fleet f = SampleFleet(sites, so);
    double total_gb = 0;
    for (auto s : f.size) total_gb += s / 1e9;
    for (auto& s : sites) {
      if (rng() % 2)
        s.capacity_bytes =
            static_cast<int64_t>(total_gb * 1e9 * (0.2 + 0.6 * (rng() % 100) / 100.0)) + 1;
    }
    PlanContext ctx = Context(sites, so.rf, so.now_ms);
    ctx.cost.horizon_days = 90;
    PlanOptions o;
    o.patterns = 4;
    if (rng() % 2)
      o.budget_bytes = static_cast<int64_t>(total_gb * 1e9 * (rng() % 100) / 200.0) + 1;
    if (rng() % 3 == 0) o.budget_dollars = 0.05 * (rng() % 10) + 0.001;
    o.solver = "cbc";
    o.relative_gap = 0;  // prove optimality: the brute force checks it
    FleetPlan cbc = PlanFleet(f, ctx, o).value();
    o.solver = "decomposition";
    FleetPlan dec = PlanFleet(f, ctx, o).value();
    bool feasible = false;
    double best = BruteForce(f, ctx, cbc, o, &feasible);
    ASSERT_TRUE(feasible) << iter;  // staying put always fits the budget
    const double tol = 1e-7 * (1 + std::abs(best));
    if (cbc.solver == "cbc") {
      ++binding;
      EXPECT_EQ(cbc.status, "optimal") << iter;
      EXPECT_NEAR(cbc.objective, best, tol) << iter;
      EXPECT_LE(cbc.gap, 1e-9) << iter;
      EXPECT_GE(dec.objective, best - tol) << iter;
      EXPECT_LE(dec.bound, best + tol) << "decomposition's bound above the optimum at " << iter;
    } else {
      EXPECT_EQ(cbc.solver, "independent");
      EXPECT_NEAR(cbc.objective, best, tol) << iter;
    }
    for (const FleetPlan* p : {&cbc, &dec}) {
      if (o.budget_bytes > 0) {
        EXPECT_LE(p->moved_bytes, o.budget_bytes) << iter;
      }
      if (o.budget_dollars > 0) {
        EXPECT_LE(p->move_dollars, o.budget_dollars + 1e-6) << iter;
      }
      ExpectRulesHold(f, ctx, *p);
    }
  }
  EXPECT_GT(binding, 40);  // most instances must actually exercise the coupled problem
}

TEST(FleetPlanTest, CapacitiesAndBudgetHoldOnALargerFleet) {
  auto sites = SixSiteCatalog();
  SampleFleetOptions so;
  so.objects = 1500;
  so.rf = 2;
  so.hot_fraction = 0.3;
  Fleet f = SampleFleet(sites, so);
  PlanContext ctx = Context(sites, 2, so.now_ms);
  ctx.cost.horizon_days = 180;
  FleetPlan free_plan = PlanFleet(f, ctx, PlanOptions{}).value();
  ASSERT_EQ(free_plan.solver, "independent");
  // Cap the two sites the unconstrained plan fills most between today's use and what it wants.
  std::vector<int> grow;
  for (int s = 0; s < 6; ++s) {
    if (free_plan.site_gb_after[s] > free_plan.site_gb_before[s] * 1.05) grow.push_back(s);
  }
  ASSERT_GE(grow.size(), 2u);
  std::sort(grow.begin(), grow.end(), [&](int a, int b) {
    return free_plan.site_gb_after[a] - free_plan.site_gb_before[a] >
           free_plan.site_gb_after[b] - free_plan.site_gb_before[b];
  });
  grow.resize(2);
  for (int s : grow) {
    double want = free_plan.site_gb_after[s], now = free_plan.site_gb_before[s];
    sites[s].capacity_bytes = static_cast<int64_t>((now + 0.5 * (want - now)) * 1e9);
  }
  ctx = Context(sites, 2, so.now_ms);
  ctx.cost.horizon_days = 180;
  PlanOptions o;
  o.budget_bytes = static_cast<int64_t>(free_plan.moved_bytes * 0.3);
  o.time_limit_s = 10;
  for (const char* solver : {"cbc", "decomposition"}) {
    o.solver = solver;
    FleetPlan p = PlanFleet(f, ctx, o).value();
    EXPECT_EQ(p.solver, solver);
    for (int s : grow) {
      EXPECT_LE(p.site_gb_after[s], sites[s].capacity_bytes / 1e9 + 1e-9)
          << solver << " " << sites[s].name;
    }
    EXPECT_LE(p.moved_bytes, o.budget_bytes) << solver;
    EXPECT_GT(p.moved_bytes, o.budget_bytes * 0.9) << solver;  // the budget is used, not wasted
    EXPECT_TRUE(p.budget_binding) << solver;
    EXPECT_GT(p.deferred, 0) << solver;
    EXPECT_LE(p.objective, p.objective_before) << solver;
    EXPECT_GE(p.gap, 0) << solver;
    EXPECT_LT(p.gap, 0.01) << solver;
    EXPECT_LE(p.bound, p.objective + 1e-9) << solver;
    ExpectRulesHold(f, ctx, p);
    // Moves come by saving per moved byte, best first.
    double prev = 1e300;
    for (uint32_t i : p.order) {
      double bytes = std::max<double>(1, static_cast<double>(p.MovedBytes(f, i, p.Chosen(i))));
      double per = (p.Option(i, p.stay[i]).cost - p.Chosen(i).cost) / bytes;
      EXPECT_LE(per, prev * (1 + 1e-12) + 1e-18);
      prev = per;
    }
  }
}

TEST(FleetPlanTest, HotShareCapHoldsFleetWide) {
  auto sites = SixSiteCatalog();
  SampleFleetOptions so;
  so.objects = 5000;
  so.hot_fraction = 0.9;
  Fleet f = SampleFleet(sites, so);
  for (auto& t : f.tier) t = Tier::kCold;  // everyone wants promotion at once
  PlanContext ctx = Context(sites, 1, so.now_ms);
  FleetPlan p = PlanFleet(f, ctx, PlanOptions{}).value();
  EXPECT_EQ(p.hot_before, 0);
  EXPECT_GT(p.hot_after, 0);
  EXPECT_LE(p.hot_after, static_cast<int64_t>(std::ceil(0.30 * 5000)));
}

TEST(FleetPlanTest, PlacementsThatBreakARuleAreFixed) {
  auto sites = SixSiteCatalog();
  SampleFleetOptions so;
  so.objects = 2000;
  Fleet f = SampleFleet(sites, so);
  PlanContext ctx = Context(sites, 1, so.now_ms);
  ctx.enforce_encryption = true;  // azure-cool is not encrypted: its objects must leave
  int64_t on_cool = 0;
  for (size_t i = 0; i < f.size_objects(); ++i) on_cool += f.placed[i] >> 3 & 1;
  ASSERT_GT(on_cool, 50);
  FleetPlan all = PlanFleet(f, ctx, PlanOptions{}).value();
  for (size_t i = 0; i < f.size_objects(); ++i) {
    EXPECT_FALSE(all.Chosen(i).mask >> 3 & 1) << "object " << i << " left on the unencrypted site";
  }
  // Under a tight budget some wait, but the fixes outrank ordinary savings of the same size and
  // nothing moves onto the excluded site.
  PlanOptions o;
  o.budget_bytes = all.moved_bytes / 10;
  FleetPlan p = PlanFleet(f, ctx, o).value();
  EXPECT_GT(p.deferred, 0);
  int64_t fixes = 0;
  for (uint32_t i : p.order) {
    fixes += (p.Option(i, p.stay[i]).flags & PlanOption::kBreaksRule) != 0;
    EXPECT_FALSE(p.Chosen(i).mask >> 3 & 1);
  }
  EXPECT_GT(fixes, 0);
  EXPECT_LE(p.moved_bytes, o.budget_bytes);
}

TEST(FleetPlanTest, MismatchedSitesAreAClearError) {
  auto sites = SixSiteCatalog();
  Fleet f = SampleFleet(sites, SampleFleetOptions{});
  PlanContext ctx = Context(std::vector<SiteConfig>(sites.begin(), sites.begin() + 3), 1, 0);
  EXPECT_EQ(PlanFleet(f, ctx, PlanOptions{}).status().code(), StatusCode::kInvalidArgument);
  std::swap(sites[0], sites[1]);
  EXPECT_EQ(PlanFleet(f, Context(sites, 1, 0), PlanOptions{}).status().code(),
            StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace dim
