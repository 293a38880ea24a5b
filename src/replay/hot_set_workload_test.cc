#include "replay/hot_set_workload.h"

#include <gtest/gtest.h>

#include <map>

namespace dim {
namespace {

TEST(HotSetWorkloadTest, DeterministicOrderedAndShapedAsDesigned) {
  HotSetWorkloadOptions o;
  o.objects = 200;
  o.days = 2;
  HotSetWorkload w(o);
  auto a = w.Generate();
  auto b = HotSetWorkload(o).Generate();
  ASSERT_EQ(a.size(), b.size());
  ASSERT_GT(a.size(), 10000u);
  for (size_t i = 0; i < a.size(); ++i) {
    ASSERT_EQ(a[i].key, b[i].key);
    ASSERT_EQ(a[i].ts_ms, b[i].ts_ms);
    if (i) {
      ASSERT_LE(a[i - 1].ts_ms, a[i].ts_ms);
    }
    ASSERT_GE(a[i].ts_ms, o.start_ms);
    ASSERT_LT(a[i].ts_ms, w.end_ms());
  }
  std::map<std::string, size_t> index;
  for (size_t i = 0; i < w.keys().size(); ++i) index[w.keys()[i]] = i;
  // Diurnal objects get nearly all their accesses in business hours.
  int64_t diurnal_busy = 0, diurnal_idle = 0, kinds[5] = {0, 0, 0, 0, 0};
  for (size_t i = 0; i < w.keys().size(); ++i) kinds[static_cast<int>(w.kind(i))]++;
  EXPECT_GT(kinds[static_cast<int>(HotSetWorkload::Kind::kDiurnal)], 5);
  EXPECT_GT(kinds[static_cast<int>(HotSetWorkload::Kind::kFresh)], 5);
  EXPECT_GT(kinds[static_cast<int>(HotSetWorkload::Kind::kWarm)], 20);
  EXPECT_GT(kinds[static_cast<int>(HotSetWorkload::Kind::kBackground)], 60);
  for (const auto& e : a) {
    size_t i = index.at(e.key);
    if (w.kind(i) != HotSetWorkload::Kind::kDiurnal) continue;
    int64_t hour = (e.ts_ms / 3'600'000) % 24;
    (hour >= 9 && hour < 17 ? diurnal_busy : diurnal_idle)++;
  }
  EXPECT_GT(diurnal_busy, 20 * diurnal_idle);
  // A fresh object starts with its write.
  for (size_t i = 0; i < w.keys().size(); ++i) {
    if (w.kind(i) != HotSetWorkload::Kind::kFresh) continue;
    for (const auto& e : a) {
      if (e.key == w.keys()[i]) {
        EXPECT_EQ(e.op, AccessOp::kPut);
        break;
      }
    }
  }
  // The designed hot set: a diurnal object at 08:30 is about to be hot, at 17:30 it is not.
  for (size_t i = 0; i < w.keys().size(); ++i) {
    if (w.kind(i) != HotSetWorkload::Kind::kDiurnal) continue;
    EXPECT_TRUE(w.DesignedHot(i, o.start_ms + 8 * 3'600'000 + 1'800'000, 3600, 10));
    EXPECT_FALSE(w.DesignedHot(i, o.start_ms + 17 * 3'600'000 + 1'800'000, 3600, 10));
    break;
  }
}

}  // namespace
}  // namespace dim
