#include "replay/zipf_workload.h"

#include <gtest/gtest.h>

#include <map>

namespace dim {
namespace {

TEST(ZipfWorkloadTest, SkewedAndDeterministic) {
  std::vector<std::string> keys;
  for (int i = 0; i < 100; ++i) keys.push_back("k" + std::to_string(i));
  ZipfWorkload a(keys, 1.1, 42), b(keys, 1.1, 42);
  std::map<std::string, int> counts;
  for (int i = 0; i < 20000; ++i) {
    const auto& k = a.Next(0);
    EXPECT_EQ(k, b.Next(0));
    counts[k]++;
  }
  int max = 0;
  for (auto& [k, n] : counts) max = std::max(max, n);
  // The top key gets about RankProbability(0) of the traffic.
  EXPECT_NEAR(max / 20000.0, a.RankProbability(0), 0.02);
  EXPECT_GT(a.RankProbability(0), 10 * a.RankProbability(50));
}

TEST(ZipfWorkloadTest, DriftMovesThePopularKey) {
  std::vector<std::string> keys;
  for (int i = 0; i < 70; ++i) keys.push_back("k" + std::to_string(i));
  ZipfWorkload w(keys, 2.0, 1, 60);
  auto top = [&](double t) {
    std::map<std::string, int> c;
    for (int i = 0; i < 2000; ++i) c[w.Next(t)]++;
    return std::max_element(c.begin(), c.end(), [](auto& x, auto& y) { return x.second < y.second; })->first;
  };
  EXPECT_NE(top(10), top(70));
}

}  // namespace
}  // namespace dim
