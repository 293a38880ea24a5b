#include "core/utc_time.h"

#include <gtest/gtest.h>

namespace dim {
namespace {

TEST(UtcTimeTest, FormatUtcFormatsMillisecondsSinceTheEpoch) {
  const int64_t ms = 1'735'732'800'123;  // 2025-01-01 12:00:00.123 UTC
  EXPECT_EQ(FormatUtc(ms, "%Y-%m-%dT%H:%M:%SZ"), "2025-01-01T12:00:00Z");
  EXPECT_EQ(FormatUtc(ms, "%Y%m%dT%H%M%SZ"), "20250101T120000Z");
  EXPECT_EQ(FormatUtc(0, "%Y-%m-%d %H:%M:%S UTC"), "1970-01-01 00:00:00 UTC");
}

}  // namespace
}  // namespace dim
