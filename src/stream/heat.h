// The seed's decaying heat score:
//   heat' = heat * exp(-dt / tau) + access_1h + w * (access_24h - access_1h)
// Folded at most once per object per `interval_s` (and whenever an object is evaluated on
// request), so a steady access rate A per hour settles near A / (1 - exp(-interval/tau)) instead
// of growing with how often the consumer flushes. Between folds, heat only decays.
#pragma once

#include <cstdint>

namespace dim {

struct HeatParams {
  double tau_s = 1800;
  double daily_weight = 0.2;
  int64_t interval_s = 60;
};

// One fold of the formula; dt_s < 0 is treated as 0.
double FoldHeat(double prev, double dt_s, int64_t access_1h, int64_t access_24h, const HeatParams& p);

// Heat as of now_ms, decayed since it was last folded at updated_ms.
double DecayedHeat(double heat, int64_t updated_ms, int64_t now_ms, double tau_s);

// Whether a fold is due at now_ms for heat last folded at updated_ms (0: never).
bool HeatFoldDue(int64_t updated_ms, int64_t now_ms, const HeatParams& p);

}  // namespace dim
