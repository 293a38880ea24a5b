#include "storage/chaos_store.h"

#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>

#include "core/checksum.h"
#include "storage/local_object_store.h"
#include "storage/retrying_store.h"
#include "store/sqlite/sqlite_metadata_store.h"

namespace dim {
namespace {

using nlohmann::json;

class ChaosStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    static std::atomic<int> n{0};
    dir_ = std::filesystem::temp_directory_path() /
           ("dim-chaos-" + std::to_string(getpid()) + "-" + std::to_string(n++));
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    db_ = SqliteMetadataStore::Open((dir_ / "dim.db").string()).value();
    chaos_ = std::make_shared<ChaosController>(db_.get(), clock_, 1000);
    local_ = std::shared_ptr<ObjectStore>(LocalObjectStore::Make("aws", dir_ / "aws").value());
    store_ = ChaosStore::Make(local_, chaos_, 99, [this](int64_t ms) {
      slept_ms_ += ms;
      clock_.AdvanceMs(ms);
    });
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  void Set(const std::function<void(SiteChaos&)>& f, const std::string& action = "test") {
    ASSERT_TRUE(chaos_
                    ->Update(
                        [&](ChaosState& st) {
                          f(st.sites["aws"]);
                          return Status::OK();
                        },
                        "tester", action, {{"site", "aws"}})
                    .ok());
  }
  std::shared_ptr<RetryingStore> WithRetries(int attempts) {
    RetryOptions o;
    o.max_attempts = attempts;
    auto policy = std::make_shared<RetryPolicy>(
        o, clock_, [this](int64_t ms) { clock_.AdvanceMs(ms); }, 5);
    return RetryingStore::Make(store_, policy, &metrics_);
  }

  std::filesystem::path dir_;
  VirtualClock clock_;
  MetricsRegistry metrics_;
  std::unique_ptr<SqliteMetadataStore> db_;
  std::shared_ptr<ChaosController> chaos_;
  std::shared_ptr<ObjectStore> local_;
  std::shared_ptr<ChaosStore> store_;
  int64_t slept_ms_ = 0;
};

TEST_F(ChaosStoreTest, NoChaosPassesEverythingThrough) {
  StringSource src("abc");
  ASSERT_TRUE(store_->Put("demo/a@1", src, {}).ok());
  auto g = store_->Get("demo/a@1", std::nullopt);
  ASSERT_TRUE(g.ok());
  EXPECT_EQ(ReadAll(**g).value(), "abc");
  EXPECT_EQ(slept_ms_, 0);
}

TEST_F(ChaosStoreTest, FailedEndpointNamesTheSiteEvenAfterRetries) {
  StringSource src("abc");
  ASSERT_TRUE(store_->Put("demo/a@1", src, {}).ok());
  Set([](SiteChaos& c) { c.failed = true; }, "chaos.fail");
  auto retrying = WithRetries(3);
  for (ObjectStore* s :
       {static_cast<ObjectStore*>(store_.get()), static_cast<ObjectStore*>(retrying.get())}) {
    auto h = s->Head("demo/a@1");
    ASSERT_FALSE(h.ok());
    EXPECT_EQ(h.status().code(), StatusCode::kUnavailable);
    EXPECT_NE(h.status().message().find("site aws"), std::string::npos) << h.status().ToString();
    EXPECT_NE(h.status().message().find("failed by chaos"), std::string::npos);
    StringSource more("x");
    EXPECT_FALSE(s->Put("demo/b@1", more, {}).ok());
    EXPECT_FALSE(s->Get("demo/a@1", std::nullopt).ok());
    EXPECT_FALSE(s->List("demo/", "", 10).ok());
    EXPECT_FALSE(s->Delete("demo/a@1").ok());
  }
  EXPECT_TRUE(local_->Head("demo/a@1")->has_value());  // nothing was deleted underneath
  Set([](SiteChaos& c) { c.failed = false; }, "chaos.recover");
  EXPECT_TRUE(store_->Head("demo/a@1").ok());
}

TEST_F(ChaosStoreTest, EndpointFailingMidStreamBreaksTheStream) {
  StringSource src(std::string(3 << 20, 'q'));
  ASSERT_TRUE(store_->Put("demo/s@1", src, {}).ok());
  auto g = store_->Get("demo/s@1", std::nullopt);
  ASSERT_TRUE(g.ok());
  std::vector<char> buf(1 << 20);
  ASSERT_TRUE((*g)->Read(buf.data(), buf.size()).ok());
  Set([](SiteChaos& c) { c.failed = true; });
  auto r = (*g)->Read(buf.data(), buf.size());
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("aws"), std::string::npos);
}

TEST_F(ChaosStoreTest, ThirtyPercentThrottlingSucceedsThroughRetries) {
  Set([](SiteChaos& c) {
    c.throttle_fraction = 0.3;
    c.throttle_kind = ThrottleKind::kSlowDown;
  });
  // Without retries about 30% of calls fail, each with a retryable throttling error.
  int failed = 0;
  const int n = 400;
  for (int i = 0; i < n; ++i) {
    auto h = store_->Head("demo/x@1");
    if (!h.ok()) {
      ++failed;
      EXPECT_TRUE(h.status().IsRetryable());
      EXPECT_NE(h.status().message().find("SlowDown"), std::string::npos);
    }
  }
  EXPECT_GT(failed, n * 20 / 100);
  EXPECT_LT(failed, n * 40 / 100);
  // With retries every operation succeeds, and the retries are counted.
  auto s = WithRetries(8);
  for (int i = 0; i < 100; ++i) {
    std::string name = "demo/t" + std::to_string(i) + "@1";
    std::string data = "payload " + std::to_string(i);
    StringSource src(data);
    auto put = s->Put(name, src, {});
    ASSERT_TRUE(put.ok()) << put.status().ToString();
    auto h = s->Head(name);
    ASSERT_TRUE(h.ok() && h->has_value()) << h.status().ToString();
    auto g = s->Get(name, std::nullopt);
    ASSERT_TRUE(g.ok()) << g.status().ToString();
    EXPECT_EQ(ReadAll(**g).value(), data);
    ASSERT_TRUE(s->List("demo/", "", 1000).ok());
    ASSERT_TRUE(s->Delete(name).ok());
  }
  double retries = metrics_.AddCounter("dim_storage_retries_total", "", {"site", "code"})
                       .Labels({"aws", "Unavailable"})
                       .Value();
  EXPECT_GT(retries, 100);  // ~0.43 retries per call over 500 calls
}

TEST_F(ChaosStoreTest, ThrottleKindsMapToTheirCodes) {
  Set([](SiteChaos& c) {
    c.throttle_fraction = 1;
    c.throttle_kind = ThrottleKind::k429;
  });
  auto h = store_->Head("demo/x@1");
  EXPECT_EQ(h.status().code(), StatusCode::kResourceExhausted);
  EXPECT_NE(h.status().message().find("429"), std::string::npos);
  EXPECT_TRUE(h.status().throttled());
  Set([](SiteChaos& c) { c.throttle_kind = ThrottleKind::k503; });
  h = store_->Head("demo/x@1");
  EXPECT_EQ(h.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(h.status().message().find("503"), std::string::npos);
  EXPECT_TRUE(h.status().throttled());
  // A throttled put never reads the caller's stream, so the caller (or RetryingStore) may retry.
  StringSource src("data");
  ASSERT_FALSE(store_->Put("demo/y@1", src, {}).ok());
  char c;
  EXPECT_EQ(src.Read(&c, 1).value(), 1u);
}

TEST_F(ChaosStoreTest, CorruptionIsCaughtByChecksums) {
  std::string data(1 << 20, 0);
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>(i * 31);
  StringSource src(data);
  auto put = store_->Put("demo/c@1", src, {});
  ASSERT_TRUE(put.ok());
  Set([](SiteChaos& c) { c.corrupt_fraction = 0.001; });
  auto g = store_->Get("demo/c@1", std::nullopt);
  ASSERT_TRUE(g.ok());
  std::string got = ReadAll(**g).value();
  ASSERT_EQ(got.size(), data.size());
  size_t differing = 0;
  for (size_t i = 0; i < got.size(); ++i) differing += got[i] != data[i];
  EXPECT_GT(differing, 500u);  // ~1049 expected
  EXPECT_LT(differing, 1600u);
  EXPECT_NE(Sha256::Hex(got), put->sha256);
  // A verified write of what was read is refused: nothing corrupt becomes visible.
  auto g2 = store_->Get("demo/c@1", std::nullopt);
  PutOptions o;
  o.expected_sha256 = put->sha256;
  auto copy = local_->Put("demo/copy@1", **g2, o);
  ASSERT_FALSE(copy.ok());
  EXPECT_EQ(copy.status().code(), StatusCode::kDataLoss);
  EXPECT_FALSE(local_->Head("demo/copy@1")->has_value());
  // The stored bytes were never touched.
  auto clean = local_->Get("demo/c@1", std::nullopt);
  EXPECT_EQ(Sha256::Hex(ReadAll(**clean).value()), put->sha256);
}

TEST_F(ChaosStoreTest, LatencyIsAddedToEveryCall) {
  Set([](SiteChaos& c) { c.latency_ms = 250; });
  ASSERT_TRUE(store_->Head("demo/x@1").ok());
  ASSERT_TRUE(store_->List("demo/", "", 10).ok());
  EXPECT_EQ(slept_ms_, 500);
}

TEST_F(ChaosStoreTest, StateIsSharedThroughTheStoreAndAudited) {
  // A second process: its own controller over the same database file.
  auto other_db = SqliteMetadataStore::Open((dir_ / "dim.db").string()).value();
  VirtualClock other_clock;
  ChaosController other(other_db.get(), other_clock, 1000);
  EXPECT_FALSE(other.For("aws").failed);
  Set([](SiteChaos& c) { c.failed = true; }, "chaos.fail");
  EXPECT_FALSE(other.For("aws").failed);  // cached for refresh_ms
  other_clock.AdvanceMs(1000);
  EXPECT_TRUE(other.For("aws").failed);
  ASSERT_TRUE(other
                  .Update(
                      [](ChaosState& st) {
                        st.sites.clear();
                        return Status::OK();
                      },
                      "op2", "chaos.clear", json::object())
                  .ok());
  clock_.AdvanceMs(1000);
  EXPECT_FALSE(chaos_->For("aws").failed);
  auto audit = db_->ListAudit(10).value();
  ASSERT_GE(audit.size(), 2u);
  EXPECT_EQ(audit[0].action, "chaos.clear");
  EXPECT_EQ(audit[0].actor, "op2");
  EXPECT_EQ(audit[1].action, "chaos.fail");
  EXPECT_NE(audit[1].detail_json.find("aws"), std::string::npos);
}

TEST_F(ChaosStoreTest, UnreadableStoredStateKeepsTheLastKnown) {
  Set([](SiteChaos& c) { c.latency_ms = 5; });
  AuditRecord a;
  a.action = "corrupt";
  ASSERT_TRUE(db_->PutSetting(ChaosController::kSettingKey, "{not json", a).ok());
  clock_.AdvanceMs(2000);
  EXPECT_EQ(chaos_->For("aws").latency_ms, 5);
  EXPECT_FALSE(chaos_->Refresh().ok());
}

TEST(ChaosStateTest, MalformedJsonIsRejectedWithAReason) {
  for (const char* bad :
       {R"([])", R"({})", R"({"sites": []})", R"({"sites": {"a": 1}})",
        R"({"sites": {"a": {"latency_ms": -1}}})", R"({"sites": {"a": {"latency_ms": "5"}}})",
        R"({"sites": {"a": {"throttle": {"fraction": 2}}}})",
        R"({"sites": {"a": {"throttle": {"fraction": 0.5, "kind": "418"}}}})",
        R"({"sites": {"a": {"corrupt_fraction": -0.1}}})"}) {
    auto r = ChaosState::FromJson(json::parse(bad));
    EXPECT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << bad;
  }
  auto ok = ChaosState::FromJson(json::parse(
      R"({"sites": {"a": {"failed": true, "throttle": {"fraction": 0.3, "kind": "SlowDown"}}, "b": {}}})"));
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  EXPECT_TRUE(ok->For("a").failed);
  EXPECT_EQ(ok->For("a").throttle_kind, ThrottleKind::kSlowDown);
  EXPECT_EQ(ok->sites.count("b"), 0u);  // no chaos: not kept
  auto round = ChaosState::FromJson(ok->ToJson());
  ASSERT_TRUE(round.ok());
  EXPECT_EQ(round->For("a"), ok->For("a"));
}

}  // namespace
}  // namespace dim
