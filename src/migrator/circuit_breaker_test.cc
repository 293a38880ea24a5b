#include "migrator/circuit_breaker.h"

#include <gtest/gtest.h>

namespace dim {
namespace {

using Permit = CircuitBreaker::Permit;
using Transition = CircuitBreaker::Transition;

TEST(CircuitBreakerTest, OpensAfterConsecutiveFailuresThenProbes) {
  VirtualClock clock;
  CircuitBreaker b("aws", {3, 1000}, clock);
  // Failures interrupted by a success do not open it.
  EXPECT_EQ(b.OnFailure(b.Acquire(), "x"), Transition::kNone);
  EXPECT_EQ(b.OnFailure(b.Acquire(), "x"), Transition::kNone);
  EXPECT_EQ(b.OnSuccess(b.Acquire()), Transition::kNone);
  EXPECT_EQ(b.OnFailure(b.Acquire(), "x"), Transition::kNone);
  EXPECT_EQ(b.OnFailure(b.Acquire(), "x"), Transition::kNone);
  EXPECT_EQ(b.OnFailure(b.Acquire(), "503 SlowDown"), Transition::kOpened);
  EXPECT_EQ(b.snapshot().state, CircuitState::kOpen);
  EXPECT_EQ(b.snapshot().last_error, "503 SlowDown");
  EXPECT_EQ(b.snapshot().opens, 1);
  // Open: nothing goes through until the wait is over.
  EXPECT_FALSE(b.WouldAllow());
  EXPECT_EQ(b.Acquire(), Permit::kDenied);
  EXPECT_EQ(b.RetryAtMs(), clock.NowMs() + 1000);
  clock.AdvanceMs(1000);
  EXPECT_TRUE(b.WouldAllow());
  // Half-open: exactly one probe.
  EXPECT_EQ(b.Acquire(), Permit::kProbe);
  EXPECT_EQ(b.snapshot().state, CircuitState::kHalfOpen);
  EXPECT_FALSE(b.WouldAllow());
  EXPECT_EQ(b.Acquire(), Permit::kDenied);
  // The probe fails: open again for another wait.
  EXPECT_EQ(b.OnFailure(Permit::kProbe, "still down"), Transition::kReopened);
  EXPECT_EQ(b.Acquire(), Permit::kDenied);
  clock.AdvanceMs(999);
  EXPECT_EQ(b.Acquire(), Permit::kDenied);
  clock.AdvanceMs(1);
  auto p = b.Acquire();
  ASSERT_EQ(p, Permit::kProbe);
  // The probe succeeds: closed, counting from zero.
  EXPECT_EQ(b.OnSuccess(p), Transition::kClosed);
  EXPECT_EQ(b.snapshot().state, CircuitState::kClosed);
  EXPECT_EQ(b.Acquire(), Permit::kNormal);
  EXPECT_EQ(b.Acquire(), Permit::kNormal);
  EXPECT_EQ(b.snapshot().opens, 1);
}

TEST(CircuitBreakerTest, NeutralProbeLetsAnotherProbeGo) {
  VirtualClock clock;
  CircuitBreaker b("s3", {1, 10}, clock);
  EXPECT_EQ(b.OnFailure(b.Acquire(), "x"), Transition::kOpened);
  clock.AdvanceMs(10);
  auto p = b.Acquire();
  ASSERT_EQ(p, Permit::kProbe);
  b.OnNeutral(p);  // e.g. the probe's data was corrupt: says nothing about availability
  EXPECT_EQ(b.snapshot().state, CircuitState::kHalfOpen);
  EXPECT_EQ(b.Acquire(), Permit::kProbe);
}

TEST(CircuitBreakerTest, LateOutcomesOfCallsStartedWhileClosedChangeNothing) {
  VirtualClock clock;
  CircuitBreaker b("az", {2, 100}, clock);
  auto early1 = b.Acquire(), early2 = b.Acquire(), early3 = b.Acquire();
  EXPECT_EQ(b.OnFailure(early1, "x"), Transition::kNone);
  EXPECT_EQ(b.OnFailure(early2, "x"), Transition::kOpened);
  // A call that began before the circuit opened neither closes nor re-opens it.
  EXPECT_EQ(b.OnSuccess(early3), Transition::kNone);
  EXPECT_EQ(b.snapshot().state, CircuitState::kOpen);
  EXPECT_EQ(b.OnFailure(early3, "x"), Transition::kNone);
  EXPECT_EQ(b.snapshot().opens, 1);
}

}  // namespace
}  // namespace dim
