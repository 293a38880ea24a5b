// EventBus: carries AccessEvents from their sources (gateway, simulators) to the consumer.
// Publishing never blocks a request: a full bus drops the event and counts the drop. Consumers
// poll batches tagged with (partition, offset) and commit the next offsets once the batch's
// effects are durable, so the stream consumer can store offsets with its counts (exactly once).
// Implementations are thread-safe for concurrent publishers and a single consumer.
#pragma once

#include <cstdint>
#include <map>
#include <vector>

#include "bus/access_event.h"
#include "core/status.h"

namespace dim {

struct BusMessage {
  AccessEvent event;
  int32_t partition = 0;
  int64_t offset = 0;
};

class EventBus {
 public:
  virtual ~EventBus() = default;

  // Non-blocking. false: the bus is full or closed and the event was dropped (and counted).
  virtual bool Publish(AccessEvent event) = 0;
  // Waits up to timeout_ms for room (back-pressure for bulk producers). false: dropped.
  virtual bool PublishWait(AccessEvent event, int timeout_ms) = 0;

  // Up to max messages, waiting up to timeout_ms for the first. Empty on timeout or when closed.
  virtual Result<std::vector<BusMessage>> Poll(size_t max, int timeout_ms) = 0;
  // Marks everything before next_offsets[p] in partition p as consumed.
  virtual Status Commit(const std::map<int32_t, int64_t>& next_offsets) = 0;
  // Where to resume in each partition (from the store); called before the first Poll.
  virtual Status Seek(const std::map<int32_t, int64_t>& next_offsets) = 0;

  // Wakes pollers and rejects further publishes.
  virtual void Close() = 0;

  struct Stats {
    int64_t published = 0;
    int64_t dropped = 0;
    int64_t depth = 0;  // waiting to be consumed (in-process only; -1 when unknown)
  };
  virtual Stats GetStats() const = 0;
};

}  // namespace dim
