#include "ml/model_service.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <random>

#include "store/sqlite/sqlite_metadata_store.h"

namespace dim {
namespace {

namespace fs = std::filesystem;

Dataset SmallData(uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> u(0, 1);
  Dataset d;
  for (int i = 0; i < 800; ++i) {
    ObjectFeatures f;
    f.access_1h = std::floor(u(rng) * 30);
    f.recency_s = u(rng) * 3600;
    auto v = FeatureVector(f);
    d.x.insert(d.x.end(), v.begin(), v.end());
    d.y.push_back(f.access_1h + 5 * u(rng) > 15 ? 1 : 0);
    d.ts_ms.push_back(i);
    d.future.push_back(0);
    d.object.push_back(0);
  }
  return d;
}

class ModelServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("dim-model-service-" + std::to_string(::getpid()));
    fs::create_directories(dir_);
    store_ = SqliteMetadataStore::Open(":memory:").value();
    TrainParams p = TrainParams::Defaults(kRandomForest);
    p.trees = 5;
    p.nthread = 1;
    auto m = XgbModel::Train(p, {3600, 10}, 0.5, SmallData(1), nullptr);
    ASSERT_TRUE(m.ok()) << m.status().ToString();
    model_ = std::move(*m);
    ASSERT_TRUE(model_->Save(Path("model.dim")).ok());
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string Path(const std::string& n) { return (dir_ / n).string(); }
  int Alerts(const std::string& kind) {
    int n = 0;
    for (const auto& a : store_->ListAlerts(false).value()) n += a.kind == kind;
    return n;
  }

  fs::path dir_;
  std::unique_ptr<SqliteMetadataStore> store_;
  std::unique_ptr<XgbModel> model_;
  VirtualClock clock_;
  MetricsRegistry metrics_;
  PredictorSlot slot_{std::make_shared<HeuristicPredictor>()};
};

TEST_F(ModelServiceTest, LoadsAModelAndAuditsTheCall) {
  ModelService svc(slot_, *store_, clock_, metrics_, {Path("model.dim"), 1, 1});
  ASSERT_TRUE(svc.Load("", "admin").ok());
  EXPECT_EQ(slot_.Get()->name(), "xgboost:" + model_->header().model_id);
  auto st = svc.GetState();
  ASSERT_TRUE(st.model.has_value());
  EXPECT_EQ(st.model->model_id, model_->header().model_id);
  EXPECT_EQ(st.importance.size(), kNumFeatures);
  auto audit = store_->ListAudit(10).value();
  ASSERT_EQ(audit.size(), 1u);
  EXPECT_EQ(audit[0].action, "ml.load");
  EXPECT_EQ(audit[0].actor, "admin");
  EXPECT_NE(audit[0].detail_json.find("loaded"), std::string::npos);
  EXPECT_NE(metrics_.RenderText().find("dim_ml_model_loaded 1"), std::string::npos);
}

TEST_F(ModelServiceTest, CorruptFileFallsBackToTheHeuristicWithAnAlert) {
  ModelService svc(slot_, *store_, clock_, metrics_, {Path("model.dim"), 1, 1});
  ASSERT_TRUE(svc.Load("", "").ok());
  std::string bytes;
  {
    std::ifstream in(Path("model.dim"), std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(in), {});
  }
  bytes[bytes.size() - 10] ^= 0x01;
  std::ofstream(Path("bad.dim"), std::ios::binary) << bytes;
  Status s = svc.Load(Path("bad.dim"), "admin");
  EXPECT_EQ(s.code(), StatusCode::kDataLoss);
  EXPECT_EQ(slot_.Get()->name(), "heuristic");
  auto st = svc.GetState();
  EXPECT_FALSE(st.model.has_value());
  EXPECT_NE(st.last_error.find("SHA-256"), std::string::npos) << st.last_error;
  auto alerts = store_->ListAlerts(false).value();
  ASSERT_EQ(alerts.size(), 1u);
  EXPECT_EQ(alerts[0].kind, "model_rejected");
  EXPECT_EQ(alerts[0].subject, Path("bad.dim"));
  EXPECT_NE(alerts[0].message.find("heuristic"), std::string::npos);
  EXPECT_NE(store_->ListAudit(1).value()[0].detail_json.find("rejected"), std::string::npos);
  // Predictions still come back, from the heuristic.
  ObjectFeatures f;
  f.access_1h = 50;
  EXPECT_DOUBLE_EQ(slot_.Get()->PredictHot({f}).value()[0], 0.90);
  EXPECT_NE(metrics_.RenderText().find("dim_ml_model_loaded 0"), std::string::npos);
}

TEST_F(ModelServiceTest, ReloadsWhenTheFileChangesAndRecovers) {
  ModelService svc(slot_, *store_, clock_, metrics_, {Path("watched.dim"), 1, 1});
  // Configured but not there yet: the heuristic serves and says why.
  EXPECT_TRUE(svc.Load("", "").IsNotFound());
  EXPECT_EQ(slot_.Get()->name(), "heuristic");
  EXPECT_EQ(Alerts("model_rejected"), 1);
  EXPECT_FALSE(svc.CheckForChange());  // still absent: nothing to do
  // The file appears: picked up.
  fs::copy_file(Path("model.dim"), Path("watched.dim"));
  EXPECT_TRUE(svc.CheckForChange());
  EXPECT_EQ(slot_.Get()->name(), "xgboost:" + model_->header().model_id);
  EXPECT_EQ(Alerts("model_rejected"), 0);  // resolved by the good load
  EXPECT_FALSE(svc.CheckForChange());      // unchanged
  // Overwritten with garbage (a half-written copy): refused, the heuristic takes over.
  std::ofstream(Path("watched.dim"), std::ios::binary | std::ios::trunc)
      << "{\"format\": \"dim-pop";
  EXPECT_TRUE(svc.CheckForChange());
  EXPECT_EQ(slot_.Get()->name(), "heuristic");
  EXPECT_EQ(Alerts("model_rejected"), 1);
  // A new good model replaces it atomically (as `dim train --out` writes): served again.
  TrainParams p = TrainParams::Defaults(kBoostedTrees);
  p.rounds = 3;
  p.nthread = 1;
  auto second = XgbModel::Train(p, {3600, 10}, 0.5, SmallData(2), nullptr).value();
  ASSERT_TRUE(second->Save(Path("watched.dim")).ok());
  EXPECT_TRUE(svc.CheckForChange());
  EXPECT_EQ(slot_.Get()->name(), "xgboost:" + second->header().model_id);
  EXPECT_EQ(Alerts("model_rejected"), 0);
  EXPECT_GE(svc.GetState().reloads, 2);
}

TEST_F(ModelServiceTest, WatcherThreadPicksUpChanges) {
  ModelService svc(slot_, *store_, clock_, metrics_, {Path("w.dim"), 1, 1});
  (void)svc.Load("", "");
  svc.Start();
  fs::copy_file(Path("model.dim"), Path("w.dim"));
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (slot_.Get()->name() == "heuristic" && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_EQ(slot_.Get()->name(), "xgboost:" + model_->header().model_id);
  svc.Stop();
}

TEST_F(ModelServiceTest, NoPathIsAClearError) {
  ModelService svc(slot_, *store_, clock_, metrics_, {"", 1, 1});
  Status s = svc.Load("", "admin");
  EXPECT_TRUE(s.IsInvalidArgument());
  EXPECT_NE(s.message().find("ml.model_path"), std::string::npos);
  EXPECT_EQ(slot_.Get()->name(), "heuristic");
}

}  // namespace
}  // namespace dim
