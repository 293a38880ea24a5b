// Per-object placement as a small MILP solved by COIN-OR CBC, for site counts beyond what
// enumeration should take. Binary x_s (site s holds a replica) and y_s (s is the primary):
//   min  sum a_s x_s + sum b_s y_s
//   s.t. sum x = k;  sum y = 1;  y_s <= x_s;  y_s = 0 off the tier's class (when active);
//        sum_{p95_s <= SLA} x_s >= 1 (when active);  sum_{s of provider p} x_s <= 1 (RF >= 2);
//        a no-good cut per forbidden set (runner-up).
// The coefficients are scaled for the solver and the objective recomputed exactly; the primary
// is then made canonical (placement_problem.h), so CBC and enumeration agree up to ties.
#pragma once

#include "optimizer/placement.h"
#include "optimizer/placement_problem.h"

namespace dim {

// The MILP optimum of one compact problem; !ok() when infeasible.
Result<Choice> CbcOptimum(const CompactProblem& p, const PlacementRules& rules,
                          const std::vector<uint64_t>& forbid);

class CbcPlacer final : public Placer {
 public:
  Result<PlacementResult> Solve(const PlacementRequest& request) override;
};

// Enumeration when at most `max_exact_sites` sites are allowed, CBC beyond.
class AutoPlacer final : public Placer {
 public:
  explicit AutoPlacer(int max_exact_sites = 12) : max_exact_sites_(max_exact_sites) {}
  Result<PlacementResult> Solve(const PlacementRequest& request) override;

 private:
  int max_exact_sites_;
  ExactPlacer exact_;
  CbcPlacer cbc_;
};

}  // namespace dim
