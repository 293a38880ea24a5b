#include "replay/hot_set_workload.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <random>

namespace dim {

namespace {
constexpr int64_t kHourMs = 3'600'000;
}

HotSetWorkload::HotSetWorkload(HotSetWorkloadOptions options) : o_(std::move(options)) {
  std::mt19937_64 rng(o_.seed);
  std::uniform_real_distribution<double> u(0, 1);
  const int n = std::max(1, o_.objects);
  const int64_t span_ms = end_ms() - o_.start_ms;
  for (int i = 0; i < n; ++i) {
    char name[64];
    std::snprintf(name, sizeof name, "obj-%06d", i);
    keys_.push_back(o_.bucket + "/" + name);
    double r = u(rng);
    double c1 = o_.diurnal_share, c2 = c1 + o_.steady_share, c3 = c2 + o_.warm_share,
           c4 = c3 + o_.fresh_share;
    Kind k = r < c1   ? Kind::kDiurnal
             : r < c2 ? Kind::kSteady
             : r < c3 ? Kind::kWarm
             : r < c4 ? Kind::kFresh
                      : Kind::kBackground;
    kinds_.push_back(k);
    double v = u(rng);
    // Warm: uniform near the line; background: a Zipf-like tail, 2 / rank^0.8 in [0.02, 2].
    base_rate_.push_back(k == Kind::kWarm
                             ? o_.warm_min_rate + v * (o_.warm_max_rate - o_.warm_min_rate)
                             : std::clamp(2.0 / std::pow(1 + v * n, 0.8), 0.02, 2.0));
    created_ms_.push_back(k == Kind::kFresh
                              ? o_.start_ms +
                                    static_cast<int64_t>(u(rng) * static_cast<double>(span_ms))
                              : o_.start_ms);
    sizes_.push_back(static_cast<int64_t>(std::exp(std::log(1024.0) + u(rng) * std::log(4096.0))));
  }
}

int64_t HotSetWorkload::end_ms() const {
  return o_.start_ms + static_cast<int64_t>(o_.days * 86400.0 * 1000.0);
}

double HotSetWorkload::Rate(size_t i, int64_t t) const {
  switch (kinds_[i]) {
    case Kind::kDiurnal: {
      int64_t hour = (t / kHourMs) % 24;
      return hour >= 9 && hour < 17 ? o_.hot_rate : o_.idle_rate;
    }
    case Kind::kSteady:
      return o_.steady_rate;
    case Kind::kFresh:
      if (t < created_ms_[i]) return 0;
      return t - created_ms_[i] < static_cast<int64_t>(o_.fresh_hot_s * 1000) ? o_.fresh_rate
                                                                              : o_.idle_rate;
    case Kind::kWarm:
    case Kind::kBackground:
      return base_rate_[i];
  }
  return 0;
}

bool HotSetWorkload::DesignedHot(size_t i, int64_t t, int64_t horizon_s,
                                 int64_t min_accesses) const {
  // Expected accesses in (t, t + horizon], integrated by the minute.
  double expected = 0;
  for (int64_t m = 0; m < horizon_s / 60; ++m) expected += Rate(i, t + m * 60'000 + 30'000) / 60.0;
  return expected >= static_cast<double>(min_accesses);
}

std::vector<AccessEvent> HotSetWorkload::Generate() const {
  std::mt19937_64 rng(o_.seed ^ 0x9e3779b97f4a7c15ull);
  std::uniform_real_distribution<double> u(0, 1);
  std::vector<AccessEvent> out;
  // Piecewise-constant rates by the minute; Poisson counts, uniform times within the minute.
  const int64_t end = end_ms();
  for (size_t i = 0; i < keys_.size(); ++i) {
    int64_t from = o_.start_ms;
    if (kinds_[i] == Kind::kFresh) {
      AccessEvent put;
      put.key = keys_[i];
      put.ts_ms = created_ms_[i];
      put.op = AccessOp::kPut;
      put.size = put.bytes = sizes_[i];
      put.id = "put-" + std::to_string(i);
      out.push_back(put);
      from = created_ms_[i] + 1;
    }
    for (int64_t m = from - from % 60'000; m < end; m += 60'000) {
      double rate = Rate(i, std::max(m, from)) / 60.0;
      if (rate <= 0) continue;
      std::poisson_distribution<int> pois(rate);
      int k = pois(rng);
      for (int j = 0; j < k; ++j) {
        AccessEvent e;
        e.key = keys_[i];
        e.ts_ms = std::max(from, m + static_cast<int64_t>(u(rng) * 60'000));
        if (e.ts_ms >= end) continue;
        e.op = u(rng) < 0.9 ? AccessOp::kGet : AccessOp::kHead;
        e.size = sizes_[i];
        e.bytes = e.op == AccessOp::kGet ? sizes_[i] : 0;
        out.push_back(std::move(e));
      }
    }
  }
  std::stable_sort(out.begin(), out.end(),
                   [](const AccessEvent& a, const AccessEvent& b) { return a.ts_ms < b.ts_ms; });
  return out;
}

}  // namespace dim
