#include "optimizer/cbc_milp.h"

#include <gtest/gtest.h>

namespace dim {
namespace {

// max 10a + 13b + 7c (the min of its negation) s.t. 4a + 6b + 3c <= 9, binary: b + c = 20 wins.
MilpProblem Knapsack() {
  MilpProblem m;
  int a = m.AddColumn(-10, 0, 1, true), b = m.AddColumn(-13, 0, 1, true),
      c = m.AddColumn(-7, 0, 1, true);
  int r = m.AddRow(-kMilpInfinity, 9);
  m.Set(r, a, 4);
  m.Set(r, b, 6);
  m.Set(r, c, 3);
  return m;
}

TEST(CbcMilpTest, SolvesToOptimalityWithAndWithoutAStart) {
  auto s = SolveMilp(Knapsack()).value();
  ASSERT_EQ(s.outcome, MilpSolution::Outcome::kOptimal);
  EXPECT_NEAR(s.objective, -20, 1e-9);  // b + c
  EXPECT_NEAR(s.x[1] + s.x[2], 2, 1e-9);
  EXPECT_EQ(s.gap, 0);
  // Starting from a worse feasible point still ends at the optimum; starting at the optimum too.
  for (std::vector<double> start : {std::vector<double>{1, 0, 0}, std::vector<double>{0, 1, 1}}) {
    MilpProblem m = Knapsack();
    m.start = start;
    auto t = SolveMilp(m).value();
    EXPECT_EQ(t.outcome, MilpSolution::Outcome::kOptimal);
    EXPECT_NEAR(t.objective, -20, 1e-9);
  }
  // An infeasible start is ignored, not trusted.
  MilpProblem bad = Knapsack();
  bad.start = {1, 1, 1};
  EXPECT_NEAR(SolveMilp(bad)->objective, -20, 1e-9);
}

TEST(CbcMilpTest, InfeasibleAndMalformedProblems) {
  MilpProblem m = Knapsack();
  int r = m.AddRow(3, kMilpInfinity);  // take all three: weight 13 > 9
  for (int c = 0; c < 3; ++c) m.Set(r, c, 1);
  EXPECT_EQ(SolveMilp(m)->outcome, MilpSolution::Outcome::kInfeasible);
  MilpProblem broken = Knapsack();
  broken.Set(5, 0, 1);  // row 5 does not exist
  EXPECT_EQ(SolveMilp(broken).status().code(), StatusCode::kInvalidArgument);
  MilpProblem mismatch = Knapsack();
  mismatch.start = {1};
  EXPECT_EQ(SolveMilp(mismatch).status().code(), StatusCode::kInvalidArgument);
  MilpProblem empty;
  EXPECT_EQ(SolveMilp(empty)->outcome, MilpSolution::Outcome::kOptimal);
}

// The time limit covers the LP relaxation too: out of time there, the start is the answer.
TEST(CbcMilpTest, TimeLimitInTheRelaxationReturnsTheStart) {
  // 20,000 choices of one of three options with a shared knapsack row: the start (option 0
  // everywhere) is feasible but not optimal.
  MilpProblem m;
  int cap = m.AddRow(-kMilpInfinity, 15000);
  for (int i = 0; i < 20000; ++i) {
    int row = m.AddRow(1, 1);
    for (int j = 0; j < 3; ++j) {
      int c = m.AddColumn(3 - j + (i % 7) * 0.01, 0, 1, true);
      m.Set(row, c, 1);
      m.Set(cap, c, j);
      m.start.push_back(j == 0 ? 1 : 0);
    }
  }
  MilpOptions o;
  o.time_limit_s = 1e-4;
  o.full_driver = true;
  auto s = SolveMilp(m, o).value();
  EXPECT_TRUE(s.time_limit_hit);
  ASSERT_EQ(s.outcome, MilpSolution::Outcome::kFeasible);
  EXPECT_EQ(s.x, m.start);
  double start_obj = 0;
  for (size_t c = 0; c < m.obj.size(); ++c) start_obj += m.obj[c] * m.start[c];
  EXPECT_NEAR(s.objective, start_obj, 1e-6);
  EXPECT_LE(s.bound, s.objective);
  // Without a start there is no plan to give.
  m.start.clear();
  auto t = SolveMilp(m, o).value();
  EXPECT_TRUE(t.time_limit_hit);
  EXPECT_EQ(t.outcome, MilpSolution::Outcome::kNoSolution);
  EXPECT_TRUE(t.x.empty());
}

}  // namespace
}  // namespace dim
