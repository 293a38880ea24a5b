// A synthetic access workload: keys drawn from a Zipf distribution (rank r has weight 1/r^skew)
// at a steady rate, with the popularity ranking rotated every `drift_s` seconds so that objects
// heat up and cool down over time. Deterministic for a given seed. Not thread-safe.
#pragma once

#include <cstdint>
#include <random>
#include <string>
#include <vector>

namespace dim {

class ZipfWorkload {
 public:
  ZipfWorkload(std::vector<std::string> keys, double skew, uint64_t seed, double drift_s = 0);
  // The next key to access at time t_s (seconds since start; drives the drift).
  const std::string& Next(double t_s);
  size_t size() const { return keys_.size(); }
  // Probability of the key at popularity rank r (0 = most popular).
  double RankProbability(size_t r) const;

 private:
  std::vector<std::string> keys_;  // shuffled: keys_[i] has rank i before drift
  std::vector<double> cdf_;
  std::mt19937_64 rng_;
  double drift_s_;
};

}  // namespace dim
