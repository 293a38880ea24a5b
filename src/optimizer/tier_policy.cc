#include "optimizer/tier_policy.h"

#include <algorithm>
#include <sstream>

namespace dim {

TierDecision DecideTier(const TierInputs& in, const TierParams& p, bool with_reason) {
  TierDecision d;
  double p_adj = std::clamp(in.p_adj, 0.0, 1.0);
  d.boosted_heat = in.heat + p.heat_pred_boost * p_adj;
  Tier desired = d.boosted_heat >= p.hot_threshold    ? Tier::kHot
                 : d.boosted_heat >= p.warm_threshold ? Tier::kWarm
                                                      : Tier::kCold;
  d.desired = desired;
  bool room = in.hot_share < p.max_hot_share;
  bool capped = desired == Tier::kHot && in.current != Tier::kHot && !room;
  if (capped) desired = Tier::kWarm;
  const char* extra = "";
  auto decide = [&]() -> Tier {
    if (in.current == Tier::kHot && desired != Tier::kHot) {
      if (in.recency_s < p.hot_demote_recency_s)
        return extra = "; stays hot: accessed recently", Tier::kHot;
      if (d.boosted_heat >= p.hot_threshold * 0.8) {
        return extra = "; stays hot: within 80% of the hot threshold", Tier::kHot;
      }
      if (in.residency_s < p.min_residency_hot_s)
        return extra = "; stays hot: minimum residency", Tier::kHot;
      if (p_adj <= p.hot_demote_p || in.access_24h < 15)
        return extra = "; demoted to warm", Tier::kWarm;
      return extra = "; stays hot: still likely hot", Tier::kHot;
    }
    if (in.current == Tier::kWarm && desired == Tier::kCold) {
      if (in.residency_s < p.min_residency_warm_s)
        return extra = "; stays warm: minimum residency", Tier::kWarm;
      if (in.recency_s < p.warm_demote_recency_s)
        return extra = "; stays warm: accessed recently", Tier::kWarm;
    }
    if (in.current != Tier::kHot && desired == Tier::kHot) {
      if (room && (in.access_1h >= 30 || p_adj >= 0.6))
        return extra = "; promoted to hot", Tier::kHot;
      return extra = "; promotion stops at warm (needs 30 accesses/h or p_adj >= 0.6)", Tier::kWarm;
    }
    return desired;
  };
  d.tier = decide();
  if (with_reason) {
    std::ostringstream why;
    why.precision(3);
    why << "boosted heat " << d.boosted_heat << " -> " << TierName(d.desired);
    if (capped)
      why << "; hot share " << in.hot_share << " at cap " << p.max_hot_share << " -> warm";
    why << extra;
    d.reason = why.str();
  }
  return d;
}

}  // namespace dim
