#include "storage/retry_policy.h"

#include <gtest/gtest.h>

#include <atomic>
#include <deque>
#include <filesystem>

#include "core/checksum.h"
#include "storage/local_object_store.h"
#include "storage/retrying_store.h"

namespace dim {
namespace {

// Records waits and moves a virtual clock instead of sleeping.
struct FakeSleep {
  VirtualClock clock;
  std::vector<int64_t> waits;
  RetryPolicy::Sleeper Sleeper() {
    return [this](int64_t ms) {
      waits.push_back(ms);
      clock.AdvanceMs(ms);
    };
  }
};

TEST(RetryPolicyTest, FullJitterStaysUnderTheExponentialCap) {
  FakeSleep f;
  RetryOptions o;
  o.max_attempts = 100;
  o.base_delay_ms = 100;
  o.max_delay_ms = 1000;
  RetryPolicy p(o, f.clock, f.Sleeper(), 7);
  Status busy = Status::Unavailable("503");
  for (int retry = 1; retry <= 6; ++retry) {
    int64_t cap = std::min<int64_t>(1000, 100ll << (retry - 1));
    int64_t lo = INT64_MAX, hi = 0;
    for (int i = 0; i < 2000; ++i) {
      auto d = p.NextDelayMs(retry, busy, 0);
      ASSERT_TRUE(d.has_value());
      lo = std::min(lo, *d);
      hi = std::max(hi, *d);
    }
    EXPECT_LE(hi, cap) << "retry " << retry;
    // Full jitter spreads over the whole interval, from near 0 to near the cap.
    EXPECT_LT(lo, cap / 10 + 1) << "retry " << retry;
    EXPECT_GT(hi, cap * 9 / 10) << "retry " << retry;
  }
}

TEST(RetryPolicyTest, StopsOnPermanentErrorsAttemptsAndBudget) {
  FakeSleep f;
  RetryOptions o;
  o.max_attempts = 3;
  o.max_elapsed_ms = 10000;
  RetryPolicy p(o, f.clock, f.Sleeper(), 1);
  EXPECT_FALSE(p.NextDelayMs(1, Status::PermissionDenied("403"), 0));
  EXPECT_FALSE(p.NextDelayMs(1, Status::DataLoss("bad"), 0));
  EXPECT_FALSE(p.NextDelayMs(1, Status::OK(), 0));
  EXPECT_TRUE(p.NextDelayMs(1, Status::ResourceExhausted("429"), 0));
  EXPECT_TRUE(p.NextDelayMs(2, Status::DeadlineExceeded("slow"), 0));
  EXPECT_FALSE(p.NextDelayMs(3, Status::Unavailable("503"), 0));      // 3 tries made
  EXPECT_FALSE(p.NextDelayMs(1, Status::Unavailable("503"), 10000));  // out of time
}

TEST(RetryPolicyTest, ThrottlingGetsMoreAttemptsThanOtherFailures) {
  FakeSleep f;
  RetryOptions o;  // the defaults: 5 tries, 10 while throttled
  RetryPolicy p(o, f.clock, f.Sleeper(), 5);
  const Status down = Status::Unavailable("connection refused");
  const Status slow = Status::Unavailable("503 SlowDown").AsThrottled();
  EXPECT_TRUE(slow.throttled());
  EXPECT_TRUE(slow.WithContext("site a").throttled());  // kept through context
  EXPECT_FALSE(down.throttled());
  EXPECT_TRUE(p.NextDelayMs(4, down, 0));
  EXPECT_FALSE(p.NextDelayMs(5, down, 0));  // 5 tries made
  EXPECT_TRUE(p.NextDelayMs(5, slow, 0));
  EXPECT_TRUE(p.NextDelayMs(9, slow, 0));
  EXPECT_FALSE(p.NextDelayMs(10, slow, 0));  // 10 tries made
  // A throttled call whose endpoint then stops answering ends at max_attempts.
  EXPECT_FALSE(p.NextDelayMs(6, down, 0));
  // Never fewer tries for throttling than for anything else.
  o.max_attempts = 20;
  RetryPolicy q(o, f.clock, f.Sleeper(), 5);
  EXPECT_TRUE(q.NextDelayMs(15, slow, 0));
  EXPECT_FALSE(Status::OK().AsThrottled().throttled());
}

TEST(RetryPolicyTest, HonoursRetryAfterButNotForever) {
  FakeSleep f;
  RetryOptions o;
  o.max_delay_ms = 100;
  o.max_retry_after_ms = 5000;
  RetryPolicy p(o, f.clock, f.Sleeper(), 3);
  auto d = p.NextDelayMs(1, Status::Unavailable("SlowDown").WithRetryAfterMs(2000), 0);
  ASSERT_TRUE(d);
  EXPECT_EQ(*d, 2000);  // at least the hint, even above max_delay_ms
  EXPECT_FALSE(p.NextDelayMs(1, Status::Unavailable("x").WithRetryAfterMs(60000), 0));
}

TEST(RetryPolicyTest, RunRetriesUntilSuccess) {
  FakeSleep f;
  RetryPolicy p(RetryOptions{}, f.clock, f.Sleeper(), 5);
  int calls = 0;
  Result<int> r = p.Run([&]() -> Result<int> {
    if (++calls < 3) return Status::Unavailable("busy");
    return 42;
  });
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, 42);
  EXPECT_EQ(calls, 3);
  EXPECT_EQ(f.waits.size(), 2u);
  calls = 0;
  Status s = p.Run([&] {
    ++calls;
    return Status::Unavailable("always");
  });
  EXPECT_EQ(calls, 5);
  EXPECT_EQ(s.message(), "always");
}

// A local store whose calls fail as scripted: each entry is the error for the next call of that
// kind (OK = let it through).
class ScriptedStore final : public ForwardingObjectStore {
 public:
  using ForwardingObjectStore::ForwardingObjectStore;
  std::deque<Status> head, put_before_read, put_after_read, get_open;
  // The n-th Read (0-based) of every Get stream fails once with this.
  int fail_read_at = -1;
  Status read_error = Status::Unavailable("connection reset by peer");
  int gets = 0;

  Result<std::optional<ObjectInfo>> Head(const std::string& blob) override {
    if (auto s = Pop(head); !s.ok()) return s;
    return inner_->Head(blob);
  }
  Result<PutResult> Put(const std::string& blob, ByteSource& data, const PutOptions& o) override {
    if (auto s = Pop(put_before_read); !s.ok()) return s;
    if (auto s = Pop(put_after_read); !s.ok()) {
      char c;
      (void)data.Read(&c, 1);
      return s;
    }
    return inner_->Put(blob, data, o);
  }
  Result<std::unique_ptr<ByteSource>> Get(const std::string& blob,
                                          std::optional<ByteRange> range) override {
    ++gets;
    if (auto s = Pop(get_open); !s.ok()) return s;
    DIM_ASSIGN_OR_RETURN(auto src, inner_->Get(blob, range));
    if (fail_read_at < 0 || flaky_given_) return src;
    flaky_given_ = true;  // only the first stream breaks
    return std::unique_ptr<ByteSource>(new Flaky(std::move(src), fail_read_at, read_error));
  }

 private:
  struct Flaky final : ByteSource {
    Flaky(std::unique_ptr<ByteSource> in, int at, Status err)
        : in(std::move(in)), at(at), err(err) {}
    Result<size_t> Read(char* buf, size_t n) override {
      if (reads++ == at) return err;
      return in->Read(buf, std::min<size_t>(n, 1000));
    }
    std::unique_ptr<ByteSource> in;
    int at;
    Status err;
    int reads = 0;
  };
  bool flaky_given_ = false;
  static Status Pop(std::deque<Status>& q) {
    if (q.empty()) return Status::OK();
    Status s = q.front();
    q.pop_front();
    return s;
  }
};

class RetryingStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    static std::atomic<int> n{0};
    dir_ = std::filesystem::temp_directory_path() /
           ("dim-retry-" + std::to_string(getpid()) + "-" + std::to_string(n++));
    std::filesystem::remove_all(dir_);
    auto local = std::shared_ptr<ObjectStore>(LocalObjectStore::Make("aws", dir_).value());
    scripted_ = std::make_shared<ScriptedStore>(local);
    RetryOptions o;
    o.max_attempts = 4;
    policy_ = std::make_shared<RetryPolicy>(o, sleep_.clock, sleep_.Sleeper(), 11);
    store_ = RetryingStore::Make(scripted_, policy_, &metrics_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  double Retries(const std::string& code) {
    return metrics_.AddCounter("dim_storage_retries_total", "", {"site", "code"})
        .Labels({"aws", code})
        .Value();
  }

  std::filesystem::path dir_;
  FakeSleep sleep_;
  MetricsRegistry metrics_;
  std::shared_ptr<ScriptedStore> scripted_;
  std::shared_ptr<RetryPolicy> policy_;
  std::shared_ptr<RetryingStore> store_;
};

TEST_F(RetryingStoreTest, RetriesThrottledCallsAndCountsThem) {
  scripted_->head = {Status::ResourceExhausted("429"), Status::Unavailable("503")};
  auto h = store_->Head("demo/x@1");
  ASSERT_TRUE(h.ok()) << h.status().ToString();
  EXPECT_FALSE(h->has_value());
  EXPECT_EQ(sleep_.waits.size(), 2u);
  EXPECT_EQ(Retries("ResourceExhausted"), 1);
  EXPECT_EQ(Retries("Unavailable"), 1);
}

TEST_F(RetryingStoreTest, HonoursRetryAfterFromTheBackend) {
  scripted_->head = {Status::Unavailable("503 SlowDown").WithRetryAfterMs(3000)};
  ASSERT_TRUE(store_->Head("demo/x@1").ok());
  ASSERT_EQ(sleep_.waits.size(), 1u);
  EXPECT_GE(sleep_.waits[0], 3000);
}

TEST_F(RetryingStoreTest, GivesUpWithTheLastError) {
  scripted_->head = {Status::Unavailable("a"), Status::Unavailable("b"), Status::Unavailable("c"),
                     Status::Unavailable("d"), Status::Unavailable("e")};
  auto h = store_->Head("demo/x@1");
  ASSERT_FALSE(h.ok());
  EXPECT_EQ(h.status().message(), "d");  // 4 attempts
  scripted_->head = {Status::PermissionDenied("403 AccessDenied")};
  h = store_->Head("demo/x@1");
  EXPECT_EQ(h.status().code(), StatusCode::kPermissionDenied);  // not retried
}

TEST_F(RetryingStoreTest, PutIsRetriedOnlyWhileTheStreamIsUntouched) {
  scripted_->put_before_read = {Status::Unavailable("503")};
  StringSource a("hello");
  auto r = store_->Put("demo/a@1", a, {});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->sha256, Sha256::Hex("hello"));

  scripted_->put_after_read = {Status::Unavailable("connection reset mid-body")};
  StringSource b("world");
  r = store_->Put("demo/b@1", b, {});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "connection reset mid-body");
  EXPECT_FALSE(scripted_->Head("demo/b@1")->has_value());
}

TEST_F(RetryingStoreTest, BrokenGetStreamResumesWhereItStopped) {
  std::string data(50000, 0);
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>(i * 7 + i / 256);
  StringSource src(data);
  ASSERT_TRUE(store_->Put("demo/g@1", src, {}).ok());
  scripted_->fail_read_at = 10;  // after 10 kB
  scripted_->get_open = {Status::Unavailable("503 on open")};
  auto g = store_->Get("demo/g@1", ByteRange{100, 40000});
  ASSERT_TRUE(g.ok()) << g.status().ToString();
  auto got = ReadAll(**g);
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(*got, data.substr(100, 40000));
  EXPECT_EQ(scripted_->gets, 3);  // failed open, first stream, resumed stream
}

TEST_F(RetryingStoreTest, PermanentReadErrorsAreNotResumed) {
  StringSource src(std::string(5000, 'x'));
  ASSERT_TRUE(store_->Put("demo/p@1", src, {}).ok());
  scripted_->fail_read_at = 1;
  scripted_->read_error = Status::DataLoss("checksum");
  auto g = store_->Get("demo/p@1", std::nullopt);
  ASSERT_TRUE(g.ok());
  auto got = ReadAll(**g);
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.status().code(), StatusCode::kDataLoss);
}

}  // namespace
}  // namespace dim
