// A columnar snapshot of every object as the global planner needs it: identity and version (for
// the compare-and-swap), size, tier, placement and live replicas as site bit masks, the access
// numbers the tier policy and the cost model use, and p_hot. One struct of arrays, so a million
// objects take about a hundred bytes each and the planner streams through them. Not thread-safe
// to append; read-only use from many threads is fine.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/tier.h"
#include "store/records.h"

namespace dim {

struct Fleet {
  std::vector<std::string> site_names;  // bit i of a mask is site_names[i]

  std::vector<int64_t> id, version, size, tier_since_ms;
  std::vector<std::string> key;  // "bucket/key"
  std::vector<Tier> tier;
  std::vector<uint64_t> placed;       // sites of the current placement
  std::vector<int8_t> primary;        // the placement's first site; -1 when none or unknown
  std::vector<uint8_t> unknown_site;  // the placement names a site that is not configured
  std::vector<uint64_t> held;         // sites with a live replica of the current content
  // Ages of the held replicas: entries [held_begin[i], held_begin[i + 1]).
  std::vector<uint32_t> held_begin{0};
  std::vector<uint8_t> held_site;
  std::vector<float> held_age_days;
  // Access statistics as of the snapshot.
  std::vector<float> heat, recency_s, write_share, bytes_per_read;
  std::vector<int32_t> access_1h, access_24h, access_7d;
  std::vector<float> p_hot;

  size_t size_objects() const { return id.size(); }
  void Reserve(size_t n);
  int SiteIndex(const std::string& name) const;  // -1 when unknown

  // Appends one object. `stats` must be as of now_ms (StatsAsOf); recency_s as in the features.
  void Append(const ObjectRecord& o, const AccessStats& stats, double recency_s,
              const std::vector<std::pair<std::string, int64_t>>& live, double p_hot,
              int64_t now_ms);
};

}  // namespace dim
