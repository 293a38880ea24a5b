#include "core/helper_threads.h"

#include <algorithm>
#include <atomic>

namespace dim {

struct HelperThreads::Job {
  const std::function<void(size_t)>* fn;
  size_t n;
  std::atomic<size_t> next{0};
  std::atomic<int> active{0};  // helpers inside Work
  std::mutex mu;
  std::condition_variable done;

  // Takes chunks until none is left.
  void Work() {
    for (size_t i; (i = next.fetch_add(1)) < n;) (*fn)(i);
  }
};

HelperThreads::HelperThreads(int helpers) {
  for (int i = 0; i < helpers; ++i) threads_.emplace_back([this] { Loop(); });
}

HelperThreads::~HelperThreads() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  for (auto& t : threads_) t.join();
}

void HelperThreads::Loop() {
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    cv_.wait(lock, [&] { return stop_ || !jobs_.empty(); });
    if (stop_) return;
    std::shared_ptr<Job> job = jobs_.front();
    // Announced before taking a chunk, so the caller, which waits for active == 0 only after it
    // saw every chunk taken, cannot miss a chunk this helper runs.
    job->active.fetch_add(1);
    lock.unlock();
    job->Work();
    {
      std::lock_guard<std::mutex> jl(job->mu);
      job->active.fetch_sub(1);
    }
    job->done.notify_all();
    lock.lock();
    // Every chunk is taken: no other helper needs to look at this job.
    if (job->next.load() >= job->n) {
      auto it = std::find(jobs_.begin(), jobs_.end(), job);
      if (it != jobs_.end()) jobs_.erase(it);
    }
  }
}

void HelperThreads::Run(size_t n, const std::function<void(size_t)>& fn) {
  if (n == 0) return;
  if (threads_.empty() || n == 1) {
    for (size_t i = 0; i < n; ++i) fn(i);
    return;
  }
  auto job = std::make_shared<Job>();
  job->fn = &fn;
  job->n = n;
  {
    std::lock_guard<std::mutex> lock(mu_);
    jobs_.push_back(job);
  }
  cv_.notify_all();
  job->Work();
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = std::find(jobs_.begin(), jobs_.end(), job);
    if (it != jobs_.end()) jobs_.erase(it);
  }
  std::unique_lock<std::mutex> jl(job->mu);
  job->done.wait(jl, [&] { return job->active.load() == 0; });
}

}  // namespace dim
