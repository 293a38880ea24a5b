// What a batch of access events adds to each object (window buckets, hourly history, counters),
// and the compact, versioned binary form in which the consumer records such a batch in its
// access journal (durable with the batch's offsets; folded into the objects' rows later).
// Decode never over-reads or crashes: malformed input is nullopt. Not thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "stream/sliding_window.h"

namespace dim {

struct HourDelta {
  int64_t hour = 0;  // Unix time / 3600
  int64_t reads = 0, writes = 0, bytes = 0;
  bool operator==(const HourDelta&) const = default;
};

struct ObjectDelta {
  SlidingWindows window;
  std::vector<HourDelta> hours;  // distinct hours, any order
  int64_t last_access_ms = 0;
  int64_t reads = 0, writes = 0, bytes_read = 0, bytes_written = 0;

  int64_t events() const { return reads + writes; }
  // Adds what `other` adds.
  void Merge(const ObjectDelta& other);
  bool operator==(const ObjectDelta&) const = default;
};

using DeltaMap = std::unordered_map<std::string, ObjectDelta>;

// Version byte, then per object: key, counters, window state, hours (varints).
std::string EncodeDeltas(const DeltaMap& deltas);
// Adds the decoded deltas into *out (a key twice in the input is merged). false on malformed
// input (an empty or oversized key, a bad window state, counts out of range, trailing bytes),
// and then *out is unchanged.
bool DecodeDeltasInto(std::string_view bytes, DeltaMap* out);

}  // namespace dim
