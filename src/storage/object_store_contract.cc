#include "storage/object_store_contract.h"

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <iostream>
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

// How the migrator writes a copy: it relies on the SHA-256 the backend computes of the bytes it
// takes (PutResult::sha256, checked against expected_sha256), and does not need the MD5.
TEST_P(ObjectStoreContract, PutReportsTheChecksumOfTheBytesTakenWithoutMd5) {
  for (int64_t size : {int64_t{0}, int64_t{300000}, int64_t{9} << 20}) {
    SCOPED_TRACE(size);
    PatternSource gen(size, 11);
    std::string bytes = ReadAll(gen).value();
    StringSource src(bytes);
    PutOptions o;
    o.size = size;
    o.expected_sha256 = Sha256::Hex(bytes);
    o.need_md5 = false;
    auto r = store_->Put("demo/nomd5@1", src, o);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_EQ(r->size, size);
    EXPECT_EQ(r->sha256, Sha256::Hex(bytes));
    EXPECT_TRUE(r->md5.empty() || r->md5 == Md5::Hex(bytes) ||
                r->md5.find('-') != std::string::npos)
        << r->md5;
    EXPECT_EQ(Sha256::Hex(Get(*store_, "demo/nomd5@1")), r->sha256);
  }
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
  if (GetParam().truncated_listing_fails) {
    auto truncated = store_->List("demo/logs/", "", 3);
    std::cout << "[ deviation ] " << GetParam().name
              << " cannot answer a truncated listing: " << truncated.status().ToString() << "\n";
    EXPECT_FALSE(truncated.ok());
    auto whole = store_->List("demo/logs/", "", 1000);
    ASSERT_TRUE(whole.ok()) << whole.status().ToString();
    std::set<std::string> listed;
    for (auto& i : whole->items) listed.insert(i.name);
    EXPECT_EQ(listed, names);
    EXPECT_TRUE(whole->next_token.empty());
    return;
  }
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
  std::vector<std::string> all = {"demo/caf\xc3\xa9/\xe6\x97\xa5\xe6\x9c\xac.txt@1",
                                  "demo/with space/and+plus=eq&amp@1",
                                  "demo/percent%20literal@1",
                                  "demo/a//double@1",
                                  "demo/quote\"<xml>&'@1",
                                  "demo/dots/../and/./back@1",
                                  "demo/" + std::string(1000, 'k') + "@1",
                                  "demo/" + std::string(5, 'a') + "/" + std::string(200, 'b') +
                                      "/" + std::string(200, 'c') + "/" + std::string(200, 'd') +
                                      "@1"};
  std::vector<std::string> names;
  for (auto& n : all) {
    size_t longest = 0;
    for (size_t b = 0, e; b <= n.size(); b = e + 1) {
      e = n.find('/', b);
      if (e == std::string::npos) e = n.size();
      longest = std::max(longest, e - b);
    }
    if (GetParam().normalizes_paths &&
        (n.find("//") != std::string::npos || n.find("/./") != std::string::npos ||
         n.find("/../") != std::string::npos)) {
      std::cout << "[ deviation ] " << GetParam().name << " normalizes '//', '/./' and '/../' in "
                << "names; skipping " << n << "\n";
      continue;
    }
    if (GetParam().max_name_component_bytes && longest > GetParam().max_name_component_bytes) {
      std::cout << "[ deviation ] " << GetParam().name << " cannot hold a name component of "
                << longest << " bytes; skipping that one name\n";
      continue;
    }
    names.push_back(n);
  }
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
  StringSource part("abandoned part");
  ASSERT_TRUE(store_->UploadPart("demo/mp2@1", *up2, 1, part, 14).ok());
  Status aborted = store_->AbortMultipart("demo/mp2@1", *up2);
  if (GetParam().abort_multipart_unsupported) {
    std::cout << "[ deviation ] " << GetParam().name
              << " does not implement AbortMultipartUpload: " << aborted.ToString() << "\n";
    EXPECT_EQ(aborted.code(), StatusCode::kUnimplemented) << aborted.ToString();
    EXPECT_FALSE(store_->Head("demo/mp2@1")->has_value());
    return;
  }
  ASSERT_TRUE(aborted.ok()) << aborted.ToString();
  EXPECT_FALSE(store_->Head("demo/mp2@1")->has_value());
  StringSource src("x");
  EXPECT_FALSE(store_->UploadPart("demo/mp2@1", *up2, 1, src, 1).ok());
  // Completing parts that were never uploaded fails, and the blob stays absent.
  auto up3 = store_->CreateMultipart("demo/mp3@1", {});
  ASSERT_TRUE(up3.ok());
  EXPECT_FALSE(store_->CompleteMultipart("demo/mp3@1", *up3, {{1, Md5::Hex("never sent")}}).ok());
  EXPECT_FALSE(store_->Head("demo/mp3@1")->has_value());
}

TEST_P(ObjectStoreContract, HeadReportsSizeEtagAndTime) {
  auto pr = Put(*store_, "demo/h@1", "twelve bytes");
  auto h = store_->Head("demo/h@1");
  ASSERT_TRUE(h.ok() && h->has_value()) << h.status().ToString();
  EXPECT_EQ((*h)->name, "demo/h@1");
  EXPECT_EQ((*h)->size, 12);
  if (!(*h)->etag.empty()) {
    EXPECT_EQ((*h)->etag, Md5::Hex("twelve bytes"));
  }
  // Within a day of now: catches unit mix-ups (seconds vs ms) without trusting clocks closely.
  int64_t now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count();
  EXPECT_LT(std::abs((*h)->mtime_ms - now_ms), 86400000) << (*h)->mtime_ms;
}

TEST_P(ObjectStoreContract, GetWithInfoGivesTheBytesAndWhatHeadSays) {
  PatternSource gen(3 << 20, 11);
  auto pr = store_->Put("demo/gwi@1", gen, PutOptions{});
  ASSERT_TRUE(pr.ok()) << pr.status().ToString();
  auto h = store_->Head("demo/gwi@1");
  ASSERT_TRUE(h.ok() && h->has_value()) << h.status().ToString();
  auto r = store_->GetWithInfo("demo/gwi@1");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->info.name, "demo/gwi@1");
  EXPECT_EQ(r->info.size, 3 << 20);
  EXPECT_EQ(r->info.size, (*h)->size);
  EXPECT_EQ(r->info.mtime_ms, (*h)->mtime_ms);
  EXPECT_EQ(r->info.etag, (*h)->etag);
  auto all = ReadAll(*r->body);
  ASSERT_TRUE(all.ok()) << all.status().ToString();
  EXPECT_EQ(Sha256::Hex(*all), pr->sha256);
  // Missing: NotFound naming the site (GetWithInfo never answers with an empty stream).
  auto missing = store_->GetWithInfo("demo/no-such-blob@1");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound) << missing.status().ToString();
  EXPECT_NE(missing.status().message().find(store_->name()), std::string::npos)
      << missing.status().ToString();
  // Empty blobs too.
  Put(*store_, "demo/gwi-empty@1", "");
  auto e = store_->GetWithInfo("demo/gwi-empty@1");
  ASSERT_TRUE(e.ok()) << e.status().ToString();
  EXPECT_EQ(e->info.size, 0);
  EXPECT_EQ(ReadAll(*e->body).value(), "");
}

TEST_P(ObjectStoreContract, EmptyObjects) {
  auto pr = Put(*store_, "demo/empty@1", "");
  EXPECT_EQ(pr.size, 0);
  EXPECT_EQ(pr.sha256, Sha256::Hex(""));
  EXPECT_EQ(Get(*store_, "demo/empty@1"), "");
  EXPECT_EQ(Get(*store_, "demo/empty@1", ByteRange{0, -1}), "");
  auto h = store_->Head("demo/empty@1");
  ASSERT_TRUE(h.ok() && h->has_value());
  EXPECT_EQ((*h)->size, 0);
  auto past = store_->Get("demo/empty@1", ByteRange{1, 1});
  EXPECT_EQ(past.status().code(), StatusCode::kOutOfRange) << past.status().ToString();
}

TEST_P(ObjectStoreContract, StreamOfUnknownSizeSpanningParts) {
  // 21 MiB with the size not announced: backends that upload in parts must find the end.
  const int64_t size = 21ll << 20;
  PatternSource gen(size, 7);
  HashingSource hashing(gen);
  auto put = store_->Put("demo/unknown@1", hashing, PutOptions{});
  ASSERT_TRUE(put.ok()) << put.status().ToString();
  EXPECT_EQ(put->size, size);
  EXPECT_EQ(put->sha256, hashing.Sha256Hex());
  auto h = store_->Head("demo/unknown@1");
  ASSERT_TRUE(h.ok() && h->has_value());
  EXPECT_EQ((*h)->size, size);
  // A range across a part boundary (8 MiB and 16 MiB are typical part sizes).
  PatternSource again(size, 7);
  std::string whole = ReadAll(again).value();
  EXPECT_EQ(Get(*store_, "demo/unknown@1", ByteRange{(8ll << 20) - 10, 20}),
            whole.substr((8 << 20) - 10, 20));
  EXPECT_EQ(Get(*store_, "demo/unknown@1", ByteRange{(16ll << 20) - 3, 7}),
            whole.substr((16 << 20) - 3, 7));
  EXPECT_EQ(Sha256::Hex(Get(*store_, "demo/unknown@1")), put->sha256);
}

TEST_P(ObjectStoreContract, LargeExpectedChecksumMismatchWritesNothing) {
  PatternSource gen(12ll << 20, 3);
  PutOptions o;
  o.size = 12ll << 20;
  o.expected_sha256 = Sha256::Hex("not these bytes");
  auto r = store_->Put("demo/bigbad@1", gen, o);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kDataLoss) << r.status().ToString();
  EXPECT_FALSE(store_->Head("demo/bigbad@1")->has_value());
  // A stream shorter than announced is refused too.
  PatternSource short_gen(100, 3);
  PutOptions o2;
  o2.size = 200;
  auto r2 = store_->Put("demo/short@1", short_gen, o2);
  ASSERT_FALSE(r2.ok());
  EXPECT_FALSE(store_->Head("demo/short@1")->has_value());
}

TEST_P(ObjectStoreContract, ErrorsNameTheSite) {
  auto g = store_->Get("demo/nothing-here@1");
  ASSERT_FALSE(g.ok());
  EXPECT_NE(g.status().message().find(store_->name()), std::string::npos) << g.status().ToString();
  StringSource one("x");
  auto up = store_->UploadPart("demo/x@1", "0000ffff", 1, one, 1);
  if (!up.ok()) {
    EXPECT_NE(up.status().message().find(store_->name()), std::string::npos)
        << up.status().ToString();
  }
}

TEST_P(ObjectStoreContract, ListingAnEmptyPrefixAndAfterTheEnd) {
  auto page = store_->List("demo/nothing/", "", 10);
  ASSERT_TRUE(page.ok()) << page.status().ToString();
  EXPECT_TRUE(page->items.empty());
  EXPECT_TRUE(page->next_token.empty());
  Put(*store_, "demo/z/a@1", "1");
  Put(*store_, "demo/z/b@1", "2");
  page = store_->List("demo/z/", "demo/z/b@1", 10);
  ASSERT_TRUE(page.ok());
  EXPECT_TRUE(page->items.empty());
  page = store_->List("demo/z/", "", 10);
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->items.size(), 2u);
  EXPECT_EQ(page->items[0].name, "demo/z/a@1");
  EXPECT_EQ(page->items[0].size, 1);
  EXPECT_TRUE(page->next_token.empty());
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
