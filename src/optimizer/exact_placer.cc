// Exact placement: enumerates every RF-subset of the allowed sites (placement_problem.h).
#include "optimizer/placement.h"
#include "optimizer/placement_engine.h"

namespace dim {

Result<PlacementResult> ExactPlacer::Solve(const PlacementRequest& r) {
  return SolvePlacement(
      r, "exact",
      [](const CompactProblem& p, const PlacementRules& rules,
         const std::vector<uint64_t>& forbid) -> Result<Choice> {
        if (__builtin_popcountll(p.allowed) > 63) {
          return Status::InvalidArgument("exact placement over more than 63 sites");
        }
        Choice c;
        BestChoices(p, rules, &c, 1, forbid);
        return c;
      });
}

}  // namespace dim
