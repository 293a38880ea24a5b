#include "ml/training_data.h"

#include <gtest/gtest.h>

namespace dim {
namespace {

constexpr int64_t kT0 = 1'700'000'000'000 - (1'700'000'000'000 % 3'600'000);  // an hour boundary

AccessEvent Ev(const std::string& key, int64_t ts, AccessOp op = AccessOp::kGet,
               int64_t size = 100) {
  AccessEvent e;
  e.key = key;
  e.ts_ms = ts;
  e.op = op;
  e.size = size;
  return e;
}

DatasetOptions Opts(int64_t step_s, int64_t horizon_s, int64_t min_accesses) {
  DatasetOptions o;
  o.step_s = step_s;
  o.label = {horizon_s, min_accesses};
  return o;
}

size_t Col(std::string_view name) {
  for (size_t i = 0; i < kNumFeatures; ++i) {
    if (FeatureNames()[i] == name) return i;
  }
  return kNumFeatures;
}

TEST(DatasetBuilderTest, FeaturesSeeOnlyThePastAndLabelsOnlyTheHorizon) {
  // Step 60 s, horizon 120 s, hot at >= 2 accesses.
  DatasetBuilder b(Opts(60, 120, 2));
  ASSERT_TRUE(b.Add(Ev("a", kT0 + 1'000)).ok());    // before snapshot t1 = kT0 + 60 s
  ASSERT_TRUE(b.Add(Ev("a", kT0 + 60'000)).ok());   // exactly at t1: part of its features
  ASSERT_TRUE(b.Add(Ev("a", kT0 + 90'000)).ok());   // in (t1, t1 + 120 s]
  ASSERT_TRUE(b.Add(Ev("a", kT0 + 180'000)).ok());  // at t1 + 120 s: still in t1's label window
  ASSERT_TRUE(b.Add(Ev("a", kT0 + 181'000)).ok());  // after t1's window
  ASSERT_TRUE(b.Add(Ev("b", kT0 + 600'000)).ok());  // closes everything up to here
  Dataset d = b.Finish();
  ASSERT_GE(d.rows(), 3u);
  // Row 0: object a at t1.
  EXPECT_EQ(d.ts_ms[0], kT0 + 60'000);
  EXPECT_EQ(d.row(0)[Col("access_1h")], 2);  // the events at +1 s and +60 s
  EXPECT_EQ(d.row(0)[Col("recency_s")], 0);
  EXPECT_EQ(d.future[0], 2u);  // +90 s and +180 s, not +181 s
  EXPECT_EQ(d.y[0], 1);
  // Row 1: a at t2 = +120 s sees three accesses; its window (120, 240] holds +180 and +181.
  EXPECT_EQ(d.ts_ms[1], kT0 + 120'000);
  EXPECT_EQ(d.row(1)[Col("access_1h")], 3);
  EXPECT_EQ(d.future[1], 2u);
  // Every row's features count only accesses at or before its time.
  for (size_t i = 0; i < d.rows(); ++i) {
    EXPECT_LE(d.row(i)[Col("access_1h")], 6);
    EXPECT_GE(d.row(i)[Col("recency_s")], 0);
  }
}

TEST(DatasetBuilderTest, RowsWithAnOpenHorizonAreDropped) {
  DatasetBuilder b(Opts(60, 3600, 1));
  for (int i = 0; i < 30; ++i) ASSERT_TRUE(b.Add(Ev("a", kT0 + i * 60'000)).ok());
  // The stream spans 29 minutes: no snapshot's hour-long window is complete.
  EXPECT_EQ(b.Finish().rows(), 0u);
}

TEST(DatasetBuilderTest, OutOfOrderEventsAreRefused) {
  DatasetBuilder b(Opts(60, 60, 1));
  ASSERT_TRUE(b.Add(Ev("a", kT0 + 5'000)).ok());
  Status s = b.Add(Ev("a", kT0 + 4'000));
  EXPECT_TRUE(s.IsInvalidArgument());
  EXPECT_NE(s.message().find("order"), std::string::npos);
}

TEST(DatasetBuilderTest, DeletesEndAnObjectAndFailuresDoNotCount) {
  DatasetBuilder b(Opts(60, 60, 1));
  ASSERT_TRUE(b.Add(Ev("a", kT0 + 1'000, AccessOp::kPut)).ok());
  ASSERT_TRUE(b.Add(Ev("b", kT0 + 2'000)).ok());
  AccessEvent failed = Ev("b", kT0 + 3'000);
  failed.status = 404;
  ASSERT_TRUE(b.Add(failed).ok());
  ASSERT_TRUE(b.Add(Ev("a", kT0 + 30'000, AccessOp::kDelete)).ok());
  ASSERT_TRUE(b.Add(Ev("c", kT0 + 400'000)).ok());
  Dataset d = b.Finish();
  // Snapshots at +60..+360 s: only b is live (a was deleted before the first one).
  ASSERT_GT(d.rows(), 0u);
  for (size_t i = 0; i < d.rows(); ++i) {
    if (d.ts_ms[i] < kT0 + 400'000) {
      EXPECT_EQ(d.row(i)[Col("access_1h")], 1) << "only b's single successful GET";
    }
  }
}

TEST(DatasetBuilderTest, ObjectInfoGivesSizeAndAge) {
  DatasetBuilder b(Opts(60, 60, 1));
  b.SetObjectInfo("a", 5'000'000, kT0 - 3'600'000);
  ASSERT_TRUE(b.Add(Ev("a", kT0 + 1'000, AccessOp::kGet, 7)).ok());
  ASSERT_TRUE(b.Add(Ev("a", kT0 + 200'000)).ok());
  Dataset d = b.Finish();
  ASSERT_GT(d.rows(), 0u);
  EXPECT_EQ(d.row(0)[Col("size_bytes")], 5'000'000);
  EXPECT_EQ(d.row(0)[Col("age_s")], 3600 + 60);
}

TEST(DatasetBuilderTest, IdleObjectsStopBeingSampled) {
  DatasetOptions o = Opts(3600, 3600, 1);
  o.max_idle_s = 7200;
  DatasetBuilder b(o);
  ASSERT_TRUE(b.Add(Ev("a", kT0 + 1'000)).ok());
  ASSERT_TRUE(b.Add(Ev("b", kT0 + 10 * 3'600'000)).ok());
  Dataset d = b.Finish();
  // a is sampled at +1 h and +2 h (idle <= 2 h), then no more.
  EXPECT_EQ(d.rows(), 2u);
}

TEST(DatasetBuilderTest, RowLimitIsResourceExhausted) {
  DatasetOptions o = Opts(60, 60, 1);
  o.max_rows = 3;
  DatasetBuilder b(o);
  Status s;
  for (int i = 0; i < 20 && s.ok(); ++i) s = b.Add(Ev("a", kT0 + i * 60'000 + 1));
  EXPECT_EQ(s.code(), StatusCode::kResourceExhausted);
}

TEST(TimeSplitTest, ValidationStartsAfterEveryTrainingLabelWindow) {
  Dataset d;
  const int64_t horizon_s = 600;
  for (int i = 0; i < 100; ++i) {
    std::array<float, kNumFeatures> row{};
    d.x.insert(d.x.end(), row.begin(), row.end());
    d.y.push_back(i % 3 == 0 ? 1 : 0);
    d.ts_ms.push_back(kT0 + i * 60'000);
    d.future.push_back(0);
    d.object.push_back(0);
  }
  auto s = SplitByTime(d, 0.3, {horizon_s, 1});
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_GT(s->train.rows(), 50u);
  EXPECT_GT(s->valid.rows(), 20u);
  EXPECT_LT(s->train.rows() + s->valid.rows(), 100u);  // the straddling rows are gone
  for (int64_t t : s->train.ts_ms) EXPECT_LE(t + horizon_s * 1000, s->split_ms);
  for (int64_t t : s->valid.ts_ms) EXPECT_GE(t, s->split_ms);
  // A single-class side is refused with a reason.
  for (auto& y : d.y) y = 0;
  auto bad = SplitByTime(d, 0.3, {horizon_s, 1});
  EXPECT_TRUE(bad.status().IsInvalidArgument());
  EXPECT_NE(bad.status().message().find("only cold"), std::string::npos);
  EXPECT_TRUE(SplitByTime(Dataset{}, 0.3, {horizon_s, 1}).status().IsInvalidArgument());
}

}  // namespace
}  // namespace dim
