#include "storage/endpoint_health.h"

#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>

#include "storage/chaos_store.h"
#include "storage/local_object_store.h"
#include "store/sqlite/sqlite_metadata_store.h"

namespace dim {
namespace {

class EndpointHealthTest : public ::testing::Test {
 protected:
  void SetUp() override {
    static std::atomic<int> n{0};
    dir_ = std::filesystem::temp_directory_path() /
           ("dim-health-" + std::to_string(getpid()) + "-" + std::to_string(n++));
    db_ = SqliteMetadataStore::Open(":memory:").value();
    chaos_ = std::make_shared<ChaosController>(db_.get(), clock_, 0);
    for (const char* name : {"aws", "azure"}) {
      SiteConfig c;
      c.name = name;
      c.provider = name;
      c.type = "local";
      auto local = std::shared_ptr<ObjectStore>(LocalObjectStore::Make(name, dir_ / name).value());
      sites_.Add(c, ChaosStore::Make(local, chaos_, 1, [](int64_t) {}), local);
    }
    // A cloud site whose endpoint refuses connections.
    SiteConfig s3;
    s3.name = "gone";
    s3.provider = "x";
    s3.type = "s3";
    s3.endpoint = "http://127.0.0.1:9";
    s3.bucket = "b";
    sites_.Add(s3, MakeObjectStore(s3, dir_.string()).value());
    health_ = std::make_unique<EndpointHealth>(sites_, db_.get(), metrics_, clock_,
                                               EndpointHealthOptions{1000, 2});
  }
  void TearDown() override {
    health_.reset();
    std::filesystem::remove_all(dir_);
  }
  void SetFailed(const std::string& site, bool failed) {
    ASSERT_TRUE(chaos_
                    ->Update(
                        [&](ChaosState& st) {
                          st.sites[site].failed = failed;
                          return Status::OK();
                        },
                        "t", "chaos.fail", {})
                    .ok());
  }
  int AlertsFor(const std::string& site) {
    int n = 0;
    for (const auto& a : db_->ListAlerts(false).value()) {
      n += a.kind == EndpointHealth::kAlertKind && a.subject == site;
    }
    return n;
  }
  double Up(const std::string& site) {
    return metrics_.AddGauge("dim_endpoint_up", "", {"endpoint"}).Labels({site}).Value();
  }

  std::filesystem::path dir_;
  VirtualClock clock_;
  MetricsRegistry metrics_;
  std::unique_ptr<SqliteMetadataStore> db_;
  std::shared_ptr<ChaosController> chaos_;
  SiteRegistry sites_;
  std::unique_ptr<EndpointHealth> health_;
};

TEST_F(EndpointHealthTest, DownAfterRepeatedFailuresWithAnAlertThenUpAgain) {
  health_->ProbeAll();
  EXPECT_TRUE(health_->IsUp("aws"));
  EXPECT_TRUE(health_->Get("aws").probed);
  EXPECT_EQ(Up("aws"), 1);
  // An unreachable endpoint: one failure is not enough, two are.
  EXPECT_TRUE(health_->IsUp("gone"));
  EXPECT_EQ(health_->Get("gone").consecutive_failures, 1);
  health_->ProbeAll();
  EXPECT_FALSE(health_->IsUp("gone"));
  EXPECT_EQ(Up("gone"), 0);
  EXPECT_NE(health_->Get("gone").last_error.find("127.0.0.1:9"), std::string::npos)
      << health_->Get("gone").last_error;
  EXPECT_EQ(AlertsFor("gone"), 1);

  // A site failed by chaos goes down too, and comes back when it recovers.
  SetFailed("aws", true);
  health_->ProbeAll();
  health_->ProbeAll();
  EXPECT_FALSE(health_->IsUp("aws"));
  EXPECT_EQ(AlertsFor("aws"), 1);
  auto alerts = db_->ListAlerts(false).value();
  bool named = false;
  for (const auto& a : alerts)
    named |= a.subject == "aws" && a.message.find("site aws is down") != std::string::npos;
  EXPECT_TRUE(named);
  health_->ProbeAll();  // still down: the alert is updated, not duplicated
  EXPECT_EQ(AlertsFor("aws"), 1);
  SetFailed("aws", false);
  health_->ProbeAll();
  EXPECT_TRUE(health_->IsUp("aws"));
  EXPECT_EQ(Up("aws"), 1);
  EXPECT_EQ(AlertsFor("aws"), 0);
  EXPECT_TRUE(health_->IsUp("azure"));
  EXPECT_TRUE(health_->IsUp("no-such-site"));
}

TEST_F(EndpointHealthTest, BackgroundLoopProbesAndStops) {
  health_->Start();
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (!health_->Get("azure").probed && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_TRUE(health_->Get("azure").probed);
  health_->Stop();
  std::string text = metrics_.RenderText();
  EXPECT_NE(text.find("dim_endpoint_up{endpoint=\"azure\"} 1"), std::string::npos) << text;
  EXPECT_NE(text.find("dim_endpoint_probe_seconds"), std::string::npos);
}

}  // namespace
}  // namespace dim
