#include <gtest/gtest.h>

#include <filesystem>

#include "core/checksum.h"
#include "gateway/object_writer.h"
#include "gateway/replica_reader.h"
#include "store/sqlite/sqlite_metadata_store.h"

namespace dim {
namespace {

class ObjectIoTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("dim-io-" + std::to_string(getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    config_.data_dir = dir_.string();
    config_.sites = DefaultSites();
    sites_ = MakeSiteRegistry(config_).value();
    store_ = SqliteMetadataStore::Open(":memory:").value();
    ASSERT_TRUE(store_->CreateBucket("demo", 0).ok());
    policy_ = std::make_unique<RuntimePolicy>(*store_, clock_, false);
    slot_ = std::make_unique<PredictorSlot>(std::make_shared<HeuristicPredictor>());
    optimizer_ = std::make_unique<Optimizer>(*store_, config_.sites, *slot_, *policy_, clock_,
                                             metrics_, OptimizerOptions{});
    writer_ = std::make_unique<ObjectWriter>(*store_, sites_, *optimizer_, clock_, Tier::kHot, 5);
    reader_ = std::make_unique<ReplicaReader>(*store_, sites_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::filesystem::path dir_;
  Config config_;
  VirtualClock clock_;
  MetricsRegistry metrics_;
  SiteRegistry sites_;
  std::unique_ptr<SqliteMetadataStore> store_;
  std::unique_ptr<RuntimePolicy> policy_;
  std::unique_ptr<PredictorSlot> slot_;
  std::unique_ptr<Optimizer> optimizer_;
  std::unique_ptr<ObjectWriter> writer_;
  std::unique_ptr<ReplicaReader> reader_;
};

TEST_F(ObjectIoTest, WriteThenReadBack) {
  WriteRequest w;
  w.key = {"demo", "logs/app.log"};
  w.content_type = "text/plain";
  w.user_meta = {{"owner", "ops"}};
  StringSource src("hello tiering");
  auto rec = writer_->Write(w, src);
  ASSERT_TRUE(rec.ok()) << rec.status().ToString();
  EXPECT_EQ(rec->sha256, Sha256::Hex("hello tiering"));
  EXPECT_EQ(rec->etag, Md5::Hex("hello tiering"));
  EXPECT_EQ(rec->tier, Tier::kHot);
  EXPECT_EQ(rec->sites, std::vector<std::string>{"aws"});
  auto opened = reader_->Open(w.key);
  ASSERT_TRUE(opened.ok());
  EXPECT_EQ(opened->site, "aws");
  EXPECT_EQ(ReadAll(*opened->data).value(), "hello tiering");
  auto range = reader_->Open(w.key, ByteRange{6, 4});
  EXPECT_EQ(ReadAll(*range->data).value(), "tier");
  EXPECT_EQ(store_->GetObject(w.key)->value().user_meta.at("owner"), "ops");
}

TEST_F(ObjectIoTest, OverwriteKeepsOnlyTheNewBytesVisible) {
  WriteRequest w;
  w.key = {"demo", "k"};
  StringSource a("first");
  auto r1 = writer_->Write(w, a).value();
  StringSource b("second");
  auto r2 = writer_->Write(w, b).value();
  EXPECT_NE(r1.generation, r2.generation);
  EXPECT_EQ(ReadAll(*reader_->Open(w.key)->data).value(), "second");
  // The old generation is queued for deletion.
  auto tasks = store_->ListTasks(TaskStatus::kQueued, 10).value();
  ASSERT_EQ(tasks.size(), 1u);
  EXPECT_EQ(tasks[0].kind, TaskKind::kDelete);
  EXPECT_EQ(tasks[0].generation, r1.generation);
}

TEST_F(ObjectIoTest, BadInputIsRefusedAndLeavesNothing) {
  WriteRequest w;
  w.key = {"demo", "../escape"};
  StringSource s("x");
  EXPECT_TRUE(writer_->Write(w, s).status().IsInvalidArgument());
  w.key = {"nobucket", "x"};
  StringSource s2("x");
  EXPECT_TRUE(writer_->Write(w, s2).status().IsNotFound());
  w.key = {"demo", "sum"};
  w.expected_sha256 = Sha256::Hex("other");
  StringSource s3("x");
  EXPECT_EQ(writer_->Write(w, s3).status().code(), StatusCode::kDataLoss);
  EXPECT_FALSE(store_->GetObject(w.key)->has_value());
  // No stray blob on any site.
  for (const auto& site : sites_.sites()) {
    auto page = site.store->List("", "", 100).value();
    EXPECT_TRUE(page.items.empty()) << site.name() << " holds " << page.items.size();
  }
}

TEST_F(ObjectIoTest, ReadFailsOverToAnotherLiveReplica) {
  WriteRequest w;
  w.key = {"demo", "r"};
  StringSource src("replicated");
  auto rec = writer_->Write(w, src).value();
  // Copy it to gcp by hand (as the migrator would), then lose the aws bytes.
  MetadataStore::PlacementChange pc;
  pc.object_id = rec.id;
  pc.expected_version = rec.version;
  pc.tier = Tier::kHot;
  pc.sites = {"aws", "gcp"};
  ASSERT_TRUE(store_->UpdatePlacement(pc).ok());
  auto task = store_->LeaseTask("t", 1000, clock_.NowMs()).value().value();
  StringSource copy("replicated");
  ASSERT_TRUE(sites_.Find("gcp")->store->Put(task.blob, copy, {}).ok());
  ASSERT_EQ(*store_->CommitCopy(task, "t", rec.sha256, rec.size, clock_.NowMs()),
            MetadataStore::CommitOutcome::kCommitted);
  ASSERT_TRUE(sites_.Find("aws")->store->Delete(task.blob).ok());
  auto opened = reader_->Open(w.key);
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  EXPECT_EQ(opened->site, "gcp");
  EXPECT_EQ(ReadAll(*opened->data).value(), "replicated");
  EXPECT_TRUE(reader_->Open({"demo", "none"}).status().IsNotFound());
}

}  // namespace
}  // namespace dim
