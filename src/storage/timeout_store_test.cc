#include "storage/timeout_store.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <thread>

#include "core/checksum.h"
#include "core/clock.h"
#include "storage/forwarding_object_store.h"
#include "storage/local_object_store.h"
#include "storage/object_store_contract.h"

namespace dim {
namespace {

std::filesystem::path FreshDir(const std::string& tag) {
  static std::atomic<int> n{0};
  auto d = std::filesystem::temp_directory_path() /
           ("dim-timeout-" + tag + "-" + std::to_string(getpid()) + "-" + std::to_string(n++));
  std::filesystem::remove_all(d);
  return d;
}

void SleepMs(int64_t ms) { std::this_thread::sleep_for(std::chrono::milliseconds(ms)); }

// The whole ObjectStore contract holds through the decorator.
INSTANTIATE_TEST_SUITE_P(TimeoutOverLocal, ObjectStoreContract,
                         ::testing::Values(ObjectStoreCase{
                             "timeout_local",
                             [] {
                               auto s = LocalObjectStore::Make("local-test", FreshDir("c"));
                               return std::shared_ptr<ObjectStore>(
                                   TimeoutStore::Make(std::move(s).value(), 5000));
                             },
                             64ll << 20}),
                         [](const auto& info) { return info.param.name; });

// A test double: a local store whose calls and streams can be made slow.
class SlowStore final : public ForwardingObjectStore {
 public:
  using ForwardingObjectStore::ForwardingObjectStore;
  std::atomic<int64_t> head_delay_ms{0}, delete_delay_ms{0};
  std::atomic<int64_t> put_first_read_delay_ms{0}, put_chunk_delay_ms{0}, put_finish_delay_ms{0};
  std::atomic<int64_t> get_chunk_delay_ms{0};

  Result<std::optional<ObjectInfo>> Head(const std::string& blob) override {
    SleepMs(head_delay_ms);
    return inner_->Head(blob);
  }
  Result<std::unique_ptr<ByteSource>> Get(const std::string& blob,
                                          std::optional<ByteRange> range) override {
    DIM_ASSIGN_OR_RETURN(auto src, inner_->Get(blob, range));
    return std::unique_ptr<ByteSource>(new Delayed(std::move(src), get_chunk_delay_ms, 0));
  }
  Result<PutResult> Put(const std::string& blob, ByteSource& data, const PutOptions& o) override {
    Delayed slow(data, put_chunk_delay_ms, put_first_read_delay_ms);
    auto r = inner_->Put(blob, slow, o);
    SleepMs(put_finish_delay_ms);
    return r;
  }
  Status Delete(const std::string& blob) override {
    SleepMs(delete_delay_ms);
    return inner_->Delete(blob);
  }

 private:
  // Sleeps before the first read and before every chunk.
  class Delayed final : public ByteSource {
   public:
    Delayed(std::unique_ptr<ByteSource> owned, std::atomic<int64_t>& per_chunk, int64_t first)
        : owned_(std::move(owned)), inner_(*owned_), per_chunk_(per_chunk), first_(first) {}
    Delayed(ByteSource& inner, std::atomic<int64_t>& per_chunk, int64_t first)
        : inner_(inner), per_chunk_(per_chunk), first_(first) {}
    Result<size_t> Read(char* buf, size_t n) override {
      if (first_ > 0) SleepMs(std::exchange(first_, 0));
      SleepMs(per_chunk_);
      return inner_.Read(buf, std::min<size_t>(n, 256 * 1024));
    }

   private:
    std::unique_ptr<ByteSource> owned_;
    ByteSource& inner_;
    std::atomic<int64_t>& per_chunk_;
    int64_t first_;
  };
};

class TimeoutStoreTest : public ::testing::Test {
 protected:
  static constexpr int64_t kTimeoutMs = 1000;
  void SetUp() override {
    dir_ = FreshDir("t");
    slow_ = std::make_shared<SlowStore>(
        std::shared_ptr<ObjectStore>(LocalObjectStore::Make("slow", dir_).value()));
    store_ = TimeoutStore::Make(slow_, kTimeoutMs);
  }
  void TearDown() override {
    // Let abandoned calls finish before the directory goes.
    for (int i = 0; i < 200 && store_->abandoned_in_flight() > 0; ++i) SleepMs(50);
    std::filesystem::remove_all(dir_);
  }
  // Writes a test's starting content past the timeouts (a loaded machine's fsync can be slow).
  void Seed(const std::string& blob, const std::string& data) {
    StringSource src(data);
    ASSERT_TRUE(slow_->Put(blob, src, {}).ok());
  }
  Status PutString(const std::string& blob, const std::string& data) {
    StringSource src(data);
    PutOptions o;
    o.expected_sha256 = Sha256::Hex(data);
    return store_->Put(blob, src, o).status();
  }
  std::string GetString(const std::string& blob) {
    auto src = store_->Get(blob, std::nullopt);
    if (!src.ok()) return "<" + src.status().ToString() + ">";
    auto all = ReadAll(**src);
    return all.ok() ? *all : "<" + all.status().ToString() + ">";
  }

  std::filesystem::path dir_;
  std::shared_ptr<SlowStore> slow_;
  std::shared_ptr<TimeoutStore> store_;
};

TEST_F(TimeoutStoreTest, SlowCallFailsWithDeadlineExceededAndTheCallerIsFreed) {
  slow_->head_delay_ms = 5000;
  int64_t start = MonotonicMicros();
  auto r = store_->Head("a");
  int64_t took_ms = (MonotonicMicros() - start) / 1000;
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kDeadlineExceeded) << r.status().ToString();
  EXPECT_NE(r.status().message().find("site slow"), std::string::npos);
  EXPECT_LT(took_ms, 4000);  // the caller did not wait for the slow call
  EXPECT_EQ(store_->abandoned_in_flight(), 1);
  slow_->head_delay_ms = 0;
  EXPECT_TRUE(store_->Head("a").ok());  // healthy calls are unaffected
}

TEST_F(TimeoutStoreTest, SteadyTransferLongerThanTheTimeoutIsNotCut) {
  // 4 MiB in 256 KiB reads, 150 ms each: ~2.4 s in total, far beyond the 1 s per-call timeout,
  // but never idle for long. Both directions.
  std::string data(4 << 20, '\0');
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>(i * 31 + (i >> 12));
  slow_->put_chunk_delay_ms = 150;
  int64_t start = MonotonicMicros();
  ASSERT_TRUE(PutString("big", data).ok());
  EXPECT_GT((MonotonicMicros() - start) / 1000, kTimeoutMs);
  slow_->put_chunk_delay_ms = 0;
  slow_->get_chunk_delay_ms = 150;
  EXPECT_EQ(Sha256::Hex(GetString("big")), Sha256::Hex(data));
}

TEST_F(TimeoutStoreTest, StalledPutTimesOutAndCannotLandLater) {
  Seed("p", "old bytes");
  slow_->put_first_read_delay_ms = 4000;  // the backend takes nothing for 4 s
  std::string big(3 << 20, 'n');          // more than the pipe holds
  Status s = PutString("p", big);
  EXPECT_EQ(s.code(), StatusCode::kDeadlineExceeded) << s.ToString();
  // While the abandoned write runs, the blob is off limits.
  slow_->put_first_read_delay_ms = 0;
  EXPECT_EQ(PutString("p", "new bytes").code(), StatusCode::kUnavailable);
  EXPECT_EQ(store_->Delete("p").code(), StatusCode::kUnavailable);
  for (int i = 0; i < 400 && store_->abandoned_in_flight() > 0; ++i) SleepMs(25);
  ASSERT_EQ(store_->abandoned_in_flight(), 0);
  // The abandoned write was refused its bytes: the old content survived.
  EXPECT_EQ(GetString("p"), "old bytes");
  ASSERT_TRUE(PutString("p", "new bytes").ok());
  EXPECT_EQ(GetString("p"), "new bytes");
}

TEST_F(TimeoutStoreTest, SlowFinishAfterTheLastByteTimesOut) {
  slow_->put_finish_delay_ms = 4000;
  EXPECT_EQ(PutString("f", "small").code(), StatusCode::kDeadlineExceeded);
  EXPECT_EQ(PutString("f", "small").code(), StatusCode::kUnavailable);
  for (int i = 0; i < 400 && store_->abandoned_in_flight() > 0; ++i) SleepMs(25);
  slow_->put_finish_delay_ms = 0;
  // That write did land (its bytes were complete and verified); a retry simply rewrites them.
  EXPECT_EQ(GetString("f"), "small");
  EXPECT_TRUE(PutString("f", "small").ok());
}

TEST_F(TimeoutStoreTest, StalledReadStreamTimesOut) {
  Seed("g", std::string(2 << 20, 'g'));
  slow_->get_chunk_delay_ms = 4000;
  auto src = store_->Get("g", std::nullopt);
  ASSERT_TRUE(src.ok());
  char buf[4096];
  auto r = (*src)->Read(buf, sizeof buf);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kDeadlineExceeded) << r.status().ToString();
  EXPECT_NE(r.status().message().find("stalled"), std::string::npos);
}

// The caller's own source failing is reported as that failure, and nothing is written.
TEST_F(TimeoutStoreTest, SourceErrorsPassThroughUnchanged) {
  class Failing final : public ByteSource {
   public:
    Result<size_t> Read(char* buf, size_t n) override {
      if (sent_ >= (1 << 20)) return Status::Unavailable("source went away");
      size_t k = std::min<size_t>(n, 64 * 1024);
      std::memset(buf, 'x', k);
      sent_ += k;
      return k;
    }

   private:
    size_t sent_ = 0;
  } failing;
  auto r = store_->Put("e", failing, {});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(r.status().message(), "source went away");
  EXPECT_FALSE(store_->Head("e")->has_value());
  EXPECT_EQ(store_->abandoned_in_flight(), 0);
}

// The backend's thread reads the caller's source; once Put has returned (here: timed out while
// the backend was not taking bytes) the source is never read again, and the write is refused.
TEST_F(TimeoutStoreTest, TheCallersSourceIsNeverReadAfterPutReturns) {
  struct Watched final : public ByteSource {
    std::atomic<bool> returned{false};
    std::atomic<int> reads_after{0};
    PatternSource inner{3 << 20, 7};
    Result<size_t> Read(char* buf, size_t n) override {
      if (returned) ++reads_after;
      return inner.Read(buf, n);
    }
  } src;
  slow_->put_first_read_delay_ms = 2500;  // the backend takes nothing for 2.5 s
  auto r = store_->Put("w", src, {});
  src.returned = true;
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kDeadlineExceeded) << r.status().ToString();
  EXPECT_NE(r.status().message().find("took no bytes"), std::string::npos);
  for (int i = 0; i < 400 && store_->abandoned_in_flight() > 0; ++i) SleepMs(25);
  ASSERT_EQ(store_->abandoned_in_flight(), 0);
  EXPECT_EQ(src.reads_after.load(), 0);
  EXPECT_FALSE(slow_->Head("w")->has_value());  // the late backend got Aborted, not bytes
}

// A caller's source that is slower than the timeout per read is the caller's business: the
// backend takes every byte it is given, so the write is not cut off; bytes arrive in order.
TEST_F(TimeoutStoreTest, ASlowCallersSourceIsNotTheBackendsStall) {
  struct Slow final : public ByteSource {
    PatternSource inner{3 << 20, 9};
    int reads = 0;
    Result<size_t> Read(char* buf, size_t n) override {
      if (reads++ < 2) SleepMs(1300);  // two reads longer than the 1 s timeout
      return inner.Read(buf, std::min<size_t>(n, 1000003));  // odd sizes
    }
  } src;
  PatternSource ref(3 << 20, 9);
  const std::string want = ReadAll(ref).value();
  PutOptions o;
  o.size = 3 << 20;
  o.expected_sha256 = Sha256::Hex(want);
  auto r = store_->Put("s", src, o);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->sha256, o.expected_sha256);
  EXPECT_EQ(Sha256::Hex(GetString("s")), o.expected_sha256);
  EXPECT_EQ(store_->abandoned_in_flight(), 0);
}

TEST_F(TimeoutStoreTest, GetOfMissingBlobIsNotFound) {
  EXPECT_TRUE(store_->Get("missing", std::nullopt).status().IsNotFound());
  slow_->delete_delay_ms = 2000;
  EXPECT_EQ(store_->Delete("missing").code(), StatusCode::kDeadlineExceeded);
}

}  // namespace
}  // namespace dim
