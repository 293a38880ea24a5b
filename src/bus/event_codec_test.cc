#include "bus/event_codec.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace dim {
namespace {

namespace rr = reject_reason;

AccessEvent Sample() {
  AccessEvent e;
  e.id = "req-42";
  e.key = "demo/logs/app-0001.log";
  e.ts_ms = 1'700'000'123'456;
  e.op = AccessOp::kPut;
  e.bytes = 12345;
  e.size = 999'999'999'999;
  e.status = 206;
  return e;
}

void ExpectSame(const AccessEvent& a, const AccessEvent& b) {
  EXPECT_EQ(a.id, b.id);
  EXPECT_EQ(a.key, b.key);
  EXPECT_EQ(a.ts_ms, b.ts_ms);
  EXPECT_EQ(a.op, b.op);
  EXPECT_EQ(a.bytes, b.bytes);
  EXPECT_EQ(a.size, b.size);
  EXPECT_EQ(a.status, b.status);
}

DecodeOutcome Decode(std::string_view v, AccessEvent* out, std::string_view rkey = "",
                     int64_t rts = 0) {
  return DecodeEvent(v, rkey, rts, out);
}

TEST(EventCodecTest, BinaryRoundTripIsCompact) {
  for (AccessOp op : {AccessOp::kGet, AccessOp::kPut, AccessOp::kHead, AccessOp::kDelete,
                      AccessOp::kCopy, AccessOp::kList}) {
    AccessEvent e = Sample();
    e.op = op;
    std::string wire = EncodeEvent(e, EventEncoding::kBinary);
    EXPECT_EQ(static_cast<uint8_t>(wire[0]), kEventBinaryVersion);
    EXPECT_LT(wire.size(), e.key.size() + e.id.size() + 24);
    AccessEvent d;
    auto r = Decode(wire, &d);
    ASSERT_TRUE(r.ok()) << r.reason << ": " << r.detail;
    ExpectSame(e, d);
  }
}

TEST(EventCodecTest, JsonRoundTrip) {
  AccessEvent e = Sample();
  std::string wire = EncodeEvent(e, EventEncoding::kJson);
  EXPECT_EQ(wire.front(), '{');
  AccessEvent d;
  auto r = Decode(wire, &d);
  ASSERT_TRUE(r.ok()) << r.reason << ": " << r.detail;
  ExpectSame(e, d);
}

TEST(EventCodecTest, AcceptsTheSeedsJson) {
  AccessEvent d;
  auto r = Decode(R"({"key": "demo/a.txt", "ts": 1700000000.25, "action": "read"})", &d);
  ASSERT_TRUE(r.ok()) << r.detail;
  EXPECT_EQ(d.key, "demo/a.txt");
  EXPECT_EQ(d.ts_ms, 1'700'000'000'250);
  EXPECT_EQ(d.op, AccessOp::kGet);
  EXPECT_EQ(d.status, 200);
  r = Decode(R"(  {"key":"demo/b","ts":1700000000000,"action":"write","extra":[1,2]})", &d);
  ASSERT_TRUE(r.ok()) << r.detail;
  EXPECT_EQ(d.ts_ms, 1'700'000'000'000);  // milliseconds are recognised
  EXPECT_EQ(d.op, AccessOp::kPut);
}

TEST(EventCodecTest, JsonFallsBackToRecordKeyAndTimestamp) {
  AccessEvent d;
  auto r = Decode(R"({"op":"head"})", &d, "demo/from-record-key", 1'700'000'000'001);
  ASSERT_TRUE(r.ok()) << r.detail;
  EXPECT_EQ(d.key, "demo/from-record-key");
  EXPECT_EQ(d.ts_ms, 1'700'000'000'001);
  EXPECT_EQ(d.op, AccessOp::kHead);
}

TEST(EventCodecTest, EveryPrefixOfABinaryEventIsTruncated) {
  std::string wire = EncodeEvent(Sample(), EventEncoding::kBinary);
  for (size_t n = 1; n < wire.size(); ++n) {
    AccessEvent d;
    auto r = Decode(std::string_view(wire).substr(0, n), &d);
    EXPECT_EQ(r.reason, rr::kTruncated) << "prefix of " << n << " bytes: " << r.detail;
  }
  AccessEvent d;
  EXPECT_EQ(Decode("", &d).reason, rr::kTruncated);
}

TEST(EventCodecTest, RejectsWithReasons) {
  AccessEvent d;
  std::string wire = EncodeEvent(Sample(), EventEncoding::kBinary);

  std::string v2 = wire;
  v2[0] = 2;
  EXPECT_EQ(Decode(v2, &d).reason, rr::kUnknownVersion);
  EXPECT_EQ(Decode("\xff garbage", &d).reason, rr::kUnknownVersion);

  EXPECT_EQ(Decode(wire + "x", &d).reason, rr::kMalformed);  // trailing bytes

  std::string badop = wire;
  badop[1] = 9;
  EXPECT_EQ(Decode(badop, &d).reason, rr::kBadOp);

  AccessEvent e = Sample();
  e.key = "demo/" + std::string(kMaxEventKeyBytes, 'k');
  EXPECT_EQ(Decode(EncodeEvent(e, EventEncoding::kBinary), &d).reason, rr::kOversizedKey);
  EXPECT_EQ(Decode(EncodeEvent(e, EventEncoding::kJson), &d).reason, rr::kOversizedKey);
  e.key = "";
  EXPECT_EQ(Decode(EncodeEvent(e, EventEncoding::kBinary), &d).reason, rr::kEmptyKey);
  for (std::string bad :
       std::vector<std::string>{"nobucket", "demo/../etc/passwd", "demo/a\x01z", "Bad_Bucket/x",
                                std::string("demo/\xc3\x28", 7)}) {
    e.key = bad;
    EXPECT_EQ(Decode(EncodeEvent(e, EventEncoding::kBinary), &d).reason, rr::kBadKey) << bad;
  }
  e = Sample();
  e.ts_ms = 0;
  EXPECT_EQ(Decode(EncodeEvent(e, EventEncoding::kBinary), &d).reason, rr::kBadTimestamp);

  // A varint longer than 64 bits.
  std::string huge = wire.substr(0, 2) + std::string(10, '\xff') + '\x01';
  EXPECT_EQ(Decode(huge, &d).reason, rr::kTruncated);
}

TEST(EventCodecTest, RejectsBadJson) {
  AccessEvent d;
  EXPECT_EQ(Decode("{", &d).reason, rr::kBadJson);
  EXPECT_EQ(Decode("{\"key\":\"demo/a\",}", &d).reason, rr::kBadJson);
  EXPECT_EQ(Decode(" [1,2,3]", &d).reason, rr::kBadJson);  // '[' after whitespace: not an object
  EXPECT_EQ(Decode(R"({"key": 7, "ts": 1700000000})", &d).reason, rr::kBadKey);
  EXPECT_EQ(Decode(R"({"key": "demo/a", "ts": "yesterday"})", &d).reason, rr::kBadTimestamp);
  EXPECT_EQ(Decode(R"({"key": "demo/a", "ts": -5})", &d).reason, rr::kBadTimestamp);
  EXPECT_EQ(Decode(R"({"key": "demo/a", "ts": 1e300})", &d).reason, rr::kBadTimestamp);
  EXPECT_EQ(Decode(R"({"key": "demo/a"})", &d, "", 0).reason, rr::kBadTimestamp);
  EXPECT_EQ(Decode(R"({"key": "demo/a", "ts": 1700000000, "action": "fly"})", &d).reason,
            rr::kBadOp);
  EXPECT_EQ(Decode(R"({"key": "demo/a", "ts": 1700000000, "op": 3})", &d).reason, rr::kBadOp);
  EXPECT_EQ(Decode(R"({"key": "demo/a", "ts": 1700000000, "bytes": -1})", &d).reason,
            rr::kMalformed);
  EXPECT_EQ(Decode(R"({"key": "demo/a", "ts": 1700000000, "bytes": 1.5})", &d).reason,
            rr::kMalformed);
  EXPECT_EQ(Decode(R"({"key": "", "ts": 1700000000})", &d).reason, rr::kEmptyKey);
  EXPECT_EQ(Decode(R"({"ts": 1700000000})", &d, "", 0).reason, rr::kEmptyKey);
}

TEST(EventCodecTest, DecodingReusesTheOutputAndLeavesItWhole) {
  AccessEvent d = Sample();
  d.id = "old";
  std::string wire = EncodeEvent(Sample(), EventEncoding::kBinary);
  ASSERT_TRUE(Decode(wire, &d).ok());
  EXPECT_EQ(d.id, "req-42");
  AccessEvent e = Sample();
  e.id.clear();
  ASSERT_TRUE(Decode(EncodeEvent(e, EventEncoding::kBinary), &d).ok());
  EXPECT_EQ(d.id, "");
}

TEST(EventCodecTest, ValidateEventShape) {
  AccessEvent e = Sample();
  EXPECT_TRUE(ValidateEventShape(e).empty());
  e.bytes = -1;
  EXPECT_EQ(ValidateEventShape(e), rr::kMalformed);
  e = Sample();
  e.id = std::string(kMaxEventIdBytes + 1, 'i');
  std::string detail;
  EXPECT_EQ(ValidateEventShape(e, &detail), rr::kMalformed);
  EXPECT_FALSE(detail.empty());
  e.id = "has space";
  EXPECT_EQ(ValidateEventShape(e), rr::kMalformed);
  e.id = "\xc3\xa9";
  EXPECT_EQ(ValidateEventShape(e), rr::kMalformed);
}

}  // namespace
}  // namespace dim
