#include "core/object_key.h"

#include <gtest/gtest.h>

namespace dim {
namespace {

TEST(ObjectKeyTest, ParseSplitsAtFirstSlash) {
  auto k = ObjectKey::Parse("demo/logs/app.log");
  ASSERT_TRUE(k.ok());
  EXPECT_EQ(k->bucket, "demo");
  EXPECT_EQ(k->key, "logs/app.log");
  EXPECT_EQ(k->Full(), "demo/logs/app.log");
}

TEST(ObjectKeyTest, RejectsEscapesAndGarbage) {
  EXPECT_FALSE(ObjectKey::Parse("nobucket").ok());
  EXPECT_FALSE(ObjectKey::Parse("demo/").ok());
  EXPECT_FALSE(ObjectKey::Parse("demo/../etc/passwd").ok());
  EXPECT_FALSE(ObjectKey::Parse("demo/a/./b").ok());
  EXPECT_FALSE(ObjectKey::Parse("demo/a/..").ok());
  EXPECT_FALSE(ObjectKey::Parse(std::string("demo/a\0b", 8)).ok());
  EXPECT_FALSE(ObjectKey::Parse("demo/a\nb").ok());
  EXPECT_FALSE(ObjectKey::Parse("demo/\xff\xfe").ok());        // not UTF-8
  EXPECT_FALSE(ObjectKey::Parse("demo/\xc0\xaf").ok());        // overlong '/'
  EXPECT_FALSE(ObjectKey::Parse("demo/\xed\xa0\x80").ok());    // surrogate
  EXPECT_FALSE(ObjectKey::Parse("UPPER/x").ok());
  EXPECT_FALSE(ObjectKey::Parse("ab/x").ok());
  EXPECT_TRUE(ObjectKey::Parse("demo/..hidden/x..y/...").ok());
  EXPECT_TRUE(ObjectKey::Parse("demo/a//b").ok());
}

TEST(ObjectKeyTest, KeyLengthLimitCountsBytes) {
  std::string k;
  while (k.size() + 3 <= 1024) k += "\xe2\x82\xac";  // 3-byte euro sign
  while (k.size() < 1024) k += "a";
  EXPECT_TRUE(ValidateObjectKey(k).ok());
  EXPECT_FALSE(ValidateObjectKey(k + "a").ok());
}

TEST(ObjectKeyTest, GenerationsAreUniqueAndOrdered) {
  auto a = NewGeneration(1000), b = NewGeneration(1000), c = NewGeneration(2000);
  EXPECT_EQ(a.size(), 16u);
  EXPECT_NE(a, b);
  EXPECT_LT(a, c);
  EXPECT_EQ(BlobName({"demo", "x/y"}, a), "demo/x/y@" + a);
}

}  // namespace
}  // namespace dim
