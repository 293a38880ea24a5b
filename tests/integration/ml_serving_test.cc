// The popularity model served by the real `dim`: trained with `dim train` (from a generated
// workload and from a running server's store history), loaded at start, explained per object in
// GET /debug/placement, reloaded when its file changes, refused with an alert when corrupt (the
// heuristic takes over), and loaded on request through POST /ml/load (token, audit).
#include <gtest/gtest.h>
#include <httplib.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "integration/dim_process.h"

namespace dim {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// Replaces a file the way `dim train` does (temp + rename), so the watcher sees one change.
void ReplaceFile(const std::string& path, const std::string& bytes) {
  std::ofstream(path + ".new", std::ios::binary) << bytes;
  fs::rename(path + ".new", path);
}

class MlServingTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new std::string(testing::MakeTempDir("ml-serving"));
    model_ = new std::string(*dir_ + "/model.dim");
    // A small forest keeps this quick; every test of the suite runs it (ctest runs each alone).
    auto r = testing::RunDim({"train", "--synthetic", "--objects", "150", "--days", "3", "--step",
                              "1800", "--trees", "16", "--threads", "1", "--out", *model_},
                             300);
    train_out_ = new testing::RunResult(r);
    std::ofstream(*dir_ + "/dim.toml")
        << "[ml]\nmodel_path = \"" << *model_ << "\"\nreload_interval_s = 1\nthreads = 1\n";
    if (r.exit_code == 0) {
      proc_ = new testing::DimProcess("demo", *dir_ + "/data",
                                      {"--no-traffic", "--config", *dir_ + "/dim.toml"});
    }
  }
  void SetUp() override {
    ASSERT_EQ(train_out_->exit_code, 0) << train_out_->out << train_out_->err;
    ASSERT_TRUE(proc_ && proc_->ok()) << (proc_ ? proc_->startup_output() + proc_->Log() : "");
  }
  static void TearDownTestSuite() {
    delete proc_;
    delete train_out_;
    fs::remove_all(*dir_);
    delete dir_;
    delete model_;
  }

  httplib::Client Client() {
    httplib::Client c(proc_->host(), proc_->port());
    c.set_read_timeout(60);
    return c;
  }
  httplib::Headers Auth() { return {{"Authorization", "Bearer " + proc_->token()}}; }
  json Get(const std::string& path, int* status = nullptr) {
    auto r = Client().Get(path);
    if (!r) return json();
    if (status) *status = r->status;
    return json::parse(r->body, nullptr, false);
  }
  json Post(const std::string& path, const std::string& body, int* status, bool auth = true) {
    auto r = Client().Post(path, auth ? Auth() : httplib::Headers{}, body, "application/json");
    if (!r) return json();
    *status = r->status;
    return json::parse(r->body, nullptr, false);
  }
  // Polls GET /ml/model until pred(state) holds (generous deadline: the machine may be loaded).
  json WaitForModel(const std::function<bool(const json&)>& pred) {
    json m;
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (std::chrono::steady_clock::now() < deadline) {
      m = Get("/ml/model");
      if (m.is_object() && pred(m)) return m;
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
    return m;
  }
  bool HasAlert(const std::string& kind) {
    for (const auto& a : Get("/alerts")) {
      if (a["type"] == kind) return true;
    }
    return false;
  }
  std::string SomeKey() { return Get("/files?limit=1")[0]["key"].get<std::string>(); }

  static std::string* dir_;
  static std::string* model_;
  static testing::RunResult* train_out_;
  static testing::DimProcess* proc_;
};

std::string* MlServingTest::dir_ = nullptr;
std::string* MlServingTest::model_ = nullptr;
testing::RunResult* MlServingTest::train_out_ = nullptr;
testing::DimProcess* MlServingTest::proc_ = nullptr;

bool IsXgboost(const json& m) {
  return m["predictor"].is_string() && m["predictor"].get<std::string>().rfind("xgboost:", 0) == 0;
}

TEST_F(MlServingTest, ServesExplainsAndDocumentsTheModel) {
  EXPECT_NE(train_out_->out.find("trained random_forest model"), std::string::npos)
      << train_out_->out;
  EXPECT_NE(train_out_->out.find("AUC"), std::string::npos);
  EXPECT_NE(train_out_->err.find("ETA"), std::string::npos) << "progress lines on stderr";
  json m = WaitForModel(IsXgboost);
  ASSERT_TRUE(IsXgboost(m)) << m.dump();
  EXPECT_TRUE(m["model_loaded"].get<bool>());
  EXPECT_EQ(m["model"]["features"].size(), 12u);
  EXPECT_EQ(m["model"]["label"]["horizon_s"], 3600);
  EXPECT_GT(m["model"]["validation"]["auc"].get<double>(), 0.9);
  EXPECT_EQ(m["importance"].size(), 12u);
  // The optimizer predicts with it, and /debug/placement explains it with SHAP.
  std::string key = SomeKey();
  int status = 0;
  Post("/simulate?key=" + key + "&events=30", "", &status);
  EXPECT_EQ(status, 200);
  EXPECT_EQ(Get("/explain/" + key)["predictor"], m["predictor"]);
  json d = Get("/debug/placement/" + key + "?run=false", &status);
  ASSERT_EQ(status, 200) << d.dump();
  EXPECT_EQ(d["prediction"]["model"], m["predictor"]);
  const json& c = d["prediction"]["contributions"];
  ASSERT_TRUE(c.is_object()) << d.dump();
  EXPECT_EQ(c["model"], m["predictor"]);
  ASSERT_EQ(c["features"].size(), 12u);
  double sum = c["bias"].get<double>();
  for (const auto& f : c["features"]) sum += f["contribution"].get<double>();
  EXPECT_NEAR(sum, c["margin"].get<double>(), 1e-4);
  EXPECT_NEAR(1 / (1 + std::exp(-c["margin"].get<double>())), d["prediction"]["p"].get<double>(),
              1e-4);
  EXPECT_EQ(c["features"][0]["feature"], "access_1h");
  EXPECT_GE(c["features"][0]["value"].get<double>(), 30);
  // Both routes are documented.
  json doc = Get("/openapi.json");
  EXPECT_TRUE(doc["paths"].contains("/ml/model"));
  EXPECT_TRUE(doc["paths"]["/ml/load"]["post"].contains("security"));
}

TEST_F(MlServingTest, LoadNeedsTheTokenIsAuditedAndRefusesBadFiles) {
  int status = 0;
  Post("/ml/load", "{}", &status, /*auth=*/false);
  EXPECT_EQ(status, 401);
  json bad = Post("/ml/load", "not json", &status);
  EXPECT_EQ(status, 400) << bad.dump();
  bad = Post("/ml/load", R"({"path": 5})", &status);
  EXPECT_EQ(status, 400) << bad.dump();
  // A file that is not a model: refused, the heuristic predicts, an alert and an audit record.
  std::ofstream(*dir_ + "/junk.dim") << "this is not a model\n";
  json r = Post("/ml/load", json({{"path", *dir_ + "/junk.dim"}}).dump(), &status);
  EXPECT_EQ(status, 422) << r.dump();
  EXPECT_FALSE(r["loaded"].get<bool>());
  EXPECT_EQ(r["predictor"], "heuristic");
  EXPECT_FALSE(r["error"].get<std::string>().empty());
  EXPECT_TRUE(HasAlert("model_rejected"));
  EXPECT_EQ(Get("/debug/placement/" + SomeKey() + "?run=false")["prediction"]["model"],
            "heuristic");
  bool audited = false;
  for (const auto& a : Get("/audit")) {
    if (a["action"] == "ml.load" && a["detail"]["result"] == "rejected") audited = true;
  }
  EXPECT_TRUE(audited);
  // Back to the configured file.
  r = Post("/ml/load", json({{"path", *model_}}).dump(), &status);
  EXPECT_EQ(status, 200) << r.dump();
  EXPECT_TRUE(IsXgboost(r));
}

TEST_F(MlServingTest, ACorruptedFileFallsBackWithAnAlertAndAGoodOneIsPickedUp) {
  ASSERT_TRUE(IsXgboost(WaitForModel(IsXgboost)));
  std::string good = ReadAll(*model_);
  ReplaceFile(*model_, good.substr(0, good.size() - 100));
  json m = WaitForModel([](const json& s) { return s["predictor"] == "heuristic"; });
  ASSERT_EQ(m["predictor"], "heuristic") << m.dump();
  EXPECT_NE(m["last_error"].get<std::string>().find("corrupt"), std::string::npos) << m.dump();
  EXPECT_TRUE(HasAlert("model_rejected"));
  auto metrics = Client().Get("/metrics");
  ASSERT_TRUE(metrics);
  EXPECT_NE(metrics->body.find("dim_ml_model_loaded 0"), std::string::npos);
  EXPECT_NE(metrics->body.find("dim_ml_model_loads_total{result=\"rejected\"}"), std::string::npos);
  EXPECT_NE(proc_->Log().find("refused"), std::string::npos) << "the reason is logged";
  ReplaceFile(*model_, good);
  m = WaitForModel(IsXgboost);
  EXPECT_TRUE(IsXgboost(m)) << m.dump();
  EXPECT_FALSE(HasAlert("model_rejected")) << "a good load resolves the alert";
}

TEST_F(MlServingTest, TrainsFromARunningServersStoreHistory) {
  // Six hours of history for three objects: one busy, one idle, one busy only lately.
  auto files = Get("/files?limit=3");
  ASSERT_EQ(files.size(), 3u);
  const int64_t now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                             std::chrono::system_clock::now().time_since_epoch())
                             .count();
  json events = json::array();
  for (int minute = 6 * 60; minute > 0; minute -= 2) {
    int64_t ts = now_ms - minute * 60'000;
    events.push_back({{"key", files[0]["key"]}, {"ts_ms", ts}, {"op", "get"}});
    if (minute % 60 == 0)
      events.push_back({{"key", files[1]["key"]}, {"ts_ms", ts}, {"op", "get"}});
    if (minute < 150) events.push_back({{"key", files[2]["key"]}, {"ts_ms", ts}, {"op", "get"}});
  }
  int status = 0;
  Post("/events", events.dump(), &status);
  ASSERT_EQ(status, 200);
  // The consumer flushes within a second or two; wait until the history shows.
  std::string db = *dir_ + "/data";
  testing::RunResult r;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  do {
    std::this_thread::sleep_for(std::chrono::seconds(1));
    r = testing::RunDim({"train",
                         "--data-dir",
                         db,
                         "--out",
                         *dir_ + "/history.dim",
                         "--history-days",
                         "1",
                         "--step",
                         "900",
                         "--horizon",
                         "1800",
                         "--min-accesses",
                         "5",
                         "--valid-fraction",
                         "0.4",
                         "--threads",
                         "1",
                         "--model",
                         "gbt",
                         "--rounds",
                         "5"},
                        120);
  } while (r.exit_code != 0 && std::chrono::steady_clock::now() < deadline);
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("trained gradient_boosted_trees model"), std::string::npos) << r.out;
  EXPECT_NE(r.err.find("reading the history"), std::string::npos) << r.err;
  // The file it wrote loads into the running server.
  json loaded = Post("/ml/load", json({{"path", *dir_ + "/history.dim"}}).dump(), &status);
  EXPECT_EQ(status, 200) << loaded.dump();
  EXPECT_EQ(loaded["model"]["training"]["source"]["kind"], "store");
  Post("/ml/load", json({{"path", *model_}}).dump(), &status);
  EXPECT_EQ(status, 200);
}

TEST(DimTrainCliTest, BadInputGetsClearErrors) {
  std::string dir = testing::MakeTempDir("train-cli");
  auto r = testing::RunDim({"train", "--out", dir + "/m.dim", "--data-dir", dir + "/nothing"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("no store at"), std::string::npos) << r.err;
  r = testing::RunDim({"train", "--out", dir + "/m.dim", "--trace", dir + "/absent.csv"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_FALSE(r.err.empty());
  // A trace with only malformed lines and one good one: reported, and too little to train on.
  std::ofstream(dir + "/bad.csv")
      << "ts,key,op,size\noops\n1700000000,a,get,1\n1700000001,b,fly,1\n";
  r = testing::RunDim({"train", "--out", dir + "/m.dim", "--trace", dir + "/bad.csv"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("line 2:"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("line 4: unknown op"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("no labelled rows"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(dir + "/m.dim"));
  // An unsorted trace is refused, not silently reordered.
  std::ofstream(dir + "/unsorted.csv") << "1700003600,a,get\n1700000000,a,get\n";
  r = testing::RunDim({"train", "--out", dir + "/m.dim", "--trace", dir + "/unsorted.csv"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("sort the trace"), std::string::npos) << r.err;
  // evaluate refuses a corrupt model with the reason.
  std::ofstream(dir + "/corrupt.dim") << "{\"format\": \"dim-popularity-model\"}\n{}";
  r = testing::RunDim({"evaluate", "--model", dir + "/corrupt.dim", "--synthetic"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("format_version"), std::string::npos) << r.err;
  fs::remove_all(dir);
}

TEST(DimTrainCliTest, EvaluatePrintsModelAndHeuristicSideBySideWithCalibration) {
  std::string dir = testing::MakeTempDir("evaluate-cli");
  auto r = testing::RunDim(
      {"train", "--synthetic", "--objects", "100", "--days", "3", "--step", "1800", "--model",
       "gbt", "--rounds", "20", "--threads", "1", "--out", dir + "/m.dim", "--quiet"},
      300);
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  r = testing::RunDim({"evaluate", "--model", dir + "/m.dim", "--synthetic", "--objects", "100",
                       "--days", "3", "--step", "1800", "--json", "--quiet"},
                      300);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  json j = json::parse(r.out, nullptr, false);
  ASSERT_TRUE(j.is_object()) << r.out;
  EXPECT_GT(j["model"]["auc"].get<double>(), j["heuristic"]["auc"].get<double>());
  EXPECT_EQ(j["model"]["calibration"].size(), 10u);
  EXPECT_GT(j["rows"].get<int>(), 1000);
  r = testing::RunDim({"evaluate", "--model", dir + "/m.dim", "--synthetic", "--objects", "100",
                       "--days", "3", "--step", "1800", "--quiet"},
                      300);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  for (const char* s :
       {"AUC", "precision at p >= 0.50", "recall at p >= 0.50", "calibration", "heuristic"}) {
    EXPECT_NE(r.out.find(s), std::string::npos) << s << "\n" << r.out;
  }
  fs::remove_all(dir);
}

}  // namespace
}  // namespace dim
