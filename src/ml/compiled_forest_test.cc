#include "ml/compiled_forest.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <vector>

#include "core/helper_threads.h"

namespace dim {
namespace {

using nlohmann::json;

json Tree(std::vector<int> left, std::vector<int> right, std::vector<int> feature,
          std::vector<float> value, std::vector<int> default_left) {
  return {{"left_children", left},        {"right_children", right},
          {"split_indices", feature},     {"split_conditions", value},
          {"default_left", default_left}, {"split_type", std::vector<int>(left.size(), 0)}};
}

json Booster(const std::vector<json>& trees, const std::string& base_score = "5E-1") {
  return {{"learner",
           {{"objective", {{"name", "binary:logistic"}}},
            {"learner_model_param", {{"base_score", base_score}, {"num_target", "1"}}},
            {"gradient_booster",
             {{"name", "gbtree"},
              {"model", {{"trees", trees}, {"tree_info", std::vector<int>(trees.size(), 0)}}}}}}}};
}

// x0 < 5 ? -1 : (x1 < 2 ? 0.5 : 2); missing x0 goes left, missing x1 right.
json TwoLevels() {
  return Tree({1, -1, 3, -1, -1}, {2, -1, 4, -1, -1}, {0, 0, 1, 0, 0}, {5, -1, 2, 0.5f, 2},
              {1, 0, 0, 0, 0});
}

std::vector<float> Margins(const CompiledForest& f, const std::vector<float>& rows,
                           HelperThreads* helpers = nullptr) {
  std::vector<float> out(rows.size() / 2);
  f.PredictMargins(rows.data(), out.size(), out.data(), helpers);
  return out;
}

TEST(CompiledForestTest, WalksTreesAsXgboostDoes) {
  auto f = CompiledForest::FromBoosterJson(Booster({TwoLevels(), TwoLevels()}).dump(), 2);
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  EXPECT_EQ(f->trees(), 2u);
  EXPECT_EQ(f->depth(), 2);
  EXPECT_TRUE(f->perfect());
  EXPECT_EQ(f->base_margin(), 0.0f);  // base_score 0.5
  const float nan = std::nanf("");
  // Left on <, right on == (XGBoost), missing values the default way.
  auto m = Margins(*f, {4.9f, 0, 5, 1.9f, 5, 2, nan, 9, 7, nan});
  EXPECT_EQ(m, (std::vector<float>{-2, 1, 4, -2, 4}));
  std::vector<float> p(1);
  float row[2] = {5, 1};
  f->PredictProbabilities(row, 1, p.data());
  EXPECT_NEAR(p[0], 1 / (1 + std::exp(-1.0)), 1e-7);
}

TEST(CompiledForestTest, BaseScoreIsAProbabilityTurnedIntoAMargin) {
  auto f = CompiledForest::FromBoosterJson(Booster({TwoLevels()}, "2E-1").dump(), 2);
  ASSERT_TRUE(f.ok());
  EXPECT_NEAR(f->base_margin(), std::log(0.2 / 0.8), 1e-6);
  EXPECT_NEAR(Margins(*f, {0, 0})[0], std::log(0.2 / 0.8) - 1, 1e-6);
}

TEST(CompiledForestTest, DeepTreesTakeTheNodeWalk) {
  // A chain of depth 12 (past kMaxPerfectDepth): x0 < k ? leaf k : next.
  const int depth = CompiledForest::kMaxPerfectDepth + 2;
  std::vector<int> left, right, feature, dl;
  std::vector<float> value;
  for (int k = 0; k < depth; ++k) {
    int node = static_cast<int>(left.size());
    left.push_back(node + 1);
    right.push_back(node + 2);
    feature.push_back(0);
    value.push_back(static_cast<float>(k));
    dl.push_back(0);
    left.push_back(-1);
    right.push_back(-1);
    feature.push_back(0);
    value.push_back(static_cast<float>(k) * 10);
    dl.push_back(0);
  }
  left.push_back(-1);
  right.push_back(-1);
  feature.push_back(0);
  value.push_back(-7);
  dl.push_back(0);
  // Node ids: internal at 2k, its left leaf at 2k+1, its right child (next internal) at 2k+2.
  auto f =
      CompiledForest::FromBoosterJson(Booster({Tree(left, right, feature, value, dl)}).dump(), 2);
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  EXPECT_EQ(f->depth(), depth);
  EXPECT_FALSE(f->perfect());
  auto m = Margins(*f, {-1, 0, 0.5f, 0, 3.5f, 0, 100, 0});
  EXPECT_EQ(m, (std::vector<float>{0, 10, 40, -7}));
}

TEST(CompiledForestTest, ThreadsSplitLargeBatchesWithTheSameResult) {
  auto f =
      CompiledForest::FromBoosterJson(Booster({TwoLevels(), TwoLevels(), TwoLevels()}).dump(), 2);
  ASSERT_TRUE(f.ok());
  std::mt19937 rng(3);
  std::uniform_real_distribution<float> u(0, 10);
  std::vector<float> rows(2 * 100'000);
  for (auto& v : rows) v = u(rng);
  HelperThreads one(1), six(6);
  const auto alone = Margins(*f, rows);
  EXPECT_EQ(alone, Margins(*f, rows, &one));
  EXPECT_EQ(alone, Margins(*f, rows, &six));
  // Every batch size around the block and lane boundaries, against a row-by-row walk.
  for (size_t n : {1u, 7u, 8u, 9u, 127u, 128u, 129u, 255u, 1000u}) {
    std::vector<float> some(rows.begin(), rows.begin() + 2 * n), one_by_one;
    for (size_t i = 0; i < n; ++i) {
      one_by_one.push_back(Margins(*f, {some[2 * i], some[2 * i + 1]})[0]);
    }
    EXPECT_EQ(Margins(*f, some, &one), one_by_one) << n << " rows";
  }
}

TEST(CompiledForestTest, ComparesLikeFloatsAcrossSignsZerosAndInfinities) {
  // x0 < t ? -1 : +1 for thresholds of every sign; rows on, just below and just above each.
  const float inf = std::numeric_limits<float>::infinity();
  for (float t : {-1e30f, -2.5f, -1e-40f, -0.0f, 0.0f, 1e-40f, 3.0f, 7e37f}) {
    auto f = CompiledForest::FromBoosterJson(
        Booster({Tree({1, -1, -1}, {2, -1, -1}, {0, 0, 0}, {t, -1, 1}, {0, 0, 0})}).dump(), 2);
    ASSERT_TRUE(f.ok());
    ASSERT_TRUE(f->perfect());
    std::vector<float> xs = {
        t,     std::nextafter(t, -inf), std::nextafter(t, inf), -t, 0.0f, -0.0f, inf, -inf, -1e-40f,
        1e-40f};
    std::vector<float> rows, want;
    for (float x : xs) {
      rows.insert(rows.end(), {x, 0});
      want.push_back(x < t ? -1.0f : 1.0f);
    }
    EXPECT_EQ(Margins(*f, rows), want) << "threshold " << t;
  }
}

TEST(CompiledForestTest, RefusesWhatItCannotEvaluateAndMalformedBoosters) {
  auto code = [](const std::string& s) {
    return CompiledForest::FromBoosterJson(s, 2).status().code();
  };
  EXPECT_EQ(code("not json"), StatusCode::kInvalidArgument);
  EXPECT_EQ(code("{}"), StatusCode::kInvalidArgument);
  EXPECT_EQ(code(R"({"learner": 5})"), StatusCode::kInvalidArgument);
  json b = Booster({TwoLevels()});
  b["learner"]["objective"]["name"] = "reg:squarederror";
  EXPECT_EQ(code(b.dump()), StatusCode::kUnimplemented);
  b = Booster({TwoLevels()});
  b["learner"]["gradient_booster"]["name"] = "dart";
  EXPECT_EQ(code(b.dump()), StatusCode::kUnimplemented);
  b = Booster({TwoLevels()});
  b["learner"]["gradient_booster"]["model"]["trees"][0]["split_type"][0] = 1;
  EXPECT_EQ(code(b.dump()), StatusCode::kUnimplemented);
  b = Booster({TwoLevels()});
  b["learner"]["gradient_booster"]["model"]["tree_info"][0] = 1;
  EXPECT_EQ(code(b.dump()), StatusCode::kUnimplemented);
  b = Booster({TwoLevels()}, "1.5");
  EXPECT_EQ(code(b.dump()), StatusCode::kInvalidArgument);
  b = Booster({TwoLevels()}, "abc");
  EXPECT_EQ(code(b.dump()), StatusCode::kInvalidArgument);
  b = Booster({});
  EXPECT_EQ(code(b.dump()), StatusCode::kInvalidArgument);
  // A child outside the tree, a split on a feature the rows do not have, a cycle, ragged arrays.
  b = Booster({Tree({1, -1, 9}, {2, -1, 4}, {0, 0, 0}, {1, 1, 1}, {0, 0, 0})});
  EXPECT_EQ(code(b.dump()), StatusCode::kInvalidArgument);
  b = Booster({Tree({1, -1, -1}, {2, -1, -1}, {5, 0, 0}, {1, 1, 1}, {0, 0, 0})});
  EXPECT_EQ(code(b.dump()), StatusCode::kInvalidArgument);
  b = Booster({Tree({1, 0, -1}, {2, 2, -1}, {0, 0, 0}, {1, 1, 1}, {0, 0, 0})});
  EXPECT_EQ(code(b.dump()), StatusCode::kInvalidArgument);
  b = Booster({Tree({1, -1, -1}, {2, -1}, {0, 0, 0}, {1, 1, 1}, {0, 0, 0})});
  EXPECT_EQ(code(b.dump()), StatusCode::kInvalidArgument);
  b = Booster({TwoLevels()});
  b["learner"]["gradient_booster"]["model"]["trees"][0]["left_children"][0] = "x";
  EXPECT_EQ(code(b.dump()), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace dim
