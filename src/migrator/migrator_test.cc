#include "migrator/migrator.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "core/checksum.h"
#include "storage/local_object_store.h"
#include "store/sqlite/sqlite_metadata_store.h"

namespace dim {
namespace {

class MigratorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("dim-migrator-" + std::to_string(getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    Config c;
    c.data_dir = dir_.string();
    c.sites = DefaultSites();
    sites_ = MakeSiteRegistry(c).value();
    store_ = SqliteMetadataStore::Open(":memory:").value();
    ASSERT_TRUE(store_->CreateBucket("demo", 0).ok());
    policy_ = std::make_unique<RuntimePolicy>(*store_, clock_, false);
    MigratorOptions o;
    o.backoff_base_ms = 1;
    o.backoff_max_ms = 2;
    migrator_ = std::make_unique<Migrator>(*store_, sites_, *policy_, clock_, metrics_, o);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  // Writes bytes to a site and records the object there.
  ObjectRecord Write(const std::string& key, const std::string& data, const std::string& site) {
    ObjectKey k{"demo", key};
    std::string gen = NewGeneration(clock_.NowMs());
    StringSource src(data);
    EXPECT_TRUE(sites_.Find(site)->store->Put(BlobName(k, gen), src, {}).ok());
    MetadataStore::NewContent c;
    c.key = k;
    c.size = static_cast<int64_t>(data.size());
    c.sha256 = Sha256::Hex(data);
    c.generation = gen;
    c.tier = Tier::kCold;
    c.sites = {site};
    c.now_ms = clock_.NowMs();
    return store_->PutObject(c).value();
  }

  void Move(const ObjectRecord& o, std::vector<std::string> to) {
    MetadataStore::PlacementChange pc;
    pc.object_id = o.id;
    pc.expected_version = o.version;
    pc.tier = Tier::kHot;
    pc.sites = std::move(to);
    pc.max_attempts = 3;
    ASSERT_TRUE(store_->UpdatePlacement(pc).ok());
  }

  int Drain() {
    int n = 0;
    while (*migrator_->RunOnce("t")) {
      if (++n > 100) break;
      clock_.AdvanceMs(10);
    }
    return n;
  }

  std::string Read(const std::string& site, const std::string& blob) {
    auto src = sites_.Find(site)->store->Get(blob);
    if (!src.ok()) return "<" + src.status().ToString() + ">";
    return ReadAll(**src).value();
  }

  std::filesystem::path dir_;
  VirtualClock clock_;
  MetricsRegistry metrics_;
  SiteRegistry sites_;
  std::unique_ptr<SqliteMetadataStore> store_;
  std::unique_ptr<RuntimePolicy> policy_;
  std::unique_ptr<Migrator> migrator_;
};

TEST_F(MigratorTest, MovesVerifiesThenDeletesTheOldReplica) {
  std::string data(3 << 20, 'x');
  for (size_t i = 0; i < data.size(); i += 7) data[i] = static_cast<char>(i);
  auto o = Write("big.bin", data, "azure");
  Move(o, {"aws"});
  EXPECT_EQ(Drain(), 2);  // copy, then delete
  std::string blob = BlobName(o.key, o.generation);
  EXPECT_EQ(Sha256::Hex(Read("aws", blob)), Sha256::Hex(data));
  EXPECT_FALSE(sites_.Find("azure")->store->Head(blob)->has_value());
  auto reps = store_->GetReplicas(o.id).value();
  ASSERT_EQ(reps.size(), 1u);
  EXPECT_EQ(reps[0].site, "aws");
  EXPECT_EQ(reps[0].state, ReplicaState::kLive);
  auto& jobs = metrics_.AddCounter("dim_migration_jobs_total", "", {"result"});
  EXPECT_EQ(jobs.Labels({"copied"}).Value(), 1);
  EXPECT_EQ(jobs.Labels({"deleted"}).Value(), 1);
  EXPECT_EQ(metrics_.AddCounter("dim_migration_bytes_total", "").Get().Value(), data.size());
}

TEST_F(MigratorTest, CorruptSourceIsNeverCommitted) {
  auto o = Write("c.txt", "the real bytes", "azure");
  // Rot the only replica on disk.
  auto* local = dynamic_cast<LocalObjectStore*>(sites_.Find("azure")->store.get());
  std::ofstream(local->PathOf(BlobName(o.key, o.generation)), std::ios::trunc) << "the REAL bytes";
  Move(o, {"aws"});
  Drain();
  EXPECT_FALSE(sites_.Find("aws")->store->Head(BlobName(o.key, o.generation))->has_value());
  auto failed = store_->ListTasks(TaskStatus::kFailed, 10).value();
  ASSERT_EQ(failed.size(), 1u);
  EXPECT_NE(failed[0].last_error.find("DataLoss"), std::string::npos) << failed[0].last_error;
  // The old replica is still the live one: nothing was deleted.
  auto reps = store_->GetReplicas(o.id).value();
  bool azure_live = false;
  for (auto& r : reps) azure_live |= r.site == "azure" && r.state == ReplicaState::kLive;
  EXPECT_TRUE(azure_live);
}

TEST_F(MigratorTest, EncryptionPolicyBlocksUnencryptedDestination) {
  auto o = Write("s.txt", "secret", "aws");
  Move(o, {"azure"});  // azure is not encrypted
  ASSERT_TRUE(policy_->SetEncryptionEnforced(true, "test").ok());
  Drain();
  auto failed = store_->ListTasks(TaskStatus::kFailed, 10).value();
  ASSERT_EQ(failed.size(), 1u);
  EXPECT_EQ(failed[0].reason, "destination_not_encrypted");
  EXPECT_EQ(Read("aws", BlobName(o.key, o.generation)), "secret");
}

TEST_F(MigratorTest, OverwriteDuringMoveCancelsTheStaleCopy) {
  auto o = Write("o.txt", "v1", "azure");
  Move(o, {"aws"});
  Write("o.txt", "v2", "azure");  // new generation; queued copy of v1 is cancelled
  Drain();
  auto now = store_->GetObject(o.key)->value();
  EXPECT_EQ(Read("azure", BlobName(o.key, now.generation)), "v2");
  EXPECT_FALSE(sites_.Find("azure")->store->Head(BlobName(o.key, o.generation))->has_value());
  EXPECT_FALSE(sites_.Find("aws")->store->Head(BlobName(o.key, o.generation))->has_value());
}

TEST_F(MigratorTest, BacklogAlertRaisedAndResolved) {
  for (int i = 0; i < 25; ++i) {
    auto o = Write("k" + std::to_string(i), "x", "azure");
    Move(o, {"aws"});
  }
  ASSERT_TRUE(migrator_->CheckBacklog().ok());
  auto alerts = store_->ListAlerts(false).value();
  ASSERT_EQ(alerts.size(), 1u);
  EXPECT_EQ(alerts[0].kind, "migration_backlog");
  Drain();
  ASSERT_TRUE(migrator_->CheckBacklog().ok());
  EXPECT_TRUE(store_->ListAlerts(false)->empty());
}

TEST_F(MigratorTest, WorkersRunInTheBackgroundAndStop) {
  auto o = Write("bg.txt", "background", "azure");
  Move(o, {"gcp"});
  migrator_->Start();
  for (int i = 0; i < 200; ++i) {
    auto reps = store_->GetReplicas(o.id).value();
    if (reps.size() == 1 && reps[0].site == "gcp") break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  migrator_->Stop();
  auto reps = store_->GetReplicas(o.id).value();
  ASSERT_EQ(reps.size(), 1u);
  EXPECT_EQ(reps[0].site, "gcp");
}

}  // namespace
}  // namespace dim
