#include "ml/features.h"

#include <cmath>

#include "stream/sliding_window.h"

namespace dim {

const std::array<std::string_view, kNumFeatures>& FeatureNames() {
  static const std::array<std::string_view, kNumFeatures> names = {
      "access_1h",           "access_24h",      "access_7d",        "recency_s",
      "hour_of_day",         "day_of_week",     "partial_upload",   "size_bytes",
      "interarrival_mean_s", "interarrival_cv", "read_write_ratio", "age_s"};
  return names;
}

std::array<float, kNumFeatures> FeatureVector(const ObjectFeatures& f) {
  return {static_cast<float>(f.access_1h),           static_cast<float>(f.access_24h),
          static_cast<float>(f.access_7d),           static_cast<float>(f.recency_s),
          static_cast<float>(f.hour_of_day),         static_cast<float>(f.day_of_week),
          static_cast<float>(f.partial_upload),      static_cast<float>(f.size_bytes),
          static_cast<float>(f.interarrival_mean_s), static_cast<float>(f.interarrival_cv),
          static_cast<float>(f.read_write_ratio),    static_cast<float>(f.age_s)};
}

ObjectFeatures FeaturesFromVector(const float* v) {
  ObjectFeatures f;
  f.access_1h = v[0];
  f.access_24h = v[1];
  f.access_7d = v[2];
  f.recency_s = v[3];
  f.hour_of_day = v[4];
  f.day_of_week = v[5];
  f.partial_upload = v[6];
  f.size_bytes = v[7];
  f.interarrival_mean_s = v[8];
  f.interarrival_cv = v[9];
  f.read_write_ratio = v[10];
  f.age_s = v[11];
  return f;
}

ObjectFeatures ExtractFeatures(const ObjectRecord* object, const AccessStats& stats, int64_t now_ms,
                               bool partial_upload) {
  auto w = SlidingWindows::Decode(stats.window_state);
  return ExtractFeatures(object, stats, w ? &*w : nullptr, now_ms, partial_upload);
}

ObjectFeatures ExtractFeatures(const ObjectRecord* object, const AccessStats& stats,
                               const SlidingWindows* windows, int64_t now_ms, bool partial_upload) {
  constexpr double kNever = 30.0 * 86400;
  ObjectFeatures f;
  f.access_1h = static_cast<double>(stats.access_1h);
  f.access_24h = static_cast<double>(stats.access_24h);
  f.access_7d = static_cast<double>(stats.access_7d);
  f.recency_s = stats.last_access_ms > 0
                    ? std::max<int64_t>(0, now_ms - stats.last_access_ms) / 1000.0
                    : kNever;
  int64_t secs = now_ms / 1000;
  f.hour_of_day = static_cast<double>((secs / 3600) % 24);
  f.day_of_week = static_cast<double>(((secs / 86400) + 4) % 7);  // 1970-01-01 was a Thursday
  f.partial_upload = partial_upload ? 1 : 0;
  f.size_bytes = object ? static_cast<double>(object->size) : 0;
  f.interarrival_mean_s = 3600;
  if (windows) {
    auto series = windows->MinuteSeries(now_ms);
    double n = 0, sum = 0, sum2 = 0;
    for (int64_t c : series) {
      n += 1;
      sum += static_cast<double>(c);
      sum2 += static_cast<double>(c) * static_cast<double>(c);
    }
    if (sum >= 2) f.interarrival_mean_s = 3600.0 / sum;
    double mean = sum / n;
    if (mean > 0) f.interarrival_cv = std::sqrt(std::max(0.0, sum2 / n - mean * mean)) / mean;
  }
  f.read_write_ratio = static_cast<double>(stats.reads) / (static_cast<double>(stats.writes) + 1);
  f.age_s = object ? std::max<int64_t>(0, now_ms - object->created_ms) / 1000.0 : 0;
  return f;
}

}  // namespace dim
