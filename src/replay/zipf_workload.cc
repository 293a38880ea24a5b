#include "replay/zipf_workload.h"

#include <algorithm>
#include <cmath>

namespace dim {

ZipfWorkload::ZipfWorkload(std::vector<std::string> keys, double skew, uint64_t seed, double drift_s)
    : keys_(std::move(keys)), rng_(seed), drift_s_(drift_s) {
  std::shuffle(keys_.begin(), keys_.end(), rng_);
  double total = 0;
  cdf_.reserve(keys_.size());
  for (size_t r = 0; r < keys_.size(); ++r) {
    total += 1.0 / std::pow(static_cast<double>(r + 1), skew);
    cdf_.push_back(total);
  }
  for (auto& c : cdf_) c /= total;
}

double ZipfWorkload::RankProbability(size_t r) const {
  if (r >= cdf_.size()) return 0;
  return r == 0 ? cdf_[0] : cdf_[r] - cdf_[r - 1];
}

const std::string& ZipfWorkload::Next(double t_s) {
  static const std::string kEmpty;
  if (keys_.empty()) return kEmpty;
  std::uniform_real_distribution<double> u(0, 1);
  size_t rank = static_cast<size_t>(std::lower_bound(cdf_.begin(), cdf_.end(), u(rng_)) - cdf_.begin());
  rank = std::min(rank, keys_.size() - 1);
  // Drift: every drift_s the ranking shifts by a seventh of the key space.
  size_t shift = 0;
  if (drift_s_ > 0) shift = static_cast<size_t>(t_s / drift_s_) * std::max<size_t>(1, keys_.size() / 7);
  return keys_[(rank + shift) % keys_.size()];
}

}  // namespace dim
