#include "core/progress_line.h"

#include <gtest/gtest.h>

namespace dim {
namespace {

TEST(ProgressRateTest, RatesSinceTheStartAndSinceTheLastMark) {
  ProgressRate r(1'000'000);
  EXPECT_DOUBLE_EQ(r.Average(50, 3'000'000), 25);  // 50 in 2 s
  EXPECT_DOUBLE_EQ(r.Mark(50, 3'000'000), 25);
  EXPECT_DOUBLE_EQ(r.Mark(80, 4'000'000), 30);  // 30 more in the last second
  r.Rebase(80, 9'000'000);                      // an idle stretch does not count
  EXPECT_DOUBLE_EQ(r.Mark(90, 10'000'000), 10);
  EXPECT_DOUBLE_EQ(r.SecondsSinceStart(10'000'000), 9);
}

TEST(ProgressRateTest, EtaSaysWhenNothingIsLeftAndWhenItCannotTell) {
  EXPECT_EQ(ProgressRate::Eta(0, 0), "0 s");
  EXPECT_EQ(ProgressRate::Eta(100, 0), "-");
  EXPECT_EQ(ProgressRate::Eta(100, 4), "25 s");
}

TEST(ProgressLineTest, LineWithPercentageRateAndEtaOrWithoutATotal) {
  ProgressLine p("train: rf", "rounds");
  const int64_t start = p.start_us();
  EXPECT_EQ(p.Format(25, 100, "auc 0.9", -1, start + 5'000'000),
            "train: rf:  25% (25/100 rounds, 5/s, ETA 15 s) auc 0.9");
  EXPECT_EQ(p.Format(0, 100, "", -1, start + 1'000'000),
            "train: rf:   0% (0/100 rounds, 0/s, ETA -)");
  EXPECT_EQ(p.Format(30, 0, "", 300, start + 10'000'000), "train: rf: 30 rounds (30/s, 10 s)");
}

}  // namespace
}  // namespace dim
