#include "ml/store_history.h"

#include <algorithm>

namespace dim {

Result<int64_t> FeedStoreHistory(MetadataStore& store, int64_t from_ms, int64_t to_ms,
                                 DatasetBuilder& builder, const HistoryProgress& progress) {
  constexpr int64_t kHourMs = 3'600'000;
  MetadataStore::ObjectQuery q;
  q.limit = 1000;
  for (;;) {
    DIM_ASSIGN_OR_RETURN(auto page, store.ListObjects(q));
    if (page.empty()) break;
    for (const auto& o : page) builder.SetObjectInfo(o.key.Full(), o.size, o.created_ms);
    q.after_id = page.back().id;
  }
  const int64_t first = from_ms / kHourMs, last = (to_ms + kHourMs - 1) / kHourMs;
  int64_t events = 0;
  std::vector<AccessEvent> hour_events;
  for (int64_t h = first; h < last; ++h) {
    DIM_ASSIGN_OR_RETURN(auto rows, store.ListHourly("", h, h + 1));
    hour_events.clear();
    for (const auto& r : rows) {
      const int64_t n = r.reads + r.writes;
      if (n <= 0) continue;
      for (int64_t k = 0; k < n; ++k) {
        AccessEvent e;
        e.key = r.key;
        // Evenly spread, writes interleaved among the reads in proportion.
        e.ts_ms = h * kHourMs + static_cast<int64_t>((static_cast<double>(k) + 0.5) * kHourMs / n);
        bool write = (k + 1) * r.writes / n > k * r.writes / n;
        e.op = write ? AccessOp::kPut : AccessOp::kGet;
        hour_events.push_back(std::move(e));
      }
    }
    std::stable_sort(hour_events.begin(), hour_events.end(),
                     [](const AccessEvent& a, const AccessEvent& b) { return a.ts_ms < b.ts_ms; });
    for (const auto& e : hour_events) {
      if (e.ts_ms < from_ms || e.ts_ms >= to_ms) continue;
      DIM_RETURN_IF_ERROR(builder.Add(e));
      ++events;
    }
    if (progress) progress(h - first + 1, last - first, events);
  }
  return events;
}

}  // namespace dim
