// EventBus: carries AccessEvents from their sources (gateway, simulators) to the consumer.
// Publishing never blocks a request: a full bus drops the event and counts the drop. Consumers
// poll batches tagged with (partition, offset) and commit the next offsets once the batch's
// effects are durable, so the stream consumer can store offsets with its counts (exactly once).
// A partitioned bus (Kafka) may move partitions between the members of a consumer group; it
// tells a PartitionListener before it gives partitions up and asks it where to resume new ones.
// Implementations are thread-safe for concurrent publishers and a single consumer.
#pragma once

#include <cstdint>
#include <map>
#include <string_view>
#include <vector>

#include "bus/access_event.h"
#include "core/status.h"

namespace dim {

struct BusMessage {
  AccessEvent event;
  int32_t partition = 0;
  int64_t offset = 0;
  // Non-empty: the record could not be decoded (a reject_reason of event_codec.h); `event` is
  // meaningless but the offset still counts as consumed.
  std::string_view rejected;
};

// Hears about partition ownership changes. Called on the thread inside EventBus::Poll() (or
// Close()), before that call returns.
class PartitionListener {
 public:
  virtual ~PartitionListener() = default;
  // The bus is about to give up these partitions: make durable (or forget) everything taken
  // from them. Messages from them that Poll has not returned yet are dropped by the bus.
  virtual void OnPartitionsRevoked(const std::vector<int32_t>& partitions) = 0;
  // The bus now owns these partitions. Returns the next offset to consume for each; a partition
  // left out starts at the beginning of the log. An error: the bus leaves the partitions
  // unconsumed and rejoins the group later.
  virtual Result<std::map<int32_t, int64_t>> OnPartitionsAssigned(
      const std::vector<int32_t>& partitions) = 0;
};

class EventBus {
 public:
  virtual ~EventBus() = default;

  // Non-blocking. false: the bus is full or closed and the event was dropped (and counted).
  virtual bool Publish(AccessEvent event) = 0;
  // Waits up to timeout_ms for room (back-pressure for bulk producers). false: dropped.
  virtual bool PublishWait(AccessEvent event, int timeout_ms) = 0;
  // Bulk producers (replays, generators): publishes `events` in order (moving from them) as
  // PublishWait would, each wait for room up to timeout_ms; after a wait times out the rest go
  // in only where there is room at once, the others are dropped (and counted). Returns how many
  // were accepted. A bus may hand the whole batch over at once (one lock, one wake-up) instead of
  // one event at a time.
  virtual size_t PublishBatch(std::vector<AccessEvent>& events, int timeout_ms) {
    size_t accepted = 0;
    int wait_ms = timeout_ms;
    for (auto& e : events) {
      if (PublishWait(std::move(e), wait_ms)) {
        ++accepted;
      } else {
        wait_ms = 0;  // after a wait timed out, the rest only go in if there is room
      }
    }
    return accepted;
  }

  // Up to max messages, waiting up to timeout_ms for the first. Empty on timeout or when closed.
  virtual Result<std::vector<BusMessage>> Poll(size_t max, int timeout_ms) = 0;
  // Marks everything before next_offsets[p] in partition p as consumed.
  virtual Status Commit(const std::map<int32_t, int64_t>& next_offsets) = 0;
  // Where to resume in each partition (from the store); called before the first Poll.
  virtual Status Seek(const std::map<int32_t, int64_t>& next_offsets) = 0;

  // true: messages survive restarts and can be read again from an offset (Kafka), so a consumer
  // may forget what it has not written and re-read it. false: the in-process bus.
  virtual bool Replayable() const { return false; }

  // Only partitioned buses (Kafka) call a listener; set it before the first Poll, and reset it
  // (nullptr) before the listener goes away.
  virtual void SetPartitionListener(PartitionListener* listener) { (void)listener; }

  // The end of each partition's log as this member knows it (the offset the next event will
  // get), for lag (end minus the stored offset); partitions it cannot tell are left out.
  virtual std::map<int32_t, int64_t> EndOffsets() const { return {}; }

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
