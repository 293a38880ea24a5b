// Test helper for the migrator's fault tests: seeds objects on a site with a move to another
// (a copy task, then a delete task each), and checks the end state of such a run with gtest
// expectations — every object lost nothing, lives only on the destination, and its bytes read
// back from the bare destination store verify; the destination holds no other blob and the
// source none at all. Not thread-safe (test code).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "storage/object_store.h"
#include "store/metadata_store.h"

namespace dim::testing {

struct SeededMoves {
  std::vector<int64_t> ids;  // object ids, in seeding order
  int64_t bytes = 0;
};

// count objects "bucket/obj/I" of size_of(I) bytes (deterministic bytes from seed + I) written
// to `src` through src_store, each then placed on `dst` only with max_attempts per task.
// Fails the test (ADD_FAILURE) and returns what was seeded so far when a step fails.
SeededMoves SeedMoves(MetadataStore& md, ObjectStore& src_store, const std::string& src,
                      const std::string& dst, const std::string& bucket, int count,
                      const std::function<int64_t(int)>& size_of, uint64_t seed,
                      int max_attempts = 12);

// The end state described above; src_store and dst_store are the bare backends.
void ExpectMovedAndVerified(MetadataStore& md, const SeededMoves& moves, ObjectStore& src_store,
                            ObjectStore& dst_store, const std::string& dst);

// What the run looked like while `site` was down: watched (every 50 ms) for `seconds`.
struct OutageSeen {
  bool circuit_alert = false;  // a circuit_open alert for the site was active at some point
  int64_t max_queued = 0;      // the most tasks queued at once
  int64_t failed_at_end = 0;   // tasks failed when the watch ended
};
OutageSeen WatchOutage(MetadataStore& md, const std::string& site, int seconds);

// Task counts by status ({} when the store cannot answer).
std::map<TaskStatus, int64_t> TaskCounts(MetadataStore& md);
// Tasks that have ended: done, cancelled or failed.
int64_t FinishedTasks(MetadataStore& md);
// Polls `done` every 20 ms until it holds (true) or `deadline` passes (a test failure naming
// `what` and the queued and running counts, false).
bool WaitForTasks(MetadataStore& md, std::chrono::steady_clock::time_point deadline,
                  const std::function<bool()>& done, const char* what);
// Whether a circuit_open alert for `site` is active (not acked).
bool CircuitAlertActive(MetadataStore& md, const std::string& site);

}  // namespace dim::testing
