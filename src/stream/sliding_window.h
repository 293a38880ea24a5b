// Per-object sliding access windows: minute buckets for the last hour and hour buckets for the
// last 7 days, kept sparse (only buckets with accesses), so an idle object costs a few bytes.
// Counts are "as of now": a window is evaluated at a time, buckets older than the span drop out.
// Resolution: access_1h is exact to the minute; access_24h and access_7d count whole hours (the
// current, partial hour included). Not thread-safe; one instance per object.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace dim {

class SlidingWindows {
 public:
  // Records n accesses at ts_ms (any order).
  void Add(int64_t ts_ms, int64_t n = 1);
  // Adds every bucket of `other` (what Add would have done for each of its accesses), in one
  // linear pass over both: how a batch's delta is folded into an object's state.
  void Merge(const SlidingWindows& other);
  // Drops buckets that can no longer count at now_ms.
  void Prune(int64_t now_ms);
  // Room for this many minute and hour buckets without reallocating.
  void Reserve(size_t minutes, size_t hours) {
    minutes_.reserve(minutes);
    hours_.reserve(hours);
  }
  // Empties the windows, keeping their memory for reuse.
  void Clear() {
    minutes_.clear();
    hours_.clear();
  }

  int64_t Count1h(int64_t now_ms) const;
  int64_t Count24h(int64_t now_ms) const;
  int64_t Count7d(int64_t now_ms) const;
  // Accesses per minute over the last hour, oldest first (60 values), for features and plots.
  std::vector<int64_t> MinuteSeries(int64_t now_ms) const;

  bool empty() const { return minutes_.empty() && hours_.empty(); }
  // Compact bytes: version, then varint-delta-coded buckets.
  std::string Encode() const;
  // nullopt on malformed input (never crashes or over-reads).
  static std::optional<SlidingWindows> Decode(std::string_view bytes);

  bool operator==(const SlidingWindows&) const = default;

 private:
  using Buckets = std::vector<std::pair<int64_t, int64_t>>;  // (index, count), sorted by index
  static void AddTo(Buckets& b, int64_t index, int64_t n);
  static void MergeInto(Buckets& dst, const Buckets& src);
  static int64_t SumFrom(const Buckets& b, int64_t first, int64_t last);
  Buckets minutes_;  // index: Unix minute
  Buckets hours_;    // index: Unix hour
};

}  // namespace dim
