#include "optimizer/cbc_placer.h"

#include <algorithm>
#include <cmath>
#include <map>

#include "optimizer/cbc_milp.h"
#include "optimizer/placement_engine.h"

namespace dim {

Result<Choice> CbcOptimum(const CompactProblem& p, const PlacementRules& rules,
                          const std::vector<uint64_t>& forbid) {
  std::vector<int> sites;
  for (uint64_t m = p.allowed; m; m &= m - 1) sites.push_back(__builtin_ctzll(m));
  if (sites.empty() || p.k < 1 || p.k > static_cast<int>(sites.size())) return Choice{};
  const bool cls = p.ClassActive(rules);
  // Scale so the largest coefficient is 1000: Clp's tolerances are absolute, and $ terms of a
  // small object are tiny.
  double big = 0;
  for (int s : sites) big = std::max({big, std::abs(p.a[s]), std::abs(p.b[s])});
  const double scale = big > 0 ? 1000.0 / big : 1.0;

  MilpProblem m;
  std::vector<int> x(sites.size()), y(sites.size(), -1);
  for (size_t i = 0; i < sites.size(); ++i) x[i] = m.AddColumn(p.a[sites[i]] * scale, 0, 1, true);
  for (size_t i = 0; i < sites.size(); ++i) {
    bool eligible = !cls || ((p.cls >> sites[i]) & 1);
    if (eligible) y[i] = m.AddColumn(p.b[sites[i]] * scale, 0, 1, true);
  }
  int count = m.AddRow(p.k, p.k);
  int primary = m.AddRow(1, 1);
  for (size_t i = 0; i < sites.size(); ++i) {
    m.Set(count, x[i], 1);
    if (y[i] >= 0) {
      m.Set(primary, y[i], 1);
      int link = m.AddRow(-kMilpInfinity, 0);
      m.Set(link, y[i], 1);
      m.Set(link, x[i], -1);
    }
  }
  if (p.SlaActive(rules)) {
    int row = m.AddRow(1, kMilpInfinity);
    for (size_t i = 0; i < sites.size(); ++i) {
      if ((p.sla >> sites[i]) & 1) m.Set(row, x[i], 1);
    }
  }
  if (p.DiversityActive(rules)) {
    std::map<int, std::vector<size_t>> by_provider;
    for (size_t i = 0; i < sites.size(); ++i) by_provider[p.provider[sites[i]]].push_back(i);
    for (const auto& [prov, members] : by_provider) {
      if (members.size() < 2) continue;
      int row = m.AddRow(-kMilpInfinity, 1);
      for (size_t i : members) m.Set(row, x[i], 1);
    }
  }
  for (uint64_t f : forbid) {
    if ((f & ~p.allowed) != 0 || __builtin_popcountll(f) != p.k)
      continue;  // cannot be chosen anyway
    int row = m.AddRow(-kMilpInfinity, p.k - 1);
    for (size_t i = 0; i < sites.size(); ++i) {
      if ((f >> sites[i]) & 1) m.Set(row, x[i], 1);
    }
  }
  DIM_ASSIGN_OR_RETURN(MilpSolution sol, SolveMilp(m));
  if (sol.outcome == MilpSolution::Outcome::kInfeasible) return Choice{};
  if (sol.outcome != MilpSolution::Outcome::kOptimal) {
    return Status::Internal("CBC did not prove the placement optimal");
  }
  Choice c;
  for (size_t i = 0; i < sites.size(); ++i) {
    if (sol.x[x[i]] > 0.5) c.mask |= uint64_t{1} << sites[i];
  }
  if (!Feasible(p, rules, c.mask) ||
      std::find(forbid.begin(), forbid.end(), c.mask) != forbid.end()) {
    return Status::Internal("CBC returned a placement that breaks the rules");
  }
  c.primary = PrimaryOf(p, rules, c.mask);
  c.objective = ObjectiveOf(p, c.mask, c.primary);
  return c;
}

Result<PlacementResult> CbcPlacer::Solve(const PlacementRequest& r) {
  return SolvePlacement(r, "cbc", CbcOptimum);
}

Result<PlacementResult> AutoPlacer::Solve(const PlacementRequest& r) {
  int allowed = 0;
  for (const auto& s : r.sites) {
    allowed += (s.available && s.has_room && (!r.enforce_encryption || s.encrypted)) ? 1 : 0;
  }
  if (allowed <= max_exact_sites_) return exact_.Solve(r);
  return cbc_.Solve(r);
}

}  // namespace dim
