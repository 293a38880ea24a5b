// The tier policy (the seed's): boosted heat = heat + boost * p_adj decides the desired tier by
// two thresholds, then hysteresis and minimum residency keep objects from flapping:
//   - a hot object stays hot while recently accessed, while boosted heat is within 80% of the hot
//     threshold, or before its minimum residency; it then steps down to warm (never straight to
//     cold) only once p_adj <= hot_demote_p or it had fewer than 15 accesses in 24 h;
//   - a warm object goes cold only after its minimum residency and warm_demote_recency_s idle;
//   - a promotion to hot needs room under max_hot_share and (>= 30 accesses in 1 h or
//     p_adj >= 0.6); otherwise it stops at warm.
// Promotions are never held back by residency.
#pragma once

#include <cstdint>
#include <string>

#include "core/tier.h"

namespace dim {

struct TierParams {
  double hot_threshold = 70;
  double warm_threshold = 25;
  double heat_pred_boost = 35;
  double max_hot_share = 0.30;
  double hot_demote_recency_s = 900;
  double warm_demote_recency_s = 21600;
  double hot_demote_p = 0.35;
  double min_residency_hot_s = 1800;
  double min_residency_warm_s = 7200;
  double min_residency_cold_s = 86400;
};

struct TierInputs {
  double heat = 0;
  double p_adj = 0;
  int64_t access_1h = 0;
  int64_t access_24h = 0;
  Tier current = Tier::kCold;
  double residency_s = 0;  // time in the current tier
  double recency_s = 0;    // since the last access
  double hot_share = 0;    // share of all objects that are hot now
};

struct TierDecision {
  Tier tier = Tier::kCold;
  double boosted_heat = 0;
  Tier desired = Tier::kCold;  // before hysteresis
  std::string reason;
};

// with_reason = false skips building `reason` (the batch planner decides millions at once).
TierDecision DecideTier(const TierInputs& in, const TierParams& p, bool with_reason = true);

}  // namespace dim
