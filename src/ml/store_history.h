// Training rows from the metadata store: the object catalog (sizes, creation times) and the
// consumer's hourly access history, replayed into a DatasetBuilder hour by hour. The store keeps
// only hourly counts, so an hour's accesses are spread evenly across it (docs/ml.md says what
// that does to minute-level features). Reads one hour at a time; memory stays bounded.
#pragma once

#include <cstdint>
#include <functional>

#include "core/status.h"
#include "ml/training_data.h"
#include "store/metadata_store.h"

namespace dim {

// hours_done of hours_total, events so far.
using HistoryProgress =
    std::function<void(int64_t hours_done, int64_t hours_total, int64_t events)>;

// Feeds [from_ms, to_ms) of the store's history into builder; returns the number of events.
Result<int64_t> FeedStoreHistory(MetadataStore& store, int64_t from_ms, int64_t to_ms,
                                 DatasetBuilder& builder,
                                 const HistoryProgress& progress = nullptr);

}  // namespace dim
