// End to end through HTTP against the real `dim` binary on a temporary data dir and random
// ports: the foundation's promise (a burst makes a cold object hot; its bytes move to the hot
// site, verified, and the old replica goes), bad input, metrics, config errors and shutdown.
#include <httplib.h>
#include <sys/stat.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "core/checksum.h"
#include "integration/dim_process.h"

namespace dim {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

std::string FileSha256(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  Sha256 h;
  char buf[65536];
  while (in.read(buf, sizeof buf) || in.gcount() > 0) h.Update(buf, static_cast<size_t>(in.gcount()));
  return h.FinishHex();
}

class EmbeddedE2ETest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new std::string(testing::MakeTempDir("e2e"));
    proc_ = new testing::DimProcess("demo", *dir_ + "/data", {"--no-traffic"});
  }
  // Checked per test (a failure in SetUpTestSuite would show as "skipped", not failed).
  void SetUp() override {
    ASSERT_TRUE(proc_->ok()) << "dim demo did not start:\n" << proc_->startup_output() << proc_->Log();
  }
  static void TearDownTestSuite() {
    delete proc_;
    fs::remove_all(*dir_);
    delete dir_;
  }

  httplib::Client Client() {
    httplib::Client c(proc_->host(), proc_->port());
    c.set_read_timeout(30);
    return c;
  }
  httplib::Headers Auth() { return {{"Authorization", "Bearer " + proc_->token()}}; }
  json GetJson(const std::string& path, int* status = nullptr) {
    auto c = Client();
    auto r = c.Get(path);
    if (!r) return json();
    if (status) *status = r->status;
    return json::parse(r->body, nullptr, false);
  }

  static std::string* dir_;
  static testing::DimProcess* proc_;
};

std::string* EmbeddedE2ETest::dir_ = nullptr;
testing::DimProcess* EmbeddedE2ETest::proc_ = nullptr;

TEST_F(EmbeddedE2ETest, BurstMakesAColdObjectHotAndMovesItsBytesVerified) {
  json files = GetJson("/files?limit=10000");
  ASSERT_TRUE(files.is_array());
  ASSERT_GE(files.size(), 100u);
  json cold;
  for (const auto& f : files) {
    if (f["tier"] == "cold" && f["sites"] == json::array({"azure"})) {
      cold = f;
      break;
    }
  }
  ASSERT_FALSE(cold.is_null()) << "no cold object on azure among the seeded ones";
  const std::string key = cold["key"];
  const std::string sha = cold["sha256"];
  const std::string gen = cold["generation"];
  const fs::path sites = fs::path(*dir_) / "data" / "sites";
  const std::string rel = key + "@" + gen;  // ordinary keys map to their own path
  ASSERT_TRUE(fs::exists(sites / "azure" / rel)) << rel;
  ASSERT_EQ(FileSha256(sites / "azure" / rel), sha) << "seeded bytes do not match the record";

  auto c = Client();
  auto r = c.Post("/simulate?key=" + key + "&events=100", Auth(), "", "text/plain");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;

  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  json detail;
  bool done = false;
  while (std::chrono::steady_clock::now() < deadline) {
    detail = GetJson("/files/" + key);
    bool only_aws_live = detail["replicas_detail"].size() == 1 &&
                         detail["replicas_detail"][0]["site"] == "aws" &&
                         detail["replicas_detail"][0]["state"] == "live";
    if (detail["tier"] == "hot" && detail["sites"] == json::array({"aws"}) && only_aws_live) {
      done = true;
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
  }
  ASSERT_TRUE(done) << "not hot on aws with the old replica gone within 60 s: " << detail.dump(2);
  // /files shows it hot too.
  bool listed_hot = false;
  for (const auto& f : GetJson("/files?limit=10000")) {
    if (f["key"] == key) listed_hot = f["tier"] == "hot" && f["primary"] == "aws";
  }
  EXPECT_TRUE(listed_hot);
  // The bytes on the hot site are the same bytes.
  ASSERT_TRUE(fs::exists(sites / "aws" / rel));
  EXPECT_EQ(FileSha256(sites / "aws" / rel), sha);
  EXPECT_EQ(detail["replicas_detail"][0]["sha256"], sha);
  // The old replica is gone from the cold site.
  EXPECT_FALSE(fs::exists(sites / "azure" / rel));
  // The decision was recorded with its explanation.
  json decisions = GetJson("/decisions?key=" + key);
  ASSERT_GE(decisions.size(), 1u);
  EXPECT_EQ(decisions[0]["to_tier"], "hot");
  // And the metrics saw the move.
  auto m = c.Get("/metrics");
  ASSERT_TRUE(m);
  EXPECT_NE(m->body.find("dim_migration_jobs_total{result=\"copied\"}"), std::string::npos);
  EXPECT_NE(m->body.find("dim_simulate_events_total 100"), std::string::npos);
}

TEST_F(EmbeddedE2ETest, BadInputGetsClearErrors) {
  auto c = Client();
  int status = 0;
  json j = GetJson("/explain/demo/no-such-object", &status);
  EXPECT_EQ(status, 404);
  EXPECT_EQ(j["code"], "NotFound");
  EXPECT_NE(j["error"].get<std::string>().find("demo/no-such-object"), std::string::npos);

  // A key that would escape a site's root (sent raw, not normalised by the client).
  j = GetJson("/explain/demo/../../etc/passwd", &status);
  EXPECT_EQ(status, 400) << j.dump();
  EXPECT_EQ(j["code"], "InvalidArgument");
  auto r = c.Post("/simulate?key=demo/a/../../x&events=1", Auth(), "", "text/plain");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 400) << r->body;
  r = c.Post("/simulate?key=demo%2F%00x&events=1", Auth(), "", "text/plain");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 400) << r->body;

  // Mutating calls need the token.
  r = c.Post("/simulate?key=demo/x&events=1", "", "text/plain");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 401);
  EXPECT_NE(r->body.find("Bearer"), std::string::npos);
  r = c.Post("/alerts/clear", {{"Authorization", "Bearer wrong"}}, "", "text/plain");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 401);

  // Malformed bodies and parameters.
  r = c.Post("/policy/security", Auth(), "{\"enforce\": ", "application/json");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 400);
  r = c.Post("/simulate?key=demo/x&events=0", Auth(), "", "text/plain");
  EXPECT_EQ(r->status, 400);
  r = c.Post("/simulate?key=demo/x&events=lots", Auth(), "", "text/plain");
  EXPECT_EQ(r->status, 400);
  r = c.Post("/events", Auth(), "[{\"key\": 5}]", "application/json");
  EXPECT_EQ(r->status, 400);
  r = c.Post("/events", Auth(), "not json at all", "application/json");
  EXPECT_EQ(r->status, 400);
  GetJson("/tasks?status=bogus", &status);
  EXPECT_EQ(status, 400);
  r = c.Post("/alerts/abc/ack", Auth(), "", "text/plain");
  EXPECT_EQ(r->status, 400);
  r = c.Post("/alerts/999999/ack", Auth(), "", "text/plain");
  EXPECT_EQ(r->status, 404);
  r = c.Delete("/tasks?status=queued", Auth());
  EXPECT_EQ(r->status, 400);
  // The server is still healthy after all that.
  j = GetJson("/healthz", &status);
  EXPECT_EQ(status, 200);
  EXPECT_EQ(j["status"], "ok");
}

TEST_F(EmbeddedE2ETest, OptimizeAllPlansTheWholeFleet) {
  auto c = Client();
  // Without the token: refused.
  auto r = c.Post("/optimize/all?dry_run=true", "", "text/plain");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 401);
  // Bad parameters: a clear 400.
  for (const char* q : {"solver=simplex", "budget_bytes=-5", "budget_dollars=lots", "time_limit_s=0",
                        "dry_run=maybe"}) {
    r = c.Post(std::string("/optimize/all?") + q, Auth(), "", "text/plain");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 400) << q << ": " << r->body;
  }
  // A dry run plans everything and changes nothing.
  r = c.Post("/optimize/all?dry_run=true", Auth(), "", "text/plain");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  json plan = json::parse(r->body);
  EXPECT_GE(plan["total"].get<int>(), 100);
  EXPECT_EQ(plan["updated"], 0);
  EXPECT_EQ(plan["errors"], 0);
  EXPECT_TRUE(plan["dry_run"].get<bool>());
  EXPECT_TRUE(plan.contains("solver"));
  EXPECT_TRUE(plan.contains("gap"));
  EXPECT_TRUE(plan["first_moves"].is_array());
  EXPECT_TRUE(plan["sites"].contains("aws"));
  // With a byte budget of zero-ish, at most that much is queued.
  r = c.Post("/optimize/all?budget_bytes=1", Auth(), "", "text/plain");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  plan = json::parse(r->body);
  EXPECT_LE(plan["moved_bytes"].get<int64_t>(), 1);
  // The run is audited.
  json audit = GetJson("/audit?limit=20");
  bool seen = false;
  for (const auto& a : audit) seen |= a["action"] == "optimize.all";
  EXPECT_TRUE(seen) << audit.dump();
}

TEST_F(EmbeddedE2ETest, MigratorStatusAndTaskDetail) {
  int status = 0;
  json m = GetJson("/migrator", &status);
  ASSERT_EQ(status, 200) << m.dump();
  ASSERT_EQ(m["endpoints"].size(), 3u);
  for (const auto& e : m["endpoints"]) {
    EXPECT_EQ(e["circuit"], "closed") << e.dump();
    EXPECT_EQ(e["consecutive_failures"], 0);
  }
  // Make sure there is a task: a burst on a cold object moves it.
  json files = GetJson("/files?limit=10000");
  std::string key;
  for (const auto& f : files) {
    if (f["tier"] == "cold") key = f["key"];
  }
  ASSERT_FALSE(key.empty());
  auto c = Client();
  auto r = c.Post("/simulate?key=" + key + "&events=100", Auth(), "", "text/plain");
  ASSERT_TRUE(r);
  json tasks = GetJson("/tasks?limit=1");
  ASSERT_EQ(tasks.size(), 1u) << tasks.dump();
  int64_t id = tasks[0]["id"];
  json t = GetJson("/tasks/" + std::to_string(id), &status);
  EXPECT_EQ(status, 200);
  EXPECT_EQ(t["id"], id);
  for (const char* field : {"bytes", "bytes_done", "deferrals", "attempts", "max_attempts",
                            "lease_owner", "lease_expiry_ms", "first_started_ms", "finished_ms"}) {
    EXPECT_TRUE(t.contains(field)) << field;
  }
  GetJson("/tasks/abc", &status);
  EXPECT_EQ(status, 400);
  GetJson("/tasks/-3", &status);
  EXPECT_EQ(status, 400);
  GetJson("/tasks/99999999", &status);
  EXPECT_EQ(status, 404);
}

TEST_F(EmbeddedE2ETest, EveryDocumentedRouteIsInOpenApi) {
  json doc = GetJson("/openapi.json");
  ASSERT_TRUE(doc.contains("paths"));
  for (const char* p : {"/healthz", "/files", "/endpoints", "/policy/security", "/optimize/{key}",
                        "/optimize/all", "/simulate", "/explain/{key}", "/debug/placement/{key}",
                        "/migrator/tick", "/migrator", "/tasks", "/tasks/{id}", "/metrics",
                        "/alerts", "/alerts/{id}/ack",
                        "/alerts/clear"}) {
    EXPECT_TRUE(doc["paths"].contains(p)) << p;
  }
  EXPECT_TRUE(doc["paths"]["/simulate"]["post"].contains("security"));
}

TEST_F(EmbeddedE2ETest, MetricsPassPromtool) {
  auto c = Client();
  auto m = c.Get("/metrics");
  ASSERT_TRUE(m);
  for (const char* name : {"dim_migration_queue", "dim_events_ingested_total", "dim_objects",
                           "dim_api_requests_total", "dim_migration_circuit_state",
                           "dim_migration_corrupt_rejected_total"}) {
    EXPECT_NE(m->body.find(name), std::string::npos) << name;
  }
  std::string path = *dir_ + "/metrics.txt";
  std::ofstream(path) << m->body;
  std::string cmd = "promtool check metrics < " + path + " > " + path + ".out 2>&1";
  int rc = std::system(cmd.c_str());
  std::ifstream out(path + ".out");
  std::stringstream ss;
  ss << out.rdbuf();
  EXPECT_EQ(WEXITSTATUS(rc), 0) << ss.str();
}

TEST_F(EmbeddedE2ETest, AdminTokenIsPrivate) {
  struct stat st;
  ASSERT_EQ(stat((*dir_ + "/data/admin.token").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600);
}

TEST_F(EmbeddedE2ETest, DashboardIsServed) {
  auto c = Client();
  auto r = c.Get("/");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_NE(r->body.find("Data-in-Motion"), std::string::npos);
  r = c.Get("/app.js");
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->get_header_value("Content-Type"), "text/javascript; charset=utf-8");
}

TEST(DimCliTest, BrokenConfigNamesTheLine) {
  std::string dir = testing::MakeTempDir("cfg");
  std::ofstream(dir + "/bad.toml") << "[api]\nlisten = \"127.0.0.1:8000\"\nthreads = \"many\"\n"
                                      "[[sites]]\nname = \"a\"\nprovider = \"p\"\npath = \"a\"\nclas = \"hot\"\n";
  auto r = testing::RunDim({"config", "check", dir + "/bad.toml"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("bad.toml:3: api.threads must be an integer"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("bad.toml:8: unknown key 'clas'"), std::string::npos) << r.err;
  std::ofstream(dir + "/syntax.toml") << "[api]\nlisten = \n";
  r = testing::RunDim({"config", "check", dir + "/syntax.toml"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("syntax.toml:2:"), std::string::npos) << r.err;
  std::ofstream(dir + "/good.toml") << "[policy]\nrf = 2\n";
  r = testing::RunDim({"config", "check", dir + "/good.toml"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("OK (3 sites: aws, azure, gcp)"), std::string::npos) << r.out;
  // serve refuses a broken file the same way, before starting anything.
  r = testing::RunDim({"serve", "--config", dir + "/bad.toml", "--data-dir", dir + "/d"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("bad.toml:3:"), std::string::npos) << r.err;
  std::filesystem::remove_all(dir);
}

TEST(DimCliTest, ConfigurationReferenceIsUpToDate) {
  auto r = testing::RunDim({"config", "docs"});
  ASSERT_EQ(r.exit_code, 0);
  std::ifstream in(testing::SourceDir() + "/docs/configuration.md");
  std::stringstream ss;
  ss << in.rdbuf();
  EXPECT_EQ(ss.str(), r.out) << "regenerate with: build/dim config docs > docs/configuration.md";
}

TEST(DimCliTest, SigtermStopsCleanlyAndRestartKeepsState) {
  std::string dir = testing::MakeTempDir("restart");
  std::string token;
  {
    testing::DimProcess p("demo", dir + "/data", {"--no-traffic"});
    ASSERT_TRUE(p.ok()) << p.startup_output() << p.Log();
    token = p.token();
    EXPECT_EQ(p.Terminate(), 0);
    EXPECT_NE(p.Log().find("stopped cleanly"), std::string::npos) << p.Log();
  }
  testing::DimProcess again("demo", dir + "/data", {"--no-traffic"});
  ASSERT_TRUE(again.ok()) << again.startup_output() << again.Log();
  EXPECT_EQ(again.token(), token);
  EXPECT_NE(again.Log().find("already seeded"), std::string::npos);
  httplib::Client c(again.host(), again.port());
  auto r = c.Get("/files?limit=10000");
  ASSERT_TRUE(r);
  EXPECT_EQ(json::parse(r->body).size(), 200u);
  EXPECT_EQ(again.Terminate(), 0);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace dim
