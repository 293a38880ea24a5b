#include "stream/sliding_window.h"

#include <gtest/gtest.h>

#include <random>

namespace dim {
namespace {

constexpr int64_t kMin = 60'000;
constexpr int64_t kHour = 3'600'000;
constexpr int64_t kT0 = 1'700'000'000'000 - (1'700'000'000'000 % kHour);  // an hour boundary

TEST(SlidingWindowsTest, CountsSlideOut) {
  SlidingWindows w;
  w.Add(kT0, 3);
  w.Add(kT0 + 30 * kMin, 2);
  EXPECT_EQ(w.Count1h(kT0 + 30 * kMin), 5);
  EXPECT_EQ(w.Count1h(kT0 + 59 * kMin), 5);
  EXPECT_EQ(w.Count1h(kT0 + 60 * kMin), 2);  // minute kT0 left the hour
  EXPECT_EQ(w.Count1h(kT0 + 90 * kMin), 0);
  EXPECT_EQ(w.Count24h(kT0 + 90 * kMin), 5);
  EXPECT_EQ(w.Count24h(kT0 + 24 * kHour), 0);
  EXPECT_EQ(w.Count7d(kT0 + 24 * kHour), 5);
  EXPECT_EQ(w.Count7d(kT0 + 168 * kHour), 0);
}

TEST(SlidingWindowsTest, OutOfOrderAndPrune) {
  SlidingWindows w;
  w.Add(kT0 + 10 * kMin);
  w.Add(kT0);
  w.Add(kT0 - 200 * kHour);  // long gone
  EXPECT_EQ(w.Count1h(kT0 + 10 * kMin), 2);
  w.Prune(kT0 + 10 * kMin);
  EXPECT_EQ(w.Count7d(kT0 + 10 * kMin), 2);
  w.Prune(kT0 + 200 * kHour);
  EXPECT_TRUE(w.empty());
}

TEST(SlidingWindowsTest, MatchesBruteForce) {
  std::mt19937_64 rng(3);
  SlidingWindows w;
  std::vector<int64_t> ts;
  for (int i = 0; i < 3000; ++i) {
    int64_t t = kT0 + static_cast<int64_t>(rng() % (200 * kHour));
    ts.push_back(t);
    w.Add(t);
  }
  for (int probe = 0; probe < 50; ++probe) {
    int64_t now = kT0 + static_cast<int64_t>(rng() % (210 * kHour));
    int64_t m = now / kMin, h = now / kHour;
    int64_t c1 = 0, c24 = 0, c7 = 0;
    for (int64_t t : ts) {
      if (t / kMin <= m && t / kMin > m - 60) c1++;
      if (t / kHour <= h && t / kHour > h - 24) c24++;
      if (t / kHour <= h && t / kHour > h - 168) c7++;
    }
    EXPECT_EQ(w.Count1h(now), c1);
    EXPECT_EQ(w.Count24h(now), c24);
    EXPECT_EQ(w.Count7d(now), c7);
  }
}

TEST(SlidingWindowsTest, MergeEqualsAddingEveryAccess) {
  std::mt19937_64 rng(5);
  for (int round = 0; round < 200; ++round) {
    SlidingWindows all, base, delta;
    const int n_base = static_cast<int>(rng() % 50), n_delta = static_cast<int>(rng() % 50);
    for (int i = 0; i < n_base + n_delta; ++i) {
      // Overlapping, disjoint and appended ranges all occur across the rounds.
      int64_t t = kT0 + static_cast<int64_t>(rng() % ((round % 3 + 1) * 3 * kHour));
      if (round % 5 == 0 && i >= n_base) t += 10 * kHour;  // all after the base
      int64_t n = static_cast<int64_t>(rng() % 3 + 1);
      all.Add(t, n);
      (i < n_base ? base : delta).Add(t, n);
    }
    base.Merge(delta);
    EXPECT_EQ(base, all) << round;
  }
  SlidingWindows w, empty;
  w.Add(kT0, 2);
  SlidingWindows copy = w;
  w.Merge(empty);
  EXPECT_EQ(w, copy);
  empty.Merge(w);
  EXPECT_EQ(empty, w);
  w.Clear();
  EXPECT_TRUE(w.empty());
}

TEST(SlidingWindowsTest, EncodeDecodeRoundTripAndRejectsGarbage) {
  SlidingWindows w;
  for (int i = 0; i < 100; ++i) w.Add(kT0 + i * 7 * kMin, i + 1);
  auto bytes = w.Encode();
  auto back = SlidingWindows::Decode(bytes);
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(*back, w);
  EXPECT_TRUE(SlidingWindows::Decode("").has_value());  // no state yet
  EXPECT_FALSE(SlidingWindows::Decode("\x02").has_value());  // unknown version
  for (size_t cut = 1; cut < bytes.size(); ++cut) {
    EXPECT_FALSE(SlidingWindows::Decode(bytes.substr(0, cut)).has_value()) << cut;
  }
  EXPECT_FALSE(SlidingWindows::Decode(bytes + "x").has_value());
  std::mt19937 rng(9);
  for (int i = 0; i < 20000; ++i) {
    std::string junk(rng() % 40, '\0');
    for (auto& c : junk) c = static_cast<char>(rng());
    (void)SlidingWindows::Decode(junk);  // must not crash
  }
}

TEST(SlidingWindowsTest, DecodeRejectsIndicesThatWouldOverflow) {
  // Version 1, one minute bucket whose zigzag delta is the largest varint (found by fuzzing:
  // the running index used to overflow), no hour buckets.
  std::string bytes = "\x01\x01";
  bytes += std::string(9, '\xff') + "\x01";  // varint 2^64 - 1 -> delta INT64_MIN
  bytes += "\x01\x00";
  EXPECT_FALSE(SlidingWindows::Decode(bytes).has_value());
  // A negative index is refused too.
  EXPECT_FALSE(SlidingWindows::Decode(std::string("\x01\x01\x01\x01\x00", 5)).has_value());
}

TEST(SlidingWindowsTest, MinuteSeries) {
  SlidingWindows w;
  w.Add(kT0 + 59 * kMin, 4);
  w.Add(kT0 + 58 * kMin, 1);
  auto s = w.MinuteSeries(kT0 + 59 * kMin);
  ASSERT_EQ(s.size(), 60u);
  EXPECT_EQ(s[59], 4);
  EXPECT_EQ(s[58], 1);
}

}  // namespace
}  // namespace dim
