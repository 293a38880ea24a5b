// A bounded in-process EventBus: a ring of `capacity` events, one partition. Memory is capped:
// when the ring is full, Publish drops and counts; PublishWait blocks up to its timeout.
// Events do not survive a restart; Seek only renumbers, so that offsets keep growing across
// restarts (the oldest waiting event gets the offset stored for partition 0).
#pragma once

#include <condition_variable>
#include <mutex>
#include <vector>

#include "bus/event_bus.h"

namespace dim {

class MemoryEventBus final : public EventBus {
 public:
  explicit MemoryEventBus(size_t capacity);

  bool Publish(AccessEvent event) override;
  bool PublishWait(AccessEvent event, int timeout_ms) override;
  // Takes as many as fit under one lock, waking the poller once per chunk.
  size_t PublishBatch(std::vector<AccessEvent>& events, int timeout_ms) override;
  Result<std::vector<BusMessage>> Poll(size_t max, int timeout_ms) override;
  Status Commit(const std::map<int32_t, int64_t>& next_offsets) override;
  Status Seek(const std::map<int32_t, int64_t>& next_offsets) override;
  void Close() override;
  Stats GetStats() const override;
  std::map<int32_t, int64_t> EndOffsets() const override;

 private:
  void PushLocked(AccessEvent&& e);

  const size_t capacity_;
  mutable std::mutex mu_;
  std::condition_variable not_empty_, not_full_;
  std::vector<AccessEvent> ring_;
  size_t head_ = 0;  // index of the oldest event
  size_t size_ = 0;
  int64_t next_offset_ = 0;  // offset of the oldest event in the ring
  int64_t published_ = 0, dropped_ = 0;
  bool closed_ = false;
};

}  // namespace dim
