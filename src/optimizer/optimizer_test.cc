#include "optimizer/optimizer.h"

#include <gtest/gtest.h>

#include <chrono>
#include <thread>

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

// Two cold-class sites: "cheap" is slow and cheap, "fast" is quick and dearer; "warm" holds the
// object now. The SLA is loose, so both cold sites qualify.
std::vector<SiteConfig> TwoColdSites() {
  SiteConfig cheap, fast, warm;
  cheap.name = "cheap"; cheap.provider = "p1"; cheap.storage_class = Tier::kCold;
  cheap.p95_ms = 200; cheap.cost_per_gb_month = 0.010; cheap.encrypted = true; cheap.path = "cheap";
  fast.name = "fast"; fast.provider = "p2"; fast.storage_class = Tier::kCold;
  fast.p95_ms = 40; fast.cost_per_gb_month = 0.020; fast.encrypted = true; fast.path = "fast";
  warm.name = "warm"; warm.provider = "p3"; warm.storage_class = Tier::kWarm;
  warm.p95_ms = 60; warm.cost_per_gb_month = 0.025; warm.encrypted = true; warm.path = "warm";
  return {cheap, fast, warm};
}

class CostServiceTest : public OptimizerTest {
 protected:
  std::unique_ptr<Optimizer> Make(std::vector<SiteConfig> sites, PlacementObjective obj) {
    OptimizerOptions o;
    o.sla_ms = 300;
    o.objective = obj;
    return std::make_unique<Optimizer>(*store_, std::move(sites), slot_, *policy_, clock_, metrics_, o);
  }
  ObjectRecord PutOn(const std::string& key, const std::string& site, Tier tier, int64_t size,
                     int64_t at_ms) {
    MetadataStore::NewContent c;
    c.key = {"demo", key};
    c.size = size;
    c.sha256 = "aa";
    c.generation = "g1";
    c.tier = tier;
    c.sites = {site};
    c.now_ms = at_ms;
    return store_->PutObject(c).value();
  }
};

TEST_F(CostServiceTest, SeedObjectiveStaysSelectableAndGivesTheSeedsChoice) {
  PutOn("x", "warm", Tier::kCold, 5'000'000'000, clock_.NowMs() - 86'400'000LL * 90);
  auto seed = Make(TwoColdSites(), PlacementObjective::kSeed)->Evaluate({"demo", "x"}, false).value();
  auto cost = Make(TwoColdSites(), PlacementObjective::kCost)->Evaluate({"demo", "x"}, false).value();
  ASSERT_EQ(seed.tier.tier, Tier::kCold);
  // The seed's score prefers the fast site (latency weighs 0.6, price 0.4).
  EXPECT_EQ(seed.placement.chosen, std::vector<std::string>{"fast"});
  // With no reads predicted, dollars say: store it where it is cheapest.
  EXPECT_EQ(cost.placement.chosen, std::vector<std::string>{"cheap"});
  EXPECT_EQ(cost.request.objective, PlacementObjective::kCost);
  // The seed objective's value is the seed's formula on the chosen site.
  PlacementRequest r = seed.request;
  ASSERT_EQ(r.objective, PlacementObjective::kSeed);
  auto again = ExactPlacer().Solve(r).value();
  EXPECT_EQ(again.chosen, seed.placement.chosen);
  const auto& f = seed.request.sites[1];
  EXPECT_NEAR(seed.placement.objective,
              f.cost_per_gb + 0.001 * std::max(0.0, f.p95_ms - 300) - r.score_weight * f.score, 1e-12);
  // Moving 5 GB from warm ($0.025) to cheap ($0.010) saves $0.075 a month.
  EXPECT_NEAR(cost.expected_saving_month, 5 * (0.025 - 0.010), 1e-9);
}

TEST_F(CostServiceTest, EarlyDeletionFeeKeepsAYoungReplica) {
  auto sites = TwoColdSites();
  sites[2].min_storage_days = 90;  // the warm site bills 90 days at least
  sites[2].egress_per_gb = 0.0;
  sites[2].storage_class = Tier::kCold;  // make it a candidate too
  // Written 10 days ago: leaving now costs 80 days of warm storage, more than the move saves.
  PutOn("young", "warm", Tier::kCold, 5'000'000'000, clock_.NowMs() - 86'400'000LL * 10);
  auto opt = Make(sites, PlacementObjective::kCost);
  auto ev = opt->Evaluate({"demo", "young"}, false).value();
  EXPECT_EQ(ev.placement.chosen, std::vector<std::string>{"warm"});
  const auto& warm = ev.request.sites[2].cost;
  EXPECT_NEAR(warm.early_delete, 5 * 0.025 * 80 / 30, 1e-9);
  ASSERT_FALSE(ev.placement.runner_up.empty());
  EXPECT_NE(ev.placement.runner_up_lost_because.find("early_delete"), std::string::npos)
      << ev.placement.runner_up_lost_because;
  // 100 days old: no fee, so it moves to the cheap site.
  PutOn("old", "warm", Tier::kCold, 5'000'000'000, clock_.NowMs() - 86'400'000LL * 100);
  auto ev2 = opt->Evaluate({"demo", "old"}, false).value();
  EXPECT_EQ(ev2.placement.chosen, std::vector<std::string>{"cheap"});
}

TEST_F(CostServiceTest, FullSiteIsExcludedAndBinding) {
  auto sites = TwoColdSites();
  sites[0].capacity_bytes = 6'000'000'000;  // cheap: room for one 5 GB object
  auto opt = Make(sites, PlacementObjective::kCost);
  PutOn("a", "warm", Tier::kCold, 5'000'000'000, 0);
  PutOn("b", "warm", Tier::kCold, 5'000'000'000, 0);
  auto a = opt->Evaluate({"demo", "a"}, true).value();
  EXPECT_EQ(a.placement.chosen, std::vector<std::string>{"cheap"});
  ASSERT_TRUE(a.applied);
  auto b = opt->Evaluate({"demo", "b"}, false).value();
  EXPECT_EQ(b.placement.chosen, std::vector<std::string>{"fast"});
  EXPECT_FALSE(b.request.sites[0].has_room);
  EXPECT_NE(std::find(b.placement.binding.begin(), b.placement.binding.end(), "capacity"),
            b.placement.binding.end());
  // A fresh optimizer sees the same through the store (the queued copy counts).
  auto b2 = Make(sites, PlacementObjective::kCost)->Evaluate({"demo", "b"}, false).value();
  EXPECT_EQ(b2.placement.chosen, std::vector<std::string>{"fast"});
}

TEST_F(CostServiceTest, CbcPlacerInTheServiceAgreesWithEnumeration) {
  PutOn("x", "warm", Tier::kCold, 5'000'000'000, 0);
  Burst("x", 30);
  OptimizerOptions o;
  o.sla_ms = 300;
  o.rf = 2;
  o.placer = "cbc";
  Optimizer cbc(*store_, TwoColdSites(), slot_, *policy_, clock_, metrics_, o);
  o.placer = "exact";
  Optimizer exact(*store_, TwoColdSites(), slot_, *policy_, clock_, metrics_, o);
  auto c = cbc.Evaluate({"demo", "x"}, false).value();
  auto e = exact.Evaluate({"demo", "x"}, false).value();
  EXPECT_EQ(c.placement.solver, "cbc");
  EXPECT_EQ(e.placement.solver, "exact");
  EXPECT_EQ(c.placement.chosen, e.placement.chosen);
  EXPECT_NEAR(c.placement.objective, e.placement.objective, 1e-9);
}

class GlobalPlanTest : public CostServiceTest {
 protected:
  // 12 cold objects of 1 GB on azure, 6 of them with a burst (they want the hot site, aws).
  void Seed() {
    for (int i = 0; i < 12; ++i) {
      PutOn("g" + std::to_string(i), "azure", Tier::kCold, 1'000'000'000, clock_.NowMs() - 86'400'000LL * 200);
      if (i % 2 == 0) Burst("g" + std::to_string(i), 60);
    }
  }
  std::unique_ptr<Optimizer> MakeDefault(int64_t aws_capacity) {
    auto sites = DefaultSites();
    sites[0].capacity_bytes = aws_capacity;
    OptimizerOptions o;
    o.sla_ms = 80;
    o.tier.max_hot_share = 1.0;
    return std::make_unique<Optimizer>(*store_, sites, slot_, *policy_, clock_, metrics_, o);
  }
  int64_t PlacedOn(const std::string& site) {
    int64_t bytes = 0;
    MetadataStore::ObjectQuery q;
    for (const auto& o : store_->ListObjects(q).value()) {
      if (std::find(o.sites.begin(), o.sites.end(), site) != o.sites.end()) bytes += o.size;
    }
    return bytes;
  }
};

TEST_F(GlobalPlanTest, AppliesChangesThroughCompareAndSwapWithDecisionsAndAudit) {
  Seed();
  auto opt = MakeDefault(0);
  auto r = opt->PlanAll(PlanOptions{}, true, "test").value();
  EXPECT_EQ(r.objects, 12);
  EXPECT_EQ(r.plan.solver, "independent");
  EXPECT_EQ(r.applied, r.plan.changes);
  EXPECT_EQ(r.conflicts, 0);
  EXPECT_EQ(r.errors, 0);
  EXPECT_GE(r.applied, 6);
  EXPECT_EQ(PlacedOn("aws"), 6'000'000'000);
  // The migrator has the copies; the decisions say why, with the expected monthly saving.
  EXPECT_EQ(store_->ListTasks(TaskStatus::kQueued, 100)->size(), 6u);
  auto d = store_->ListDecisions("demo/g0", 5).value();
  ASSERT_EQ(d.size(), 1u);
  auto ex = nlohmann::json::parse(d[0].explanation_json);
  EXPECT_EQ(ex["planner"], "global");
  EXPECT_EQ(ex["chosen"][0], "aws");
  EXPECT_NEAR(d[0].expected_saving_month, ex["expected_saving_month"].get<double>(), 1e-12);
  auto audit = store_->ListAudit(5).value();
  ASSERT_FALSE(audit.empty());
  EXPECT_EQ(audit[0].action, "optimize.all");
  EXPECT_EQ(audit[0].actor, "test");
  auto summary = nlohmann::json::parse(audit[0].detail_json);
  EXPECT_EQ(summary["total"], 12);
  // A second run finds nothing more to do.
  auto again = opt->PlanAll(PlanOptions{}, true, "test").value();
  EXPECT_EQ(again.applied, 0);
}

TEST_F(GlobalPlanTest, DryRunChangesNothing) {
  Seed();
  auto opt = MakeDefault(0);
  auto before = store_->ListObjects({}).value();
  auto r = opt->PlanAll(PlanOptions{}, false, "test").value();
  EXPECT_TRUE(r.dry_run);
  EXPECT_GT(r.plan.changes, 0);
  EXPECT_EQ(r.applied, 0);
  EXPECT_FALSE(r.moves.empty());
  EXPECT_EQ(r.moves[0]["outcome"], "planned");
  auto after = store_->ListObjects({}).value();
  for (size_t i = 0; i < before.size(); ++i) EXPECT_EQ(after[i].version, before[i].version);
  EXPECT_TRUE(store_->ListTasks(std::nullopt, 10)->empty());
  EXPECT_EQ(store_->ListAudit(1)->at(0).action, "optimize.all.dry_run");
}

TEST_F(GlobalPlanTest, CapacityAndBudgetHoldThroughTheService) {
  Seed();
  // aws has room for 2 of the 6 objects that want it.
  auto opt = MakeDefault(2'500'000'000);
  auto r = opt->PlanAll(PlanOptions{}, true, "test").value();
  EXPECT_EQ(r.plan.solver, "cbc");
  EXPECT_TRUE(r.plan.status == "optimal" || r.plan.status == "within_gap") << r.plan.status;
  EXPECT_LE(r.plan.gap, 1e-4);
  EXPECT_LE(PlacedOn("aws"), 2'500'000'000);
  EXPECT_EQ(PlacedOn("aws"), 2'000'000'000);
  EXPECT_GT(r.plan.constrained, 0);
  // The ones that did not fit are placed elsewhere and say so.
  bool saw_binding = false;
  for (const auto& d : store_->ListDecisions("", 100).value()) {
    auto ex = nlohmann::json::parse(d.explanation_json);
    for (const auto& b : ex["binding_constraints"]) saw_binding |= b == "capacity:aws";
  }
  EXPECT_TRUE(saw_binding);
  // A budget of one object's bytes: one copy per run.
  for (int i = 0; i < 4; ++i) {
    PutOn("b" + std::to_string(i), "azure", Tier::kCold, 1'000'000'000, 0);
    Burst("b" + std::to_string(i), 60);
  }
  auto tasks_before = store_->ListTasks(TaskStatus::kQueued, 1000)->size();
  PlanOptions o;
  o.budget_bytes = 1'000'000'000;
  auto r2 = MakeDefault(0)->PlanAll(o, true, "test").value();
  EXPECT_LE(r2.plan.moved_bytes, o.budget_bytes);
  EXPECT_TRUE(r2.plan.budget_binding);
  EXPECT_GT(r2.plan.deferred, 0);
  auto copies = store_->ListTasks(TaskStatus::kQueued, 1000)->size() - tasks_before;
  EXPECT_EQ(copies, 1u);
}

TEST_F(GlobalPlanTest, PeriodicRunHappens) {
  Seed();
  OptimizerOptions o;
  o.global_interval_s = 1;
  Optimizer opt(*store_, DefaultSites(), slot_, *policy_, clock_, metrics_, o);
  opt.Start(1);
  bool ran = false;
  for (int i = 0; i < 100 && !ran; ++i) {
    clock_.AdvanceSeconds(1);
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    for (const auto& a : store_->ListAudit(50).value()) ran |= a.action == "optimize.all" && a.actor == "optimizer";
  }
  opt.Stop();
  EXPECT_TRUE(ran) << "no periodic global run within 10 s";
}

// Counts PredictHot calls and their sizes, and explains with fixed contributions.
class CountingPredictor final : public Predictor {
 public:
  std::string name() const override { return "counting"; }
  Result<std::vector<double>> PredictHot(const std::vector<ObjectFeatures>& rows) override {
    calls++;
    sizes.push_back(rows.size());
    return h_.PredictHot(rows);
  }
  Result<PredictionExplanation> Explain(const ObjectFeatures& row) override { return h_.Explain(row); }
  int calls = 0;
  std::vector<size_t> sizes;

 private:
  HeuristicPredictor h_;
};

TEST_F(OptimizerTest, PassesPredictInBatchesNotPerObject) {
  auto counting = std::make_shared<CountingPredictor>();
  slot_.Set(counting);
  const int n = 2500;
  for (int i = 0; i < n; ++i) PutCold("o" + std::to_string(i));
  Burst("o7", 100);
  auto pr = optimizer_->EvaluateAll().value();
  EXPECT_EQ(pr.evaluated, n);
  EXPECT_EQ(pr.errors, 0);
  // Pages of 1000: three calls, not 2500.
  EXPECT_EQ(counting->calls, 3);
  EXPECT_EQ(counting->sizes, (std::vector<size_t>{1000, 1000, 500}));
  // The batch found the burst: o7 went hot like a single evaluation would have made it.
  EXPECT_EQ(store_->GetObject({"demo", "o7"})->value().tier, Tier::kHot);
  counting->calls = 0;
  auto active = optimizer_->EvaluateActive(clock_.NowMs() - 60'000).value();
  EXPECT_GE(active.evaluated, 1);
  EXPECT_EQ(counting->calls, 1);
}

TEST_F(OptimizerTest, BatchAndSingleEvaluationsAgree) {
  PutCold("a");
  PutCold("b");
  Burst("a", 30);
  auto objs = store_->ListObjects({}).value();
  auto batch = optimizer_->PredictBatch(objs).value();
  ASSERT_EQ(batch.size(), 2u);
  for (size_t i = 0; i < objs.size(); ++i) {
    auto single = optimizer_->Evaluate(objs[i].key, false).value();
    EXPECT_DOUBLE_EQ(batch[i].p_hot, single.p_hot) << objs[i].key.Full();
    EXPECT_EQ(batch[i].stats.access_1h, single.stats.access_1h);
    EXPECT_EQ(batch[i].predictor, single.predictor);
  }
}

TEST_F(OptimizerTest, ExplainAddsContributionsToTheDebugView) {
  PutCold("x");
  Burst("x", 50);
  auto plain = optimizer_->Evaluate({"demo", "x"}, false).value();
  EXPECT_FALSE(plain.contributions.has_value());
  auto ev = optimizer_->Evaluate({"demo", "x"}, false, /*explain=*/true).value();
  ASSERT_TRUE(ev.contributions.has_value());
  double sum = ev.contributions->bias;
  for (const auto& c : ev.contributions->contributions) sum += c.contribution;
  EXPECT_NEAR(sum, ev.contributions->margin, 1e-9);
  auto j = DebugPlacementJson(ev, optimizer_->options().tier);
  ASSERT_TRUE(j["prediction"].contains("contributions"));
  EXPECT_EQ(j["prediction"]["contributions"]["features"].size(), kNumFeatures);
  EXPECT_EQ(j["prediction"]["contributions"]["model"], "heuristic");
  EXPECT_FALSE(DebugPlacementJson(plain, optimizer_->options().tier)["prediction"].contains("contributions"));
}

TEST_F(OptimizerTest, AFailingPredictorFallsBackToTheHeuristicForTheBatch) {
  class Failing final : public Predictor {
   public:
    std::string name() const override { return "failing"; }
    Result<std::vector<double>> PredictHot(const std::vector<ObjectFeatures>&) override {
      return Status::Internal("boom");
    }
    Result<PredictionExplanation> Explain(const ObjectFeatures&) override {
      return Status::Internal("boom");
    }
  };
  slot_.Set(std::make_shared<Failing>());
  PutCold("x");
  Burst("x", 100);
  auto pr = optimizer_->EvaluateAll().value();
  EXPECT_EQ(pr.errors, 0);
  auto ev = optimizer_->Evaluate({"demo", "x"}, false, true).value();
  EXPECT_EQ(ev.predictor, "heuristic");
  EXPECT_DOUBLE_EQ(ev.p_hot, 0.90);
  EXPECT_FALSE(ev.contributions.has_value());
}

}  // namespace
}  // namespace dim
