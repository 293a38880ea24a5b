#include "ml/xgboost_model.h"

#include <gtest/gtest.h>
#include <xgboost/c_api.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <thread>

#include "core/checksum.h"
#include "ml/classification_metrics.h"

namespace dim {
namespace {

namespace fs = std::filesystem;

// Rows where "hot" depends on recent accesses and the hour of day, with label noise.
Dataset MakeData(size_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> u(0, 1);
  Dataset d;
  for (size_t i = 0; i < n; ++i) {
    ObjectFeatures f;
    f.access_1h = std::floor(u(rng) * 40);
    f.access_24h = f.access_1h + std::floor(u(rng) * 200);
    f.access_7d = f.access_24h + std::floor(u(rng) * 500);
    f.recency_s = u(rng) * 7200;
    f.hour_of_day = std::floor(u(rng) * 24);
    f.day_of_week = std::floor(u(rng) * 7);
    f.size_bytes = std::exp(u(rng) * 20);
    f.interarrival_mean_s = 3600 / std::max(1.0, f.access_1h);
    f.interarrival_cv = u(rng) * 3;
    f.read_write_ratio = u(rng) * 10;
    f.age_s = u(rng) * 86400 * 30;
    double score = 0.15 * f.access_1h - 3 + (f.hour_of_day >= 9 && f.hour_of_day < 17 ? 2.5 : 0) -
                   f.recency_s / 3600;
    bool hot = u(rng) < 1 / (1 + std::exp(-score));
    auto v = FeatureVector(f);
    d.x.insert(d.x.end(), v.begin(), v.end());
    d.y.push_back(hot ? 1 : 0);
    d.ts_ms.push_back(static_cast<int64_t>(i));
    d.future.push_back(hot ? 10 : 0);
    d.object.push_back(static_cast<uint32_t>(i));
  }
  return d;
}

class XgbModelTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("dim-xgb-" + std::to_string(::getpid()) + "-" + GetParam());
    fs::create_directories(dir_);
    train_ = MakeData(3000, 1);
    test_ = MakeData(1000, 2);
    // One model per kind for the whole suite: training is the slow part.
    auto& slot = Trained()[GetParam()];
    if (!slot.first) {
      TrainParams p = TrainParams::Defaults(GetParam());
      p.trees = std::min(p.trees, 20);
      p.rounds = std::min(p.rounds, 20);
      p.nthread = 1;  // OpenMP threads spin; on a shared test machine one is faster
      auto m = XgbModel::Train(p, {3600, 10}, 0.5, train_, &test_,
                               [&](int round, int rounds, const std::string& eval) {
                                 slot.second = round;
                                 EXPECT_EQ(rounds, p.rounds);
                                 EXPECT_NE(eval.find("valid-auc"), std::string::npos) << eval;
                               });
      ASSERT_TRUE(m.ok()) << m.status().ToString();
      slot.first = std::move(*m);
    }
    model_ = slot.first;
    rounds_seen_ = slot.second;
  }
  void TearDown() override { fs::remove_all(dir_); }
  // Freed before exit: XGBoost's own statics must outlive every booster.
  static void TearDownTestSuite() { Trained().clear(); }
  static std::map<std::string, std::pair<std::shared_ptr<XgbModel>, int>>& Trained() {
    static std::map<std::string, std::pair<std::shared_ptr<XgbModel>, int>> trained;
    return trained;
  }

  std::vector<float> Predict(const XgbModel& m, const Dataset& d) {
    std::vector<float> p(d.rows());
    EXPECT_TRUE(m.PredictProbabilities(d.x.data(), d.rows(), p.data()).ok());
    return p;
  }
  std::string Path(const std::string& name) { return (dir_ / name).string(); }
  std::string ReadAll(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
  }

  fs::path dir_;
  Dataset train_, test_;
  std::shared_ptr<XgbModel> model_;
  int rounds_seen_ = 0;
};

TEST_P(XgbModelTest, LearnsTheSignal) {
  EXPECT_GE(rounds_seen_, 1);
  EXPECT_GT(RocAuc(Predict(*model_, test_), test_.y), 0.85);
  EXPECT_EQ(model_->header().kind, GetParam());
  EXPECT_EQ(model_->header().features.size(), kNumFeatures);
  EXPECT_EQ(model_->header().xgboost_version.substr(0, 2), "1.");
  auto imp = model_->FeatureImportance();
  ASSERT_TRUE(imp.ok()) << imp.status().ToString();
  ASSERT_EQ(imp->size(), kNumFeatures);
  // access_1h carries most of the signal.
  auto best = std::max_element(imp->begin(), imp->end(),
                               [](auto& a, auto& b) { return a.second < b.second; });
  EXPECT_EQ(best->first, "access_1h");
}

TEST_P(XgbModelTest, TheFlatForestGivesXgboostsValues) {
  ASSERT_TRUE(model_->compiled()) << "dim train's models predict through the flat forest";
  Dataset d = MakeData(5000, 3);
  for (size_t i = 0; i < d.rows(); i += 7) d.x[i * kNumFeatures + i % kNumFeatures] = std::nanf("");
  const size_t n = d.rows();
  std::vector<float> ours(n), theirs(n);
  ASSERT_TRUE(model_->PredictMargins(d.x.data(), n, ours.data()).ok());
  ASSERT_TRUE(model_->PredictWithXgboost(d.x.data(), n, 1, theirs.data()).ok());
  for (size_t i = 0; i < n; ++i) ASSERT_EQ(ours[i], theirs[i]) << "row " << i;
  ASSERT_TRUE(model_->PredictProbabilities(d.x.data(), n, ours.data()).ok());
  ASSERT_TRUE(model_->PredictWithXgboost(d.x.data(), n, 0, theirs.data()).ok());
  for (size_t i = 0; i < n; ++i) ASSERT_NEAR(ours[i], theirs[i], 1e-6) << "row " << i;
}

TEST(XgbModelDeepTest, ADeepForestAgreesWithXgboost) {
  TrainParams p = TrainParams::Defaults(kRandomForest);
  p.trees = 4;
  p.max_depth = 14;
  p.nthread = 1;
  Dataset train = MakeData(4000, 5), test = MakeData(2000, 6);
  auto m = XgbModel::Train(p, {3600, 10}, 0.5, train, nullptr);
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  ASSERT_TRUE((*m)->compiled());
  std::vector<float> ours(test.rows()), theirs(test.rows());
  ASSERT_TRUE((*m)->PredictMargins(test.x.data(), test.rows(), ours.data()).ok());
  ASSERT_TRUE((*m)->PredictWithXgboost(test.x.data(), test.rows(), 1, theirs.data()).ok());
  EXPECT_EQ(ours, theirs);
}

TEST_P(XgbModelTest, SavedAndReloadedModelPredictsIdentically) {
  ASSERT_TRUE(model_->Save(Path("m.dim")).ok());
  auto loaded = XgbModel::Load(Path("m.dim"), 1);
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  EXPECT_EQ((*loaded)->header().model_id, model_->header().model_id);
  auto a = Predict(*model_, test_), b = Predict(**loaded, test_);
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) ASSERT_EQ(a[i], b[i]) << "row " << i;
  // Single rows (the one-thread booster) agree with the batch too.
  for (size_t i = 0; i < 20; ++i) {
    float one = 0;
    ASSERT_TRUE((*loaded)->PredictProbabilities(test_.row(i), 1, &one).ok());
    EXPECT_FLOAT_EQ(one, a[i]);
  }
  auto e1 = model_->Explain(FeaturesFromVector(test_.row(0))).value();
  auto e2 = (*loaded)->Explain(FeaturesFromVector(test_.row(0))).value();
  EXPECT_EQ(e1.margin, e2.margin);
  // The file is a header line plus XGBoost's own JSON.
  std::string bytes = ReadAll(Path("m.dim"));
  EXPECT_EQ(bytes.substr(bytes.find('\n') + 1), model_->booster_json());
  EXPECT_NE(model_->booster_json().find("\"dim_features\""), std::string::npos);
}

TEST_P(XgbModelTest, ContributionsSumToTheMargin) {
  std::vector<float> margins(test_.rows()), probs(test_.rows());
  ASSERT_TRUE(model_->PredictMargins(test_.x.data(), test_.rows(), margins.data()).ok());
  ASSERT_TRUE(model_->PredictProbabilities(test_.x.data(), test_.rows(), probs.data()).ok());
  for (size_t i = 0; i < 50; ++i) {
    auto e = model_->Explain(FeaturesFromVector(test_.row(i)));
    ASSERT_TRUE(e.ok()) << e.status().ToString();
    ASSERT_EQ(e->contributions.size(), kNumFeatures);
    double sum = e->bias;
    for (const auto& c : e->contributions) sum += c.contribution;
    EXPECT_NEAR(sum, margins[i], 1e-4 * std::max(1.0, std::abs(double{margins[i]}))) << "row " << i;
    EXPECT_NEAR(e->margin, margins[i], 1e-4 * std::max(1.0, std::abs(double{margins[i]})));
    EXPECT_NEAR(e->p_hot, probs[i], 1e-5);
    EXPECT_EQ(e->contributions[0].feature, "access_1h");
    EXPECT_EQ(e->contributions[0].value, test_.row(i)[0]);
  }
}

TEST_P(XgbModelTest, ConcurrentPredictionsAgree) {
  auto want = Predict(*model_, test_);
  auto want_e = model_->Explain(FeaturesFromVector(test_.row(3))).value();
  std::atomic<int> mismatches{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int k = 0; k < 20; ++k) {
        if (t % 2 == 0) {
          std::vector<float> got(test_.rows());
          if (!model_->PredictProbabilities(test_.x.data(), test_.rows(), got.data()).ok() ||
              got != want) {
            mismatches++;
          }
        } else {
          auto e = model_->Explain(FeaturesFromVector(test_.row(3)));
          float one = 0;
          if (!e.ok() || e->margin != want_e.margin ||
              !model_->PredictProbabilities(test_.row(5), 1, &one).ok() || one != want[5]) {
            mismatches++;
          }
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(mismatches.load(), 0);
}

TEST_P(XgbModelTest, CorruptOrMismatchedFilesAreRefusedWithAReason) {
  ASSERT_TRUE(model_->Save(Path("good.dim")).ok());
  std::string bytes = ReadAll(Path("good.dim"));
  size_t nl = bytes.find('\n');
  auto header = ParseModelHeader(std::string_view(bytes).substr(0, nl)).value();
  auto write = [&](const std::string& name, const std::string& content) {
    std::ofstream(Path(name), std::ios::binary) << content;
    return Path(name);
  };
  // A flipped byte in the booster.
  std::string flipped = bytes;
  flipped[nl + 1 + (bytes.size() - nl) / 2] ^= 0x01;
  auto r = XgbModel::Load(write("flipped.dim", flipped), 1);
  EXPECT_EQ(r.status().code(), StatusCode::kDataLoss) << r.status().ToString();
  // Truncated mid-write.
  r = XgbModel::Load(write("short.dim", bytes.substr(0, bytes.size() / 2)), 1);
  EXPECT_EQ(r.status().code(), StatusCode::kDataLoss) << r.status().ToString();
  // A consistent checksum over something XGBoost cannot read.
  ASSERT_TRUE(WriteModelFile(Path("notxgb.dim"), header, R"({"learner": 42})").ok());
  r = XgbModel::Load(Path("notxgb.dim"), 1);
  EXPECT_TRUE(r.status().IsInvalidArgument()) << r.status().ToString();
  EXPECT_NE(r.status().message().find("XGBoost cannot read"), std::string::npos);
  // The header's schema differs from this build's.
  ModelHeader renamed = header;
  renamed.features[2] = "access_30d";
  ASSERT_TRUE(WriteModelFile(Path("schema.dim"), renamed, model_->booster_json()).ok());
  r = XgbModel::Load(Path("schema.dim"), 1);
  EXPECT_EQ(r.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(r.status().message().find("access_30d"), std::string::npos);
  // Not a model file at all, and a missing one.
  r = XgbModel::Load(write("junk.dim", "hello world"), 1);
  EXPECT_TRUE(r.status().IsInvalidArgument()) << r.status().ToString();
  EXPECT_TRUE(XgbModel::Load(Path("absent.dim"), 1).status().IsNotFound());
  // The good file still loads.
  EXPECT_TRUE(XgbModel::Load(Path("good.dim"), 1).ok());
}

TEST_P(XgbModelTest, ABoosterOfAnotherShapeOrObjectiveIsRefused) {
  // Train a 3-feature regression booster straight through the C API.
  std::vector<float> x = {1, 2, 3, 4, 5, 6, 7, 8, 9, 1, 0, 1}, y = {1, 2, 3, 4};
  DMatrixHandle m;
  ASSERT_EQ(XGDMatrixCreateFromMat(x.data(), 4, 3, NAN, &m), 0);
  ASSERT_EQ(XGDMatrixSetFloatInfo(m, "label", y.data(), 4), 0);
  BoosterHandle b;
  ASSERT_EQ(XGBoosterCreate(&m, 1, &b), 0);
  ASSERT_EQ(XGBoosterSetParam(b, "objective", "reg:squarederror"), 0);
  ASSERT_EQ(XGBoosterUpdateOneIter(b, 0, m), 0);
  bst_ulong len;
  const char* buf;
  ASSERT_EQ(XGBoosterSaveModelToBuffer(b, R"({"format": "json"})", &len, &buf), 0);
  std::string other(buf, len);
  XGBoosterFree(b);
  XGDMatrixFree(m);
  ModelHeader h = model_->header();
  ASSERT_TRUE(WriteModelFile(Path("other.dim"), h, other).ok());
  auto r = XgbModel::Load(Path("other.dim"), 1);
  EXPECT_EQ(r.status().code(), StatusCode::kFailedPrecondition) << r.status().ToString();
  EXPECT_NE(r.status().message().find("3 features"), std::string::npos) << r.status().ToString();
}

TEST_P(XgbModelTest, PredictorAdapterUsesTheModel) {
  std::shared_ptr<const XgbModel> shared = model_;
  XgbPredictor p(shared);
  EXPECT_EQ(p.name(), "xgboost:" + shared->header().model_id);
  std::vector<ObjectFeatures> rows;
  for (size_t i = 0; i < 300; ++i) rows.push_back(FeaturesFromVector(test_.row(i)));
  auto got = p.PredictHot(rows);
  ASSERT_TRUE(got.ok());
  auto want = Predict(*shared, test_);
  for (size_t i = 0; i < rows.size(); ++i) EXPECT_FLOAT_EQ(static_cast<float>((*got)[i]), want[i]);
  auto e = p.Explain(rows[0]);
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(e->model, p.name());
}

INSTANTIATE_TEST_SUITE_P(Kinds, XgbModelTest,
                         ::testing::Values(std::string(kRandomForest), std::string(kBoostedTrees)),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace dim
