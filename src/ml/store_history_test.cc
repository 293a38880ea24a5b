#include "ml/store_history.h"

#include <gtest/gtest.h>

#include "store/sqlite/sqlite_metadata_store.h"

namespace dim {
namespace {

constexpr int64_t kHour = 3'600'000;
constexpr int64_t kH0 = 472'222;  // an hour index (2023-11-14)

TEST(StoreHistoryTest, ReplaysHourlyCountsWithSizesFromTheCatalog) {
  auto store = SqliteMetadataStore::Open(":memory:").value();
  ASSERT_TRUE(store->CreateBucket("b", 1).ok());
  MetadataStore::NewContent c;
  c.key = {"b", "big"};
  c.size = 123456;
  c.sha256 = "aa";
  c.etag = "e";
  c.generation = "g1";
  c.tier = Tier::kCold;
  c.sites = {"aws"};
  c.now_ms = (kH0 - 48) * kHour;
  ASSERT_TRUE(store->PutObject(c).ok());
  MetadataStore::AccessBatch batch;
  batch.consumer = "test";
  // b/big: 12 reads and 2 writes in each of hours 0..3; b/small: 1 read in hour 1.
  for (int h = 0; h < 4; ++h) batch.hourly.push_back({"b/big", kH0 + h, 12, 2, 0});
  batch.hourly.push_back({"b/small", kH0 + 1, 1, 0, 0});
  ASSERT_TRUE(store->ApplyAccessBatch(batch).ok());

  DatasetOptions o;
  o.step_s = 3600;
  o.label = {3600, 10};
  DatasetBuilder b(o);
  int64_t calls = 0;
  auto n = FeedStoreHistory(*store, kH0 * kHour, (kH0 + 4) * kHour, b,
                            [&](int64_t done, int64_t total, int64_t) {
                              EXPECT_LE(done, total);
                              ++calls;
                            });
  ASSERT_TRUE(n.ok()) << n.status().ToString();
  EXPECT_EQ(*n, 4 * 14 + 1);
  EXPECT_EQ(calls, 4);
  Dataset d = b.Finish((kH0 + 4) * kHour);
  // Snapshots at hours 1, 2 and 3 (3's window closes at the end): big is hot (14 next hour).
  ASSERT_GE(d.rows(), 3u);
  size_t big_rows = 0;
  for (size_t i = 0; i < d.rows(); ++i) {
    if (b.keys()[d.object[i]] != "b/big") continue;
    ++big_rows;
    EXPECT_EQ(d.row(i)[7], 123456) << "size from the catalog";
    EXPECT_EQ(d.y[i], 1);
    EXPECT_EQ(d.future[i], 14u);
    EXPECT_EQ(d.row(i)[0], 14) << "a full hour of accesses at every snapshot";
    EXPECT_NEAR(d.row(i)[10], 4, 1e-6) << "reads / (writes + 1) after the first hour";
    break;
  }
  EXPECT_EQ(big_rows, 1u);
}

}  // namespace
}  // namespace dim
