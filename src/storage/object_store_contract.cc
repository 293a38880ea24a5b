#include "storage/object_store_contract.h"

#include <fstream>
#include <set>

#include "core/checksum.h"

namespace dim {

void ObjectStoreContract::SetUp() {
  store_ = GetParam().make();
  ASSERT_NE(store_, nullptr);
}

int64_t PeakRssBytes() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmHWM:", 0) == 0) return std::stoll(line.substr(6)) * 1024;
  }
  return -1;
}

void ResetPeakRss() {
  std::ofstream out("/proc/self/clear_refs");
  out << "5";
}

namespace {

std::string Get(ObjectStore& s, const std::string& blob, std::optional<ByteRange> r = std::nullopt) {
  auto src = s.Get(blob, r);
  if (!src.ok()) return "ERROR " + src.status().ToString();
  auto all = ReadAll(**src);
  return all.ok() ? *all : "ERROR " + all.status().ToString();
}

PutResult Put(ObjectStore& s, const std::string& blob, const std::string& data) {
  StringSource src(data);
  PutOptions o;
  o.size = static_cast<int64_t>(data.size());
  auto r = s.Put(blob, src, o);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.ok() ? *r : PutResult{};
}

}  // namespace

TEST_P(ObjectStoreContract, PutGetHeadDelete) {
  auto pr = Put(*store_, "demo/a.txt@1", "hello world");
  EXPECT_EQ(pr.size, 11);
  EXPECT_EQ(pr.sha256, Sha256::Hex("hello world"));
  EXPECT_EQ(pr.md5, Md5::Hex("hello world"));
  EXPECT_EQ(Get(*store_, "demo/a.txt@1"), "hello world");
  auto h = store_->Head("demo/a.txt@1");
  ASSERT_TRUE(h.ok() && h->has_value()) << h.status().ToString();
  EXPECT_EQ((*h)->size, 11);
  ASSERT_TRUE(store_->Delete("demo/a.txt@1").ok());
  EXPECT_FALSE(store_->Head("demo/a.txt@1")->has_value());
  EXPECT_TRUE(store_->Delete("demo/a.txt@1").ok());  // idempotent
}

TEST_P(ObjectStoreContract, MissingBlobs) {
  auto h = store_->Head("demo/none@1");
  ASSERT_TRUE(h.ok()) << h.status().ToString();
  EXPECT_FALSE(h->has_value());
  auto g = store_->Get("demo/none@1");
  ASSERT_FALSE(g.ok());
  EXPECT_TRUE(g.status().IsNotFound()) << g.status().ToString();
  EXPECT_NE(g.status().message().find(store_->name()), std::string::npos) << g.status().ToString();
}

TEST_P(ObjectStoreContract, RangedGet) {
  Put(*store_, "demo/r@1", "0123456789");
  EXPECT_EQ(Get(*store_, "demo/r@1", ByteRange{2, 3}), "234");
  EXPECT_EQ(Get(*store_, "demo/r@1", ByteRange{7, -1}), "789");
  EXPECT_EQ(Get(*store_, "demo/r@1", ByteRange{8, 100}), "89");
  auto past = store_->Get("demo/r@1", ByteRange{10, 5});
  ASSERT_FALSE(past.ok());
  EXPECT_EQ(past.status().code(), StatusCode::kOutOfRange) << past.status().ToString();
}

TEST_P(ObjectStoreContract, OverwriteReplacesWhole) {
  Put(*store_, "demo/o@1", std::string(100000, 'a'));
  Put(*store_, "demo/o@1", "short");
  EXPECT_EQ(Get(*store_, "demo/o@1"), "short");
}

TEST_P(ObjectStoreContract, ExpectedChecksumMismatchWritesNothing) {
  StringSource src("payload");
  PutOptions o;
  o.expected_sha256 = Sha256::Hex("something else");
  auto r = store_->Put("demo/c@1", src, o);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kDataLoss) << r.status().ToString();
  EXPECT_FALSE(store_->Head("demo/c@1")->has_value());
}

TEST_P(ObjectStoreContract, ListWithPrefixAndPagination) {
  std::set<std::string> names;
  for (int i = 0; i < 7; ++i) {
    std::string n = "demo/logs/f" + std::to_string(i) + "@1";
    Put(*store_, n, "x");
    names.insert(n);
  }
  Put(*store_, "demo/img/p@1", "x");
  Put(*store_, "other/logs/q@1", "x");
  std::set<std::string> seen;
  std::string token;
  int pages = 0;
  do {
    auto page = store_->List("demo/logs/", token, 3);
    ASSERT_TRUE(page.ok()) << page.status().ToString();
    EXPECT_LE(page->items.size(), 3u);
    for (auto& i : page->items) {
      EXPECT_TRUE(seen.insert(i.name).second) << "listed twice: " << i.name;
    }
    token = page->next_token;
    ASSERT_LT(++pages, 10);
  } while (!token.empty());
  EXPECT_EQ(seen, names);
  EXPECT_GE(pages, 3);
}

TEST_P(ObjectStoreContract, UnicodeAndOddNames) {
  std::vector<std::string> names = {"demo/caf\xc3\xa9/\xe6\x97\xa5\xe6\x9c\xac.txt@1",
                                    "demo/with space/and+plus=eq&amp@1",
                                    "demo/percent%20literal@1", "demo/a//double@1",
                                    "demo/" + std::string(1000, 'k') + "@1"};
  for (auto& n : names) {
    Put(*store_, n, n);
    EXPECT_EQ(Get(*store_, n), n) << n;
  }
  auto page = store_->List("demo/", "", 1000);
  ASSERT_TRUE(page.ok());
  std::set<std::string> listed;
  for (auto& i : page->items) listed.insert(i.name);
  for (auto& n : names) EXPECT_TRUE(listed.count(n)) << n;
}

TEST_P(ObjectStoreContract, Multipart) {
  auto up = store_->CreateMultipart("demo/mp@1", {});
  ASSERT_TRUE(up.ok()) << up.status().ToString();
  std::string p1(5 << 20, 'a'), p2(5 << 20, 'b'), p3 = "tail";
  std::vector<CompletedPart> parts;
  int n = 1;
  for (auto* p : {&p1, &p2, &p3}) {
    StringSource src(*p);
    auto r = store_->UploadPart("demo/mp@1", *up, n, src, static_cast<int64_t>(p->size()));
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_EQ(r->md5, Md5::Hex(*p));
    parts.push_back({n, r->md5});
    ++n;
  }
  auto done = store_->CompleteMultipart("demo/mp@1", *up, parts);
  ASSERT_TRUE(done.ok()) << done.status().ToString();
  std::string raw1, raw2, raw3;
  HexDecode(Md5::Hex(p1), &raw1);
  HexDecode(Md5::Hex(p2), &raw2);
  HexDecode(Md5::Hex(p3), &raw3);
  EXPECT_EQ(done->md5, Md5::Hex(raw1 + raw2 + raw3) + "-3");
  EXPECT_EQ(done->size, static_cast<int64_t>(p1.size() + p2.size() + p3.size()));
  auto whole = Get(*store_, "demo/mp@1");
  EXPECT_EQ(Sha256::Hex(whole), Sha256::Hex(p1 + p2 + p3));

  auto up2 = store_->CreateMultipart("demo/mp2@1", {});
  ASSERT_TRUE(up2.ok());
  ASSERT_TRUE(store_->AbortMultipart("demo/mp2@1", *up2).ok());
  EXPECT_FALSE(store_->Head("demo/mp2@1")->has_value());
  StringSource src("x");
  EXPECT_FALSE(store_->UploadPart("demo/mp2@1", *up2, 1, src, 1).ok());
}

TEST_P(ObjectStoreContract, LargeObjectStreamsInBoundedMemory) {
  const int64_t size = GetParam().large_object_bytes;
  PatternSource gen(size, 42);
  HashingSource hashing(gen);
  ResetPeakRss();
  int64_t before = PeakRssBytes();
  PutOptions o;
  o.size = size;
  auto put = store_->Put("demo/big@1", hashing, o);
  ASSERT_TRUE(put.ok()) << put.status().ToString();
  std::string want = hashing.Sha256Hex();
  EXPECT_EQ(put->sha256, want);
  auto src = store_->Get("demo/big@1");
  ASSERT_TRUE(src.ok());
  Sha256 got;
  int64_t n = 0;
  ASSERT_TRUE(Drain(**src, [&](std::string_view chunk) {
                got.Update(chunk);
                n += static_cast<int64_t>(chunk.size());
                return Status::OK();
              }).ok());
  EXPECT_EQ(n, size);
  EXPECT_EQ(got.FinishHex(), want);
  int64_t growth = PeakRssBytes() - before;
  EXPECT_LT(growth, 64ll << 20) << "peak RSS grew by " << growth << " bytes";
  ASSERT_TRUE(store_->Delete("demo/big@1").ok());
}

}  // namespace dim
