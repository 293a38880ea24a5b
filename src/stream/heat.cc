#include "stream/heat.h"

#include <algorithm>
#include <cmath>

namespace dim {

double FoldHeat(double prev, double dt_s, int64_t access_1h, int64_t access_24h,
                const HeatParams& p) {
  double decay = std::exp(-std::max(0.0, dt_s) / std::max(1e-9, p.tau_s));
  double daily_extra = std::max<int64_t>(0, access_24h - access_1h);
  return prev * decay + static_cast<double>(access_1h) + p.daily_weight * daily_extra;
}

double DecayedHeat(double heat, int64_t updated_ms, int64_t now_ms, double tau_s) {
  double dt = std::max<int64_t>(0, now_ms - updated_ms) / 1000.0;
  return heat * std::exp(-dt / std::max(1e-9, tau_s));
}

bool HeatFoldDue(int64_t updated_ms, int64_t now_ms, const HeatParams& p) {
  return updated_ms == 0 || now_ms - updated_ms >= p.interval_s * 1000;
}

}  // namespace dim
