#include "bus/memory_event_bus.h"

#include <chrono>

namespace dim {

MemoryEventBus::MemoryEventBus(size_t capacity) : capacity_(capacity < 1 ? 1 : capacity) {
  ring_.resize(capacity_);
}

void MemoryEventBus::PushLocked(AccessEvent&& e) {
  ring_[(head_ + size_) % capacity_] = std::move(e);
  ++size_;
  ++published_;
}

bool MemoryEventBus::Publish(AccessEvent event) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (closed_ || size_ == capacity_) {
      ++dropped_;
      return false;
    }
    PushLocked(std::move(event));
  }
  not_empty_.notify_one();
  return true;
}

bool MemoryEventBus::PublishWait(AccessEvent event, int timeout_ms) {
  {
    std::unique_lock<std::mutex> lock(mu_);
    bool room = not_full_.wait_for(lock, std::chrono::milliseconds(timeout_ms),
                                   [&] { return closed_ || size_ < capacity_; });
    if (!room || closed_) {
      ++dropped_;
      return false;
    }
    PushLocked(std::move(event));
  }
  not_empty_.notify_one();
  return true;
}

size_t MemoryEventBus::PublishBatch(std::vector<AccessEvent>& events, int timeout_ms) {
  size_t i = 0, accepted = 0;
  bool waited_out = false;
  while (i < events.size()) {
    {
      std::unique_lock<std::mutex> lock(mu_);
      if (!waited_out) {
        waited_out = !not_full_.wait_for(lock, std::chrono::milliseconds(timeout_ms),
                                         [&] { return closed_ || size_ < capacity_; });
      }
      if (closed_) {
        dropped_ += static_cast<int64_t>(events.size() - i);
        return accepted;
      }
      if (waited_out && size_ == capacity_) {
        // Like PublishWait after its wait: what does not fit now is dropped.
        ++dropped_;
        ++i;
        continue;
      }
      for (; i < events.size() && size_ < capacity_; ++i, ++accepted) {
        PushLocked(std::move(events[i]));
      }
    }
    not_empty_.notify_one();
  }
  return accepted;
}

Result<std::vector<BusMessage>> MemoryEventBus::Poll(size_t max, int timeout_ms) {
  std::vector<BusMessage> out;
  {
    std::unique_lock<std::mutex> lock(mu_);
    not_empty_.wait_for(lock, std::chrono::milliseconds(timeout_ms),
                        [&] { return closed_ || size_ > 0; });
    size_t n = std::min(max, size_);
    out.reserve(n);
    for (size_t i = 0; i < n; ++i) {
      BusMessage m;
      m.event = std::move(ring_[head_]);
      m.partition = 0;
      m.offset = next_offset_++;
      out.push_back(std::move(m));
      head_ = (head_ + 1) % capacity_;
    }
    size_ -= n;
  }
  if (!out.empty()) not_full_.notify_all();
  return out;
}

Status MemoryEventBus::Commit(const std::map<int32_t, int64_t>&) { return Status::OK(); }
Status MemoryEventBus::Seek(const std::map<int32_t, int64_t>& next_offsets) {
  auto it = next_offsets.find(0);
  if (it == next_offsets.end()) return Status::OK();
  std::lock_guard<std::mutex> lock(mu_);
  next_offset_ = std::max<int64_t>(it->second, 0);
  return Status::OK();
}

void MemoryEventBus::Close() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    closed_ = true;
  }
  not_empty_.notify_all();
  not_full_.notify_all();
}

EventBus::Stats MemoryEventBus::GetStats() const {
  std::lock_guard<std::mutex> lock(mu_);
  return Stats{published_, dropped_, static_cast<int64_t>(size_)};
}

std::map<int32_t, int64_t> MemoryEventBus::EndOffsets() const {
  std::lock_guard<std::mutex> lock(mu_);
  return {{0, next_offset_ + static_cast<int64_t>(size_)}};
}

}  // namespace dim
