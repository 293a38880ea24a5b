// Contract tests every MetadataStore backend must pass (instantiated for SQLite here; other
// backends add themselves to the INSTANTIATE list).
#include "store/metadata_store.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <functional>
#include <mutex>
#include <thread>

#include "store/sqlite/sqlite_metadata_store.h"
#include "store/sqlite/sqlite_schema.h"

namespace dim {
namespace {

using Factory = std::function<std::unique_ptr<MetadataStore>()>;

// Puts demo/k0 .. demo/k<n-1> (on azure) and places each on to_site(i): n queued copy tasks.
void QueueCopies(MetadataStore& s, int n, const std::function<std::string(int)>& to_site) {
  for (int i = 0; i < n; ++i) {
    MetadataStore::NewContent c;
    c.key = {"demo", "k" + std::to_string(i)};
    c.size = 1;
    c.sha256 = "aa";
    c.generation = "g";
    c.sites = {"azure"};
    auto o = s.PutObject(c).value();
    MetadataStore::PlacementChange pc;
    pc.object_id = o.id;
    pc.expected_version = o.version;
    pc.sites = {to_site(i)};
    ASSERT_TRUE(s.UpdatePlacement(pc).ok());
  }
}

class MetadataStoreTest : public ::testing::TestWithParam<std::pair<std::string, Factory>> {
 protected:
  void SetUp() override {
    store_ = GetParam().second();
    ASSERT_NE(store_, nullptr);
    ASSERT_TRUE(store_->CreateBucket("demo", 1).ok());
  }

  ObjectRecord Put(const std::string& key, std::vector<std::string> sites, std::string gen = "g1",
                   std::string sha = "aa") {
    MetadataStore::NewContent c;
    c.key = {"demo", key};
    c.size = 10;
    c.sha256 = sha;
    c.etag = "e";
    c.generation = gen;
    c.tier = Tier::kCold;
    c.sites = std::move(sites);
    c.now_ms = 1000;
    auto r = store_->PutObject(c);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.value();
  }

  std::vector<TaskRecord> Tasks(TaskStatus s) { return store_->ListTasks(s, 100).value(); }

  // Moves the object to `sites` (queues the copies).
  void Place(const ObjectRecord& o, std::vector<std::string> sites, int max_attempts = 5) {
    MetadataStore::PlacementChange pc;
    pc.object_id = o.id;
    pc.expected_version = o.version;
    pc.sites = std::move(sites);
    pc.max_attempts = max_attempts;
    ASSERT_TRUE(store_->UpdatePlacement(pc).ok());
  }

  std::unique_ptr<MetadataStore> store_;
};

TEST_P(MetadataStoreTest, Buckets) {
  EXPECT_EQ(store_->CreateBucket("demo", 2).code(), StatusCode::kAlreadyExists);
  ASSERT_TRUE(store_->CreateBucket("other", 2).ok());
  EXPECT_EQ(store_->ListBuckets()->size(), 2u);
  Put("x", {"aws"});
  EXPECT_EQ(store_->DeleteBucket("demo").code(), StatusCode::kFailedPrecondition);
  EXPECT_TRUE(store_->DeleteBucket("other").ok());
  EXPECT_TRUE(store_->DeleteBucket("other").IsNotFound());
  EXPECT_FALSE(store_->GetBucket("other")->has_value());
}

TEST_P(MetadataStoreTest, PutGetListObjects) {
  auto o = Put("logs/a.log", {"aws"});
  EXPECT_EQ(o.version, 1);
  EXPECT_EQ(o.sites, std::vector<std::string>{"aws"});
  Put("logs/b.log", {"aws"});
  Put("img/c.png", {"azure"});
  auto got = store_->GetObject({"demo", "logs/a.log"});
  ASSERT_TRUE(got.ok() && got->has_value());
  EXPECT_EQ((*got)->sha256, "aa");
  EXPECT_FALSE(store_->GetObject({"demo", "nope"})->has_value());
  MetadataStore::ObjectQuery q;
  q.bucket = "demo";
  q.prefix = "logs/";
  auto page = store_->ListObjects(q).value();
  ASSERT_EQ(page.size(), 2u);
  EXPECT_EQ(page[0].key.key, "logs/a.log");
  q.start_after = "logs/a.log";
  EXPECT_EQ(store_->ListObjects(q)->size(), 1u);
  MetadataStore::ObjectQuery all;
  all.limit = 2;
  auto p1 = store_->ListObjects(all).value();
  ASSERT_EQ(p1.size(), 2u);
  all.after_id = p1.back().id;
  EXPECT_EQ(store_->ListObjects(all)->size(), 1u);
  EXPECT_EQ(store_->CountObjectsByTier().value()[Tier::kCold], 3);

  MetadataStore::NewContent missing;
  missing.key = {"nobucket", "x"};
  missing.sites = {"aws"};
  EXPECT_TRUE(store_->PutObject(missing).status().IsNotFound());
}

TEST_P(MetadataStoreTest, ConditionalPut) {
  MetadataStore::NewContent c;
  c.key = {"demo", "k"};
  c.sites = {"aws"};
  c.generation = "g1";
  c.expected_version = 0;
  ASSERT_TRUE(store_->PutObject(c).ok());
  c.generation = "g2";
  EXPECT_TRUE(store_->PutObject(c).status().IsAborted());  // exists now
  c.expected_version = 1;
  EXPECT_TRUE(store_->PutObject(c).ok());
}

TEST_P(MetadataStoreTest, OverwriteRetiresOldGenerationAndQueuesDeletes) {
  auto o1 = Put("k", {"aws", "gcp"}, "g1", "aa");
  auto o2 = Put("k", {"aws"}, "g2", "bb");
  EXPECT_EQ(o2.id, o1.id);
  EXPECT_EQ(o2.version, 2);
  EXPECT_EQ(o2.sha256, "bb");
  auto reps = store_->GetReplicas(o1.id).value();
  int live = 0, retiring = 0;
  for (auto& r : reps) {
    if (r.state == ReplicaState::kLive) {
      live++;
      EXPECT_EQ(r.generation, "g2");
    } else if (r.state == ReplicaState::kRetiring) {
      retiring++;
      EXPECT_EQ(r.generation, "g1");
    }
  }
  EXPECT_EQ(live, 1);
  EXPECT_EQ(retiring, 2);
  auto q = Tasks(TaskStatus::kQueued);
  ASSERT_EQ(q.size(), 2u);
  for (auto& t : q) {
    EXPECT_EQ(t.kind, TaskKind::kDelete);
    EXPECT_EQ(t.blob, BlobName({"demo", "k"}, "g1"));
  }
}

TEST_P(MetadataStoreTest, MoveLifecycleCopyCommitThenSafeDelete) {
  auto o = Put("k", {"azure"});
  MetadataStore::PlacementChange pc;
  pc.object_id = o.id;
  pc.expected_version = o.version;
  pc.tier = Tier::kHot;
  pc.sites = {"aws"};
  DecisionRecord d;
  d.objective = 1.5;
  pc.decision = d;
  pc.now_ms = 2000;
  auto up = store_->UpdatePlacement(pc);
  ASSERT_TRUE(up.ok()) << up.status().ToString();
  EXPECT_EQ(up->tier, Tier::kHot);
  EXPECT_EQ(up->tier_since_ms, 2000);
  // A stale CAS loses.
  EXPECT_TRUE(store_->UpdatePlacement(pc).status().IsAborted());

  auto copy = store_->LeaseTask("w1", 30000, 3000).value();
  ASSERT_TRUE(copy.has_value());
  EXPECT_EQ(copy->kind, TaskKind::kCopy);
  EXPECT_EQ(copy->src_site, "azure");
  EXPECT_EQ(copy->dst_site, "aws");
  EXPECT_EQ(copy->attempts, 1);
  EXPECT_FALSE(store_->LeaseTask("w2", 30000, 3000)->has_value());  // nothing else runnable

  // A delete cannot have been queued yet: the old replica is the only live one.
  EXPECT_TRUE(Tasks(TaskStatus::kQueued).empty());
  // Wrong checksum: refused.
  EXPECT_EQ(store_->CommitCopy(*copy, "w1", "zz", 10, 3500).status().code(), StatusCode::kDataLoss);
  // Someone else's lease: refused.
  EXPECT_TRUE(store_->CommitCopy(*copy, "w2", "aa", 10, 3500).status().IsAborted());
  auto outcome = store_->CommitCopy(*copy, "w1", "aa", 10, 4000);
  ASSERT_TRUE(outcome.ok()) << outcome.status().ToString();
  EXPECT_EQ(*outcome, MetadataStore::CommitOutcome::kCommitted);

  auto after = store_->GetObjectById(o.id).value().value();
  EXPECT_EQ(after.version, up->version + 1);
  auto del = store_->LeaseTask("w1", 30000, 5000).value();
  ASSERT_TRUE(del.has_value());
  EXPECT_EQ(del->kind, TaskKind::kDelete);
  EXPECT_EQ(del->dst_site, "azure");
  auto check = store_->BeginReplicaDelete(*del, "w1", 9000, 5000);
  ASSERT_TRUE(check.ok());
  EXPECT_EQ(*check, MetadataStore::DeleteCheck::kProceed);
  ASSERT_TRUE(store_->FinishReplicaDelete(*del, "w1", 5100).ok());
  auto reps = store_->GetReplicas(o.id).value();
  ASSERT_EQ(reps.size(), 1u);
  EXPECT_EQ(reps[0].site, "aws");
  EXPECT_EQ(reps[0].state, ReplicaState::kLive);
  EXPECT_EQ(store_->ListDecisions("demo/k", 10)->size(), 1u);
  auto counts = store_->CountTasks().value();
  EXPECT_EQ(counts[TaskStatus::kDone], 2);
}

TEST_P(MetadataStoreTest, BytesBySiteCountsReplicasAndCopiesUnderWay) {
  EXPECT_TRUE(store_->BytesBySite()->empty());
  auto a = Put("a", {"azure"});  // 10 bytes each
  Put("b", {"azure", "gcp"});
  auto bytes = store_->BytesBySite().value();
  EXPECT_EQ(bytes["azure"], 20);
  EXPECT_EQ(bytes["gcp"], 10);
  EXPECT_EQ(bytes.count("aws"), 0u);
  // A queued copy to aws counts there already; the azure replica still counts until deleted.
  MetadataStore::PlacementChange pc;
  pc.object_id = a.id;
  pc.expected_version = a.version;
  pc.tier = Tier::kHot;
  pc.sites = {"aws"};
  pc.now_ms = 2000;
  ASSERT_TRUE(store_->UpdatePlacement(pc).ok());
  bytes = store_->BytesBySite().value();
  EXPECT_EQ(bytes["aws"], 10);
  EXPECT_EQ(bytes["azure"], 20);
  // Once the copy is done it counts as a replica (not twice).
  auto copy = store_->LeaseTask("w", 30000, 3000).value().value();
  ASSERT_EQ(store_->CommitCopy(copy, "w", "aa", 10, 3000).value(), MetadataStore::CommitOutcome::kCommitted);
  EXPECT_EQ(store_->BytesBySite().value()["aws"], 10);
}

TEST_P(MetadataStoreTest, ScanForPlanningReadsObjectsStatsAndLiveReplicasInPages) {
  auto a = Put("a", {"azure"});
  auto b = Put("b", {"azure", "gcp"});
  Put("c", {"aws"}, "g1");
  auto c2 = Put("c", {"gcp"}, "g2", "bb");  // overwrite: the g1 replica on aws is retiring
  MetadataStore::AccessBatch batch;
  AccessStats st;
  st.key = "demo/b";
  st.access_1h = 7;
  st.access_24h = 9;
  st.reads = 4;
  st.heat = 1.5;
  st.window_state = std::string("\x01\x00\x02", 3);
  batch.stats.push_back(st);
  ASSERT_TRUE(store_->ApplyAccessBatch(batch).ok());

  auto page = store_->ScanForPlanning(0, 2).value();
  ASSERT_EQ(page.size(), 2u);
  EXPECT_EQ(page[0].object.id, a.id);
  EXPECT_EQ(page[0].object.key.Full(), "demo/a");
  EXPECT_EQ(page[0].object.sites, std::vector<std::string>{"azure"});
  EXPECT_EQ(page[0].object.version, a.version);
  EXPECT_FALSE(page[0].stats.has_value());
  ASSERT_EQ(page[0].live.size(), 1u);
  EXPECT_EQ(page[0].live[0], (std::pair<std::string, int64_t>{"azure", 1000}));
  EXPECT_EQ(page[1].object.id, b.id);
  ASSERT_TRUE(page[1].stats.has_value());
  EXPECT_EQ(page[1].stats->access_1h, 7);
  EXPECT_EQ(page[1].stats->window_state, st.window_state);
  EXPECT_EQ(page[1].live.size(), 2u);
  auto rest = store_->ScanForPlanning(page.back().object.id, 10).value();
  ASSERT_EQ(rest.size(), 1u);
  EXPECT_EQ(rest[0].object.generation, "g2");
  EXPECT_EQ(rest[0].object.sha256, "bb");
  ASSERT_EQ(rest[0].live.size(), 1u);  // only the current generation counts
  EXPECT_EQ(rest[0].live[0].first, "gcp");
  EXPECT_EQ(rest[0].object.id, c2.id);
  EXPECT_TRUE(store_->ScanForPlanning(rest.back().object.id, 10)->empty());
}

TEST_P(MetadataStoreTest, DeleteWaitsUntilPlacementIsLive) {
  auto o = Put("k", {"azure", "gcp"});
  // Placement moves to aws only; gcp and azure will be retired after the copy.
  MetadataStore::PlacementChange pc;
  pc.object_id = o.id;
  pc.expected_version = o.version;
  pc.sites = {"aws"};
  ASSERT_TRUE(store_->UpdatePlacement(pc).ok());
  auto copy = store_->LeaseTask("w", 30000, 10).value().value();
  ASSERT_EQ(*store_->CommitCopy(copy, "w", "aa", 10, 20), MetadataStore::CommitOutcome::kCommitted);
  auto o2 = store_->GetObjectById(o.id)->value();
  // Now move back to azure before the deletes ran: azure is wanted again.
  pc.expected_version = o2.version;
  pc.sites = {"gcp"};
  pc.now_ms = 25;  // after the commit queued the deletes: they are due first
  ASSERT_TRUE(store_->UpdatePlacement(pc).ok());
  // Deletes: azure (not wanted, placement gcp is... retiring, not live) -> not safe yet;
  // gcp -> wanted again -> kept and live again.
  int kept = 0, not_safe = 0;
  for (int i = 0; i < 2; ++i) {
    auto t = store_->LeaseTask("w", 30000, 30).value().value();
    ASSERT_EQ(t.kind, TaskKind::kDelete);
    auto c = store_->BeginReplicaDelete(t, "w", 100000, 30).value();
    if (t.dst_site == "gcp") {
      EXPECT_EQ(c, MetadataStore::DeleteCheck::kKeep);
      kept++;
    } else {
      // gcp was still retiring when azure was checked, or live again: either way azure's
      // delete must not proceed before gcp is live.
      if (c == MetadataStore::DeleteCheck::kNotSafeYet) not_safe++;
    }
  }
  EXPECT_EQ(kept, 1);
  bool gcp_live = false;
  for (auto& r : store_->GetReplicas(o.id).value()) {
    if (r.site == "gcp" && r.state == ReplicaState::kLive) gcp_live = true;
  }
  EXPECT_TRUE(gcp_live);
  (void)not_safe;
}

TEST_P(MetadataStoreTest, StaleCopyIsCancelledAndItsBlobScheduledForDeletion) {
  auto o = Put("k", {"azure"});
  MetadataStore::PlacementChange pc;
  pc.object_id = o.id;
  pc.expected_version = o.version;
  pc.sites = {"aws"};
  ASSERT_TRUE(store_->UpdatePlacement(pc).ok());
  auto copy = store_->LeaseTask("w", 30000, 10).value().value();
  Put("k", {"azure"}, "g2", "bb");  // overwritten while copying
  auto outcome = store_->CommitCopy(copy, "w", "aa", 10, 20);
  ASSERT_TRUE(outcome.ok());
  EXPECT_EQ(*outcome, MetadataStore::CommitOutcome::kStale);
  bool cleanup = false;
  for (auto& t : Tasks(TaskStatus::kQueued)) {
    if (t.kind == TaskKind::kDelete && t.dst_site == "aws" && t.blob == copy.blob) cleanup = true;
  }
  EXPECT_TRUE(cleanup);
}

TEST_P(MetadataStoreTest, ExpiredLeaseIsTakenOverAndAttemptsAreBounded) {
  auto o = Put("k", {"azure"});
  MetadataStore::PlacementChange pc;
  pc.object_id = o.id;
  pc.expected_version = o.version;
  pc.sites = {"aws"};
  pc.max_attempts = 2;
  ASSERT_TRUE(store_->UpdatePlacement(pc).ok());
  auto t1 = store_->LeaseTask("dead", 1000, 0).value().value();
  EXPECT_FALSE(store_->LeaseTask("w", 1000, 500)->has_value());
  auto t2 = store_->LeaseTask("w", 1000, 1500).value().value();  // took over
  EXPECT_EQ(t2.id, t1.id);
  EXPECT_EQ(t2.attempts, 2);
  EXPECT_TRUE(store_->RenewLease(t1.id, "dead", 1000, 1600, 0).IsAborted());
  EXPECT_TRUE(store_->RenewLease(t1.id, "w", 1000, 1600, 0).ok());
  // Expires again on its last attempt: failed, and the possible partial blob gets a cleanup.
  EXPECT_FALSE(store_->LeaseTask("x", 1000, 2000)->has_value());
  auto t3 = store_->LeaseTask("x", 1000, 5000).value();
  ASSERT_TRUE(t3.has_value());
  EXPECT_EQ(t3->kind, TaskKind::kDelete);  // the cleanup, not the copy
  auto failed = Tasks(TaskStatus::kFailed);
  ASSERT_EQ(failed.size(), 1u);
  EXPECT_NE(failed[0].last_error.find("lease expired"), std::string::npos);
}

TEST_P(MetadataStoreTest, FailTaskRetriesThenFails) {
  auto o = Put("k", {"azure"});
  MetadataStore::PlacementChange pc;
  pc.object_id = o.id;
  pc.expected_version = o.version;
  pc.sites = {"aws"};
  pc.max_attempts = 2;
  ASSERT_TRUE(store_->UpdatePlacement(pc).ok());
  auto t = store_->LeaseTask("w", 1000, 0).value().value();
  ASSERT_TRUE(store_->FailTask(t.id, "w", "SlowDown", true, 500, 10).ok());
  EXPECT_FALSE(store_->LeaseTask("w", 1000, 100)->has_value());  // backoff respected
  t = store_->LeaseTask("w", 1000, 600).value().value();
  ASSERT_TRUE(store_->FailTask(t.id, "w", "SlowDown again", true, 1000, 700).ok());
  auto failed = Tasks(TaskStatus::kFailed);
  ASSERT_EQ(failed.size(), 1u);
  EXPECT_EQ(failed[0].last_error, "SlowDown again");
  EXPECT_TRUE(store_->DeleteTasks(TaskStatus::kQueued).status().IsInvalidArgument());
  EXPECT_EQ(store_->DeleteTasks(TaskStatus::kFailed).value(), 1);
}

TEST_P(MetadataStoreTest, ReleasedTaskIsRunnableAgainWithoutLosingAnAttempt) {
  auto o = Put("k", {"azure"});
  MetadataStore::PlacementChange pc;
  pc.object_id = o.id;
  pc.expected_version = o.version;
  pc.sites = {"aws"};
  ASSERT_TRUE(store_->UpdatePlacement(pc).ok());
  auto t = store_->LeaseTask("w", 30000, 0).value().value();
  EXPECT_TRUE(store_->ReleaseTask(t.id, "other", 1).IsAborted());
  ASSERT_TRUE(store_->ReleaseTask(t.id, "w", 1).ok());
  auto again = store_->LeaseTask("w2", 30000, 2).value().value();
  EXPECT_EQ(again.id, t.id);
  EXPECT_EQ(again.attempts, 1);
}

TEST_P(MetadataStoreTest, LeaseFilterSkipsExcludedSitesAndSaturatedPairs) {
  // Three copies azure -> aws and one azure -> gcp.
  for (const char* k : {"a", "b", "c"}) Place(Put(k, {"azure"}), {"aws"});
  Place(Put("d", {"azure"}), {"gcp"});

  MetadataStore::LeaseFilter f;
  f.exclude_sites = {"aws"};
  auto t = store_->LeaseTask("w", 1000, 10, f).value();
  ASSERT_TRUE(t.has_value());
  EXPECT_EQ(t->dst_site, "gcp");  // the older aws copies are left alone
  f.exclude_sites = {"aws", "gcp"};
  EXPECT_FALSE(store_->LeaseTask("w", 1000, 10, f)->has_value());

  // At most two azure -> aws copies at once, across owners.
  f = {};
  f.pair_limit = 2;
  auto a1 = store_->LeaseTask("w1", 1000, 20, f).value();
  auto a2 = store_->LeaseTask("w2", 1000, 20, f).value();
  ASSERT_TRUE(a1 && a2);
  EXPECT_EQ(a1->dst_site, "aws");
  EXPECT_EQ(a2->dst_site, "aws");
  EXPECT_FALSE(store_->LeaseTask("w3", 1000, 20, f)->has_value());
  // A per-pair override wins over the default; an expired lease no longer counts.
  f.pair_limits[{"azure", "aws"}] = 3;
  EXPECT_TRUE(store_->LeaseTask("w3", 1000, 20, f)->has_value());
  f.pair_limits[{"azure", "aws"}] = 1;
  EXPECT_FALSE(store_->LeaseTask("w4", 1000, 500, f)->has_value());
  auto again = store_->LeaseTask("w4", 1000, 5000, f).value();  // all three leases expired
  ASSERT_TRUE(again.has_value());
  EXPECT_EQ(again->attempts, 2);
}

// Leases go in due order — a queued task when its not_before_ms comes (a new one from its
// creation), a running one when its lease expires, ties by id — not by id alone: a task put back
// until T waits behind the ones that were due before T, and goes before those created after T.
TEST_P(MetadataStoreTest, LeaseOrderIsDueOrder) {
  auto place_at = [&](const std::string& key, int64_t now) {
    auto o = Put(key, {"azure"});
    MetadataStore::PlacementChange pc;
    pc.object_id = o.id;
    pc.expected_version = o.version;
    pc.sites = {"aws"};
    pc.now_ms = now;
    ASSERT_TRUE(store_->UpdatePlacement(pc).ok());
  };
  place_at("a", 0);
  place_at("b", 0);
  auto a = store_->LeaseTask("w", 1000, 10).value().value();
  EXPECT_EQ(a.object_key, "demo/a");
  ASSERT_TRUE(store_->DeferTask(a.id, "w", "throttled", 300, 10).ok());
  place_at("c", 100);  // due at 100
  place_at("d", 500);  // due at 500: created after a is due again
  auto b = store_->LeaseTask("w", 350, 20).value().value();  // its lease expires at 370
  EXPECT_EQ(b.object_key, "demo/b");
  std::vector<std::string> order;
  while (auto t = store_->LeaseTask("w2", 100000, 600).value()) order.push_back(t->object_key);
  // c (due 100), a (300), b (lease expired at 370), d (500); by id it would be a, b, c, d.
  EXPECT_EQ(order, (std::vector<std::string>{"demo/c", "demo/a", "demo/b", "demo/d"}));
  // Not yet due is not leased, whatever its id.
  place_at("e", 0);
  auto e = store_->LeaseTask("w", 1000, 700).value().value();
  ASSERT_TRUE(store_->DeferTask(e.id, "w", "file_growing", 5000, 700).ok());
  EXPECT_FALSE(store_->LeaseTask("w", 1000, 4999)->has_value());
  EXPECT_EQ(store_->LeaseTask("w", 1000, 5000)->value().id, e.id);
}

// The filters hold in both searches, and a skipped task does not hide a later allowed one.
TEST_P(MetadataStoreTest, LeaseFilterAppliesToExpiredLeasesToo) {
  for (const char* k : {"a", "b"}) Place(Put(k, {"azure"}), {"aws"});
  Place(Put("c", {"azure"}), {"gcp"});
  auto a = store_->LeaseTask("dead", 100, 10).value().value();  // expires at 110
  EXPECT_EQ(a.dst_site, "aws");
  MetadataStore::LeaseFilter f;
  f.exclude_sites = {"aws"};
  auto t = store_->LeaseTask("w", 1000, 200, f).value();
  ASSERT_TRUE(t.has_value());
  EXPECT_EQ(t->dst_site, "gcp");
  EXPECT_FALSE(store_->LeaseTask("w", 1000, 200, f)->has_value()) << "expired aws lease excluded";
  // One azure -> aws copy at most: the expired lease does not count, b (due since 0) goes before
  // a (due when its lease expired at 110), and then a must wait for a free slot.
  f = {};
  f.pair_limit = 1;
  EXPECT_EQ(store_->LeaseTask("w", 1000, 200, f)->value().object_key, "demo/b");
  EXPECT_FALSE(store_->LeaseTask("w", 1000, 200, f)->has_value());
  f.pair_limit = 2;
  auto again = store_->LeaseTask("w", 1000, 200, f).value();
  ASSERT_TRUE(again.has_value());
  EXPECT_EQ(again->id, a.id);
  EXPECT_EQ(again->attempts, 2);
}

TEST_P(MetadataStoreTest, DeferredTaskKeepsItsAttemptsAndRecordsWhy) {
  Place(Put("k", {"azure"}), {"aws"}, 1);
  for (int i = 0; i < 3; ++i) {
    int64_t now = 100 + i * 1000;
    auto t = store_->LeaseTask("w", 500, now).value();
    ASSERT_TRUE(t.has_value()) << i;
    EXPECT_EQ(t->attempts, 1);
    EXPECT_EQ(t->first_started_ms, 100);
    EXPECT_EQ(t->started_ms, now);
    EXPECT_TRUE(store_->DeferTask(t->id, "other", "file_growing", now + 900, now).IsAborted());
    ASSERT_TRUE(store_->DeferTask(t->id, "w", "file_growing: modified 1 s ago", now + 900, now).ok());
    EXPECT_FALSE(store_->LeaseTask("w", 500, now + 899)->has_value());
  }
  auto t = store_->GetTask(Tasks(TaskStatus::kQueued).at(0).id).value().value();
  EXPECT_EQ(t.deferrals, 3);
  EXPECT_EQ(t.attempts, 0);
  EXPECT_EQ(t.last_error, "file_growing: modified 1 s ago");
  // Progress is recorded with the lease and reset by the next lease.
  auto l = store_->LeaseTask("w", 500, 10000).value().value();
  ASSERT_TRUE(store_->RenewLease(l.id, "w", 500, 10100, 4096).ok());
  EXPECT_EQ(store_->GetTask(l.id)->value().bytes_done, 4096);
  ASSERT_EQ(*store_->CommitCopy(l, "w", "aa", 10, 10200), MetadataStore::CommitOutcome::kCommitted);
  auto done = store_->GetTask(l.id)->value();
  EXPECT_EQ(done.status, TaskStatus::kDone);
  EXPECT_EQ(done.bytes_done, 10);
  EXPECT_EQ(done.finished_ms, 10200);
}

TEST_P(MetadataStoreTest, DeleteObjectRetiresAllReplicas) {
  auto o = Put("k", {"aws", "gcp"});
  auto d = store_->DeleteObject({"demo", "k"}, std::nullopt, 5, 10);
  ASSERT_TRUE(d.ok());
  EXPECT_FALSE(store_->GetObject({"demo", "k"})->has_value());
  EXPECT_TRUE(store_->DeleteObject({"demo", "k"}, std::nullopt, 5, 10).status().IsNotFound());
  int deletes = 0;
  while (auto t = store_->LeaseTask("w", 1000, 20).value()) {
    ASSERT_EQ(t->kind, TaskKind::kDelete);
    ASSERT_EQ(*store_->BeginReplicaDelete(*t, "w", 100, 20), MetadataStore::DeleteCheck::kProceed);
    ASSERT_TRUE(store_->FinishReplicaDelete(*t, "w", 21).ok());
    deletes++;
  }
  EXPECT_EQ(deletes, 2);
  EXPECT_TRUE(store_->GetReplicas(o.id)->empty());
}

TEST_P(MetadataStoreTest, AccessBatchIsAtomicWithOffsets) {
  MetadataStore::AccessBatch b;
  AccessStats a;
  a.key = "demo/k";
  a.access_1h = 5;
  a.heat = 2.5;
  a.last_access_ms = 100;
  a.window_state = std::string("\x01\x00\x02", 3);
  b.stats.push_back(a);
  b.hourly.push_back({"demo/k", 10, 5, 0, 50});
  b.consumer = "c";
  b.next_offsets = {{0, 42}, {3, 7}};
  ASSERT_TRUE(store_->ApplyAccessBatch(b).ok());
  ASSERT_TRUE(store_->ApplyAccessBatch(b).ok());  // hourly increments, stats replace
  auto s = store_->GetAccessStats("demo/k").value().value();
  EXPECT_EQ(s.access_1h, 5);
  EXPECT_DOUBLE_EQ(s.heat, 2.5);
  EXPECT_EQ(s.window_state, a.window_state);
  auto h = store_->ListHourly("demo/k", 0, 100).value();
  ASSERT_EQ(h.size(), 1u);
  EXPECT_EQ(h[0].reads, 10);
  EXPECT_EQ(store_->GetConsumerOffsets("c").value().at(0), 42);
  EXPECT_EQ(store_->ListActiveKeys(50, 10)->size(), 1u);
  EXPECT_EQ(store_->ListActiveKeys(150, 10)->size(), 0u);
  EXPECT_EQ(store_->PruneHourly(11).value(), 1);
  EXPECT_EQ(store_->GetAccessStatsMany({"demo/k", "demo/none"})->size(), 1u);
}

TEST_P(MetadataStoreTest, AccessBatchFencesOffsetsAndChecksRowVersions) {
  MetadataStore::AccessBatch b;
  AccessStats a;
  a.key = "demo/k";
  a.reads = 1;
  b.stats.push_back(a);
  b.consumer = "c";
  b.next_offsets = {{0, 10}};
  b.expected_offsets = {{0, MetadataStore::kNoOffset}};
  b.check_versions = true;
  ASSERT_TRUE(store_->ApplyAccessBatch(b).ok());
  auto s = store_->GetAccessStats("demo/k").value().value();
  EXPECT_EQ(s.version, 1);

  // A second writer that still believes nothing is stored: fenced, nothing written.
  b.stats[0].reads = 99;
  b.next_offsets = {{0, 20}};
  b.hourly.push_back({"demo/k", 10, 5, 0, 50});
  Status fenced = store_->ApplyAccessBatch(b);
  EXPECT_EQ(fenced.code(), StatusCode::kFailedPrecondition) << fenced.ToString();
  EXPECT_EQ(store_->GetConsumerOffsets("c").value().at(0), 10);
  EXPECT_EQ(store_->GetAccessStats("demo/k").value()->reads, 1);
  EXPECT_TRUE(store_->ListHourly("demo/k", 0, 100)->empty());

  // Right offsets but a stale row (version 0 = "no row"): Aborted, nothing written.
  b.expected_offsets = {{0, 10}};
  Status stale = store_->ApplyAccessBatch(b);
  EXPECT_TRUE(stale.IsAborted()) << stale.ToString();
  EXPECT_EQ(store_->GetConsumerOffsets("c").value().at(0), 10);
  EXPECT_TRUE(store_->ListHourly("demo/k", 0, 100)->empty());

  // The current version: written, version + 1.
  b.stats[0].version = 1;
  ASSERT_TRUE(store_->ApplyAccessBatch(b).ok());
  s = store_->GetAccessStats("demo/k").value().value();
  EXPECT_EQ(s.reads, 99);
  EXPECT_EQ(s.version, 2);
  EXPECT_EQ(store_->GetConsumerOffsets("c").value().at(0), 20);

  // Without check_versions the write is unconditional (and still bumps the version).
  b.check_versions = false;
  b.expected_offsets.clear();
  b.stats[0].version = 0;
  ASSERT_TRUE(store_->ApplyAccessBatch(b).ok());
  EXPECT_EQ(store_->GetAccessStats("demo/k").value()->version, 3);
}

TEST_P(MetadataStoreTest, AccessJournalIsFencedAndFoldedExactlyOnce) {
  // Recorded with its offsets, fenced like a batch.
  const std::string data("\x01\x00\xff", 3);
  auto id1 = store_->AppendAccessJournal("c", data, {{0, 10}}, {{0, MetadataStore::kNoOffset}});
  ASSERT_TRUE(id1.ok()) << id1.status().ToString();
  EXPECT_EQ(store_->GetConsumerOffsets("c").value().at(0), 10);
  auto fenced = store_->AppendAccessJournal("c", "x", {{0, 20}}, {{0, 5}});
  EXPECT_EQ(fenced.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(store_->GetConsumerOffsets("c").value().at(0), 10);
  auto id2 = store_->AppendAccessJournal("c", "second", {{0, 20}}, {{0, 10}});
  ASSERT_TRUE(id2.ok());
  EXPECT_GT(*id2, *id1);
  ASSERT_TRUE(store_->AppendAccessJournal("other", "theirs", {}, {}).ok());
  auto list = store_->ListAccessJournal("c").value();
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(list[0].id, *id1);
  EXPECT_EQ(list[0].data, data);  // bytes kept exactly, NULs included
  EXPECT_EQ(list[1].data, "second");

  // A fold deletes the entries it names with its rows; one gone: Aborted, nothing written.
  MetadataStore::AccessBatch b;
  AccessStats a;
  a.key = "demo/k";
  a.reads = 3;
  b.stats.push_back(a);
  b.consumer = "c";
  b.fold_journal = {*id1, *id2};
  ASSERT_TRUE(store_->ApplyAccessBatch(b).ok());
  EXPECT_TRUE(store_->ListAccessJournal("c")->empty());
  EXPECT_EQ(store_->ListAccessJournal("other")->size(), 1u);
  b.stats[0].reads = 6;
  Status again = store_->ApplyAccessBatch(b);
  EXPECT_TRUE(again.IsAborted()) << again.ToString();
  EXPECT_EQ(store_->GetAccessStats("demo/k").value()->reads, 3);
}

TEST_P(MetadataStoreTest, AlertsDedupeAckClear) {
  auto a1 = store_->RaiseAlert("migration_backlog", "warning", "queue", "21 queued", "{}", 1).value();
  auto a2 = store_->RaiseAlert("migration_backlog", "warning", "queue", "25 queued", "{}", 2).value();
  EXPECT_EQ(a1.id, a2.id);
  EXPECT_EQ(a2.count, 2);
  EXPECT_EQ(a2.message, "25 queued");
  ASSERT_TRUE(store_->AckAlert(a1.id, 3).ok());
  EXPECT_TRUE(store_->AckAlert(9999, 3).IsNotFound());
  EXPECT_TRUE(store_->ListAlerts(false)->empty());
  EXPECT_EQ(store_->ListAlerts(true)->size(), 1u);
  auto a3 = store_->RaiseAlert("migration_backlog", "warning", "queue", "30 queued", "{}", 4).value();
  EXPECT_NE(a3.id, a1.id);  // acked ones are not reopened
  ASSERT_TRUE(store_->ResolveAlert("migration_backlog", "queue").ok());
  EXPECT_TRUE(store_->ListAlerts(false)->empty());
  EXPECT_EQ(store_->ClearAlerts().value(), 1);
}

TEST_P(MetadataStoreTest, SettingsAreAudited) {
  EXPECT_FALSE(store_->GetSetting("security.enforce")->has_value());
  AuditRecord a{0, 5, "admin", "policy.security", "{\"enforce\":true}"};
  ASSERT_TRUE(store_->PutSetting("security.enforce", "true", a).ok());
  EXPECT_EQ(store_->GetSetting("security.enforce")->value(), "true");
  auto audit = store_->ListAudit(10).value();
  ASSERT_EQ(audit.size(), 1u);
  EXPECT_EQ(audit[0].action, "policy.security");
}

TEST_P(MetadataStoreTest, ContentTimeAndHeadersSurvivePlacementChanges) {
  MetadataStore::NewContent c;
  c.key = {"demo", "h"};
  c.size = 1;
  c.sha256 = "aa";
  c.etag = "e";
  c.generation = "g1";
  c.sites = {"aws"};
  c.headers = {{"Cache-Control", "max-age=60"}, {"Content-Encoding", "gzip"}};
  c.now_ms = 1000;
  auto o = store_->PutObject(c).value();
  EXPECT_EQ(o.modified_ms, 1000);
  EXPECT_EQ(o.headers.at("Cache-Control"), "max-age=60");
  MetadataStore::PlacementChange pc;
  pc.object_id = o.id;
  pc.expected_version = o.version;
  pc.tier = Tier::kWarm;
  pc.sites = {"gcp"};
  pc.now_ms = 5000;
  auto moved = store_->UpdatePlacement(pc).value();
  EXPECT_EQ(moved.updated_ms, 5000);
  EXPECT_EQ(moved.modified_ms, 1000) << "a move is not a modification of the content";
  EXPECT_EQ(moved.headers.at("Content-Encoding"), "gzip");
  c.generation = "g2";
  c.headers.clear();
  c.now_ms = 7000;
  auto again = store_->PutObject(c).value();
  EXPECT_EQ(again.modified_ms, 7000);
  EXPECT_TRUE(again.headers.empty());
}

UploadRecord Upload(const std::string& id, const std::string& key) {
  UploadRecord u;
  u.upload_id = id;
  u.key = {"demo", key};
  u.site = "aws";
  u.site_upload_id = "site-" + id;
  u.generation = "gen-" + id;
  u.tier = Tier::kWarm;
  u.placement = {"aws", "gcp"};
  u.content_type = "text/plain";
  u.user_meta = {{"owner", "ops"}};
  u.initiated_ms = 10;
  return u;
}

TEST_P(MetadataStoreTest, MultipartUploadsAndParts) {
  ASSERT_TRUE(store_->CreateUpload(Upload("u1", "b")).ok());
  ASSERT_TRUE(store_->CreateUpload(Upload("u2", "a")).ok());
  ASSERT_TRUE(store_->CreateUpload(Upload("u3", "b")).ok());
  EXPECT_EQ(store_->CreateUpload(Upload("u1", "b")).code(), StatusCode::kAlreadyExists);
  auto none = Upload("u9", "x");
  none.key.bucket = "nobucket";
  EXPECT_TRUE(store_->CreateUpload(none).IsNotFound());

  auto got = store_->GetUpload("u1").value();
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->placement, (std::vector<std::string>{"aws", "gcp"}));
  EXPECT_EQ(got->user_meta.at("owner"), "ops");
  EXPECT_EQ(got->tier, Tier::kWarm);
  EXPECT_FALSE(store_->GetUpload("nope")->has_value());

  auto ids = [](const std::vector<UploadRecord>& v) {
    std::vector<std::string> out;
    for (const auto& u : v) out.push_back(u.upload_id);
    return out;
  };
  MetadataStore::UploadQuery q;
  q.bucket = "demo";
  EXPECT_EQ(ids(store_->ListUploads(q).value()), (std::vector<std::string>{"u2", "u1", "u3"}));
  q.key_marker = "b";
  q.upload_id_marker = "u1";
  EXPECT_EQ(ids(store_->ListUploads(q).value()), (std::vector<std::string>{"u3"}));
  q.upload_id_marker = "";  // without an id marker, the marker key's own uploads are skipped
  EXPECT_TRUE(store_->ListUploads(q)->empty());
  q.key_marker = "";
  q.prefix = "a";
  EXPECT_EQ(ids(store_->ListUploads(q).value()), (std::vector<std::string>{"u2"}));

  PartRecord p{"u1", 2, 100, "md5-2", "sha-2", 20};
  ASSERT_TRUE(store_->PutPart(p).ok());
  p.part_number = 1;
  p.etag = "md5-1";
  ASSERT_TRUE(store_->PutPart(p).ok());
  p.size = 200;  // re-uploading a part replaces it
  ASSERT_TRUE(store_->PutPart(p).ok());
  p.upload_id = "gone";
  EXPECT_TRUE(store_->PutPart(p).IsNotFound());
  auto parts = store_->ListParts("u1", 0, 100).value();
  ASSERT_EQ(parts.size(), 2u);
  EXPECT_EQ(parts[0].part_number, 1);
  EXPECT_EQ(parts[0].size, 200);
  EXPECT_EQ(parts[1].etag, "md5-2");
  EXPECT_EQ(store_->ListParts("u1", 1, 100)->size(), 1u);

  // A bucket with uploads in progress cannot be deleted.
  ASSERT_TRUE(store_->CreateBucket("other", 1).ok());
  auto o = Upload("u4", "k");
  o.key.bucket = "other";
  ASSERT_TRUE(store_->CreateUpload(o).ok());
  EXPECT_EQ(store_->DeleteBucket("other").code(), StatusCode::kFailedPrecondition);
  ASSERT_TRUE(store_->DeleteUpload("u4").ok());
  EXPECT_TRUE(store_->DeleteUpload("u4").IsNotFound());
  EXPECT_TRUE(store_->DeleteBucket("other").ok());
}

TEST_P(MetadataStoreTest, CompletingAnUploadRecordsTheObjectAndRemovesTheUploadAtomically) {
  ASSERT_TRUE(store_->CreateUpload(Upload("u1", "big")).ok());
  ASSERT_TRUE(store_->PutPart({"u1", 1, 5, "m", "s", 20}).ok());
  MetadataStore::NewContent c;
  c.key = {"demo", "big"};
  c.size = 5;
  c.sha256 = "aa";
  c.etag = "abc-1";
  c.generation = "gen-u1";
  c.sites = {"aws"};
  c.completes_upload = "u1";
  c.now_ms = 30;
  // A failed condition keeps the upload.
  c.expected_version = 7;
  EXPECT_TRUE(store_->PutObject(c).status().IsAborted());
  EXPECT_TRUE(store_->GetUpload("u1")->has_value());
  c.expected_version.reset();
  auto o = store_->PutObject(c);
  ASSERT_TRUE(o.ok()) << o.status().ToString();
  EXPECT_EQ(o->etag, "abc-1");
  EXPECT_FALSE(store_->GetUpload("u1")->has_value());
  EXPECT_TRUE(store_->ListParts("u1", 0, 10)->empty());
  // Completing again (or after an abort) finds no upload and records nothing.
  c.generation = "gen-again";
  EXPECT_TRUE(store_->PutObject(c).status().IsNotFound());
  EXPECT_EQ(store_->GetObject(c.key)->value().generation, "gen-u1");
  // The upload must be for the same key.
  ASSERT_TRUE(store_->CreateUpload(Upload("u2", "other")).ok());
  c.completes_upload = "u2";
  EXPECT_TRUE(store_->PutObject(c).status().IsNotFound());
}

std::unique_ptr<MetadataStore> MakeSqliteMemory() {
  auto r = SqliteMetadataStore::Open(":memory:");
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.ok() ? std::move(r).value() : nullptr;
}

INSTANTIATE_TEST_SUITE_P(Backends, MetadataStoreTest,
                         ::testing::Values(std::make_pair(std::string("sqlite"), Factory(MakeSqliteMemory))),
                         [](const auto& info) { return info.param.first; });

TEST(SqliteMetadataStoreTest, ReopenKeepsDataAndSchemaVersion) {
  auto dir = std::filesystem::temp_directory_path() / ("dim-store-" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  std::string path = (dir / "dim.db").string();
  {
    auto s = SqliteMetadataStore::Open(path).value();
    ASSERT_TRUE(s->CreateBucket("demo", 1).ok());
  }
  auto s = SqliteMetadataStore::Open(path).value();
  EXPECT_GE(s->schema_version(), 1);
  EXPECT_TRUE(s->GetBucket("demo")->has_value());
  std::filesystem::remove_all(dir);
}

TEST(SqliteMetadataStoreTest, MigratesAVersion1DatabaseKeepingItsObjects) {
  auto dir = std::filesystem::temp_directory_path() / ("dim-store-v1-" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  std::string path = (dir / "dim.db").string();
  {
    // A database as the foundation's binary left it: schema version 1 with one object.
    auto db = sqlite::Db::Open(path).value();
    ASSERT_TRUE(db->Exec(sqlite::SchemaMigrations()[0]).ok());
    ASSERT_TRUE(db->Exec("PRAGMA user_version=1").ok());
    ASSERT_TRUE(db->Exec("INSERT INTO buckets VALUES('demo', 1);"
                         "INSERT INTO objects(bucket,key,size,sha256,etag,generation,version,tier,"
                         "tier_since_ms,sites,created_ms,updated_ms) VALUES('demo','k',1,'aa','e',"
                         "'g',1,'hot',5,'aws',5,1234)")
                    .ok());
  }
  auto s = SqliteMetadataStore::Open(path).value();
  EXPECT_EQ(s->schema_version(), static_cast<int>(sqlite::SchemaMigrations().size()));
  auto o = s->GetObject({"demo", "k"}).value();
  ASSERT_TRUE(o.has_value());
  EXPECT_EQ(o->modified_ms, 1234) << "content time starts as the last update";
  EXPECT_TRUE(o->headers.empty());
  std::filesystem::remove_all(dir);
}

TEST(SqliteMetadataStoreTest, SynchronousSettingOfTheConnection) {
  auto dir =
      std::filesystem::temp_directory_path() / ("dim-store-sync-" + std::to_string(getpid()));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  const std::string path = (dir / "dim.db").string();
  auto synchronous = [&](bool full) {
    auto db = sqlite::Db::Open(path, full).value();
    auto q = db->Prepare("PRAGMA synchronous").value();
    EXPECT_TRUE(q->Step());
    return q->Int(0);
  };
  EXPECT_EQ(synchronous(false), 1) << "NORMAL";
  EXPECT_EQ(synchronous(true), 2) << "FULL: every commit fsync'd";
  Config c;
  c.store.path = path;
  c.store.sqlite_synchronous = "full";
  auto s = SqliteMetadataStore::Open(c);
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_TRUE((*s)->CreateBucket("demo", 1).ok());
  auto bad = LoadConfigText(
      "[store]\nsqlite_synchronous = \"sometimes\"\n", "s.toml",
      [](const std::string&) { return std::optional<std::string>(); },
      [] { return std::vector<std::string>(); });
  EXPECT_NE(bad.ErrorText("s.toml").find("store.sqlite_synchronous = \"sometimes\" is not one of"),
            std::string::npos)
      << bad.ErrorText("s.toml");
  std::filesystem::remove_all(dir);
}

// Two connections to one file stand in for two processes (`dim serve` and `dim migrator`): every
// task is leased by exactly one of them even when they race.
TEST(SqliteMetadataStoreTest, TwoConnectionsNeverLeaseTheSameTask) {
  auto dir = std::filesystem::temp_directory_path() / ("dim-store-2c-" + std::to_string(getpid()));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  std::string path = (dir / "dim.db").string();
  auto a = SqliteMetadataStore::Open(path).value();
  auto b = SqliteMetadataStore::Open(path).value();
  ASSERT_TRUE(a->CreateBucket("demo", 1).ok());
  constexpr int kTasks = 60;
  ASSERT_NO_FATAL_FAILURE(QueueCopies(*a, kTasks, [](int) { return std::string("aws"); }));
  std::mutex mu;
  std::map<int64_t, int> leased;
  auto worker = [&](MetadataStore* s, std::string name) {
    while (auto t = s->LeaseTask(name, 600000, 10).value()) {
      std::lock_guard<std::mutex> lock(mu);
      leased[t->id]++;
    }
  };
  std::vector<std::thread> ts;
  for (int i = 0; i < 2; ++i) {
    ts.emplace_back(worker, a.get(), "a" + std::to_string(i));
    ts.emplace_back(worker, b.get(), "b" + std::to_string(i));
  }
  for (auto& t : ts) t.join();
  EXPECT_EQ(leased.size(), static_cast<size_t>(kTasks));
  for (auto& [id, n] : leased) EXPECT_EQ(n, 1) << "task " << id;
  a.reset();
  b.reset();
  std::filesystem::remove_all(dir);
}

// Each lease is an index search in due order: a plan that scans the tasks table or sorts it
// ("USE TEMP B-TREE") reads the whole queue on every lease, O(n^2) for a drain of n tasks.
TEST(SqliteMetadataStoreTest, LeaseQueriesSearchAnIndexWithoutSorting) {
  auto dir =
      std::filesystem::temp_directory_path() / ("dim-store-plan-" + std::to_string(getpid()));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  const std::string path = (dir / "dim.db").string();
  auto store = SqliteMetadataStore::Open(path).value();
  ASSERT_TRUE(store->CreateBucket("demo", 1).ok());
  auto db = sqlite::Db::Open(path, false).value();
  auto plan = [&](const std::string& sql) {
    auto q = db->Prepare("EXPLAIN QUERY PLAN " + sql);
    EXPECT_TRUE(q.ok()) << q.status().ToString();
    std::string out;
    if (!q.ok()) return out;
    (*q)->Bind(1, int64_t{1000}).Bind(2, "[\"gcp\"]").Bind(3, "[\"azure>aws\"]");
    while ((*q)->Step()) out += (*q)->Text(3) + "\n";
    EXPECT_TRUE((*q)->status().ok()) << (*q)->status().ToString();
    return out;
  };
  auto check = [&](const char* when) {
    const auto& sql = SqliteMetadataStore::TheLeaseQueries();
    for (const std::string* text : {&sql.queued, &sql.expired}) {
      std::string p = plan(*text);
      EXPECT_NE(p.find("SEARCH tasks USING INDEX"), std::string::npos) << when << ":\n" << p;
      EXPECT_EQ(p.find("TEMP B-TREE"), std::string::npos) << when << ":\n" << p;
      EXPECT_EQ(p.find("SCAN tasks"), std::string::npos) << when << ":\n" << p;
    }
  };
  check("empty");
  // With statistics of a queue of mostly queued and some running tasks, the planner must still
  // pick the ordered search.
  ASSERT_NO_FATAL_FAILURE(
      QueueCopies(*store, 300, [](int i) { return std::string(i % 3 ? "aws" : "gcp"); }));
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(store->LeaseTask("w", 1000, 10).value().has_value());
  ASSERT_TRUE(db->Exec("ANALYZE").ok());
  check("analyzed");
  db.reset();
  store.reset();
  std::filesystem::remove_all(dir);
}

TEST(SqliteMetadataStoreTest, GarbageFileIsAClearError) {
  auto dir = std::filesystem::temp_directory_path() / ("dim-store-bad-" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  std::string path = (dir / "dim.db").string();
  FILE* f = fopen(path.c_str(), "wb");
  fputs("this is not a database, just some bytes that are long enough to matter..........", f);
  fclose(f);
  auto r = SqliteMetadataStore::Open(path);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("dim.db"), std::string::npos) << r.status().ToString();
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace dim
