// A fixed set of helper threads that join a caller's loop over chunks of work. Run(n, fn) calls
// fn(i) once for every i in [0, n): on the caller's thread and on whichever helpers are idle. The
// caller never waits for a helper to start — when the machine is busy it simply does every chunk
// itself — only for chunks a helper has already taken. Thread-safe: concurrent Run calls share the
// helpers. The destructor joins the helpers; no Run may be in progress then.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace dim {

class HelperThreads {
 public:
  explicit HelperThreads(int helpers);
  ~HelperThreads();
  HelperThreads(const HelperThreads&) = delete;
  HelperThreads& operator=(const HelperThreads&) = delete;

  // fn must not throw.
  void Run(size_t n, const std::function<void(size_t)>& fn);
  int helpers() const { return static_cast<int>(threads_.size()); }

 private:
  struct Job;
  void Loop();

  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::shared_ptr<Job>> jobs_;  // posted, not yet fully taken
  bool stop_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace dim
