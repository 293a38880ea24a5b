#include "storage/part_uploader.h"

#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <thread>

namespace dim {

Result<size_t> ReadFull(ByteSource& src, char* buf, size_t cap) {
  size_t n = 0;
  while (n < cap) {
    DIM_ASSIGN_OR_RETURN(size_t k, src.Read(buf + n, cap - n));
    if (k == 0) break;
    n += k;
  }
  return n;
}

Result<std::vector<std::string>> UploadInParts(
    ByteSource& src, std::vector<char> first, size_t first_len, const PartUploadOptions& o,
    const std::function<Result<std::string>(int, std::string_view)>& upload) {
  const size_t part_size = first.size();
  const int workers = std::max(1, o.concurrency);
  struct Job {
    int part;
    size_t buffer;
    size_t len;
  };
  std::mutex mu;
  std::condition_variable cv;
  std::vector<std::vector<char>> buffers;
  buffers.reserve(static_cast<size_t>(workers));  // never reallocated while uploaders read it
  std::vector<size_t> free_buffers;
  std::deque<Job> queue;
  std::map<int, std::string> results;
  Status failure;
  bool reading_done = false;

  buffers.push_back(std::move(first));
  queue.push_back({1, 0, first_len});

  std::vector<std::thread> threads;
  for (int w = 0; w < workers; ++w) {
    threads.emplace_back([&] {
      for (;;) {
        Job job;
        {
          std::unique_lock<std::mutex> lock(mu);
          cv.wait(lock, [&] { return !queue.empty() || reading_done || !failure.ok(); });
          if (queue.empty() || !failure.ok()) return;
          job = queue.front();
          queue.pop_front();
        }
        auto r = upload(job.part, std::string_view(buffers[job.buffer].data(), job.len));
        std::lock_guard<std::mutex> lock(mu);
        if (r.ok()) {
          results[job.part] = std::move(r).value();
        } else if (failure.ok()) {
          failure = r.status();
        }
        free_buffers.push_back(job.buffer);
        cv.notify_all();
      }
    });
  }

  int part = 1;
  bool more = first_len == part_size;
  while (more) {
    size_t b;
    {
      std::unique_lock<std::mutex> lock(mu);
      if (free_buffers.empty() && buffers.size() < static_cast<size_t>(workers)) {
        buffers.emplace_back(part_size);
        free_buffers.push_back(buffers.size() - 1);
      }
      cv.wait(lock, [&] { return !free_buffers.empty() || !failure.ok(); });
      if (!failure.ok()) break;
      b = free_buffers.back();
      free_buffers.pop_back();
    }
    auto n = ReadFull(src, buffers[b].data(), part_size);
    std::lock_guard<std::mutex> lock(mu);
    if (!n.ok() || *n == 0) {
      if (!n.ok() && failure.ok()) failure = n.status();
      free_buffers.push_back(b);
      break;
    }
    if (++part > o.max_parts) {
      if (failure.ok()) {
        failure = Status::InvalidArgument(o.what + ": more than " + std::to_string(o.max_parts) +
                                          " parts of " + std::to_string(part_size >> 20) +
                                          " MiB; raise part_size_mb");
      }
      free_buffers.push_back(b);
      break;
    }
    queue.push_back({part, b, *n});
    more = *n == part_size;
    cv.notify_all();
  }
  {
    std::lock_guard<std::mutex> lock(mu);
    reading_done = true;
    cv.notify_all();
  }
  for (auto& t : threads) t.join();
  if (!failure.ok()) return failure;
  std::vector<std::string> out;
  out.reserve(results.size());
  for (auto& [n, r] : results) out.push_back(std::move(r));
  return out;
}

}  // namespace dim
