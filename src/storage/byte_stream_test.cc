#include "storage/byte_stream.h"

#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <utility>

namespace dim {
namespace {

// The pattern as first specified: one byte at a time, eight per xorshift64 step, least
// significant byte first. Data written by older builds and the tests' expectations depend on it.
std::string ReferencePattern(size_t size, uint64_t seed) {
  uint64_t state = seed | 1;
  std::string out;
  int used = 8;
  for (size_t i = 0; i < size; ++i) {
    if (used == 8) {
      state ^= state << 13;
      state ^= state >> 7;
      state ^= state << 17;
      used = 0;
    }
    out.push_back(static_cast<char>(state >> (8 * used++)));
  }
  return out;
}

TEST(PatternSourceTest, SameBytesWhateverTheReadSizes) {
  const size_t size = 100003;
  const std::string want = ReferencePattern(size, 42);
  for (size_t chunk :
       {size_t{1}, size_t{3}, size_t{7}, size_t{8}, size_t{13}, size_t{4096}, size_t{1} << 20}) {
    PatternSource src(static_cast<int64_t>(size), 42);
    std::string got;
    std::string buf(chunk, '\0');
    for (size_t round = 0;; ++round) {
      // Vary the request size too, so reads start at every offset within a step.
      size_t want_n = chunk > 1 ? 1 + (round * 5) % chunk : 1;
      auto r = src.Read(buf.data(), want_n);
      ASSERT_TRUE(r.ok());
      if (*r == 0) break;
      got.append(buf.data(), *r);
    }
    EXPECT_EQ(got.size(), size) << "chunk " << chunk;
    EXPECT_TRUE(got == want) << "chunk " << chunk;
  }
  PatternSource other(16, 44);  // (42 and 43 are the same seed: seed | 1)
  auto all = ReadAll(other);
  ASSERT_TRUE(all.ok());
  EXPECT_NE(*all, want.substr(0, 16));
}

// Reads `src` in `chunk`-byte reads; returns the bytes served before the end or the first error.
std::pair<std::string, Status> Consume(ByteSource& src, size_t chunk) {
  std::string got, buf(chunk, '\0');
  for (;;) {
    auto r = src.Read(buf.data(), chunk);
    if (!r.ok()) return {got, r.status()};
    if (*r == 0) return {got, Status::OK()};
    got.append(buf.data(), *r);
  }
}

TEST(HoldbackVerifyingSourceTest, ServesTheBytesWhenTheyVerify) {
  const std::string data = ReferencePattern(10000, 7);
  StringSource inner(data);
  HoldbackVerifyingSource v(inner, 10000, Sha256::Hex(data), "site s: put b");
  auto [got, st] = Consume(v, 333);
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_TRUE(got == data);
  EXPECT_TRUE(v.verified());
  EXPECT_EQ(v.sha256_hex(), Sha256::Hex(data));
  EXPECT_EQ(v.md5_hex(), Md5::Hex(data));
  EXPECT_EQ(v.bytes(), 10000);
  EXPECT_TRUE(v.Finish().ok());
}

TEST(HoldbackVerifyingSourceTest, TheReadThatWouldCompleteABadBodyFailsInstead) {
  const std::string data = ReferencePattern(10000, 7);
  std::string corrupt = data;
  corrupt[5000] ^= 1;
  for (size_t chunk : {size_t{1}, size_t{333}, size_t{4096}, size_t{1} << 20}) {
    StringSource inner(corrupt);
    HoldbackVerifyingSource v(inner, 10000, Sha256::Hex(data), "site s: put b");
    auto [got, st] = Consume(v, chunk);
    EXPECT_EQ(st.code(), StatusCode::kDataLoss) << st.ToString();
    EXPECT_NE(st.message().find("site s: put b: sha256"), std::string::npos) << st.ToString();
    EXPECT_LT(got.size(), data.size()) << "chunk " << chunk;  // the last bytes never went out
    EXPECT_FALSE(v.verified());
    EXPECT_EQ(v.Finish().code(), StatusCode::kDataLoss);
  }
}

TEST(HoldbackVerifyingSourceTest, SpoilingCompletesTheBodyWithBytesThatCannotVerify) {
  const std::string data = ReferencePattern(10000, 7);
  std::string corrupt = data;
  corrupt[5000] ^= 1;
  for (size_t chunk : {size_t{1}, size_t{333}, size_t{1} << 20}) {
    StringSource inner(corrupt);
    HoldbackVerifyingSource v(inner, 10000, Sha256::Hex(data), "w", /*spoil=*/true);
    auto [got, st] = Consume(v, chunk);
    ASSERT_TRUE(st.ok()) << st.ToString();
    ASSERT_EQ(got.size(), data.size());
    EXPECT_NE(Sha256::Hex(got), Sha256::Hex(data));
    EXPECT_NE(got, corrupt);  // the last read was spoiled too
    EXPECT_EQ(v.failure().code(), StatusCode::kDataLoss);
    EXPECT_FALSE(v.verified());
  }
  // A short source is padded to the size; a good one is served as it is.
  StringSource short_src(data.substr(0, 4000));
  HoldbackVerifyingSource s(short_src, 10000, Sha256::Hex(data), "w", true);
  auto [padded, st2] = Consume(s, 1024);
  ASSERT_TRUE(st2.ok());
  EXPECT_EQ(padded.size(), 10000u);
  EXPECT_NE(s.failure().message().find("ended after 4000 of 10000"), std::string::npos);
  StringSource good(data);
  HoldbackVerifyingSource g(good, 10000, Sha256::Hex(data), "w", true);
  auto [same, st3] = Consume(g, 4096);
  ASSERT_TRUE(st3.ok());
  EXPECT_TRUE(same == data);
  EXPECT_TRUE(g.failure().ok());
  EXPECT_TRUE(g.verified());
  EXPECT_EQ(g.md5_hex(), Md5::Hex(data));
  // Without MD5: SHA-256 only.
  StringSource good2(data);
  HoldbackVerifyingSource n(good2, 10000, Sha256::Hex(data), "w", true, /*md5=*/false);
  ASSERT_TRUE(Consume(n, 4096).second.ok());
  EXPECT_TRUE(n.verified());
  EXPECT_EQ(n.sha256_hex(), Sha256::Hex(data));
  EXPECT_EQ(n.md5_hex(), "");
}

TEST(HoldbackVerifyingSourceTest, ShortLongAndFailingSourcesNeverComplete) {
  const std::string data = ReferencePattern(1000, 9);
  {
    StringSource inner(data.substr(0, 999));  // short
    HoldbackVerifyingSource v(inner, 1000, "", "w");
    auto [got, st] = Consume(v, 100);
    EXPECT_EQ(st.code(), StatusCode::kDataLoss);
    EXPECT_NE(st.message().find("ended after 999 of 1000"), std::string::npos) << st.ToString();
  }
  {
    StringSource inner(data + "x");  // long
    HoldbackVerifyingSource v(inner, 1000, "", "w");
    auto [got, st] = Consume(v, 100);
    EXPECT_EQ(st.code(), StatusCode::kDataLoss);
    EXPECT_NE(st.message().find("longer than the 1000 bytes"), std::string::npos) << st.ToString();
    EXPECT_EQ(got.size(), 900u);
  }
  {
    class Failing final : public ByteSource {
     public:
      Result<size_t> Read(char* buf, size_t n) override {
        if (served_ >= 500) return Status::Unavailable("disk gone");
        size_t k = std::min<size_t>(n, 500 - served_);
        std::memset(buf, 'a', k);
        served_ += k;
        return k;
      }
      size_t served_ = 0;
    } inner;
    HoldbackVerifyingSource v(inner, 1000, "", "w");
    auto [got, st] = Consume(v, 100);
    EXPECT_EQ(st.code(), StatusCode::kUnavailable);  // the source's own error, as is
    EXPECT_EQ(got.size(), 500u);
  }
  {
    StringSource inner("");  // empty: verified by Finish (nothing to read)
    HoldbackVerifyingSource v(inner, 0, Sha256::Hex(""), "w");
    EXPECT_TRUE(v.Finish().ok());
    EXPECT_TRUE(v.verified());
  }
}

}  // namespace
}  // namespace dim
