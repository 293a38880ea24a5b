#include "optimizer/placement_engine.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <numeric>
#include <sstream>

namespace dim {

std::string_view PlacementObjectiveName(PlacementObjective o) {
  return o == PlacementObjective::kSeed ? "seed" : "cost";
}

std::optional<PlacementObjective> ParsePlacementObjective(std::string_view s) {
  if (s == "seed") return PlacementObjective::kSeed;
  if (s == "cost") return PlacementObjective::kCost;
  return std::nullopt;
}

namespace {

std::string Money(double v) {
  std::ostringstream os;
  os.precision(4);
  os << v;
  return os.str();
}

double SeedTerm(const SiteCandidate& s, const PlacementRequest& r) {
  return s.cost_per_gb + 0.001 * std::max(0.0, s.p95_ms - r.sla_ms) - r.score_weight * s.score;
}

// The $ terms of a choice, by name (cost objective).
std::map<std::string, double> DollarTerms(const PlacementRequest& r, uint64_t mask, int primary) {
  std::map<std::string, double> t = {{"storage", 0},  {"writes", 0},      {"move", 0},
                                     {"requests", 0}, {"retrieval", 0},   {"egress", 0},
                                     {"latency", 0},  {"early_delete", 0}};
  for (size_t i = 0; i < r.sites.size(); ++i) {
    const SiteCost& c = r.sites[i].cost;
    if (mask & (uint64_t{1} << i)) {
      t["storage"] += c.storage;
      t["writes"] += c.writes;
      t["move"] += c.move;
    } else {
      t["early_delete"] += c.early_delete;
    }
    if (static_cast<int>(i) == primary) {
      t["requests"] += c.requests;
      t["retrieval"] += c.retrieval;
      t["egress"] += c.egress;
      t["latency"] += c.latency;
    }
  }
  return t;
}

struct Solved {
  Choice choice;
  PlacementRules rules;
  std::vector<std::string> relaxed;
};

// The seed's relaxation: diversity, then tier class, then the SLA, until something is feasible.
Result<Solved> RelaxedOptimum(const CompactProblem& p, const OptimumFn& optimum) {
  Solved s;
  DIM_ASSIGN_OR_RETURN(s.choice, optimum(p, s.rules, {}));
  if (!s.choice.ok()) {
    s.rules.diversity = false;
    s.relaxed.push_back("provider_diversity");
    DIM_ASSIGN_OR_RETURN(s.choice, optimum(p, s.rules, {}));
  }
  if (!s.choice.ok()) {
    s.rules.tier_class = false;
    s.relaxed.push_back("tier_class");
    DIM_ASSIGN_OR_RETURN(s.choice, optimum(p, s.rules, {}));
  }
  if (!s.choice.ok()) {
    s.rules.sla = false;
    s.relaxed.push_back("sla");
    DIM_ASSIGN_OR_RETURN(s.choice, optimum(p, s.rules, {}));
  }
  return s;
}

std::vector<std::string> Names(const PlacementRequest& r, const CompactProblem& p,
                               const Choice& c) {
  std::vector<std::string> out;
  for (int i : ListedSites(p, c.mask, c.primary)) out.push_back(r.sites[i].name);
  return out;
}

}  // namespace

Result<CompactBuild> BuildCompactProblem(const PlacementRequest& r) {
  const size_t n = r.sites.size();
  if (n > static_cast<size_t>(kMaxCompactSites)) {
    return Status::InvalidArgument("placement over " + std::to_string(n) + " sites; at most " +
                                   std::to_string(kMaxCompactSites) + " are supported");
  }
  CompactBuild out;
  CompactProblem& p = out.problem;
  p.n = static_cast<int>(n);
  p.has_tier = r.tier.has_value();
  p.diversity = r.provider_diversity;
  out.excluded.assign(n, "");
  std::map<std::string, int> providers;
  for (size_t i = 0; i < n; ++i) {
    const auto& s = r.sites[i];
    const uint64_t bit = uint64_t{1} << i;
    if (!s.available)
      out.excluded[i] = "availability";
    else if (r.enforce_encryption && !s.encrypted)
      out.excluded[i] = "encryption";
    else if (!s.has_room)
      out.excluded[i] = "capacity";
    else
      p.allowed |= bit;
    if (s.p95_ms <= r.sla_ms) p.sla |= bit;
    if (r.tier && s.storage_class == *r.tier) p.cls |= bit;
    auto [it, inserted] = providers.emplace(s.provider, static_cast<int>(providers.size()));
    p.provider[i] = static_cast<uint8_t>(it->second);
    if (r.objective == PlacementObjective::kSeed) {
      p.a[i] = SeedTerm(s, r);
      p.b[i] = 0;
    } else {
      p.a[i] = s.cost.Replica() - s.cost.early_delete;
      p.b[i] = s.cost.Primary();
      p.constant += s.cost.early_delete;
    }
  }
  // Listing order (the seed's): the tier's class first, then fastest, cheapest, name.
  std::vector<int> idx(n);
  std::iota(idx.begin(), idx.end(), 0);
  std::sort(idx.begin(), idx.end(), [&](int a, int b) {
    const auto& x = r.sites[a];
    const auto& y = r.sites[b];
    bool xc = r.tier && x.storage_class == *r.tier, yc = r.tier && y.storage_class == *r.tier;
    if (xc != yc) return xc;
    if (x.p95_ms != y.p95_ms) return x.p95_ms < y.p95_ms;
    if (x.cost_per_gb != y.cost_per_gb) return x.cost_per_gb < y.cost_per_gb;
    return x.name < y.name;
  });
  for (size_t rank = 0; rank < n; ++rank) p.order[idx[rank]] = static_cast<uint8_t>(rank);
  std::sort(idx.begin(), idx.end(),
            [&](int a, int b) { return r.sites[a].name < r.sites[b].name; });
  for (size_t rank = 0; rank < n; ++rank) p.name_rank[idx[rank]] = static_cast<uint8_t>(rank);
  int allowed = __builtin_popcountll(p.allowed);
  p.k = std::min(std::max(1, r.rf), allowed);
  return out;
}

Result<PlacementResult> SolvePlacement(const PlacementRequest& r, const std::string& solver,
                                       const OptimumFn& optimum) {
  DIM_ASSIGN_OR_RETURN(CompactBuild built, BuildCompactProblem(r));
  const CompactProblem& p = built.problem;
  PlacementResult out;
  out.solver = solver;
  for (size_t i = 0; i < r.sites.size(); ++i) {
    const auto& s = r.sites[i];
    SiteTerms t;
    t.site = s.name;
    t.cost = s.cost_per_gb;
    t.latency_penalty = 0.001 * std::max(0.0, s.p95_ms - r.sla_ms);
    t.score_term = -r.score_weight * s.score;
    t.total = t.cost + t.latency_penalty + t.score_term;
    t.dollars = s.cost;
    t.replica_coef = p.a[i];
    t.primary_coef = p.b[i];
    if (!built.excluded[i].empty()) {
      t.allowed = false;
      t.excluded_because = built.excluded[i] == "availability" ? "unavailable"
                           : built.excluded[i] == "encryption"
                               ? "not encrypted (encryption enforced)"
                               : "no room (site capacity)";
    }
    out.terms.push_back(std::move(t));
  }
  if (p.allowed == 0) {
    bool capacity =
        std::find(built.excluded.begin(), built.excluded.end(), "capacity") != built.excluded.end();
    return Status::FailedPrecondition(r.enforce_encryption
                                          ? "no available encrypted site may hold the object"
                                      : capacity ? "no available site has room for the object"
                                                 : "no site is available");
  }
  DIM_ASSIGN_OR_RETURN(Solved best, RelaxedOptimum(p, optimum));
  if (!best.choice.ok()) return Status::Internal("placement found nothing feasible");
  out.relaxed = best.relaxed;
  out.chosen = Names(r, p, best.choice);
  out.objective = best.choice.objective;
  if (!r.explain) return out;

  // Runner-up: the best other feasible set; else the best other set at all, and the rules it
  // breaks.
  DIM_ASSIGN_OR_RETURN(Choice second, optimum(p, best.rules, {best.choice.mask}));
  std::vector<std::string> broken;
  if (!second.ok()) {
    DIM_ASSIGN_OR_RETURN(second,
                         optimum(p, PlacementRules{false, false, false}, {best.choice.mask}));
    if (second.ok()) {
      out.runner_up_feasible = false;
      PlacementRules all;
      if (p.SlaActive(all) && (second.mask & p.sla) == 0) broken.push_back("sla");
      if (p.ClassActive(all) && (second.mask & p.cls) == 0) broken.push_back("tier_class");
      if (p.DiversityActive(all) && !Feasible(p, PlacementRules{false, true, false}, second.mask)) {
        broken.push_back("provider_diversity");
      }
    }
  }
  if (second.ok()) {
    out.runner_up = Names(r, p, second);
    out.runner_up_objective = second.objective;
    std::string why;
    if (!broken.empty()) {
      why = "infeasible: breaks";
      for (const auto& b : broken) why += " " + b;
      why += "; objective " + Money(second.objective) + " vs " + Money(best.choice.objective);
    } else if (r.objective == PlacementObjective::kSeed) {
      double dc = 0, dl = 0, ds = 0;
      for (size_t i = 0; i < r.sites.size(); ++i) {
        double sign = ((second.mask >> i) & 1) ? 1 : 0;
        sign -= ((best.choice.mask >> i) & 1) ? 1 : 0;
        dc += sign * out.terms[i].cost;
        dl += sign * out.terms[i].latency_penalty;
        ds += sign * out.terms[i].score_term;
      }
      why = "objective higher by " + Money(second.objective - best.choice.objective) + ": ";
      if (ds >= dc && ds >= dl)
        why += "lower site score (latency, price and staying put) by " + Money(ds);
      else if (dc >= dl)
        why += "storage costs $" + Money(dc) + "/GB-month more";
      else
        why += "latency penalty over the SLA higher by " + Money(dl);
    }
    if (r.objective == PlacementObjective::kCost) {
      auto a = DollarTerms(r, best.choice.mask, best.choice.primary);
      auto b = DollarTerms(r, second.mask, second.primary);
      std::vector<std::pair<double, std::string>> diffs;
      for (const auto& [name, v] : b) {
        out.runner_up_extra[name] = v - a[name];
        diffs.push_back({v - a[name], name});
      }
      std::sort(diffs.begin(), diffs.end(), std::greater<>());
      if (broken.empty()) {
        why = "costs $" + Money(second.objective - best.choice.objective) + " more over " +
              Money(r.horizon_days) + " days";
        int shown = 0;
        for (const auto& [d, name] : diffs) {
          if (d <= 0 || shown == 2) break;
          why += std::string(shown ? ", " : ": ") + name + " +$" + Money(d);
          ++shown;
        }
      }
    }
    out.runner_up_lost_because = why;
  }

  // Binding constraints: those whose removal changes the optimum.
  auto differs = [&](PlacementRules alt) -> Result<bool> {
    DIM_ASSIGN_OR_RETURN(Choice c, optimum(p, alt, {}));
    return c.ok() && Names(r, p, c) != out.chosen;
  };
  if (best.rules.sla) {
    PlacementRules a = best.rules;
    a.sla = false;
    DIM_ASSIGN_OR_RETURN(bool d, differs(a));
    if (d) out.binding.push_back("sla");
  }
  if (best.rules.diversity && p.k >= 2) {
    PlacementRules a = best.rules;
    a.diversity = false;
    DIM_ASSIGN_OR_RETURN(bool d, differs(a));
    if (d) out.binding.push_back("provider_diversity");
  }
  if (best.rules.tier_class && r.tier) {
    PlacementRules a = best.rules;
    a.tier_class = false;
    DIM_ASSIGN_OR_RETURN(bool d, differs(a));
    if (d) out.binding.push_back("tier_class");
  }
  // Excluded sites: would the object go to one of them if it could?
  if (p.allowed != (p.n == 64 ? ~uint64_t{0} : (uint64_t{1} << p.n) - 1)) {
    CompactProblem open = p;
    open.allowed = p.n == 64 ? ~uint64_t{0} : (uint64_t{1} << p.n) - 1;
    open.k = std::min(std::max(1, r.rf), p.n);
    DIM_ASSIGN_OR_RETURN(Solved alt, RelaxedOptimum(open, optimum));
    if (alt.choice.ok() && Names(r, open, alt.choice) != out.chosen) {
      std::vector<std::string> why;
      for (uint64_t m = alt.choice.mask; m; m &= m - 1) {
        const std::string& code = built.excluded[__builtin_ctzll(m)];
        if (!code.empty() && std::find(why.begin(), why.end(), code) == why.end())
          why.push_back(code);
      }
      if (why.empty()) why.push_back(r.enforce_encryption ? "encryption" : "availability");
      for (auto& w : why) out.binding.push_back(w);
    }
  }
  return out;
}

}  // namespace dim
