// The global planner's in-memory core: every object of a Fleet at once.
//   1. tiers: the tier policy per object (no reasons built), then the hot-share cap over the whole
//      fleet: objects staying hot keep their place, promotions are admitted by boosted heat;
//   2. options: per object its `patterns` cheapest feasible placements (the per-object problem of
//      placement_problem.h, with the same rules and relaxations), for each capacitated site the
//      best placement without it (what the per-object placer does when that site is full; when
//      that breaks a rule the full site would have met, it costs kFallbackPenalty more, so it is
//      taken only when the site really is full), and "stay" (no change at all).
//      A stay that breaks a rule of the decided tier (its class, availability, encryption, RF,
//      SLA, diversity) costs kRulePenalty more: without coupling every object gets its own
//      optimum, and under a budget rule fixes and tier changes come first;
//   3. solve: min sum of option costs subject to the capacity of every site with capacity_bytes
//      (soft: kOverCapacityPenaltyPerGb for each GB over) and the migration budget (bytes of new
//      copies and one-off dollars: copy-in costs and early-deletion fees). When the objects' own
//      best options already fit, that is the optimum ("independent"). Otherwise one MILP in CBC
//      over the non-dominated options with a time limit and its proven gap ("cbc"), or, beyond
//      milp_max_columns, Lagrangian relaxation of the coupling rows (subgradient, a lower bound)
//      with a greedy repair that takes moves by saving per moved byte ("decomposition").
// Pure function of its inputs; uses `threads` worker threads.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/config.h"
#include "optimizer/cost_model.h"
#include "optimizer/fleet.h"
#include "optimizer/placement.h"
#include "optimizer/tier_policy.h"

namespace dim {

inline constexpr double kRulePenalty = 1000;
inline constexpr double kOverCapacityPenaltyPerGb = 1e6;  // capacity is hard unless impossible
inline constexpr double kFallbackPenalty = 100;           // off the rules because a site is full
inline constexpr int kMaxFallbacks = 3;

struct PlanContext {
  std::vector<SiteConfig> sites;  // in the Fleet's site order
  std::vector<bool> available;    // per site; empty: all available
  bool enforce_encryption = false;
  int rf = 1;
  double sla_ms = 80;
  TierParams tier;
  PlacementObjective objective = PlacementObjective::kCost;
  CostParams cost;
  double score_weight_base = 0.2;
  double score_weight_p = 0.6;
  int64_t now_ms = 0;
};

struct PlanOptions {
  int64_t budget_bytes = 0;     // bytes of new copies per run; 0: unlimited
  double budget_dollars = 0;    // one-off $ per run (copies in, early deletions); 0: unlimited
  double time_limit_s = 20;     // for the solve
  double relative_gap = 1e-4;   // CBC stops once its plan is proven this close to the optimum
  std::string solver = "auto";  // auto | cbc | decomposition
  int64_t milp_max_columns = 20000;
  int patterns = 6;  // candidate placements per object, besides staying
  int threads = 2;
};

struct PlanOption {
  uint64_t mask = 0;
  double cost = 0;         // objective over the horizon, penalties included
  float move_dollars = 0;  // one-off $ against the dollar budget
  int8_t primary = -1;
  uint8_t flags = 0;
  uint8_t relaxed = 0;  // rules relaxed to find it: 1 provider_diversity, 2 tier_class, 4 sla
  // kFallback: the best placement with one capacitated site left out (as if it were full).
  static constexpr uint8_t kStay = 1, kBreaksRule = 2, kDominated = 4, kFallback = 8;
};

struct FleetPlan {
  size_t stride = 0;  // options of object i: [i * stride, i * stride + count[i])
  std::vector<uint8_t> count;
  std::vector<PlanOption> options;  // cheapest first
  std::vector<uint32_t> chosen;     // option index within the object's options
  std::vector<uint8_t> stay;        // index of the stay option
  std::vector<uint8_t> best;        // the object's own best (cheapest non-dominated) option
  std::vector<Tier> tier;           // the tier policy's decision (kept only if not staying)
  std::vector<uint8_t> relaxed;     // bits: 1 provider_diversity, 2 tier_class, 4 sla
  std::vector<uint32_t> order;      // changed objects, by saving per moved byte, best first

  std::string solver;  // independent | cbc | decomposition
  std::string status;  // optimal | feasible | time_limit | greedy
  double objective_before = 0, objective = 0, bound = 0, gap = 0;
  // changes: objects whose tier or sites change; moves: those that copy bytes; constrained: those
  // not getting their own best option (capacity, budget); deferred: constrained ones that stay.
  int64_t changes = 0, moves = 0, constrained = 0, deferred = 0, moved_bytes = 0;
  double move_dollars = 0;
  int64_t hot_before = 0, hot_after = 0;
  std::vector<double> site_gb_before, site_gb_after, capacity_price;  // per site
  bool budget_binding = false;
  int64_t milp_columns = 0, milp_nodes = 0;
  int iterations = 0;
  double seconds_options = 0, seconds_solve = 0;

  const PlanOption& Option(size_t obj, size_t j) const { return options[obj * stride + j]; }
  const PlanOption& Chosen(size_t obj) const { return Option(obj, chosen[obj]); }
  bool Changes(size_t obj) const { return chosen[obj] != stay[obj]; }
  int64_t MovedBytes(const Fleet& f, size_t obj, const PlanOption& o) const;
};

// InvalidArgument when the sites do not match the fleet or exceed 64.
Result<FleetPlan> PlanFleet(const Fleet& fleet, const PlanContext& ctx, const PlanOptions& o);

// The cost model's recurring $/month of object `obj` on the sites of `o` (the decision log's
// expected saving is the current placement's minus the new one's).
double MonthlyCost(const Fleet& fleet, const PlanContext& ctx, size_t obj, const PlanOption& o);

// An option's site names, primary first, then in the listing order for `tier`.
std::vector<std::string> OptionSites(const Fleet& fleet, const PlanContext& ctx,
                                     const PlanOption& o, Tier tier);

}  // namespace dim
