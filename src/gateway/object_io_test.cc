#include <gtest/gtest.h>

#include <filesystem>

#include "core/checksum.h"
#include "gateway/gateway_test_rig.h"

namespace dim {
namespace {

class ObjectIoTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(store_->CreateBucket("demo", 0).ok()); }

  testing::GatewayRig rig_{"dim-io"};
  VirtualClock& clock_ = rig_.clock;
  SiteRegistry& sites_ = rig_.sites;
  std::unique_ptr<SqliteMetadataStore>& store_ = rig_.store;
  std::unique_ptr<ObjectWriter>& writer_ = rig_.writer;
  std::unique_ptr<ReplicaReader>& reader_ = rig_.reader;
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
