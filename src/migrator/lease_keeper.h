// Keeps the leases of the tasks a migrator is running alive. A background thread renews every
// held lease each lease_ms/3 (with the attempt's progress), independently of whether bytes are
// flowing, so a slow backend call does not cost the lease; a renewal that finds the lease lost
// (another worker took the task after it expired) marks it so the transfer stops at once.
// Thread-safe.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "core/clock.h"
#include "store/metadata_store.h"

namespace dim {

class LeaseKeeper {
 public:
  struct Held {
    int64_t task_id = 0;
    std::string owner;
    std::atomic<int64_t> bytes_done{0};
    std::atomic<bool> lost{false};
  };

  LeaseKeeper(MetadataStore& store, const Clock& clock, int64_t lease_ms);
  ~LeaseKeeper();

  std::shared_ptr<Held> Track(int64_t task_id, const std::string& owner);
  void Untrack(const std::shared_ptr<Held>& held);

 private:
  void Loop();

  MetadataStore& store_;
  const Clock& clock_;
  const int64_t lease_ms_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::vector<std::shared_ptr<Held>> held_;
  std::thread thread_;
};

}  // namespace dim
