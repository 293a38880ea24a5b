// The engine behind every Placer: turns a PlacementRequest into a CompactProblem (objective
// coefficients, masks, exclusions), relaxes rules when nothing is feasible, and derives the
// runner-up and the binding constraints, all through one `Optimum` function that a Placer
// provides (enumeration or CBC). Pure; thread-safe if the Optimum function is.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "optimizer/placement.h"
#include "optimizer/placement_problem.h"

namespace dim {

// The best feasible choice under `rules`, never one of the masks in `forbid`; a Choice with
// ok() == false when none is feasible.
using OptimumFn = std::function<Result<Choice>(const CompactProblem&, const PlacementRules&,
                                               const std::vector<uint64_t>& forbid)>;

struct CompactBuild {
  CompactProblem problem;
  std::vector<std::string>
      excluded;  // per site: "" (allowed), "availability", "encryption", "capacity"
};

// InvalidArgument for more than kMaxCompactSites sites.
Result<CompactBuild> BuildCompactProblem(const PlacementRequest& r);

Result<PlacementResult> SolvePlacement(const PlacementRequest& r, const std::string& solver,
                                       const OptimumFn& optimum);

}  // namespace dim
