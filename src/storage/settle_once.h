// SettleOnce: lets concurrent callers that all find a shared resource missing (a bucket, a
// container) check or make it once. A caller reads epoch() before the request that may find the
// resource missing, then calls Settle(seen, make) on that finding: `make` runs, one caller at a
// time, unless another caller's `make` succeeded after `seen` was read — then Settle returns OK
// at once and the caller sends its request again. A failed `make` settles nothing, so the next
// caller tries it again. Thread-safe.
#pragma once

#include <atomic>
#include <cstdint>
#include <mutex>

#include "core/status.h"

namespace dim {

class SettleOnce {
 public:
  uint64_t epoch() const { return epoch_.load(); }

  template <typename Make>
  Status Settle(uint64_t seen, Make make) {
    std::lock_guard<std::mutex> lock(mu_);
    if (epoch_.load() != seen) return Status::OK();  // settled while this caller waited
    Status s = make();
    if (s.ok()) ++epoch_;
    return s;
  }

 private:
  std::mutex mu_;
  std::atomic<uint64_t> epoch_{0};  // one more each time a `make` succeeds
};

}  // namespace dim
