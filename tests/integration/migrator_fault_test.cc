// Fault test of the migrator (issue 5): moves between two local sites while the destination
// throttles 20% of its calls (429 TooManyRequests / 503 SlowDown), fails completely for 10 s in
// the middle of the run (every call and every open stream: the circuit breaker must open, raise
// `circuit_open`, keep the tasks waiting and close again), and 5% of the reads from the source
// are corrupted in flight. The source also answers with injected latency (every call and every
// chunk) and stalls 5% of its reads past the per-call timeout: those time out and are retried,
// while the slow-but-moving calls are never cut. At the end every task completed, every corrupt
// copy was rejected and retried, none was committed: each object's only replica is on the
// destination and its bytes verify, and the destination holds no other blob.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <functional>
#include <mutex>
#include <random>
#include <thread>

#include "core/checksum.h"
#include "core/clock.h"
#include "core/metrics.h"
#include "integration/dim_process.h"
#include "integration/migration_fixture.h"
#include "migrator/migrator.h"
#include "optimizer/runtime_policy.h"
#include "storage/site_registry.h"
#include "store/sqlite/sqlite_metadata_store.h"

namespace dim {
namespace {

namespace fs = std::filesystem;
using Steady = std::chrono::steady_clock;

constexpr int kObjects = 150;

// Faults around a real store: throttling of a fraction of calls, a total outage (calls and open
// streams fail), and corruption of a fraction of the Get streams (one byte flipped in flight;
// the stored bytes never change). Thread-safe.
class FaultInjector final : public ObjectStore {
 public:
  FaultInjector(std::shared_ptr<ObjectStore> inner, uint64_t seed)
      : inner_(std::move(inner)), rng_(seed) {}

  std::atomic<double> throttle_fraction{0};
  std::atomic<double> corrupt_fraction{0};
  std::atomic<bool> down{false};
  std::atomic<int64_t> latency_ms{0}, chunk_latency_ms{0};  // before every call / stream read
  std::atomic<double> stall_fraction{0};                    // of Gets, which then wait stall_ms
  std::atomic<int64_t> stall_ms{0};
  std::atomic<int64_t> throttled{0}, refused{0}, corrupted_gets{0}, stalled{0};
  // Puts that received a whole body not matching their expected SHA-256 (corrupt copies that
  // reached this store), and puts that got a whole body at all.
  std::atomic<int64_t> corrupt_bodies{0}, whole_bodies{0};

  const std::string& name() const override { return inner_->name(); }
  Result<std::optional<ObjectInfo>> Head(const std::string& blob) override {
    DIM_RETURN_IF_ERROR(Inject());
    return inner_->Head(blob);
  }
  Result<std::unique_ptr<ByteSource>> Get(const std::string& blob,
                                          std::optional<ByteRange> range) override {
    DIM_RETURN_IF_ERROR(BeforeGet());
    DIM_ASSIGN_OR_RETURN(auto in, inner_->Get(blob, range));
    return Faulty(std::move(in), [&] {
      auto info = inner_->Head(blob);
      return info.ok() && *info ? (*info)->size : 1;
    });
  }
  Result<BlobReader> GetWithInfo(const std::string& blob) override {
    DIM_RETURN_IF_ERROR(BeforeGet());
    DIM_ASSIGN_OR_RETURN(auto r, inner_->GetWithInfo(blob));
    const int64_t size = r.info.size;
    r.body = Faulty(std::move(r.body), [size] { return size; });
    return r;
  }
  Result<PutResult> Put(const std::string& blob, ByteSource& data,
                        const PutOptions& options) override {
    DIM_RETURN_IF_ERROR(Inject());
    FaultySource guarded(data, *this);
    HashingSource hashed(guarded);
    auto r = inner_->Put(blob, hashed, options);
    if (guarded.at_end()) {
      ++whole_bodies;
      if (!options.expected_sha256.empty() && hashed.Sha256Hex() != options.expected_sha256)
        ++corrupt_bodies;
    }
    return r;
  }
  Status Delete(const std::string& blob) override {
    DIM_RETURN_IF_ERROR(Inject());
    return inner_->Delete(blob);
  }
  Status BeforeGet() {
    DIM_RETURN_IF_ERROR(Inject());
    if (Chance(stall_fraction.load())) {
      ++stalled;
      SleepMs(stall_ms.load());
    }
    return Status::OK();
  }
  // A read stream with this injector's faults; a corrupt one flips a byte within size().
  std::unique_ptr<ByteSource> Faulty(std::unique_ptr<ByteSource> in,
                                     const std::function<int64_t()>& size) {
    int64_t flip_at = -1;
    if (Chance(corrupt_fraction.load())) {
      flip_at = static_cast<int64_t>(Uniform() * static_cast<double>(std::max<int64_t>(1, size())));
      ++corrupted_gets;
    }
    return std::make_unique<FaultySource>(std::move(in), *this, flip_at);
  }
  Result<ListPage> List(const std::string& p, const std::string& t, int max) override {
    return inner_->List(p, t, max);
  }
  Result<std::string> CreateMultipart(const std::string& b, const PutOptions& o) override {
    DIM_RETURN_IF_ERROR(Inject());
    return inner_->CreateMultipart(b, o);
  }
  Result<PutResult> UploadPart(const std::string& b, const std::string& id, int n, ByteSource& d,
                               int64_t size) override {
    DIM_RETURN_IF_ERROR(Inject());
    FaultySource guarded(d, *this);
    return inner_->UploadPart(b, id, n, guarded, size);
  }
  Result<PutResult> CompleteMultipart(const std::string& b, const std::string& id,
                                      const std::vector<CompletedPart>& parts) override {
    DIM_RETURN_IF_ERROR(Inject());
    return inner_->CompleteMultipart(b, id, parts);
  }
  Status AbortMultipart(const std::string& b, const std::string& id) override {
    return inner_->AbortMultipart(b, id);
  }

 private:
  // Passes bytes through; fails while the endpoint is down; optionally flips one byte.
  class FaultySource final : public ByteSource {
   public:
    FaultySource(std::unique_ptr<ByteSource> owned, FaultInjector& f, int64_t flip_at)
        : owned_(std::move(owned)), inner_(*owned_), f_(f), flip_at_(flip_at) {}
    FaultySource(ByteSource& inner, FaultInjector& f) : inner_(inner), f_(f) {}
    Result<size_t> Read(char* buf, size_t n) override {
      if (f_.down.load()) return Refused();
      SleepMs(f_.chunk_latency_ms.load());
      DIM_ASSIGN_OR_RETURN(size_t got, inner_.Read(buf, n));
      if (flip_at_ >= pos_ && flip_at_ < pos_ + static_cast<int64_t>(got)) {
        buf[flip_at_ - pos_] ^= 0x20;
      }
      pos_ += static_cast<int64_t>(got);
      at_end_ |= got == 0;
      return got;
    }
    bool at_end() const { return at_end_; }
    Status Refused() {
      ++f_.refused;
      return Status::Unavailable("site " + f_.name() + ": connection reset (injected outage)");
    }

   private:
    std::unique_ptr<ByteSource> owned_;
    ByteSource& inner_;
    FaultInjector& f_;
    int64_t flip_at_ = -1;
    int64_t pos_ = 0;
    bool at_end_ = false;
  };

  static void SleepMs(int64_t ms) {
    if (ms > 0) std::this_thread::sleep_for(std::chrono::milliseconds(ms));
  }
  Status Inject() {
    SleepMs(latency_ms.load());
    if (down.load()) {
      ++refused;
      return Status::Unavailable("site " + name() + ": connection refused (injected outage)");
    }
    if (Chance(throttle_fraction.load())) {
      int64_t n = ++throttled;
      return Status::ResourceExhausted(n % 2 ? "site " + name() + ": HTTP 429 TooManyRequests"
                                             : "site " + name() + ": HTTP 503 SlowDown");
    }
    return Status::OK();
  }
  double Uniform() {
    std::lock_guard<std::mutex> lock(mu_);
    return std::uniform_real_distribution<double>(0, 1)(rng_);
  }
  bool Chance(double p) { return p > 0 && Uniform() < p; }

  std::shared_ptr<ObjectStore> inner_;
  std::mutex mu_;
  std::mt19937_64 rng_;
};

using testing::CircuitAlertActive;

std::map<TaskStatus, int64_t> Counts(MetadataStore& store) { return testing::TaskCounts(store); }

double SourceTimeouts(MetricsRegistry& metrics) {
  return metrics.AddCounter("dim_migration_endpoint_failures_total", "", {"endpoint", "class"})
      .Labels({"src", "timeout"})
      .Value();
}

TEST(MigratorFaultTest, ThrottlingAnOutageAndCorruptReadsLoseNothing) {
  const uint64_t seed = std::random_device{}();
  SCOPED_TRACE("seed " + std::to_string(seed));
  std::mt19937_64 rng(seed);
  const std::string dir = testing::MakeTempDir("fault");
  ASSERT_FALSE(dir.empty());

  Config c;
  c.data_dir = dir;
  SiteConfig src_cfg, dst_cfg;
  src_cfg.name = "src";
  src_cfg.provider = "p1";
  src_cfg.storage_class = Tier::kCold;
  src_cfg.path = "src";
  dst_cfg.name = "dst";
  dst_cfg.provider = "p2";
  dst_cfg.path = "dst";
  c.sites = {src_cfg, dst_cfg};
  auto base = MakeSiteRegistry(c);
  ASSERT_TRUE(base.ok()) << base.status().ToString();
  auto src_fault = std::make_shared<FaultInjector>(base->Find("src")->store, seed + 1);
  auto dst_fault = std::make_shared<FaultInjector>(base->Find("dst")->store, seed + 2);
  SiteRegistry sites;
  sites.Add(src_cfg, src_fault);
  sites.Add(dst_cfg, dst_fault);
  ObjectStore& src_raw = *base->Find("src")->store;
  ObjectStore& dst_raw = *base->Find("dst")->store;

  auto opened = SqliteMetadataStore::Open(dir + "/dim.db");
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  MetadataStore& md = **opened;
  ASSERT_TRUE(md.CreateBucket("fault", 1).ok());

  // Objects of 1 KiB .. 1 MiB and a few of 8 MiB on src, each placed on dst: a copy, then a
  // delete task each.
  std::uniform_int_distribution<int64_t> size_of(1 << 10, 1 << 20);
  const testing::SeededMoves moves = testing::SeedMoves(
      md, src_raw, "src", "dst", "fault", kObjects,
      [&](int i) { return i % 30 == 0 ? int64_t{8} << 20 : size_of(rng); }, seed);
  ASSERT_EQ(moves.ids.size(), static_cast<size_t>(kObjects));
  const int64_t total = moves.bytes;
  std::printf("[ fault    ] %d objects, %.1f MiB, seed %llu\n", kObjects, total / 1048576.0,
              static_cast<unsigned long long>(seed));

  MigratorOptions o;
  o.workers = 3;
  o.lease_ms = 20000;
  o.backoff_base_ms = 20;
  o.backoff_max_ms = 500;
  o.poll_interval_ms = 20;
  o.breaker_failures = 5;
  o.breaker_open_ms = 1000;
  o.growing_window_ms = 0;
  o.call_timeout_ms = 3000;
  o.seed = seed;
  MetricsRegistry metrics;
  RuntimePolicy policy(md, RealClock::Instance(), false);
  Migrator migrator(md, sites, policy, RealClock::Instance(), metrics, o);

  dst_fault->throttle_fraction = 0.20;
  src_fault->corrupt_fraction = 0.05;
  src_fault->latency_ms = 20;
  src_fault->chunk_latency_ms = 5;
  src_fault->stall_fraction = 0.05;
  src_fault->stall_ms = 6000;  // twice the per-call timeout
  migrator.Start();

  // The outage: once a third of the 2 x kObjects tasks are done, the destination fails for 10 s.
  const auto deadline = Steady::now() + std::chrono::seconds(240);
  auto wait_for = [&](const std::function<bool()>& done, const char* what) {
    return testing::WaitForTasks(md, deadline, done, what);
  };
  auto finished = [&] { return testing::FinishedTasks(md); };
  ASSERT_TRUE(wait_for([&] { return finished() >= 2 * kObjects / 3; }, "a third of the tasks"));
  const int64_t done_before_outage = finished();
  dst_fault->down = true;
  const testing::OutageSeen outage = testing::WatchOutage(md, "dst", 10);
  const bool alert_seen = outage.circuit_alert;
  const int64_t queued_during_outage = outage.max_queued;
  const int64_t failed_during_outage = outage.failed_at_end;
  dst_fault->down = false;
  std::printf("[ fault    ] outage of dst for 10 s after %lld tasks\n",
              static_cast<long long>(done_before_outage));

  ASSERT_TRUE(wait_for(
      [&] {
        auto n = Counts(md);
        return n[TaskStatus::kQueued] + n[TaskStatus::kRunning] == 0;
      },
      "the queue to drain"));
  migrator.Stop();

  std::printf(
      "[ fault    ] dst: %lld throttled calls, %lld refused during the outage; src: %lld corrupt "
      "reads; %lld corrupt copies reached dst, %.0f rejected; src: %lld stalled reads, %.0f "
      "timeouts\n",
      static_cast<long long>(dst_fault->throttled.load()),
      static_cast<long long>(dst_fault->refused.load()),
      static_cast<long long>(src_fault->corrupted_gets.load()),
      static_cast<long long>(dst_fault->corrupt_bodies.load()),
      metrics.AddCounter("dim_migration_corrupt_rejected_total", "").Get().Value(),
      static_cast<long long>(src_fault->stalled.load()), SourceTimeouts(metrics));

  // The faults happened.
  EXPECT_GT(dst_fault->throttled.load(), 0);
  EXPECT_GT(dst_fault->refused.load(), 0);
  EXPECT_GT(dst_fault->corrupt_bodies.load(), 0) << "no corrupt copy reached the destination";
  EXPECT_GT(src_fault->stalled.load(), 0);
  // Every stalled read timed out (and its task was retried: all complete below).
  EXPECT_GE(SourceTimeouts(metrics), static_cast<double>(src_fault->stalled.load()));
  // The outage opened the circuit with an alert, kept the tasks waiting instead of failing them,
  // and the circuit closed again (alert resolved) once the destination was back.
  EXPECT_TRUE(alert_seen) << "no circuit_open alert for dst during the outage";
  EXPECT_EQ(failed_during_outage, 0);
  EXPECT_GT(queued_during_outage, 0);
  EXPECT_FALSE(CircuitAlertActive(md, "dst"));
  EXPECT_GT(metrics.AddCounter("dim_migration_jobs_total", "", {"result"})
                .Labels({"circuit_open"})
                .Value(),
            0);
  EXPECT_GT(
      metrics.AddCounter("dim_migration_jobs_total", "", {"result"}).Labels({"throttled"}).Value(),
      0);
  // Every corrupt copy that reached the destination was rejected, and retried.
  const double rejected =
      metrics.AddCounter("dim_migration_corrupt_rejected_total", "").Get().Value();
  EXPECT_EQ(rejected, static_cast<double>(dst_fault->corrupt_bodies.load()));
  EXPECT_EQ(
      metrics.AddCounter("dim_migration_jobs_total", "", {"result"}).Labels({"corrupt"}).Value(),
      rejected);
  EXPECT_LE(rejected, static_cast<double>(src_fault->corrupted_gets.load()));

  // Every task completed.
  auto n = Counts(md);
  EXPECT_EQ(n[TaskStatus::kDone], 2 * kObjects);
  EXPECT_EQ(n[TaskStatus::kFailed], 0);
  for (const auto& t : md.ListTasks(TaskStatus::kFailed, 20).value()) {
    ADD_FAILURE() << "task " << t.id << " failed: " << t.last_error;
  }
  // None corrupt committed: each object lives on dst only, and its bytes verify there.
  testing::ExpectMovedAndVerified(md, moves, src_raw, dst_raw, "dst");
  opened->reset();
  fs::remove_all(dir);
}

}  // namespace
}  // namespace dim
