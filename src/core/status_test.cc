#include "core/status.h"

#include <gtest/gtest.h>

namespace dim {
namespace {

Result<int> Half(int x) {
  if (x % 2) return Status::InvalidArgument("odd: " + std::to_string(x));
  return x / 2;
}

Result<int> Quarter(int x) {
  DIM_ASSIGN_OR_RETURN(int h, Half(x));
  DIM_ASSIGN_OR_RETURN(int q, Half(h));
  return q;
}

TEST(StatusTest, OkAndErrors) {
  EXPECT_TRUE(Status::OK().ok());
  Status s = Status::NotFound("no such object demo/x");
  EXPECT_FALSE(s.ok());
  EXPECT_TRUE(s.IsNotFound());
  EXPECT_EQ(s.ToString(), "NotFound: no such object demo/x");
  EXPECT_EQ(s.WithContext("site aws").message(), "site aws: no such object demo/x");
  EXPECT_TRUE(Status::Unavailable("x").IsRetryable());
  EXPECT_TRUE(Status::ResourceExhausted("x").IsRetryable());
  EXPECT_FALSE(Status::DataLoss("x").IsRetryable());
}

TEST(StatusTest, RetryHintSurvivesContext) {
  Status s = Status::Unavailable("503 SlowDown").WithRetryAfterMs(2000);
  EXPECT_EQ(s.retry_after_ms(), 2000);
  EXPECT_EQ(s.WithContext("site aws").retry_after_ms(), 2000);
  EXPECT_EQ(Status::Unavailable("x").retry_after_ms(), 0);
  EXPECT_EQ(Status::Unavailable("x").WithRetryAfterMs(-5).retry_after_ms(), 0);
  EXPECT_EQ(s, Status::Unavailable("503 SlowDown"));  // the hint is not part of equality
}

TEST(StatusTest, ResultPropagates) {
  EXPECT_EQ(Quarter(8).value(), 2);
  auto r = Quarter(6);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "odd: 3");
  Result<int> bad{Status::OK()};
  EXPECT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), StatusCode::kInternal);
}

}  // namespace
}  // namespace dim
