// Chaos through the API of the real `dim` binary (demo data, no traffic): the routes validate
// their input and need the token, changes are audited and visible in /endpoints, and the three
// promises of the issue hold end to end through the migrator — 30% throttling still moves data
// (retries), a failed endpoint gives errors naming it, corruption is caught by the checksum.
#include <gtest/gtest.h>
#include <httplib.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <thread>

#include "integration/dim_process.h"

namespace dim {
namespace {

using nlohmann::json;

class ChaosApiTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new std::string(testing::MakeTempDir("chaos"));
    proc_ = new testing::DimProcess("demo", *dir_ + "/data", {"--no-traffic"});
  }
  void SetUp() override {
    ASSERT_TRUE(proc_->ok()) << "dim demo did not start:\n"
                             << proc_->startup_output() << proc_->Log();
    auto r = Post("/chaos/clear", "");
    ASSERT_EQ(r.first, 200) << r.second;
  }
  static void TearDownTestSuite() {
    delete proc_;
    std::filesystem::remove_all(*dir_);
    delete dir_;
  }
  httplib::Client Client() {
    httplib::Client c(proc_->host(), proc_->port());
    c.set_read_timeout(60);
    return c;
  }
  std::pair<int, std::string> Post(const std::string& path, const std::string& body,
                                   bool auth = true) {
    auto c = Client();
    httplib::Headers h;
    if (auth) h = {{"Authorization", "Bearer " + proc_->token()}};
    auto r = c.Post(path, h, body, "application/json");
    if (!r) return {0, "no response"};
    return {r->status, r->body};
  }
  json Get(const std::string& path) {
    auto c = Client();
    auto r = c.Get(path);
    return r ? json::parse(r->body, nullptr, false) : json();
  }
  // A seeded cold object on azure (each test takes a different one).
  std::string ColdOnAzure() {
    static int taken = 0;
    int skip = taken++;
    for (const auto& f : Get("/files?limit=10000")) {
      if (f["tier"] == "cold" && f["sites"] == json::array({"azure"}) && skip-- == 0)
        return f["key"];
    }
    return "";
  }
  // Copy tasks for key, newest first.
  std::vector<json> CopiesOf(const std::string& key) {
    std::vector<json> out;
    for (const auto& t : Get("/tasks?limit=200")) {
      if (t["key"] == key && t["kind"] == "copy") out.push_back(t);
    }
    return out;
  }
  template <typename Pred>
  bool WaitFor(Pred p, int seconds) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
    while (std::chrono::steady_clock::now() < deadline) {
      if (p()) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(250));
    }
    return p();
  }

  static std::string* dir_;
  static testing::DimProcess* proc_;
};

std::string* ChaosApiTest::dir_ = nullptr;
testing::DimProcess* ChaosApiTest::proc_ = nullptr;

TEST_F(ChaosApiTest, RoutesValidateAuthenticateAndAudit) {
  json st = Get("/chaos/status");
  ASSERT_TRUE(st["sites"].contains("aws")) << st.dump();
  EXPECT_EQ(st["sites"]["aws"]["failed"], false);
  EXPECT_EQ(Post("/chaos/fail/aws", "", false).first, 401);
  EXPECT_EQ(Post("/chaos/fail/nosuch", "").first, 404);
  for (const char* bad :
       {"not json", "[]", "{}", R"({"ms": -1})", R"({"ms": "5"})", R"({"ms": 5, "site": "nosuch"})",
        R"({"ms": 5, "site": 7})", R"({"ms": 99999999})"}) {
    auto r = Post("/chaos/latency", bad);
    EXPECT_TRUE(r.first == 400 || r.first == 404) << bad << " -> " << r.first << " " << r.second;
    EXPECT_NE(r.second.find("\"error\""), std::string::npos) << r.second;
  }
  for (const char* bad :
       {"{}", R"({"fraction": 1.5})", R"({"fraction": -0.1})", R"({"fraction": "x"})",
        R"({"fraction": 0.3, "kind": "418"})", R"({"fraction": 0.3, "kind": 503})"}) {
    EXPECT_EQ(Post("/chaos/throttle", bad).first, 400) << bad;
  }
  EXPECT_EQ(Post("/chaos/corrupt", R"({"fraction": 2})").first, 400);

  ASSERT_EQ(Post("/chaos/fail/aws", "").first, 200);
  ASSERT_EQ(Post("/chaos/latency", R"({"ms": 20, "site": "gcp"})").first, 200);
  auto r = Post("/chaos/throttle", R"({"fraction": 0.25, "kind": "SlowDown"})");
  ASSERT_EQ(r.first, 200);
  st = json::parse(r.second);
  EXPECT_EQ(st["sites"]["aws"]["failed"], true);
  EXPECT_EQ(st["sites"]["gcp"]["latency_ms"], 20);
  EXPECT_EQ(st["sites"]["azure"]["throttle"]["fraction"], 0.25);
  EXPECT_EQ(st["sites"]["azure"]["throttle"]["kind"], "SlowDown");
  bool aws_down = false;
  for (const auto& e : Get("/endpoints")) {
    if (e["name"] == "aws") aws_down = e["up"] == false && e["chaos"]["failed"] == true;
  }
  EXPECT_TRUE(aws_down);
  ASSERT_EQ(Post("/chaos/recover/aws", "").first, 200);
  EXPECT_EQ(Get("/chaos/status")["sites"]["aws"]["failed"], false);
  EXPECT_EQ(Get("/chaos/status")["sites"]["gcp"]["latency_ms"],
            20);  // recover ends only the failure
  std::vector<std::string> actions;
  for (const auto& a : Get("/audit")) actions.push_back(a["action"]);
  for (const char* want :
       {"chaos.fail", "chaos.latency", "chaos.throttle", "chaos.recover", "chaos.clear"}) {
    EXPECT_NE(std::find(actions.begin(), actions.end(), want), actions.end()) << want;
  }
  json doc = Get("/openapi.json");
  for (const char* p : {"/chaos/status", "/chaos/fail/{name}", "/chaos/recover/{name}",
                        "/chaos/clear", "/chaos/latency", "/chaos/throttle", "/chaos/corrupt"}) {
    EXPECT_TRUE(doc["paths"].contains(p)) << p;
  }
}

TEST_F(ChaosApiTest, ThrottlingStillMovesDataThroughRetries) {
  ASSERT_EQ(Post("/chaos/throttle", R"({"fraction": 0.3, "kind": "503"})").first, 200);
  // Several moves, so that a few dozen storage calls meet the 30% throttle.
  std::vector<std::string> keys;
  for (int i = 0; i < 6; ++i) {
    keys.push_back(ColdOnAzure());
    ASSERT_FALSE(keys.back().empty());
    ASSERT_EQ(Post("/simulate?key=" + keys.back() + "&events=100", "").first, 200);
  }
  for (const auto& key : keys) {
    json f;
    bool moved = WaitFor(
        [&] {
          f = Get("/files/" + key);
          // The placement names aws before the copy runs: wait for the bytes themselves.
          return f["sites"] == json::array({"aws"}) && f["replicas_detail"].size() == 1 &&
                 f["replicas_detail"][0]["site"] == "aws" &&
                 f["replicas_detail"][0]["state"] == "live";
        },
        90);
    EXPECT_TRUE(moved) << f.dump(2);
  }
  auto m = Client().Get("/metrics");
  ASSERT_TRUE(m);
  EXPECT_NE(m->body.find("dim_storage_retries_total{"), std::string::npos) << "no call was retried";
}

TEST_F(ChaosApiTest, FailedEndpointErrorsNameIt) {
  // The only replica's site fails: the move to the hot site cannot read it, and says why.
  ASSERT_EQ(Post("/chaos/fail/azure", "").first, 200);
  std::string key = ColdOnAzure();
  ASSERT_FALSE(key.empty());
  ASSERT_EQ(Post("/simulate?key=" + key + "&events=100", "").first, 200);
  std::string error;
  ASSERT_TRUE(WaitFor(
      [&] {
        for (const auto& t : CopiesOf(key)) {
          if (!t["error"].get<std::string>().empty()) error = t["error"];
        }
        return !error.empty();
      },
      90))
      << "no failed copy attempt for " << key;
  EXPECT_NE(error.find("site azure"), std::string::npos) << error;
  EXPECT_NE(error.find("failed by chaos"), std::string::npos) << error;
  // Nothing moved: the object is still served from azure.
  json f = Get("/files/" + key);
  bool azure_live = false;
  for (const auto& r : f["replicas_detail"])
    azure_live |= r["site"] == "azure" && r["state"] == "live";
  EXPECT_TRUE(azure_live) << f.dump(2);
}

TEST_F(ChaosApiTest, FailedSiteReceivesNoNewData) {
  ASSERT_EQ(Post("/chaos/fail/aws", "").first, 200);
  std::string key = ColdOnAzure();
  ASSERT_FALSE(key.empty());
  auto r = Post("/simulate?key=" + key + "&events=100", "");
  ASSERT_EQ(r.first, 200) << r.second;
  json f = Get("/files/" + key);
  for (const auto& s : f["sites"]) EXPECT_NE(s, "aws") << f.dump(2);
  for (const auto& t : CopiesOf(key)) EXPECT_NE(t["dst"], "aws") << t.dump();
  bool aws_down = false;
  for (const auto& e : Get("/endpoints")) {
    if (e["name"] == "aws") aws_down = e["up"] == false;
  }
  EXPECT_TRUE(aws_down);
}

TEST_F(ChaosApiTest, CorruptionIsCaughtByTheChecksum) {
  ASSERT_EQ(Post("/chaos/corrupt", R"({"fraction": 0.01, "site": "azure"})").first, 200);
  std::string key = ColdOnAzure();
  ASSERT_FALSE(key.empty());
  ASSERT_EQ(Post("/simulate?key=" + key + "&events=100", "").first, 200);
  std::string error;
  ASSERT_TRUE(WaitFor(
      [&] {
        for (const auto& t : CopiesOf(key)) {
          std::string e = t["error"];
          if (e.find("DataLoss") != std::string::npos || e.find("sha256") != std::string::npos)
            error = e;
        }
        return !error.empty();
      },
      90))
      << "the corrupted copy was not refused";
  json f = Get("/files/" + key);
  for (const auto& r : f["replicas_detail"]) {
    if (r["site"] == "aws") {
      EXPECT_NE(r["state"], "live") << f.dump(2);
    }
  }
  // The stored bytes were never touched: azure still holds a live replica with the recorded sum.
  bool azure_intact = false;
  for (const auto& r : f["replicas_detail"]) {
    azure_intact |= r["site"] == "azure" && r["state"] == "live" && r["sha256"] == f["sha256"];
  }
  EXPECT_TRUE(azure_intact) << f.dump(2);
}

}  // namespace
}  // namespace dim
