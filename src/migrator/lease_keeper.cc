#include "migrator/lease_keeper.h"

#include <spdlog/spdlog.h>

#include <algorithm>

namespace dim {

LeaseKeeper::LeaseKeeper(MetadataStore& store, const Clock& clock, int64_t lease_ms)
    : store_(store), clock_(clock), lease_ms_(lease_ms), thread_([this] { Loop(); }) {}

LeaseKeeper::~LeaseKeeper() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

std::shared_ptr<LeaseKeeper::Held> LeaseKeeper::Track(int64_t task_id, const std::string& owner) {
  auto h = std::make_shared<Held>();
  h->task_id = task_id;
  h->owner = owner;
  std::lock_guard<std::mutex> lock(mu_);
  held_.push_back(h);
  return h;
}

void LeaseKeeper::Untrack(const std::shared_ptr<Held>& held) {
  std::lock_guard<std::mutex> lock(mu_);
  held_.erase(std::remove(held_.begin(), held_.end(), held), held_.end());
}

void LeaseKeeper::Loop() {
  const auto period = std::chrono::milliseconds(std::max<int64_t>(10, lease_ms_ / 3));
  std::unique_lock<std::mutex> lock(mu_);
  while (!stop_) {
    cv_.wait_for(lock, period, [&] { return stop_; });
    if (stop_) break;
    auto held = held_;
    lock.unlock();
    for (const auto& h : held) {
      if (h->lost.load()) continue;
      Status s =
          store_.RenewLease(h->task_id, h->owner, lease_ms_, clock_.NowMs(), h->bytes_done.load());
      if (s.IsAborted()) {
        h->lost = true;
        spdlog::warn("task {}: {}", h->task_id, s.ToString());
      } else if (!s.ok()) {
        spdlog::warn("renewing the lease on task {}: {} (will try again)", h->task_id,
                     s.ToString());
      }
    }
    lock.lock();
  }
}

}  // namespace dim
