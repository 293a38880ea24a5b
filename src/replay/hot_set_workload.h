// A synthetic access trace whose hot set is known by construction, for training and testing the
// popularity model. Four kinds of object, each a Poisson process with a rate that depends on the
// hour:
//   diurnal     busy (hot_rate) during business hours [9, 17) UTC, nearly idle otherwise
//   steady      always busy (steady_rate)
//   warm        a steady rate near the hot line (uniform in [warm_min_rate, warm_max_rate]):
//               whether the next hour reaches it is mostly chance, and a day's count estimates
//               the rate far better than the last hour's
//   fresh       written once at a random moment, busy for `fresh_hot_s` after, then idle
//   background  a long tail of low rates (Zipf over [0.02, 2] per hour)
// A heuristic that looks only at the last hour is late for the first hour of each busy period,
// wrong for the first hour after one and noisy near the line; the features (hour of day, age,
// 24 h/7 d counts) let a model see it coming. Deterministic for a seed.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "bus/access_event.h"

namespace dim {

struct HotSetWorkloadOptions {
  int objects = 400;
  double days = 4;
  uint64_t seed = 7;
  int64_t start_ms = 1'700'006'400'000;  // 2023-11-15 00:00 UTC
  double diurnal_share = 0.15;
  double steady_share = 0.05;
  double warm_share = 0.20;
  double fresh_share = 0.10;
  double hot_rate = 30;  // accesses per hour of a busy diurnal object
  double steady_rate = 20;
  double warm_min_rate = 4, warm_max_rate = 16;
  double fresh_rate = 40;
  double fresh_hot_s = 3 * 3600;
  double idle_rate = 0.2;  // of diurnal and fresh objects outside their busy time
  std::string bucket = "synthetic";
};

class HotSetWorkload {
 public:
  enum class Kind { kDiurnal, kSteady, kWarm, kFresh, kBackground };

  explicit HotSetWorkload(HotSetWorkloadOptions options);

  // Every event of the trace, in time order (a fresh object's first event is its PUT).
  std::vector<AccessEvent> Generate() const;

  const std::vector<std::string>& keys() const { return keys_; }
  Kind kind(size_t i) const { return kinds_[i]; }
  int64_t size(size_t i) const { return sizes_[i]; }
  int64_t end_ms() const;
  // The designed access rate (per hour) of object i at time t.
  double Rate(size_t i, int64_t t_ms) const;
  // The designed hot set: objects whose expected accesses in (t, t + horizon] reach min_accesses.
  bool DesignedHot(size_t i, int64_t t_ms, int64_t horizon_s, int64_t min_accesses) const;

 private:
  HotSetWorkloadOptions o_;
  std::vector<std::string> keys_;
  std::vector<Kind> kinds_;
  std::vector<double> base_rate_;    // background and warm rate
  std::vector<int64_t> created_ms_;  // fresh objects: when written
  std::vector<int64_t> sizes_;
};

}  // namespace dim
