// Synthetic inputs for tests and benchmarks of the planners: a six-site catalog (three providers,
// each with a fast and a cheap class, list-price-like numbers) and a reproducible fleet of
// objects on it (log-uniform sizes, Zipf-like access counts, placements that obey the rules).
// Not used by `dim` itself. Pure functions.
#pragma once

#include <cstdint>
#include <vector>

#include "core/config.h"
#include "optimizer/fleet.h"

namespace dim {

std::vector<SiteConfig> SixSiteCatalog();

struct SampleFleetOptions {
  size_t objects = 1000;
  uint32_t seed = 1;
  int rf = 1;
  int64_t now_ms = 1'700'000'000'000;
  double hot_fraction = 0.1;  // share of objects with recent bursts
};

// Objects on `sites` (placed per their tier's class, RF distinct providers when possible),
// with their stats and p_hot set as the seed's heuristic would.
Fleet SampleFleet(const std::vector<SiteConfig>& sites, const SampleFleetOptions& o);

}  // namespace dim
