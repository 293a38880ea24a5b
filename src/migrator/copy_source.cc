#include "migrator/copy_source.h"

#include <algorithm>
#include <thread>

#include "core/clock.h"

namespace dim {

CopySource::CopySource(ByteSource& inner, std::vector<TokenBucket*> limits,
                       std::atomic<int64_t>* progress, std::function<Status()> should_stop)
    : inner_(inner),
      limits_(std::move(limits)),
      progress_(progress),
      should_stop_(std::move(should_stop)) {
  limits_.erase(std::remove(limits_.begin(), limits_.end(), nullptr), limits_.end());
}

Result<size_t> CopySource::Read(char* buf, size_t n) {
  if (should_stop_) DIM_RETURN_IF_ERROR(should_stop_());
  auto r = inner_.Read(buf, n);
  if (!r.ok()) {
    source_error_ = r.status();
    return r.status();
  }
  size_t k = *r;
  bytes_ += static_cast<int64_t>(k);
  if (progress_) progress_->store(bytes_);
  if (k > 0 && !limits_.empty()) {
    const int64_t start = MonotonicMicros();
    int64_t wait_us = 0;
    for (TokenBucket* b : limits_)
      wait_us = std::max(wait_us, b->Reserve(static_cast<int64_t>(k), start));
    // Sleep in slices so a stop is noticed promptly.
    while (MonotonicMicros() - start < wait_us) {
      if (should_stop_) DIM_RETURN_IF_ERROR(should_stop_());
      int64_t left = wait_us - (MonotonicMicros() - start);
      std::this_thread::sleep_for(std::chrono::microseconds(std::min<int64_t>(left, 100'000)));
    }
    paced_us_ += MonotonicMicros() - start;
  }
  return k;
}

}  // namespace dim
