#include "migrator/migrator.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include "core/checksum.h"
#include "storage/forwarding_object_store.h"
#include "storage/local_object_store.h"
#include "store/sqlite/sqlite_metadata_store.h"

namespace dim {
namespace {

// A fault-injecting test double over a real local store (unit tests of the retry logic; the
// fault test in tests/integration/migrator_fault_test.cc injects its faults the same way).
class FaultyStore final : public ForwardingObjectStore {
 public:
  using ForwardingObjectStore::ForwardingObjectStore;
  // Non-OK: every data call (Head, Get, Put, Delete) fails with it.
  Status down;
  // The next N puts fail with this status (before reading any byte).
  std::atomic<int> fail_puts{0};
  Status put_failure = Status::ResourceExhausted("503 SlowDown: please reduce your request rate");
  std::atomic<int64_t> put_delay_ms{0};               // before a put reads
  std::atomic<int> slow_puts{0};                      // how many puts get the delay (-1: all)
  std::function<void(const std::string&)> after_get;  // e.g. append to the file
  std::mutex mu;
  std::vector<PutOptions> put_options;
  std::atomic<int> puts_in_flight{0}, max_puts_in_flight{0};

  Result<std::optional<ObjectInfo>> Head(const std::string& blob) override {
    if (!down.ok()) return down;
    return inner_->Head(blob);
  }
  Result<std::unique_ptr<ByteSource>> Get(const std::string& blob,
                                          std::optional<ByteRange> r) override {
    if (!down.ok()) return down;
    auto g = inner_->Get(blob, r);
    if (g.ok() && after_get) after_get(blob);
    return g;
  }
  Result<BlobReader> GetWithInfo(const std::string& blob) override {
    if (!down.ok()) return down;
    auto g = inner_->GetWithInfo(blob);
    if (g.ok() && after_get) after_get(blob);
    return g;
  }
  Result<PutResult> Put(const std::string& blob, ByteSource& data, const PutOptions& o) override {
    {
      std::lock_guard<std::mutex> lock(mu);
      put_options.push_back(o);
    }
    if (!down.ok()) return down;
    if (fail_puts.load() > 0) {
      --fail_puts;
      return put_failure;
    }
    int now = ++puts_in_flight;
    int prev = max_puts_in_flight.load();
    while (now > prev && !max_puts_in_flight.compare_exchange_weak(prev, now)) {
    }
    if (slow_puts.load() != 0) {
      if (slow_puts.load() > 0) --slow_puts;
      std::this_thread::sleep_for(std::chrono::milliseconds(put_delay_ms.load()));
    }
    auto r = inner_->Put(blob, data, o);
    --puts_in_flight;
    return r;
  }
  Status Delete(const std::string& blob) override {
    if (!down.ok()) return down;
    return inner_->Delete(blob);
  }
};

class MigratorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("dim-migrator-" + std::to_string(getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    store_ = SqliteMetadataStore::Open(":memory:").value();
    ASSERT_TRUE(store_->CreateBucket("demo", 0).ok());
    policy_ = std::make_unique<RuntimePolicy>(*store_, clock_, false);
    options_.backoff_base_ms = 1;
    options_.backoff_max_ms = 2;
    options_.growing_window_ms = 0;  // the virtual clock is not the files' clock
    options_.seed = 1;
    Remake();
  }
  void TearDown() override {
    migrator_.reset();
    std::filesystem::remove_all(dir_);
  }

  // (Re)builds the sites (each a FaultyStore over a local directory) and the migrator.
  void Remake(std::map<std::string, double> bandwidth = {}) {
    migrator_.reset();
    Config c;
    c.data_dir = dir_.string();
    c.sites = DefaultSites();
    for (auto& sc : c.sites) sc.bandwidth_mib_s = bandwidth.count(sc.name) ? bandwidth[sc.name] : 0;
    auto base = MakeSiteRegistry(c).value();
    sites_ = SiteRegistry();
    for (const auto& s : base.sites()) {
      local_[s.name()] = dynamic_cast<LocalObjectStore*>(s.store.get());
      auto f = std::make_shared<FaultyStore>(s.store);
      faulty_[s.name()] = f.get();
      sites_.Add(s.config, f);
    }
    base_ = std::move(base);
    migrator_ = std::make_unique<Migrator>(*store_, sites_, *policy_, clock_, metrics_, options_);
  }

  double Jobs(const std::string& result) {
    return metrics_.AddCounter("dim_migration_jobs_total", "", {"result"}).Labels({result}).Value();
  }
  TaskRecord OnlyTask() {
    auto all = store_->ListTasks(std::nullopt, 10).value();
    EXPECT_EQ(all.size(), 1u);
    return all.empty() ? TaskRecord{} : all[0];
  }

  // Writes bytes to a site and records the object there.
  ObjectRecord Write(const std::string& key, const std::string& data, const std::string& site) {
    ObjectKey k{"demo", key};
    std::string gen = NewGeneration(clock_.NowMs());
    StringSource src(data);
    EXPECT_TRUE(sites_.Find(site)->store->Put(BlobName(k, gen), src, {}).ok());
    MetadataStore::NewContent c;
    c.key = k;
    c.size = static_cast<int64_t>(data.size());
    c.sha256 = Sha256::Hex(data);
    c.generation = gen;
    c.tier = Tier::kCold;
    c.sites = {site};
    c.now_ms = clock_.NowMs();
    return store_->PutObject(c).value();
  }

  void Move(const ObjectRecord& o, std::vector<std::string> to) {
    MetadataStore::PlacementChange pc;
    pc.object_id = o.id;
    pc.expected_version = o.version;
    pc.tier = Tier::kHot;
    pc.sites = std::move(to);
    pc.max_attempts = 3;
    ASSERT_TRUE(store_->UpdatePlacement(pc).ok());
  }

  int Drain() {
    int n = 0;
    while (*migrator_->RunOnce("t")) {
      if (++n > 100) break;
      clock_.AdvanceMs(10);
    }
    return n;
  }

  std::string Read(const std::string& site, const std::string& blob) {
    auto src = sites_.Find(site)->store->Get(blob);
    if (!src.ok()) return "<" + src.status().ToString() + ">";
    return ReadAll(**src).value();
  }

  std::filesystem::path dir_;
  VirtualClock clock_;
  MetricsRegistry metrics_;
  SiteRegistry base_, sites_;
  std::map<std::string, LocalObjectStore*> local_;
  std::map<std::string, FaultyStore*> faulty_;
  std::unique_ptr<SqliteMetadataStore> store_;
  std::unique_ptr<RuntimePolicy> policy_;
  MigratorOptions options_;
  std::unique_ptr<Migrator> migrator_;
};

TEST_F(MigratorTest, MovesVerifiesThenDeletesTheOldReplica) {
  std::string data(3 << 20, 'x');
  for (size_t i = 0; i < data.size(); i += 7) data[i] = static_cast<char>(i);
  auto o = Write("big.bin", data, "azure");
  Move(o, {"aws"});
  EXPECT_EQ(Drain(), 2);  // copy, then delete
  std::string blob = BlobName(o.key, o.generation);
  EXPECT_EQ(Sha256::Hex(Read("aws", blob)), Sha256::Hex(data));
  EXPECT_FALSE(sites_.Find("azure")->store->Head(blob)->has_value());
  auto reps = store_->GetReplicas(o.id).value();
  ASSERT_EQ(reps.size(), 1u);
  EXPECT_EQ(reps[0].site, "aws");
  EXPECT_EQ(reps[0].state, ReplicaState::kLive);
  auto& jobs = metrics_.AddCounter("dim_migration_jobs_total", "", {"result"});
  EXPECT_EQ(jobs.Labels({"copied"}).Value(), 1);
  EXPECT_EQ(jobs.Labels({"deleted"}).Value(), 1);
  EXPECT_EQ(metrics_.AddCounter("dim_migration_bytes_total", "").Get().Value(), data.size());
}

TEST_F(MigratorTest, CorruptSourceIsNeverCommitted) {
  auto o = Write("c.txt", "the real bytes", "azure");
  // Rot the only replica on disk.
  auto* local = local_["azure"];
  std::ofstream(local->PathOf(BlobName(o.key, o.generation)), std::ios::trunc) << "the REAL bytes";
  Move(o, {"aws"});
  Drain();
  EXPECT_FALSE(sites_.Find("aws")->store->Head(BlobName(o.key, o.generation))->has_value());
  auto failed = store_->ListTasks(TaskStatus::kFailed, 10).value();
  ASSERT_EQ(failed.size(), 1u);
  EXPECT_NE(failed[0].last_error.find("DataLoss"), std::string::npos) << failed[0].last_error;
  // The old replica is still the live one: nothing was deleted.
  auto reps = store_->GetReplicas(o.id).value();
  bool azure_live = false;
  for (auto& r : reps) azure_live |= r.site == "azure" && r.state == ReplicaState::kLive;
  EXPECT_TRUE(azure_live);
}

TEST_F(MigratorTest, EncryptionPolicyBlocksUnencryptedDestination) {
  auto o = Write("s.txt", "secret", "aws");
  Move(o, {"azure"});  // azure is not encrypted
  ASSERT_TRUE(policy_->SetEncryptionEnforced(true, "test").ok());
  Drain();
  auto failed = store_->ListTasks(TaskStatus::kFailed, 10).value();
  ASSERT_EQ(failed.size(), 1u);
  EXPECT_EQ(failed[0].reason, "destination_not_encrypted");
  EXPECT_EQ(Read("aws", BlobName(o.key, o.generation)), "secret");
}

TEST_F(MigratorTest, OverwriteDuringMoveCancelsTheStaleCopy) {
  auto o = Write("o.txt", "v1", "azure");
  Move(o, {"aws"});
  Write("o.txt", "v2", "azure");  // new generation; queued copy of v1 is cancelled
  Drain();
  auto now = store_->GetObject(o.key)->value();
  EXPECT_EQ(Read("azure", BlobName(o.key, now.generation)), "v2");
  EXPECT_FALSE(sites_.Find("azure")->store->Head(BlobName(o.key, o.generation))->has_value());
  EXPECT_FALSE(sites_.Find("aws")->store->Head(BlobName(o.key, o.generation))->has_value());
}

TEST_F(MigratorTest, BacklogAlertRaisedAndResolved) {
  for (int i = 0; i < 25; ++i) {
    auto o = Write("k" + std::to_string(i), "x", "azure");
    Move(o, {"aws"});
  }
  ASSERT_TRUE(migrator_->CheckBacklog().ok());
  auto alerts = store_->ListAlerts(false).value();
  ASSERT_EQ(alerts.size(), 1u);
  EXPECT_EQ(alerts[0].kind, "migration_backlog");
  Drain();
  ASSERT_TRUE(migrator_->CheckBacklog().ok());
  EXPECT_TRUE(store_->ListAlerts(false)->empty());
}

TEST_F(MigratorTest, WorkersRunInTheBackgroundAndStop) {
  auto o = Write("bg.txt", "background", "azure");
  Move(o, {"gcp"});
  migrator_->Start();
  for (int i = 0; i < 200; ++i) {
    auto reps = store_->GetReplicas(o.id).value();
    if (reps.size() == 1 && reps[0].site == "gcp") break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  migrator_->Stop();
  auto reps = store_->GetReplicas(o.id).value();
  ASSERT_EQ(reps.size(), 1u);
  EXPECT_EQ(reps[0].site, "gcp");
}

// `dim migrator --drain` checks the queue when a worker found nothing to lease.
TEST_F(MigratorTest, IdleWorkersCountTheirEmptyPolls) {
  auto o = Write("idle.txt", "idle", "azure");
  Move(o, {"gcp"});
  ASSERT_TRUE(*migrator_->RunOnce("w"));  // the copy
  ASSERT_TRUE(*migrator_->RunOnce("w"));  // the delete of the old replica
  EXPECT_EQ(migrator_->idle_polls(), 0);  // RunOnce is not a worker's poll
  migrator_->Start();
  for (int i = 0; i < 500 && migrator_->idle_polls() == 0; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  migrator_->Stop();
  EXPECT_GT(migrator_->idle_polls(), 0);
}

TEST_F(MigratorTest, ThrottlingBacksOffWithoutUsingAttempts) {
  auto o = Write("t.bin", std::string(5000, 't'), "azure");
  Move(o, {"aws"});
  faulty_["aws"]->fail_puts = 4;  // 503 SlowDown four times (max_attempts is 3)
  // Each throttled attempt is put back for later (full jitter); nothing is runnable at once.
  for (int i = 0; i < 4; ++i) {
    ASSERT_TRUE(*migrator_->RunOnce("w"));
    auto t = OnlyTask();
    EXPECT_EQ(t.status, TaskStatus::kQueued);
    EXPECT_EQ(t.attempts, 0);
    EXPECT_EQ(t.deferrals, i + 1);
    EXPECT_NE(t.last_error.find("SlowDown"), std::string::npos) << t.last_error;
    EXPECT_GE(t.not_before_ms, clock_.NowMs() + 1);
    clock_.AdvanceMs(1000);
  }
  Drain();
  auto done = store_->ListTasks(TaskStatus::kDone, 10).value();
  ASSERT_EQ(done.size(), 2u);  // the copy and the delete of the old replica
  EXPECT_EQ(Jobs("throttled"), 4);
  EXPECT_EQ(Jobs("copied"), 1);
  EXPECT_EQ(Read("aws", BlobName(o.key, o.generation)), std::string(5000, 't'));
}

TEST_F(MigratorTest, A503SlowDownIsThrottlingToo) {
  // The S3 and Azure backends answer 503 SlowDown / ServerBusy as Unavailable marked throttled.
  auto o = Write("s.bin", std::string(3000, 's'), "azure");
  Move(o, {"aws"});
  faulty_["aws"]->fail_puts = 4;  // more than max_attempts (3)
  faulty_["aws"]->put_failure =
      Status::Unavailable("503 SlowDown: please reduce your request rate").AsThrottled();
  for (int i = 0; i < 4; ++i) {
    ASSERT_TRUE(*migrator_->RunOnce("w"));
    auto t = OnlyTask();
    EXPECT_EQ(t.status, TaskStatus::kQueued);
    EXPECT_EQ(t.attempts, 0);
    EXPECT_EQ(t.deferrals, i + 1);
    clock_.AdvanceMs(1000);
  }
  Drain();
  EXPECT_EQ(Jobs("throttled"), 4);
  EXPECT_EQ(Jobs("copied"), 1);
  EXPECT_EQ(Read("aws", BlobName(o.key, o.generation)), std::string(3000, 's'));
}

TEST_F(MigratorTest, TransientErrorsUseAttemptsThenFailWithTheReason) {
  options_.breaker_failures = 100;  // keep the circuit closed for this test
  Remake();
  auto o = Write("u.bin", "bytes", "azure");
  Move(o, {"aws"});
  faulty_["aws"]->fail_puts = 100;
  faulty_["aws"]->put_failure = Status::Unavailable("connection refused");
  Drain();
  auto failed = store_->ListTasks(TaskStatus::kFailed, 10).value();
  ASSERT_EQ(failed.size(), 1u);
  EXPECT_EQ(failed[0].attempts, 3);
  EXPECT_NE(failed[0].last_error.find("connection refused"), std::string::npos)
      << failed[0].last_error;
  EXPECT_EQ(Jobs("retry"), 2);
  EXPECT_EQ(Jobs("failed"), 1);
  // The only replica is untouched.
  EXPECT_EQ(Read("azure", BlobName(o.key, o.generation)), "bytes");
}

TEST_F(MigratorTest, PermanentErrorsFailAtOnce) {
  auto o = Write("p.bin", "bytes", "azure");
  Move(o, {"aws"});
  faulty_["aws"]->fail_puts = 1;
  faulty_["aws"]->put_failure = Status::PermissionDenied("AccessDenied: no write permission");
  Drain();
  auto t = store_->GetTask(1)->value();
  EXPECT_EQ(t.status, TaskStatus::kFailed);
  EXPECT_EQ(t.attempts, 1);
  EXPECT_NE(t.last_error.find("AccessDenied"), std::string::npos);
}

TEST_F(MigratorTest, CircuitOpensWithAnAlertKeepsTasksWaitingAndAProbeClosesIt) {
  options_.breaker_failures = 2;
  options_.breaker_open_ms = 1000;
  Remake();
  std::vector<ObjectRecord> objs;
  for (int i = 0; i < 5; ++i) {
    objs.push_back(Write("c" + std::to_string(i), "data" + std::to_string(i), "azure"));
    Move(objs.back(), {"aws"});
  }
  faulty_["aws"]->down = Status::Unavailable("connect: connection refused");
  ASSERT_TRUE(*migrator_->RunOnce("w"));  // failure 1: an attempt used
  ASSERT_TRUE(*migrator_->RunOnce("w"));  // failure 2: opens, this task waits without one
  // Open: aws's tasks are not handed out at all.
  EXPECT_FALSE(*migrator_->RunOnce("w"));
  auto alerts = store_->ListAlerts(false).value();
  ASSERT_EQ(alerts.size(), 1u);
  EXPECT_EQ(alerts[0].kind, "circuit_open");
  EXPECT_EQ(alerts[0].subject, "aws");
  EXPECT_NE(alerts[0].message.find("connection refused"), std::string::npos) << alerts[0].message;
  auto& gauge = metrics_.AddGauge("dim_migration_circuit_state", "", {"endpoint"});
  EXPECT_EQ(gauge.Labels({"aws"}).Value(), 2);
  // The wait passes; the probe fails: open again, still nothing failed.
  clock_.AdvanceMs(1600);
  ASSERT_TRUE(*migrator_->RunOnce("w"));
  EXPECT_FALSE(*migrator_->RunOnce("w"));
  EXPECT_TRUE(store_->ListTasks(TaskStatus::kFailed, 10)->empty());
  EXPECT_EQ(store_->ListAlerts(false)->at(0).count, 2);
  // Recovered: the next probe succeeds, the circuit closes, the alert goes, all tasks finish.
  faulty_["aws"]->down = Status::OK();
  clock_.AdvanceMs(1600);
  Drain();
  EXPECT_EQ(gauge.Labels({"aws"}).Value(), 0);
  EXPECT_TRUE(store_->ListAlerts(false)->empty());
  for (const auto& o : objs) {
    EXPECT_EQ(Sha256::Hex(Read("aws", BlobName(o.key, o.generation))), o.sha256) << o.key.key;
  }
  for (const auto& t : store_->ListTasks(std::nullopt, 100).value()) {
    EXPECT_EQ(t.status, TaskStatus::kDone) << t.id << " " << t.last_error;
    EXPECT_LE(t.attempts, t.id == 1 ? 2 : 1) << t.id;  // only the first failure used an attempt
  }
}

TEST_F(MigratorTest, RecentlyModifiedSourceIsFileGrowing) {
  options_.growing_window_ms = 5000;
  Remake();
  clock_.SetMicros(RealClock::Instance().NowMicros());  // compare with the files' mtimes
  auto o = Write("g.log", "still being written", "azure");
  Move(o, {"aws"});
  ASSERT_TRUE(*migrator_->RunOnce("w"));
  auto t = OnlyTask();
  EXPECT_EQ(t.status, TaskStatus::kQueued);
  EXPECT_EQ(t.attempts, 0);
  EXPECT_EQ(t.last_error.rfind("file_growing", 0), 0u) << t.last_error;
  EXPECT_GT(t.not_before_ms, clock_.NowMs() + 4000);
  EXPECT_FALSE(sites_.Find("aws")->store->Head(BlobName(o.key, o.generation))->has_value());
  EXPECT_FALSE(*migrator_->RunOnce("w"));
  clock_.AdvanceMs(6000);
  Drain();
  EXPECT_EQ(Read("aws", BlobName(o.key, o.generation)), "still being written");
  EXPECT_EQ(Jobs("file_growing"), 1);
}

TEST_F(MigratorTest, SourceChangedDuringTheCopyIsFileGrowing) {
  auto o = Write("a.log", std::string(100000, 'a'), "azure");
  Move(o, {"aws"});
  std::string blob = BlobName(o.key, o.generation);
  int appends = 1;
  faulty_["azure"]->after_get = [&](const std::string& b) {
    if (b == blob && appends-- > 0)
      std::ofstream(local_["azure"]->PathOf(b), std::ios::app) << "more";
  };
  ASSERT_TRUE(*migrator_->RunOnce("w"));
  auto t = OnlyTask();
  EXPECT_EQ(t.status, TaskStatus::kQueued);
  EXPECT_EQ(t.attempts, 0);
  EXPECT_EQ(t.last_error.rfind("file_growing", 0), 0u) << t.last_error;
  EXPECT_NE(t.last_error.find("changed during the copy"), std::string::npos) << t.last_error;
  EXPECT_FALSE(sites_.Find("aws")->store->Head(blob)->has_value());  // nothing left behind
}

TEST_F(MigratorTest, EncryptedDestinationsGetServerSideEncryption) {
  auto a = Write("e1", "to aws", "azure");
  auto b = Write("e2", "to azure", "aws");
  for (auto& [name, f] : faulty_) f->put_options.clear();
  Move(a, {"aws"});    // encrypted
  Move(b, {"azure"});  // not encrypted
  Drain();
  ASSERT_EQ(faulty_["aws"]->put_options.size(), 1u);
  EXPECT_TRUE(faulty_["aws"]->put_options[0].server_side_encryption);
  EXPECT_EQ(faulty_["aws"]->put_options[0].expected_sha256, a.sha256);
  ASSERT_EQ(faulty_["azure"]->put_options.size(), 1u);
  EXPECT_FALSE(faulty_["azure"]->put_options[0].server_side_encryption);
}

TEST_F(MigratorTest, SlowCallsTimeOutAndRetryWhileSteadyTransfersFinish) {
  options_.call_timeout_ms = 300;
  Remake({{"gcp", 8}});  // gcp: 8 MiB/s, so the big copy takes ~0.5 s, beyond the timeout
  auto small = Write("s", "small", "azure");
  Move(small, {"aws"});
  faulty_["aws"]->put_delay_ms = 3000;  // the first put to aws hangs for 3 s
  faulty_["aws"]->slow_puts = 1;
  std::string big(6 << 20, 'b');
  auto large = Write("big", big, "azure");
  Move(large, {"gcp"});
  int64_t start = MonotonicMicros();
  ASSERT_TRUE(*migrator_->RunOnce("w"));  // small: times out
  EXPECT_LT((MonotonicMicros() - start) / 1000, 2500);
  auto t = store_->GetTask(1)->value();
  EXPECT_EQ(t.status, TaskStatus::kQueued);
  EXPECT_NE(t.last_error.find("DeadlineExceeded"), std::string::npos) << t.last_error;
  ASSERT_TRUE(*migrator_->RunOnce("w"));  // big: steady, completes although > timeout
  EXPECT_EQ(Sha256::Hex(Read("gcp", BlobName(large.key, large.generation))), Sha256::Hex(big));
  // The hung write is still running; the retry waits until it is gone, then succeeds.
  clock_.AdvanceMs(10);
  for (int i = 0; i < 100 && !store_->GetTask(1)->value().finished_ms; ++i) {
    (void)migrator_->RunOnce("w");
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    clock_.AdvanceMs(10);
  }
  EXPECT_EQ(store_->GetTask(1)->value().status, TaskStatus::kDone)
      << store_->GetTask(1)->value().last_error;
  EXPECT_EQ(Read("aws", BlobName(small.key, small.generation)), "small");
}

TEST_F(MigratorTest, BandwidthLimitPacesCopies) {
  Remake({{"aws", 4}});  // 4 MiB/s with a 2 MiB burst
  auto o = Write("bw", std::string(6 << 20, 'w'), "azure");
  Move(o, {"aws"});
  int64_t start = MonotonicMicros();
  ASSERT_TRUE(*migrator_->RunOnce("w"));
  double secs = (MonotonicMicros() - start) / 1e6;
  EXPECT_EQ(store_->GetTask(1)->value().status, TaskStatus::kDone);
  EXPECT_GE(secs, 0.9);  // (6 - 2) MiB at 4 MiB/s; a lower bound only
}

TEST_F(MigratorTest, PairConcurrencyIsCapped) {
  options_.workers = 4;
  options_.pair_concurrency = 1;
  Remake();
  for (int i = 0; i < 6; ++i) Move(Write("pc" + std::to_string(i), "x", "azure"), {"aws"});
  for (int i = 0; i < 3; ++i) Move(Write("pg" + std::to_string(i), "y", "azure"), {"gcp"});
  faulty_["aws"]->put_delay_ms = 100;
  faulty_["aws"]->slow_puts = -1;
  faulty_["gcp"]->put_delay_ms = 100;
  faulty_["gcp"]->slow_puts = -1;
  std::atomic<int> both{0};
  std::atomic<bool> watch{true};
  std::thread watcher([&] {
    while (watch) {
      if (faulty_["aws"]->puts_in_flight.load() == 1 && faulty_["gcp"]->puts_in_flight.load() == 1)
        both++;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  });
  migrator_->Start();
  for (int i = 0; i < 400; ++i) {
    if (store_->CountTasks()->at(TaskStatus::kDone) == 18) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(25));
  }
  migrator_->Stop();
  watch = false;
  watcher.join();
  EXPECT_EQ(store_->CountTasks()->at(TaskStatus::kDone), 18);
  EXPECT_EQ(faulty_["aws"]->max_puts_in_flight.load(), 1);
  EXPECT_EQ(faulty_["gcp"]->max_puts_in_flight.load(), 1);
  EXPECT_GT(both.load(), 0);  // different pairs do run side by side
}

TEST_F(MigratorTest, StopHandsBackARunningCopy) {
  Remake({{"aws", 2}});  // slow enough to be caught mid-copy
  auto o = Write("h", std::string(8 << 20, 'h'), "azure");
  Move(o, {"aws"});
  migrator_->Start();
  for (int i = 0; i < 400 && store_->CountTasks()->at(TaskStatus::kRunning) == 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  migrator_->Stop();
  auto t = OnlyTask();
  EXPECT_EQ(t.status, TaskStatus::kQueued);
  EXPECT_EQ(t.attempts, 0);
  EXPECT_EQ(Jobs("handed_back"), 1);
  EXPECT_FALSE(sites_.Find("aws")->store->Head(BlobName(o.key, o.generation))->has_value());
}

TEST_F(MigratorTest, LeasesAreKeptAliveDuringLongCopies) {
  options_.lease_ms = 300;
  Remake({{"aws", 6}});
  auto o = Write("l", std::string(8 << 20, 'l'), "azure");  // ~1 s, several leases long
  Move(o, {"aws"});
  RealClock real;
  Migrator m(*store_, sites_, *policy_, real, metrics_, options_);
  migrator_.reset();
  ASSERT_TRUE(*m.RunOnce("w"));
  auto t = store_->GetTask(1)->value();
  EXPECT_EQ(t.status, TaskStatus::kDone) << t.last_error;
  EXPECT_EQ(t.attempts, 1);
  EXPECT_EQ(t.bytes_done, 8 << 20);
  EXPECT_EQ(Jobs("lease_lost"), 0);
}

TEST_F(MigratorTest, TooManyDeferralsFail) {
  options_.max_deferrals = 2;
  Remake();
  auto o = Write("d", "x", "azure");
  Move(o, {"aws"});
  faulty_["aws"]->fail_puts = 100;
  for (int i = 0; i < 5; ++i) {
    (void)migrator_->RunOnce("w");
    clock_.AdvanceMs(100000);
  }
  auto t = store_->GetTask(1)->value();
  EXPECT_EQ(t.status, TaskStatus::kFailed);
  EXPECT_NE(t.last_error.find("put back 2 times"), std::string::npos) << t.last_error;
}

TEST_F(MigratorTest, ProgressLineShowsTheQueueRateAndEtaOnlyWhileThereIsWork) {
  Counter& bytes = metrics_.AddCounter("dim_migration_bytes_total", "").Get();
  MigrationProgress progress(*store_, bytes);
  auto first = progress.Line(true);
  ASSERT_TRUE(first.has_value());  // the first call always reports
  EXPECT_NE(first->find("0 queued, 0 running, 0 done"), std::string::npos) << *first;
  EXPECT_FALSE(progress.Line(true).has_value());  // idle and nothing finished: quiet
  Move(Write("p1", std::string(1000, 'a'), "azure"), {"aws"});
  Move(Write("p2", std::string(1000, 'b'), "azure"), {"aws"});
  auto queued = progress.Line(true);
  ASSERT_TRUE(queued.has_value());
  EXPECT_NE(queued->find("2 queued"), std::string::npos) << *queued;
  EXPECT_NE(queued->find("ETA -"), std::string::npos) << *queued;  // nothing finished yet
  ASSERT_TRUE(*migrator_->RunOnce("w"));                           // one copy of 1000 bytes
  auto moving = progress.Line(true);
  ASSERT_TRUE(moving.has_value());
  EXPECT_NE(moving->find("1 done ("), std::string::npos) << *moving;
  EXPECT_NE(moving->find("MiB/s), 0 failed; ETA "), std::string::npos) << *moving;
  EXPECT_EQ(moving->find("ETA -"), std::string::npos) << *moving;
  EXPECT_EQ(bytes.Value(), 1000);
  Drain();
  ASSERT_TRUE(progress.Line(true).has_value());  // tasks finished since the last line
  EXPECT_FALSE(progress.Line(true).has_value());
  EXPECT_TRUE(progress.Line(false).has_value());  // unless asked to report anyway
}

}  // namespace
}  // namespace dim
