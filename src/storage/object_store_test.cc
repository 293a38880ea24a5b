#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>

#include "core/checksum.h"
#include "storage/local_object_store.h"
#include "storage/object_store_contract.h"
#include "storage/site_registry.h"

namespace dim {
namespace {

std::filesystem::path FreshDir(const std::string& tag) {
  static std::atomic<int> n{0};
  auto d = std::filesystem::temp_directory_path() /
           ("dim-local-" + tag + "-" + std::to_string(getpid()) + "-" + std::to_string(n++));
  std::filesystem::remove_all(d);
  return d;
}

INSTANTIATE_TEST_SUITE_P(Local, ObjectStoreContract,
                         ::testing::Values(ObjectStoreCase{
                             "local",
                             [] {
                               auto s = LocalObjectStore::Make("local-test", FreshDir("c"));
                               return std::shared_ptr<ObjectStore>(std::move(s).value());
                             }}),
                         [](const auto& info) { return info.param.name; });

TEST(LocalObjectStoreTest, BlobsNeverLandOutsideTheRoot) {
  auto base = FreshDir("esc");
  auto root = base / "site";
  auto store = LocalObjectStore::Make("aws", root).value();
  for (const std::string& bad : std::vector<std::string>{"../escape@1", "demo/../../escape@1", "/etc/escape@1", "..", "."}) {
    StringSource src("x");
    auto r = store->Put(bad, src, {});
    // ".." and "../escape@1" share the directory "%2E." (the documented prefix limitation).
    ASSERT_TRUE(r.ok() || r.status().code() == StatusCode::kFailedPrecondition)
        << bad << ": " << r.status().ToString();
    auto p = store->PathOf(bad).lexically_normal().string();
    EXPECT_EQ(p.rfind(store->root().string() + "/", 0), 0u) << bad << " -> " << p;
  }
  // Nothing was written next to the site directory.
  int outside = 0;
  for (auto& e : std::filesystem::directory_iterator(base)) {
    if (e.path() != root) outside++;
  }
  EXPECT_EQ(outside, 0);
  std::filesystem::remove_all(base);
}

TEST(LocalObjectStoreTest, PrefixConflictIsAClearError) {
  auto root = FreshDir("conf");
  auto store = LocalObjectStore::Make("aws", root).value();
  StringSource a("a");
  ASSERT_TRUE(store->Put("demo/a", a, {}).ok());
  StringSource b("b");
  auto r = store->Put("demo/a/b", b, {});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kFailedPrecondition) << r.status().ToString();
  EXPECT_NE(r.status().message().find("aws"), std::string::npos);
  std::filesystem::remove_all(root);
}

TEST(LocalObjectStoreTest, EmptyDirectoriesAreRemovedOnDelete) {
  auto root = FreshDir("rm");
  auto store = LocalObjectStore::Make("aws", root).value();
  StringSource a("a");
  ASSERT_TRUE(store->Put("demo/x/y/z@1", a, {}).ok());
  ASSERT_TRUE(store->Delete("demo/x/y/z@1").ok());
  EXPECT_FALSE(std::filesystem::exists(root / "demo"));
  std::filesystem::remove_all(root);
}

// Serves a string in pieces of irregular sizes (the way a network or a chunked stream does).
class JaggedSource final : public ByteSource {
 public:
  explicit JaggedSource(std::string data) : data_(std::move(data)) {}
  Result<size_t> Read(char* buf, size_t n) override {
    static constexpr size_t kPieces[] = {1, 4095, 7, (1 << 20) + 13, 4096, 65537, 3 << 20};
    size_t k = std::min({n, data_.size() - pos_, kPieces[i_++ % std::size(kPieces)]});
    std::memcpy(buf, data_.data() + pos_, k);
    pos_ += k;
    return k;
  }

 private:
  std::string data_;
  size_t pos_ = 0;
  size_t i_ = 0;
};

// Writes are handed to the disk in pieces while the file grows (early writeback): every size
// around block, chunk and writeback boundaries, fed in irregular pieces, must come back byte for
// byte with the checksum of those bytes, and leave no temp file behind.
TEST(LocalObjectStoreTest, AnySizeInAnyPiecesIsStoredExactly) {
  auto root = FreshDir("sizes");
  auto store = LocalObjectStore::Make("aws", root).value();
  for (size_t size :
       {size_t{0}, size_t{1}, size_t{4095}, size_t{4096}, size_t{4097}, size_t{(1 << 20) - 1},
        size_t{(8 << 20) - 1}, size_t{8 << 20}, size_t{(8 << 20) + 4097}, size_t{(17 << 20) + 5}}) {
    SCOPED_TRACE(size);
    std::string data(size, '\0');
    uint64_t x = size * 2654435761u + 1;
    for (char& c : data) {
      x = x * 6364136223846793005ull + 1442695040888963407ull;
      c = static_cast<char>(x >> 56);
    }
    JaggedSource src(data);
    PutOptions o;
    o.size = static_cast<int64_t>(size);
    o.expected_sha256 = Sha256::Hex(data);
    auto put = store->Put("obj@" + std::to_string(size), src, o);
    ASSERT_TRUE(put.ok()) << put.status().ToString();
    EXPECT_EQ(put->size, static_cast<int64_t>(size));
    EXPECT_EQ(put->sha256, o.expected_sha256);
    EXPECT_EQ(put->md5, Md5::Hex(data));
    auto got = store->Get("obj@" + std::to_string(size), std::nullopt);
    ASSERT_TRUE(got.ok()) << got.status().ToString();
    auto back = ReadAll(**got);
    ASSERT_TRUE(back.ok()) << back.status().ToString();
    EXPECT_TRUE(*back == data) << "the stored bytes differ";
    EXPECT_EQ(std::filesystem::file_size(store->PathOf("obj@" + std::to_string(size))), size);
  }
  // Nothing is left in the temp directory.
  size_t left = 0;
  for (const auto& e : std::filesystem::directory_iterator(root / ".dim-tmp")) {
    if (e.is_regular_file()) ++left;
  }
  EXPECT_EQ(left, 0u);
  std::filesystem::remove_all(root);
}

TEST(LocalObjectStoreTest, GetWithInfoFailsTheEndOfAReadWhoseFileChanged) {
  auto root = FreshDir("gwi");
  auto store = LocalObjectStore::Make("aws", root).value();
  auto put = [&](const std::string& blob, const std::string& data) {
    StringSource s(data);
    ASSERT_TRUE(store->Put(blob, s, {}).ok());
  };
  auto read_after = [&](const std::string& blob, const std::function<void()>& meanwhile) {
    auto r = store->GetWithInfo(blob);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    if (!r.ok()) return Status(r.status());
    meanwhile();
    return ReadAll(*r->body).status();
  };
  put("a@1", "0123456789");
  // Unchanged: the bytes, then the end.
  EXPECT_TRUE(read_after("a@1", [] {}).ok());
  // Appended to in place (a growing file).
  Status s =
      read_after("a@1", [&] { std::ofstream(store->PathOf("a@1"), std::ios::app) << "more"; });
  EXPECT_EQ(s.code(), StatusCode::kFailedPrecondition) << s.ToString();
  EXPECT_NE(s.message().find("changed (10 -> 14 bytes) while it was being read"), std::string::npos)
      << s.ToString();
  EXPECT_NE(s.message().find("site aws"), std::string::npos) << s.ToString();
  // Replaced by another put, and removed.
  put("b@1", "first");
  s = read_after("b@1", [&] { put("b@1", "other"); });
  EXPECT_EQ(s.code(), StatusCode::kFailedPrecondition) << s.ToString();
  EXPECT_NE(s.message().find("was replaced"), std::string::npos) << s.ToString();
  put("c@1", "gone soon");
  s = read_after("c@1", [&] { ASSERT_TRUE(store->Delete("c@1").ok()); });
  EXPECT_EQ(s.code(), StatusCode::kFailedPrecondition) << s.ToString();
  EXPECT_NE(s.message().find("disappeared"), std::string::npos) << s.ToString();
  std::filesystem::remove_all(root);
}

TEST(SiteRegistryTest, BuildsLocalSitesUnderDataDir) {
  Config c;
  c.data_dir = FreshDir("reg").string();
  c.sites = DefaultSites();
  auto reg = MakeSiteRegistry(c);
  ASSERT_TRUE(reg.ok()) << reg.status().ToString();
  ASSERT_NE(reg->Find("aws"), nullptr);
  EXPECT_EQ(reg->Find("nope"), nullptr);
  EXPECT_TRUE(std::filesystem::is_directory(std::filesystem::path(c.data_dir) / "sites" / "azure"));
  SiteConfig s3;
  s3.name = "x";
  s3.type = "nosuch";
  EXPECT_EQ(MakeObjectStore(s3, c.data_dir).status().code(), StatusCode::kUnimplemented);
  std::filesystem::remove_all(c.data_dir);
}

}  // namespace
}  // namespace dim
