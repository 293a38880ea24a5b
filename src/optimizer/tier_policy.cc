#include "optimizer/tier_policy.h"

#include <algorithm>
#include <sstream>

namespace dim {

TierDecision DecideTier(const TierInputs& in, const TierParams& p) {
  TierDecision d;
  double p_adj = std::clamp(in.p_adj, 0.0, 1.0);
  d.boosted_heat = in.heat + p.heat_pred_boost * p_adj;
  std::ostringstream why;
  why.precision(3);
  Tier desired = d.boosted_heat >= p.hot_threshold    ? Tier::kHot
                 : d.boosted_heat >= p.warm_threshold ? Tier::kWarm
                                                      : Tier::kCold;
  d.desired = desired;
  why << "boosted heat " << d.boosted_heat << " -> " << TierName(desired);
  bool room = in.hot_share < p.max_hot_share;
  if (desired == Tier::kHot && in.current != Tier::kHot && !room) {
    desired = Tier::kWarm;
    why << "; hot share " << in.hot_share << " at cap " << p.max_hot_share << " -> warm";
  }
  auto done = [&](Tier t, const std::string& extra) {
    d.tier = t;
    why << extra;
    d.reason = why.str();
    return d;
  };
  if (in.current == Tier::kHot && desired != Tier::kHot) {
    if (in.recency_s < p.hot_demote_recency_s) return done(Tier::kHot, "; stays hot: accessed recently");
    if (d.boosted_heat >= p.hot_threshold * 0.8) return done(Tier::kHot, "; stays hot: within 80% of the hot threshold");
    if (in.residency_s < p.min_residency_hot_s) return done(Tier::kHot, "; stays hot: minimum residency");
    if (p_adj <= p.hot_demote_p || in.access_24h < 15) return done(Tier::kWarm, "; demoted to warm");
    return done(Tier::kHot, "; stays hot: still likely hot");
  }
  if (in.current == Tier::kWarm && desired == Tier::kCold) {
    if (in.residency_s < p.min_residency_warm_s) return done(Tier::kWarm, "; stays warm: minimum residency");
    if (in.recency_s < p.warm_demote_recency_s) return done(Tier::kWarm, "; stays warm: accessed recently");
  }
  if (in.current != Tier::kHot && desired == Tier::kHot) {
    if (room && (in.access_1h >= 30 || p_adj >= 0.6)) return done(Tier::kHot, "; promoted to hot");
    return done(Tier::kWarm, "; promotion stops at warm (needs 30 accesses/h or p_adj >= 0.6)");
  }
  return done(desired, "");
}

}  // namespace dim
