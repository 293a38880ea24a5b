#include "integration/migration_fixture.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <set>
#include <thread>

#include "core/object_key.h"
#include "storage/byte_stream.h"

namespace dim::testing {

SeededMoves SeedMoves(MetadataStore& md, ObjectStore& src_store, const std::string& src,
                      const std::string& dst, const std::string& bucket, int count,
                      const std::function<int64_t(int)>& size_of, uint64_t seed, int max_attempts) {
  SeededMoves out;
  for (int i = 0; i < count; ++i) {
    ObjectKey key{bucket, "obj/" + std::to_string(i)};
    std::string gen = NewGeneration(1000 + i);
    const int64_t size = size_of(i);
    PatternSource pattern(size, seed + static_cast<uint64_t>(i));
    PutOptions po;
    po.size = size;
    auto put = src_store.Put(BlobName(key, gen), pattern, po);
    if (!put.ok()) {
      ADD_FAILURE() << "seeding " << key.Full() << ": " << put.status().ToString();
      return out;
    }
    MetadataStore::NewContent nc;
    nc.key = key;
    nc.size = size;
    nc.sha256 = put->sha256;
    nc.etag = put->md5;
    nc.generation = gen;
    nc.tier = Tier::kCold;
    nc.sites = {src};
    nc.now_ms = 1000;
    auto rec = md.PutObject(nc);
    if (!rec.ok()) {
      ADD_FAILURE() << "recording " << key.Full() << ": " << rec.status().ToString();
      return out;
    }
    MetadataStore::PlacementChange pc;
    pc.object_id = rec->id;
    pc.expected_version = rec->version;
    pc.tier = Tier::kHot;
    pc.sites = {dst};
    pc.max_attempts = max_attempts;
    pc.now_ms = 1000;
    if (auto s = md.UpdatePlacement(pc); !s.ok()) {
      ADD_FAILURE() << "placing " << key.Full() << ": " << s.status().ToString();
      return out;
    }
    out.ids.push_back(rec->id);
    out.bytes += size;
  }
  return out;
}

namespace {

std::set<std::string> ListAll(ObjectStore& s) {
  std::set<std::string> names;
  std::string token;
  do {
    auto page = s.List("", token, 1000);
    if (!page.ok()) {
      ADD_FAILURE() << "listing " << s.name() << ": " << page.status().ToString();
      break;
    }
    for (const auto& i : page->items) names.insert(i.name);
    token = page->next_token;
  } while (!token.empty());
  return names;
}

}  // namespace

void ExpectMovedAndVerified(MetadataStore& md, const SeededMoves& moves, ObjectStore& src_store,
                            ObjectStore& dst_store, const std::string& dst) {
  std::set<std::string> expected;
  for (int64_t id : moves.ids) {
    auto got = md.GetObjectById(id);
    ASSERT_TRUE(got.ok() && got->has_value()) << "object " << id << " lost";
    const ObjectRecord& obj = **got;
    EXPECT_EQ(obj.sites, std::vector<std::string>{dst});
    auto reps = md.GetReplicas(id);
    ASSERT_TRUE(reps.ok()) << reps.status().ToString();
    ASSERT_EQ(reps->size(), 1u) << obj.key.Full();
    EXPECT_EQ((*reps)[0].site, dst);
    EXPECT_EQ((*reps)[0].state, ReplicaState::kLive);
    EXPECT_EQ((*reps)[0].sha256, obj.sha256);
    std::string blob = BlobName(obj.key, obj.generation);
    expected.insert(blob);
    auto in = dst_store.Get(blob);
    ASSERT_TRUE(in.ok()) << obj.key.Full() << ": " << in.status().ToString();
    HashingSource h(**in);
    int64_t bytes = 0;
    Status read = Drain(h, [&](std::string_view chunk) {
      bytes += static_cast<int64_t>(chunk.size());
      return Status::OK();
    });
    ASSERT_TRUE(read.ok()) << obj.key.Full() << ": " << read.ToString();
    EXPECT_EQ(bytes, obj.size) << obj.key.Full();
    EXPECT_EQ(h.Sha256Hex(), obj.sha256) << obj.key.Full() << ": a corrupt copy was committed";
  }
  EXPECT_EQ(ListAll(dst_store), expected) << "the destination holds other blobs";
  EXPECT_TRUE(ListAll(src_store).empty()) << "old replicas left on the source";
}

OutageSeen WatchOutage(MetadataStore& md, const std::string& site, int seconds) {
  OutageSeen seen;
  const auto start = std::chrono::steady_clock::now();
  while (std::chrono::steady_clock::now() - start < std::chrono::seconds(seconds)) {
    seen.circuit_alert |= CircuitAlertActive(md, site);
    seen.max_queued = std::max(seen.max_queued, TaskCounts(md)[TaskStatus::kQueued]);
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  seen.circuit_alert |= CircuitAlertActive(md, site);
  seen.failed_at_end = TaskCounts(md)[TaskStatus::kFailed];
  return seen;
}

std::map<TaskStatus, int64_t> TaskCounts(MetadataStore& md) {
  auto c = md.CountTasks();
  return c.ok() ? *c : std::map<TaskStatus, int64_t>{};
}

int64_t FinishedTasks(MetadataStore& md) {
  auto n = TaskCounts(md);
  return n[TaskStatus::kDone] + n[TaskStatus::kCancelled] + n[TaskStatus::kFailed];
}

bool WaitForTasks(MetadataStore& md, std::chrono::steady_clock::time_point deadline,
                  const std::function<bool()>& done, const char* what) {
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) {
      auto n = TaskCounts(md);
      ADD_FAILURE() << "timed out waiting for " << what << "; tasks: queued "
                    << n[TaskStatus::kQueued] << ", running " << n[TaskStatus::kRunning];
      return false;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return true;
}

bool CircuitAlertActive(MetadataStore& md, const std::string& site) {
  auto alerts = md.ListAlerts(false);
  if (!alerts.ok()) return false;
  for (const auto& a : *alerts) {
    if (a.kind == "circuit_open" && a.subject == site) return true;
  }
  return false;
}

}  // namespace dim::testing
