#include "storage/byte_stream.h"

#include <gtest/gtest.h>

#include <string>

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

}  // namespace
}  // namespace dim
