// The seed's per-site preference score (higher is better):
//   score = w_hot*p_hot + w_lat*lat_rel + w_cost*cost_rel + w_aff*affinity - w_egress*egress
// lat_rel and cost_rel are 1 for the fastest/cheapest site and 0 for the slowest/dearest;
// egress is 0 for the object's current primary and 1 elsewhere (moving costs egress).
// Also the seed's p_adj = p * (0.6 + 0.4 * clamp(max_score / 3, 0.6, 1)).
#pragma once

#include <string>
#include <vector>

namespace dim {

struct ScoreWeights {
  double w_hot = 1.0;
  double w_lat = 0.6;
  double w_cost = 0.4;
  double w_aff = 0.2;
  double w_egress = 0.3;
};

struct ScoredSite {
  std::string name;
  std::string region;
  double p95_ms = 0;
  double cost_per_gb = 0;
};

std::vector<double> SiteScores(const std::vector<ScoredSite>& sites, double p_hot,
                               const std::string& current_primary,
                               const std::vector<std::string>& affinity_regions = {},
                               const ScoreWeights& w = {});

double AdjustedPHot(double p_hot, const std::vector<double>& scores);
// The same from the best site's score alone.
double AdjustedPHotFromMax(double p_hot, double max_score);

}  // namespace dim
