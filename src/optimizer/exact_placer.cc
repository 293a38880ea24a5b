#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <set>
#include <sstream>

#include "optimizer/placement.h"

namespace dim {
namespace {

struct Rules {
  bool sla = true, diversity = true, tier_class = true;
};

double SiteObjective(const SiteCandidate& s, const PlacementRequest& r) {
  return s.cost_per_gb + 0.001 * std::max(0.0, s.p95_ms - r.sla_ms) - r.score_weight * s.score;
}

struct Best {
  std::vector<size_t> set;
  double objective = std::numeric_limits<double>::infinity();
  std::vector<size_t> second;
  double second_objective = std::numeric_limits<double>::infinity();
};

// Enumerates k-subsets of `allowed` meeting the rules; keeps the best two.
Best Enumerate(const PlacementRequest& r, const std::vector<size_t>& allowed, size_t k,
               const Rules& rules) {
  Best best;
  bool any_sla = false, any_class = false;
  for (size_t i : allowed) {
    any_sla |= r.sites[i].p95_ms <= r.sla_ms;
    any_class |= r.tier && r.sites[i].storage_class == *r.tier;
  }
  std::vector<size_t> pick;
  std::function<void(size_t)> rec = [&](size_t from) {
    if (pick.size() == k) {
      bool has_sla = false, has_class = false;
      std::set<std::string> providers;
      double obj = 0;
      for (size_t i : pick) {
        const auto& s = r.sites[i];
        has_sla |= s.p95_ms <= r.sla_ms;
        has_class |= r.tier && s.storage_class == *r.tier;
        providers.insert(s.provider);
        obj += SiteObjective(s, r);
      }
      if (rules.sla && any_sla && !has_sla) return;
      if (rules.tier_class && any_class && !has_class) return;
      if (rules.diversity && r.provider_diversity && k >= 2 && providers.size() < k) return;
      // Strictly better, or equal and lexicographically smaller by name (deterministic).
      auto names_less = [&](const std::vector<size_t>& a, const std::vector<size_t>& b) {
        for (size_t i = 0; i < a.size() && i < b.size(); ++i) {
          if (r.sites[a[i]].name != r.sites[b[i]].name) return r.sites[a[i]].name < r.sites[b[i]].name;
        }
        return false;
      };
      constexpr double kEps = 1e-12;
      if (obj < best.objective - kEps || (std::abs(obj - best.objective) <= kEps && names_less(pick, best.set))) {
        best.second = best.set;
        best.second_objective = best.objective;
        best.set = pick;
        best.objective = obj;
      } else if (obj < best.second_objective - kEps ||
                 (std::abs(obj - best.second_objective) <= kEps && names_less(pick, best.second))) {
        best.second = pick;
        best.second_objective = obj;
      }
      return;
    }
    for (size_t j = from; j < allowed.size(); ++j) {
      pick.push_back(allowed[j]);
      rec(j + 1);
      pick.pop_back();
    }
  };
  rec(0);
  return best;
}

std::vector<std::string> Ordered(const PlacementRequest& r, std::vector<size_t> set) {
  // Primary: a site of the tier's class if chosen, then fastest, then cheapest, then name.
  std::sort(set.begin(), set.end(), [&](size_t a, size_t b) {
    const auto& x = r.sites[a];
    const auto& y = r.sites[b];
    bool xc = r.tier && x.storage_class == *r.tier, yc = r.tier && y.storage_class == *r.tier;
    if (xc != yc) return xc;
    if (x.p95_ms != y.p95_ms) return x.p95_ms < y.p95_ms;
    if (x.cost_per_gb != y.cost_per_gb) return x.cost_per_gb < y.cost_per_gb;
    return x.name < y.name;
  });
  std::vector<std::string> out;
  for (size_t i : set) out.push_back(r.sites[i].name);
  return out;
}

std::string Money(double v) {
  std::ostringstream os;
  os.precision(4);
  os << v;
  return os.str();
}

}  // namespace

Result<PlacementResult> ExactPlacer::Solve(const PlacementRequest& r) {
  PlacementResult out;
  std::vector<size_t> allowed;
  for (size_t i = 0; i < r.sites.size(); ++i) {
    const auto& s = r.sites[i];
    SiteTerms t;
    t.site = s.name;
    t.cost = s.cost_per_gb;
    t.latency_penalty = 0.001 * std::max(0.0, s.p95_ms - r.sla_ms);
    t.score_term = -r.score_weight * s.score;
    t.total = t.cost + t.latency_penalty + t.score_term;
    if (!s.available) {
      t.allowed = false;
      t.excluded_because = "unavailable";
    } else if (r.enforce_encryption && !s.encrypted) {
      t.allowed = false;
      t.excluded_because = "not encrypted (encryption enforced)";
    } else {
      allowed.push_back(i);
    }
    out.terms.push_back(std::move(t));
  }
  if (allowed.empty()) {
    return Status::FailedPrecondition(
        r.enforce_encryption ? "no available encrypted site may hold the object"
                             : "no site is available");
  }
  size_t k = std::min<size_t>(static_cast<size_t>(std::max(1, r.rf)), allowed.size());
  Rules rules;
  Best best = Enumerate(r, allowed, k, rules);
  // Relax, least important first, until something is feasible.
  if (best.set.empty()) {
    rules.diversity = false;
    out.relaxed.push_back("provider_diversity");
    best = Enumerate(r, allowed, k, rules);
  }
  if (best.set.empty()) {
    rules.tier_class = false;
    out.relaxed.push_back("tier_class");
    best = Enumerate(r, allowed, k, rules);
  }
  if (best.set.empty()) {
    rules.sla = false;
    out.relaxed.push_back("sla");
    best = Enumerate(r, allowed, k, rules);
  }
  if (best.set.empty()) return Status::Internal("placement enumeration found nothing");
  out.chosen = Ordered(r, best.set);
  out.objective = best.objective;
  std::vector<std::string> broken;
  if (best.second.empty()) {
    // No other feasible placement: name the best infeasible one and the rules it breaks.
    Best loose = Enumerate(r, allowed, k, Rules{false, false, false});
    const auto& alt = Ordered(r, loose.set) == out.chosen ? loose.second : loose.set;
    double alt_obj = Ordered(r, loose.set) == out.chosen ? loose.second_objective : loose.objective;
    if (!alt.empty()) {
      best.second = alt;
      best.second_objective = alt_obj;
      bool any_sla = false, has_sla = false, any_class = false, has_class = false;
      std::set<std::string> providers;
      for (size_t i : allowed) {
        any_sla |= r.sites[i].p95_ms <= r.sla_ms;
        any_class |= r.tier && r.sites[i].storage_class == *r.tier;
      }
      for (size_t i : alt) {
        has_sla |= r.sites[i].p95_ms <= r.sla_ms;
        has_class |= r.tier && r.sites[i].storage_class == *r.tier;
        providers.insert(r.sites[i].provider);
      }
      if (any_sla && !has_sla) broken.push_back("sla");
      if (any_class && !has_class) broken.push_back("tier_class");
      if (r.provider_diversity && k >= 2 && providers.size() < k) broken.push_back("provider_diversity");
    }
  }
  if (!best.second.empty()) {
    out.runner_up = Ordered(r, best.second);
    out.runner_up_objective = best.second_objective;
    // Which term made it lose most.
    double dc = 0, dl = 0, ds = 0;
    for (size_t i : best.second) {
      dc += out.terms[i].cost; dl += out.terms[i].latency_penalty; ds += out.terms[i].score_term;
    }
    for (size_t i : best.set) {
      dc -= out.terms[i].cost; dl -= out.terms[i].latency_penalty; ds -= out.terms[i].score_term;
    }
    std::string why;
    if (!broken.empty()) {
      why = "infeasible: breaks";
      for (const auto& b : broken) why += " " + b;
      why += "; objective " + Money(best.second_objective) + " vs " + Money(best.objective);
    } else {
      why = "objective higher by " + Money(best.second_objective - best.objective) + ": ";
    }
    if (!broken.empty()) {
    } else if (ds >= dc && ds >= dl) why += "lower site score (latency, price and staying put) by " + Money(ds);
    else if (dc >= dl) why += "storage costs $" + Money(dc) + "/GB-month more";
    else why += "latency penalty over the SLA higher by " + Money(dl);
    out.runner_up_lost_because = why;
  }
  // Binding constraints: those whose removal changes the optimum.
  auto differs = [&](Rules alt) {
    Best b = Enumerate(r, allowed, k, alt);
    return !b.set.empty() && Ordered(r, b.set) != out.chosen;
  };
  if (rules.sla) { Rules a = rules; a.sla = false; if (differs(a)) out.binding.push_back("sla"); }
  if (rules.diversity && k >= 2) {
    Rules a = rules; a.diversity = false; if (differs(a)) out.binding.push_back("provider_diversity");
  }
  if (rules.tier_class && r.tier) {
    Rules a = rules; a.tier_class = false; if (differs(a)) out.binding.push_back("tier_class");
  }
  for (const auto& t : out.terms) {
    if (!t.allowed) {
      // Would the excluded site have been chosen?
      PlacementRequest open = r;
      for (auto& s : open.sites) s.available = true;
      open.enforce_encryption = false;
      ExactPlacer again;
      auto alt = again.Solve(open);
      if (alt.ok() && alt->chosen != out.chosen) {
        out.binding.push_back(r.enforce_encryption ? "encryption" : "availability");
      }
      break;
    }
  }
  return out;
}

}  // namespace dim
