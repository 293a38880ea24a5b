#include "optimizer/optimizer.h"

#include <gtest/gtest.h>

#include "bus/memory_event_bus.h"
#include "optimizer/explanation.h"
#include "store/sqlite/sqlite_metadata_store.h"
#include "stream/access_consumer.h"

namespace dim {
namespace {

class OptimizerTest : public ::testing::Test {
 protected:
  OptimizerTest()
      : clock_(1'700'000'000'000'000),
        bus_(1024),
        slot_(std::make_shared<HeuristicPredictor>()) {
    store_ = SqliteMetadataStore::Open(":memory:").value();
    EXPECT_TRUE(store_->CreateBucket("demo", 0).ok());
    policy_ = std::make_unique<RuntimePolicy>(*store_, clock_, false);
    OptimizerOptions o;
    o.sla_ms = 80;
    optimizer_ = std::make_unique<Optimizer>(*store_, DefaultSites(), slot_, *policy_, clock_,
                                             metrics_, o);
    consumer_ = std::make_unique<AccessConsumer>(*store_, bus_, clock_, metrics_, ConsumerOptions{});
  }

  ObjectRecord PutCold(const std::string& key) {
    MetadataStore::NewContent c;
    c.key = {"demo", key};
    c.size = 1000;
    c.sha256 = "aa";
    c.generation = "g1";
    c.tier = Tier::kCold;
    c.sites = {"azure"};
    c.now_ms = clock_.NowMs() - 3600'000 * 48;
    return store_->PutObject(c).value();
  }

  void Burst(const std::string& key, int n) {
    std::vector<AccessEvent> ev(n);
    for (auto& e : ev) {
      e.key = "demo/" + key;
      e.ts_ms = clock_.NowMs();
    }
    ASSERT_TRUE(consumer_->RecordNow(ev).ok());
  }

  VirtualClock clock_;
  MemoryEventBus bus_;
  MetricsRegistry metrics_;
  PredictorSlot slot_;
  std::unique_ptr<SqliteMetadataStore> store_;
  std::unique_ptr<RuntimePolicy> policy_;
  std::unique_ptr<Optimizer> optimizer_;
  std::unique_ptr<AccessConsumer> consumer_;
};

TEST_F(OptimizerTest, ColdObjectStaysPutWithoutTraffic) {
  PutCold("x");
  auto ev = optimizer_->Evaluate({"demo", "x"}, true).value();
  EXPECT_EQ(ev.tier.tier, Tier::kCold);
  EXPECT_EQ(ev.placement.chosen, std::vector<std::string>{"azure"});
  EXPECT_FALSE(ev.changed);
  EXPECT_TRUE(store_->ListTasks(std::nullopt, 10)->empty());
}

TEST_F(OptimizerTest, BurstMakesItHotAndQueuesTheMove) {
  auto o = PutCold("x");
  Burst("x", 100);
  auto ev = optimizer_->Evaluate({"demo", "x"}, true).value();
  EXPECT_DOUBLE_EQ(ev.p_hot, 0.90);
  EXPECT_EQ(ev.tier.tier, Tier::kHot);
  EXPECT_EQ(ev.placement.chosen, std::vector<std::string>{"aws"});
  EXPECT_TRUE(ev.applied);
  auto now = store_->GetObject({"demo", "x"})->value();
  EXPECT_EQ(now.tier, Tier::kHot);
  EXPECT_EQ(now.sites, std::vector<std::string>{"aws"});
  auto tasks = store_->ListTasks(TaskStatus::kQueued, 10).value();
  ASSERT_EQ(tasks.size(), 1u);
  EXPECT_EQ(tasks[0].src_site, "azure");
  EXPECT_EQ(tasks[0].dst_site, "aws");
  auto decisions = store_->ListDecisions("demo/x", 10).value();
  ASSERT_EQ(decisions.size(), 1u);
  EXPECT_EQ(decisions[0].to_tier, Tier::kHot);
  auto j = nlohmann::json::parse(decisions[0].explanation_json);
  EXPECT_EQ(j["chosen"][0], "aws");
  EXPECT_TRUE(j.contains("scores"));
  EXPECT_TRUE(j.contains("runner_up"));
  (void)o;
}

TEST_F(OptimizerTest, DryRunChangesNothing) {
  PutCold("x");
  Burst("x", 100);
  auto ev = optimizer_->Evaluate({"demo", "x"}, false).value();
  EXPECT_TRUE(ev.changed);
  EXPECT_FALSE(ev.applied);
  EXPECT_EQ(store_->GetObject({"demo", "x"})->value().tier, Tier::kCold);
  auto dbg = DebugPlacementJson(ev, optimizer_->options().tier);
  EXPECT_EQ(dbg["recommended"]["tier"], "hot");
  EXPECT_EQ(dbg["db_before"]["tier"], "cold");
  EXPECT_EQ(dbg["windows"]["c1"], 100);
}

TEST_F(OptimizerTest, EncryptionEnforcedAvoidsUnencryptedSite) {
  PutCold("x");
  ASSERT_TRUE(policy_->SetEncryptionEnforced(true, "test").ok());
  auto ev = optimizer_->Evaluate({"demo", "x"}, true).value();
  EXPECT_NE(ev.placement.chosen[0], "azure");
  EXPECT_EQ(store_->ListAudit(5)->at(0).action, "policy.security");
}

TEST_F(OptimizerTest, UnknownKeyIsNotFound) {
  EXPECT_TRUE(optimizer_->Evaluate({"demo", "none"}, true).status().IsNotFound());
}

TEST_F(OptimizerTest, PassRespectsHotCap) {
  for (int i = 0; i < 10; ++i) {
    PutCold("k" + std::to_string(i));
    Burst("k" + std::to_string(i), 100);
  }
  auto pr = optimizer_->EvaluateActive(0).value();
  EXPECT_EQ(pr.evaluated, 10);
  auto counts = store_->CountObjectsByTier().value();
  EXPECT_LE(counts[Tier::kHot], 3);  // 30% of 10
  EXPECT_EQ(counts[Tier::kHot] + counts[Tier::kWarm], 10);
}

}  // namespace
}  // namespace dim
