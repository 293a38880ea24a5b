// The features the popularity predictor sees for one object at one moment. The list, order and
// meaning are part of every model file's schema (docs/ml.md); append only.
#pragma once

#include <array>
#include <cstdint>
#include <string_view>

#include "store/records.h"

namespace dim {

class SlidingWindows;

struct ObjectFeatures {
  double access_1h = 0;
  double access_24h = 0;
  double access_7d = 0;
  double recency_s = 0;       // seconds since the last access; 30 days when never accessed
  double hour_of_day = 0;     // 0..23, UTC
  double day_of_week = 0;     // 0 = Sunday
  double partial_upload = 0;  // 1 while an upload is unfinished or the source is growing
  double size_bytes = 0;
  double interarrival_mean_s = 0;  // mean gap between accesses over the last hour (3600 if <2)
  double interarrival_cv = 0;      // coefficient of variation of per-minute counts (burstiness)
  double read_write_ratio = 0;     // reads / (writes + 1)
  double age_s = 0;                // since the object was created
};

inline constexpr size_t kNumFeatures = 12;
const std::array<std::string_view, kNumFeatures>& FeatureNames();
std::array<float, kNumFeatures> FeatureVector(const ObjectFeatures& f);
// The inverse of FeatureVector (values as the model saw them, i.e. rounded to float).
ObjectFeatures FeaturesFromVector(const float* v);

// Features of an object from its record (may be null for keys the catalog does not know) and its
// access statistics as of now_ms (see StatsAsOf).
ObjectFeatures ExtractFeatures(const ObjectRecord* object, const AccessStats& stats, int64_t now_ms,
                               bool partial_upload = false);
// The same from already decoded windows (training builds rows this way, without re-encoding);
// stats.window_state is ignored. windows may be null (no accesses recorded).
ObjectFeatures ExtractFeatures(const ObjectRecord* object, const AccessStats& stats,
                               const SlidingWindows* windows, int64_t now_ms,
                               bool partial_upload = false);

}  // namespace dim
