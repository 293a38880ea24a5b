#include "core/checksum.h"

#include <gtest/gtest.h>

namespace dim {
namespace {

TEST(ChecksumTest, KnownVectors) {
  EXPECT_EQ(Sha256::Hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(Sha256::Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(Md5::Hex("abc"), "900150983cd24fb0d6963f7d28e17f72");
}

TEST(ChecksumTest, StreamingEqualsOneShot) {
  std::string data(1 << 20, '\0');
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>(i * 31 + 7);
  Sha256 h;
  for (size_t off = 0; off < data.size(); off += 4093) {
    h.Update(data.data() + off, std::min<size_t>(4093, data.size() - off));
  }
  EXPECT_EQ(h.bytes(), data.size());
  EXPECT_EQ(h.FinishHex(), Sha256::Hex(data));
  // Reusable after Finish.
  h.Update("abc");
  EXPECT_EQ(h.FinishHex(), Sha256::Hex("abc"));
}

TEST(ChecksumTest, HexAndBase64RoundTripAndRejectGarbage) {
  std::string raw = "\x00\x01\xfe\xff hello";
  std::string back;
  ASSERT_TRUE(HexDecode(HexEncode(raw), &back));
  EXPECT_EQ(back, raw);
  EXPECT_FALSE(HexDecode("abc", &back));
  EXPECT_FALSE(HexDecode("zz", &back));
  for (const std::string& s : std::vector<std::string>{"", "a", "ab", "abc", "abcd", std::string("\0\xff", 2)}) {
    ASSERT_TRUE(Base64Decode(Base64Encode(s), &back)) << s;
    EXPECT_EQ(back, s);
  }
  EXPECT_FALSE(Base64Decode("abc", &back));
  EXPECT_FALSE(Base64Decode("ab!d", &back));
  EXPECT_FALSE(Base64Decode("a=bc", &back));
}

TEST(ChecksumTest, HmacSha256Rfc4231Case2) {
  EXPECT_EQ(HexEncode(HmacSha256("Jefe", "what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

TEST(ChecksumTest, RandomHexIsFreshEachTime) {
  auto a = RandomHex(16), b = RandomHex(16);
  EXPECT_EQ(a.size(), 32u);
  EXPECT_NE(a, b);
}

}  // namespace
}  // namespace dim
