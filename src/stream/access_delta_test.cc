#include "stream/access_delta.h"

#include <gtest/gtest.h>

#include <random>

#include "bus/event_codec.h"
#include "core/varint.h"

namespace dim {
namespace {

constexpr int64_t kT0 = 1'700'000'000'000 - (1'700'000'000'000 % 3'600'000);

ObjectDelta Sample(int64_t seed) {
  ObjectDelta d;
  for (int64_t i = 0; i <= seed % 7; ++i) d.window.Add(kT0 + i * 61'000 + seed, i + 1);
  d.hours.push_back({kT0 / 3'600'000, seed, 2, 300 + seed});
  if (seed % 2) d.hours.push_back({kT0 / 3'600'000 - 1, 1, 0, 7});
  d.last_access_ms = kT0 + seed;
  d.reads = seed + 1;
  d.writes = 2;
  d.bytes_read = 1000 * seed;
  d.bytes_written = 5;
  return d;
}

DeltaMap SampleMap() {
  DeltaMap m;
  for (int i = 0; i < 20; ++i) m["demo/o-" + std::to_string(i)] = Sample(i);
  return m;
}

TEST(AccessDeltaTest, RoundTrip) {
  const DeltaMap m = SampleMap();
  DeltaMap back;
  ASSERT_TRUE(DecodeDeltasInto(EncodeDeltas(m), &back));
  EXPECT_EQ(back, m);
  DeltaMap none;
  ASSERT_TRUE(DecodeDeltasInto(EncodeDeltas({}), &none));
  EXPECT_TRUE(none.empty());
}

TEST(AccessDeltaTest, DecodingIntoAMapAddsLikeMerge) {
  DeltaMap into = SampleMap();
  DeltaMap expect = into;
  DeltaMap more;
  more["demo/o-3"] = Sample(30);  // present: merged
  more["demo/new"] = Sample(4);   // new
  for (auto& [k, d] : more) {
    auto [it, inserted] = expect.try_emplace(k, d);
    if (!inserted) it->second.Merge(d);
  }
  ASSERT_TRUE(DecodeDeltasInto(EncodeDeltas(more), &into));
  EXPECT_EQ(into, expect);
  EXPECT_EQ(into["demo/o-3"].reads, 4 + 31);
  // Merge adds hours by hour, counters, windows; last access is the latest.
  ObjectDelta a = Sample(1), b = Sample(1);
  a.Merge(b);
  EXPECT_EQ(a.reads, 4);
  ASSERT_EQ(a.hours.size(), 2u);
  EXPECT_EQ(a.hours[0].bytes, 2 * 301);
  EXPECT_EQ(a.window.Count1h(kT0 + 10 * 60'000), 2 * Sample(1).window.Count1h(kT0 + 10 * 60'000));
  EXPECT_EQ(a.last_access_ms, kT0 + 1);
}

TEST(AccessDeltaTest, MalformedInputIsRefusedAndChangesNothing) {
  const std::string good = EncodeDeltas(SampleMap());
  DeltaMap out = SampleMap();
  const DeltaMap before = out;
  auto refused = [&](const std::string& bytes) {
    bool ok = DecodeDeltasInto(bytes, &out);
    EXPECT_EQ(out, before) << "a refused input must not be half-applied";
    return !ok;
  };
  EXPECT_TRUE(refused(""));
  EXPECT_TRUE(refused(std::string("\x02\x00", 2)));  // unknown version
  for (size_t cut = 1; cut < good.size(); ++cut) EXPECT_TRUE(refused(good.substr(0, cut))) << cut;
  EXPECT_TRUE(refused(good + "x"));  // trailing bytes

  auto one = [](const std::string& key, uint64_t reads, const std::string& window,
                const std::vector<uint64_t>& hours) {
    std::string s(1, '\x01');
    PutVarint(s, 1);
    PutVarint(s, key.size());
    s += key;
    for (uint64_t v : {uint64_t{5}, reads, uint64_t{0}, uint64_t{0}, uint64_t{0}}) PutVarint(s, v);
    PutVarint(s, window.size());
    s += window;
    PutVarint(s, hours.size() / 4);
    for (uint64_t v : hours) PutVarint(s, v);
    return s;
  };
  DeltaMap probe;
  ASSERT_TRUE(DecodeDeltasInto(one("demo/k", 1, "", {100, 1, 0, 0}), &probe));  // the helper works
  EXPECT_TRUE(refused(one("", 1, "", {})));                                     // empty key
  EXPECT_TRUE(refused(one(std::string(kMaxEventKeyBytes + 1, 'k'), 1, "", {})));  // oversized key
  EXPECT_TRUE(refused(one("demo/k", uint64_t{1} << 63, "", {})));                 // count too big
  EXPECT_TRUE(refused(one("demo/k", 1, "\x09", {})));                        // bad window state
  EXPECT_TRUE(refused(one("demo/k", 1, "", {100, 1, 0, 0, 100, 1, 0, 0})));  // hour twice
  EXPECT_TRUE(refused(one("demo/k", 1, "", {uint64_t{1} << 41, 1, 0, 0})));  // absurd hour
  std::string huge_count(1, '\x01');
  PutVarint(huge_count, uint64_t{1} << 40);  // claims more objects than there are bytes
  EXPECT_TRUE(refused(huge_count));

  std::mt19937 rng(11);
  for (int i = 0; i < 20000; ++i) {  // random damage: refused or decoded, never a crash
    std::string junk = good;
    for (int k = 0; k < 3; ++k) junk[rng() % junk.size()] = static_cast<char>(rng());
    DeltaMap sink;
    (void)DecodeDeltasInto(junk, &sink);
  }
}

}  // namespace
}  // namespace dim
