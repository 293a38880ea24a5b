#include "stream/key_index.h"

#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>

namespace dim {
namespace {

TEST(KeyIndexTest, DenseIdsInOrderOfFirstSight) {
  KeyIndex idx;
  EXPECT_EQ(idx.size(), 0u);
  EXPECT_FALSE(idx.Find("a").has_value());
  EXPECT_EQ(idx.Intern("a"), 0u);
  EXPECT_EQ(idx.Intern("b"), 1u);
  EXPECT_EQ(idx.Intern("a"), 0u);
  EXPECT_EQ(idx.size(), 2u);
  EXPECT_EQ(idx.Key(0), "a");
  EXPECT_EQ(idx.Key(1), "b");
  EXPECT_EQ(idx.Find("b"), 1u);
  EXPECT_FALSE(idx.Find("c").has_value());
}

TEST(KeyIndexTest, EdgeKeys) {
  KeyIndex idx;
  // The empty key, embedded NULs, prefixes of each other, long (heap-allocated) and binary keys
  // are all distinct keys.
  const std::string nul("a\0b", 3), nul2("a\0c", 3);
  const std::string long_key(5000, 'x'), long_key2 = std::string(4999, 'x') + "y";
  std::string binary;
  for (int c = 0; c < 256; ++c) binary.push_back(static_cast<char>(c));
  const std::vector<std::string> keys = {"",    nul,      nul2,      "a",   "ab",
                                         "abc", long_key, long_key2, binary};
  for (size_t i = 0; i < keys.size(); ++i) EXPECT_EQ(idx.Intern(keys[i]), i) << i;
  for (size_t i = 0; i < keys.size(); ++i) {
    EXPECT_EQ(idx.Find(keys[i]), i) << i;
    EXPECT_EQ(idx.Key(static_cast<uint32_t>(i)), keys[i]);
  }
  EXPECT_EQ(idx.size(), keys.size());
}

TEST(KeyIndexTest, ManyKeysAcrossGrowthAndChunks) {
  // From a tiny table: many rehashes, and ids across several storage chunks (1024, 2048, ...).
  KeyIndex idx(1);
  std::unordered_map<std::string, uint32_t> want;
  for (int64_t i = 0; i < 300'000; ++i) {
    std::string k = "bucket/obj-" + std::to_string(i * 7919 % 1'000'003);
    auto [it, inserted] = want.try_emplace(k, static_cast<uint32_t>(want.size()));
    ASSERT_EQ(idx.Intern(k), it->second) << k;
    if (i % 3 == 0) {
      ASSERT_EQ(idx.Intern(k), it->second);  // seen again
    }
  }
  ASSERT_EQ(idx.size(), want.size());
  for (const auto& [k, id] : want) {
    ASSERT_EQ(idx.Find(k), id);
    ASSERT_EQ(idx.Key(id), k);
  }
  EXPECT_FALSE(idx.Find("bucket/obj-").has_value());
  EXPECT_FALSE(idx.Find("bucket/obj-1000003").has_value());
}

TEST(KeyIndexTest, InternBatchEqualsOneCallPerKey) {
  // Batches with repeats inside, keys new and old, long (not inline) keys, growth in the middle
  // of a batch, and the empty batch.
  KeyIndex batched(1), single(1);
  std::vector<std::string> storage;
  for (int round = 0; round < 40; ++round) {
    storage.clear();
    const int n = round == 7 ? 0 : 1 + round * 37 % 500;
    for (int i = 0; i < n; ++i) {
      int k = (round * 131 + i * 17) % (100 + round * 50);
      storage.push_back((k % 3 == 0 ? std::string(40, 'p') : std::string()) + "key-" +
                        std::to_string(k));
    }
    std::vector<std::string_view> views(storage.begin(), storage.end());
    std::vector<uint32_t> ids(views.size(), 12345);
    batched.InternBatch(views.data(), views.size(), ids.data());
    for (size_t i = 0; i < views.size(); ++i) {
      ASSERT_EQ(ids[i], single.Intern(views[i])) << round << " " << i;
      ASSERT_EQ(batched.Key(ids[i]), views[i]);
    }
  }
  EXPECT_EQ(batched.size(), single.size());
}

TEST(KeyIndexTest, KeysStayValidWhileInterning) {
  // Key(id) of published ids is read by another thread while the writer keeps interning (and
  // growing the table and the chunks): the references must not move.
  KeyIndex idx(1);
  std::mutex mu;
  size_t published = 0;
  std::atomic<bool> done{false};
  std::thread reader([&] {
    size_t checked = 0;
    while (!done.load() || checked < 50'000) {
      size_t n;
      {
        std::lock_guard<std::mutex> lock(mu);
        n = published;
      }
      for (; checked < n; ++checked) {
        ASSERT_EQ(idx.Key(static_cast<uint32_t>(checked)), "k" + std::to_string(checked));
      }
      if (done.load() && checked >= n) break;
    }
  });
  const std::string* first = nullptr;
  for (int i = 0; i < 50'000; ++i) {
    uint32_t id = idx.Intern("k" + std::to_string(i));
    ASSERT_EQ(id, static_cast<uint32_t>(i));
    if (i == 0) first = &idx.Key(0);
    std::lock_guard<std::mutex> lock(mu);
    published = static_cast<size_t>(i) + 1;
  }
  done.store(true);
  reader.join();
  EXPECT_EQ(first, &idx.Key(0));  // the same address after all the growth
}

}  // namespace
}  // namespace dim
