#include "storage/local_path_codec.h"

#include <gtest/gtest.h>

#include <random>

namespace dim {
namespace {

TEST(LocalPathCodecTest, ReadableForOrdinaryNames) {
  EXPECT_EQ(EncodeBlobPath("demo/logs/app.log@0001"), "demo/logs/app.log@0001");
  EXPECT_EQ(EncodeBlobPath("demo/caf\xc3\xa9.txt"), "demo/caf\xc3\xa9.txt");
}

TEST(LocalPathCodecTest, NothingEscapes) {
  for (const std::string& bad : std::vector<std::string>{"../x", "a/../../etc/passwd", "./a", "..", ".", "a/./b", "a//b", "/abs",
                          "a/", std::string("a\0b", 3), "a\\..\\b", "%2E%2E/x", ".dim-tmp/x",
                          // A long segment's pieces are path components too: none may be "..".
                          "x/" + std::string(200, 'a') + "../y", std::string(200, 'a') + ".",
                          std::string(199, 'a') + "%.." + std::string(300, 'b')}) {
    std::string p = EncodeBlobPath(bad);
    // No component is "." or ".." or empty, and it is relative.
    EXPECT_NE(p.front(), '/') << bad;
    size_t start = 0;
    for (;;) {
      size_t end = p.find('/', start);
      std::string seg = p.substr(start, end == std::string::npos ? std::string::npos : end - start);
      EXPECT_FALSE(seg.empty()) << bad << " -> " << p;
      EXPECT_NE(seg, ".") << bad;
      EXPECT_NE(seg, "..") << bad;
      EXPECT_NE(seg[0], '.') << bad << " -> " << p;
      if (end == std::string::npos) break;
      start = end + 1;
    }
    auto back = DecodeBlobPath(p);
    ASSERT_TRUE(back.has_value()) << bad << " -> " << p;
    EXPECT_EQ(*back, bad);
  }
}

TEST(LocalPathCodecTest, DecodeAcceptsOnlyWhatEncodeProduces) {
  for (const std::string& p : std::vector<std::string>{
           std::string("a\x01b", 3), "a\\b", "%41", "ab%+/cd", "a%2f", "x/%+/y", "a/%+", "%%x", "."}) {
    EXPECT_FALSE(DecodeBlobPath(p).has_value()) << p;
  }
}

TEST(LocalPathCodecTest, LongSegmentsAreChunked) {
  std::string key(1024, 'x');
  std::string p = EncodeBlobPath("demo/" + key);
  size_t start = 0;
  while (start < p.size()) {
    size_t end = p.find('/', start);
    if (end == std::string::npos) end = p.size();
    EXPECT_LE(end - start, 202u);
    start = end + 1;
  }
  EXPECT_EQ(DecodeBlobPath(p).value(), "demo/" + key);
}

TEST(LocalPathCodecTest, RandomRoundTrips) {
  std::mt19937 rng(7);
  const std::string alphabet = std::string("ab./%\\+\x01 \xc3\xa9", 12);
  for (int i = 0; i < 5000; ++i) {
    std::string s;
    int n = 1 + static_cast<int>(rng() % 600);
    for (int k = 0; k < n; ++k) s += alphabet[rng() % alphabet.size()];
    auto back = DecodeBlobPath(EncodeBlobPath(s));
    ASSERT_TRUE(back.has_value()) << s;
    ASSERT_EQ(*back, s);
  }
}

TEST(LocalPathCodecTest, RejectsForeignPaths) {
  EXPECT_FALSE(DecodeBlobPath("a/%G1").has_value());
  EXPECT_FALSE(DecodeBlobPath("a/%+").has_value());
  EXPECT_FALSE(DecodeBlobPath(".hidden").has_value());
  EXPECT_FALSE(DecodeBlobPath("a//b").has_value());
  EXPECT_FALSE(DecodeBlobPath("a/%%x").has_value());
}

}  // namespace
}  // namespace dim
