#include "optimizer/site_score.h"

#include <algorithm>

namespace dim {
namespace {

double Rel(double x, double lo, double hi, bool invert) {
  if (hi <= lo) return 1.0;
  double z = std::clamp((x - lo) / (hi - lo), 0.0, 1.0);
  return invert ? 1.0 - z : z;
}

}  // namespace

std::vector<double> SiteScores(const std::vector<ScoredSite>& sites, double p_hot,
                               const std::string& current_primary,
                               const std::vector<std::string>& affinity_regions,
                               const ScoreWeights& w) {
  std::vector<double> out;
  if (sites.empty()) return out;
  double lat_min = sites[0].p95_ms, lat_max = sites[0].p95_ms;
  double cost_min = sites[0].cost_per_gb, cost_max = sites[0].cost_per_gb;
  for (const auto& s : sites) {
    lat_min = std::min(lat_min, s.p95_ms);
    lat_max = std::max(lat_max, s.p95_ms);
    cost_min = std::min(cost_min, s.cost_per_gb);
    cost_max = std::max(cost_max, s.cost_per_gb);
  }
  for (const auto& s : sites) {
    double lat = Rel(s.p95_ms, lat_min, lat_max, true);
    double cost = Rel(s.cost_per_gb, cost_min, cost_max, true);
    const std::string& region = s.region.empty() ? s.name : s.region;
    double aff = std::find(affinity_regions.begin(), affinity_regions.end(), region) !=
                         affinity_regions.end() ? 1.0 : 0.0;
    double egress = (!current_primary.empty() && s.name == current_primary) ? 0.0 : 1.0;
    out.push_back(w.w_hot * p_hot + w.w_lat * lat + w.w_cost * cost + w.w_aff * aff -
                  w.w_egress * egress);
  }
  return out;
}

double AdjustedPHot(double p_hot, const std::vector<double>& scores) {
  double max_score = scores.empty() ? 0.0 : *std::max_element(scores.begin(), scores.end());
  return AdjustedPHotFromMax(p_hot, max_score);
}

double AdjustedPHotFromMax(double p_hot, double max_score) {
  double quality = std::clamp(max_score / 3.0, 0.6, 1.0);
  return p_hot * (0.6 + 0.4 * quality);
}

}  // namespace dim
