// Crash test of the migrator (DESIGN §5.4): 500 moves between two local sites, objects of 1 KiB
// to 64 MiB, while the real `dim migrator` process is SIGKILLed at random moments — spread over
// the copy and delete phases, some in the middle of a large copy — at least 20 times and
// restarted each time. Once SIGTERM mid-run checks the clean hand-back. At the end: no object is
// lost, every object's live replicas are exactly its placement, every byte re-read verifies
// against the recorded SHA-256, neither site holds an orphan, and no task is stuck or failed.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <random>
#include <thread>

#include "core/checksum.h"
#include "integration/dim_process.h"
#include "integration/migration_fixture.h"
#include "storage/chaos_state.h"
#include "storage/site_registry.h"
#include "store/sqlite/sqlite_metadata_store.h"

namespace dim {
namespace {

namespace fs = std::filesystem;
using std::chrono::milliseconds;

constexpr int kObjects = 500;
constexpr int kMinKills = 20;

std::string Config(const std::string& data_dir) {
  return "data_dir = \"" + data_dir + R"("
[migrator]
workers = 3
lease_s = 2
max_attempts = 200
backoff_base_ms = 20
backoff_max_ms = 400
poll_interval_ms = 50
growing_window_s = 0
call_timeout_ms = 20000

[[sites]]
name = "src"
provider = "p1"
class = "cold"
path = "src"

[[sites]]
name = "dst"
provider = "p2"
class = "hot"
path = "dst"
bandwidth_mib_s = 150
)";
}

// 1 KiB .. 64 MiB: a few large (one of exactly 64 MiB), some medium, most small; shuffled.
std::vector<int64_t> Sizes(std::mt19937_64& rng) {
  std::vector<int64_t> sizes = {64ll << 20, 48ll << 20, 40ll << 20};
  std::uniform_int_distribution<int64_t> medium(1 << 20, 8 << 20), small(1 << 10, 128 << 10);
  while (sizes.size() < 20) sizes.push_back(medium(rng));
  sizes.push_back(1 << 10);
  while (sizes.size() < kObjects) sizes.push_back(small(rng));
  std::shuffle(sizes.begin(), sizes.end(), rng);
  return sizes;
}

std::map<TaskStatus, int64_t> Counts(MetadataStore& store) {
  auto c = store.CountTasks();
  return c.ok() ? *c : std::map<TaskStatus, int64_t>{};
}

TEST(MigratorCrashTest, SurvivesRepeatedKillNine) {
  const uint64_t seed = std::random_device{}();
  SCOPED_TRACE("seed " + std::to_string(seed));
  std::mt19937_64 rng(seed);
  const std::string dir = testing::MakeTempDir("crash");
  ASSERT_FALSE(dir.empty());
  const std::string data = dir + "/data";
  const std::string cfg_path = dir + "/dim.toml";
  std::ofstream(cfg_path) << Config(data);
  auto cfg = LoadConfig(cfg_path);
  ASSERT_TRUE(cfg.ok()) << cfg.status().ToString();
  fs::create_directories(data);
  auto sites = MakeSiteRegistry(*cfg);
  ASSERT_TRUE(sites.ok()) << sites.status().ToString();
  auto store = SqliteMetadataStore::Open(data + "/dim.db");
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  MetadataStore& md = **store;
  ObjectStore& src = *sites->Find("src")->store;
  ObjectStore& dst = *sites->Find("dst")->store;

  // 500 objects on src, then placed on dst: 500 copies, then 500 deletes.
  const auto setup_start = std::chrono::steady_clock::now();
  ASSERT_TRUE(md.CreateBucket("crash", 1).ok());
  auto sizes = Sizes(rng);
  int64_t total = 0;
  for (int64_t sz : sizes) total += sz;
  // Written by several threads: each put is fsynced, and the waits overlap.
  std::vector<int64_t> ids(kObjects);
  std::vector<std::string> errors(kObjects);
  auto write_one = [&](int i) -> std::string {
    ObjectKey key{"crash", "obj/" + std::to_string(i) + ".bin"};
    std::string gen = NewGeneration(1000 + i);
    PatternSource pattern(sizes[i], seed + static_cast<uint64_t>(i) * 7919);
    auto put = src.Put(BlobName(key, gen), pattern, {});
    if (!put.ok()) return put.status().ToString();
    MetadataStore::NewContent c;
    c.key = key;
    c.size = sizes[i];
    c.sha256 = put->sha256;
    c.etag = put->md5;
    c.generation = gen;
    c.tier = Tier::kCold;
    c.sites = {"src"};
    c.now_ms = 1000;
    auto rec = md.PutObject(c);
    if (!rec.ok()) return rec.status().ToString();
    MetadataStore::PlacementChange pc;
    pc.object_id = rec->id;
    pc.expected_version = rec->version;
    pc.tier = Tier::kHot;
    pc.sites = {"dst"};
    pc.max_attempts = 200;
    pc.now_ms = 1000;
    auto placed = md.UpdatePlacement(pc);
    if (!placed.ok()) return placed.status().ToString();
    ids[i] = rec->id;
    return "";
  };
  {
    std::vector<std::thread> writers;
    for (int w = 0; w < 8; ++w) {
      writers.emplace_back([&, w] {
        for (int i = w; i < kObjects; i += 8) errors[i] = write_one(i);
      });
    }
    for (auto& t : writers) t.join();
  }
  for (int i = 0; i < kObjects; ++i) ASSERT_EQ(errors[i], "") << "writing object " << i;
  std::printf("[ crash    ] %d objects, %.1f MiB, seed %llu\n", kObjects, total / 1048576.0,
              static_cast<unsigned long long>(seed));
  const auto migration_start = std::chrono::steady_clock::now();
  std::printf("[ crash    ] set up in %.1f s\n",
              std::chrono::duration<double>(migration_start - setup_start).count());

  // Kill points: a number of finished tasks, spread over the copy and delete phases (1000 tasks),
  // plus kills aimed at the middle of a large copy.
  std::vector<int64_t> at_done;
  std::uniform_int_distribution<int64_t> point(0, 2 * kObjects - 60);
  for (int i = 0; i < kMinKills + 2; ++i) at_done.push_back(point(rng));
  std::sort(at_done.begin(), at_done.end());
  int mid_copy_kills_wanted = 3;
  std::uniform_int_distribution<int> jitter_ms(0, 150);
  const std::vector<std::string> args = {
      "--config", cfg_path, "--log-level", "warn", "--progress-interval", "0"};

  int kills = 0, kills_with_work_left = 0, mid_copy_kills = 0;
  bool sigterm_checked = false;
  size_t next_point = 0;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(240);
  std::string logs;
  for (int run = 0;; ++run) {
    ASSERT_LT(std::chrono::steady_clock::now(), deadline) << "migration did not finish; logs:\n"
                                                          << logs;
    auto proc = std::make_unique<testing::DimProcess>("migrator", data, args);
    ASSERT_TRUE(proc->ok()) << "dim migrator did not start:\n"
                            << proc->startup_output() << proc->Log();
    bool killed = false;
    for (;;) {
      auto c = Counts(md);
      int64_t done = c[TaskStatus::kDone] + c[TaskStatus::kCancelled];
      int64_t left = c[TaskStatus::kQueued] + c[TaskStatus::kRunning];
      if (left == 0 && done > 0) break;  // finished
      bool due = next_point < at_done.size() && done >= at_done[next_point];
      bool mid_copy = false;
      if (!due && mid_copy_kills < mid_copy_kills_wanted) {
        auto running = md.ListTasks(TaskStatus::kRunning, 10);
        if (running.ok()) {
          for (const auto& t : *running) {
            if (t.kind == TaskKind::kCopy && t.bytes >= (32 << 20) && t.bytes_done > t.bytes / 5 &&
                t.bytes_done < t.bytes * 4 / 5) {
              mid_copy = true;
            }
          }
        }
      }
      if (due || mid_copy) {
        std::this_thread::sleep_for(milliseconds(due ? jitter_ms(rng) : 0));
        // Once, halfway, while this process holds leases, stop it cleanly instead: every task it
        // held must be handed back.
        const std::string pid_tag = ":" + std::to_string(proc->pid()) + "/";
        bool holds = false;
        for (const auto& t : md.ListTasks(TaskStatus::kRunning, 100).value()) {
          holds |= t.lease_owner.find(pid_tag) != std::string::npos;
        }
        if (!sigterm_checked && holds && kills >= kMinKills / 2) {
          EXPECT_EQ(proc->Terminate(30), 0) << "SIGTERM did not stop the migrator cleanly";
          for (const auto& t : md.ListTasks(TaskStatus::kRunning, 100).value()) {
            EXPECT_EQ(t.lease_owner.find(pid_tag), std::string::npos)
                << "task " << t.id << " still leased by the stopped process";
          }
          sigterm_checked = true;
        } else {
          kill(proc->pid(), SIGKILL);
          ++kills;
          if (left > 0) ++kills_with_work_left;
          if (mid_copy) ++mid_copy_kills;
        }
        if (due) ++next_point;
        killed = true;
        break;
      }
      std::this_thread::sleep_for(milliseconds(5));
    }
    logs += proc->Log();
    if (!killed) {
      // Finished: stop the last process cleanly.
      EXPECT_EQ(proc->Terminate(30), 0);
      break;
    }
    proc.reset();  // reaps the killed process
  }
  std::printf(
      "[ crash    ] %d SIGKILLs (%d mid-copy), SIGTERM checked: %s, migration took %.1f s\n", kills,
      mid_copy_kills, sigterm_checked ? "yes" : "no",
      std::chrono::duration<double>(std::chrono::steady_clock::now() - migration_start).count());
  EXPECT_GE(kills_with_work_left, kMinKills);
  EXPECT_TRUE(sigterm_checked);

  // No task stuck or failed.
  auto c = Counts(md);
  EXPECT_EQ(c[TaskStatus::kQueued], 0);
  EXPECT_EQ(c[TaskStatus::kRunning], 0);
  EXPECT_EQ(c[TaskStatus::kFailed], 0);
  for (const auto& t : md.ListTasks(TaskStatus::kFailed, 20).value()) {
    ADD_FAILURE() << "task " << t.id << " failed: " << t.last_error;
  }
  // Every object: its one live replica is on dst, and its bytes verify.
  std::set<std::string> expected_blobs;
  for (int64_t id : ids) {
    auto o = md.GetObjectById(id);
    ASSERT_TRUE(o.ok() && o->has_value()) << "object " << id << " lost";
    const ObjectRecord& obj = **o;
    EXPECT_EQ(obj.sites, std::vector<std::string>{"dst"});
    auto reps = md.GetReplicas(id).value();
    ASSERT_EQ(reps.size(), 1u) << obj.key.Full() << " has " << reps.size() << " replica rows";
    EXPECT_EQ(reps[0].site, "dst");
    EXPECT_EQ(reps[0].state, ReplicaState::kLive);
    EXPECT_EQ(reps[0].generation, obj.generation);
    std::string blob = BlobName(obj.key, obj.generation);
    expected_blobs.insert(blob);
    auto in = dst.Get(blob);
    ASSERT_TRUE(in.ok()) << obj.key.Full() << ": " << in.status().ToString();
    HashingSource h(**in);
    int64_t n = 0;
    Status drained = Drain(h, [&](std::string_view chunk) {
      n += static_cast<int64_t>(chunk.size());
      return Status::OK();
    });
    ASSERT_TRUE(drained.ok()) << drained.ToString();
    EXPECT_EQ(n, obj.size) << obj.key.Full();
    EXPECT_EQ(h.Sha256Hex(), obj.sha256) << obj.key.Full() << " does not verify";
  }
  // No orphans: src is empty, dst holds exactly the objects' blobs.
  auto src_left = src.List("", "", 10);
  ASSERT_TRUE(src_left.ok());
  EXPECT_TRUE(src_left->items.empty())
      << src_left->items.size() << " blobs left on src, e.g. " << src_left->items[0].name;
  std::set<std::string> on_dst;
  std::string token;
  do {
    auto page = dst.List("", token, 1000);
    ASSERT_TRUE(page.ok());
    for (const auto& i : page->items) on_dst.insert(i.name);
    token = page->next_token;
  } while (!token.empty());
  EXPECT_EQ(on_dst, expected_blobs);
  EXPECT_EQ(logs.find("did not verify"), std::string::npos);
  store->reset();
  fs::remove_all(dir);
}

TEST(MigratorCommandTest, BadConfigurationNamesTheLineAndDrainExitsWhenIdle) {
  const std::string dir = testing::MakeTempDir("migcmd");
  std::ofstream(dir + "/bad.toml") << "[migrator]\nworkers = 3\nlease_s = \"long\"\n"
                                      "pair_concurrency_overrides = \"aws>gcp\"\n";
  auto r = testing::RunDim({"migrator", "--config", dir + "/bad.toml", "--data-dir", dir + "/d"});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("bad.toml:3"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("not src>dst=N"), std::string::npos) << r.err;
  // Nothing to do: --drain returns at once, cleanly.
  r = testing::RunDim({"migrator", "--data-dir", dir + "/d", "--drain", "--drain-timeout", "30"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("queue drained"), std::string::npos) << r.err;
  fs::remove_all(dir);
}

// `dim migrator` honours chaos injected by another process (POST /chaos/* writes it to the
// shared store): with the destination failed by chaos nothing is copied and --drain gives up;
// once recovered, the same queue drains and the copy verifies.
TEST(MigratorCommandTest, ChaosKeptInTheStoreAppliesToDimMigrator) {
  const std::string dir = testing::MakeTempDir("migchaos");
  const std::string data = dir + "/data";
  const std::string cfg_path = dir + "/dim.toml";
  std::ofstream(cfg_path) << "data_dir = \"" << data << R"("
[migrator]
workers = 2
max_attempts = 50
backoff_base_ms = 20
backoff_max_ms = 100
poll_interval_ms = 20
breaker_failures = 2
breaker_open_ms = 200
growing_window_s = 0

[chaos]
refresh_ms = 100

[storage]
retry_max_attempts = 2
retry_base_ms = 20

[[sites]]
name = "src"
provider = "p1"
class = "cold"
path = "src"

[[sites]]
name = "dst"
provider = "p2"
class = "hot"
path = "dst"
)";
  auto cfg = LoadConfig(cfg_path);
  ASSERT_TRUE(cfg.ok()) << cfg.status().ToString();
  auto sites = MakeSiteRegistry(*cfg);
  ASSERT_TRUE(sites.ok()) << sites.status().ToString();
  fs::create_directories(data);
  auto store = SqliteMetadataStore::Open(data + "/dim.db");
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  ASSERT_TRUE((*store)->CreateBucket("c", 1).ok());
  const testing::SeededMoves moves = testing::SeedMoves(
      **store, *sites->Find("src")->backend, "src", "dst", "c", 3,
      [](int i) { return int64_t{1000} * (i + 1); }, 7);
  ASSERT_EQ(moves.ids.size(), 3u);
  ChaosController chaos(store->get(), RealClock::Instance());
  auto set_failed = [&](bool failed) {
    return chaos.Update(
        [&](ChaosState& st) {
          st.sites["dst"].failed = failed;
          return Status::OK();
        },
        "test", failed ? "fail" : "recover", {{"site", "dst"}});
  };
  ASSERT_TRUE(set_failed(true).ok());

  auto r = testing::RunDim({"migrator", "--config", cfg_path, "--drain", "--drain-timeout", "4"});
  EXPECT_EQ(r.exit_code, 3) << r.err;  // gave up draining: dst is down
  EXPECT_NE(r.err.find("failed by chaos"), std::string::npos) << r.err;
  EXPECT_EQ(testing::TaskCounts(**store)[TaskStatus::kDone], 0);
  EXPECT_EQ(testing::TaskCounts(**store)[TaskStatus::kFailed], 0);

  ASSERT_TRUE(set_failed(false).ok());
  r = testing::RunDim({"migrator", "--config", cfg_path, "--drain", "--drain-timeout", "60"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(testing::TaskCounts(**store)[TaskStatus::kDone], 6);  // 3 copies, 3 deletes
  testing::ExpectMovedAndVerified(**store, moves, *sites->Find("src")->backend,
                                  *sites->Find("dst")->backend, "dst");
  store->reset();
  fs::remove_all(dir);
}

}  // namespace
}  // namespace dim
