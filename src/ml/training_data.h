// Training rows from a time-ordered stream of access events, with no look-ahead: at each
// snapshot time t (every step_s) every live object gets one row whose features come only from
// events at or before t — computed by the same ExtractFeatures the optimizer uses — and whose
// label counts its accesses in (t, t + horizon]. Rows whose horizon runs past the end of the
// stream are dropped (their label is unknown). A time split then keeps the validation rows
// strictly after every training row's label window. Not thread-safe.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "bus/access_event.h"
#include "core/status.h"
#include "ml/features.h"
#include "ml/label.h"
#include "stream/sliding_window.h"

namespace dim {

// Row-major feature matrix with labels and the snapshot time of each row.
struct Dataset {
  std::vector<float> x;          // rows() x kNumFeatures
  std::vector<float> y;          // 1 hot, 0 not
  std::vector<int64_t> ts_ms;    // snapshot time, non-decreasing
  std::vector<uint32_t> future;  // accesses in the label window (for other thresholds)
  std::vector<uint32_t> object;  // which object (DatasetBuilder::keys() index)
  size_t rows() const { return y.size(); }
  size_t positives() const;
  const float* row(size_t i) const { return x.data() + i * kNumFeatures; }
  void Append(const Dataset& other, size_t i);
};

struct TimeSplit {
  Dataset train;
  Dataset valid;
  int64_t split_ms = 0;  // validation rows have ts >= split_ms; training rows ts + horizon <= it
};
// The last valid_fraction of the time span validates. InvalidArgument when either side is
// empty or has a single class.
Result<TimeSplit> SplitByTime(const Dataset& all, double valid_fraction, const LabelSpec& label);

struct DatasetOptions {
  LabelSpec label;
  int64_t step_s = 600;            // snapshot interval
  int64_t max_idle_s = 7 * 86400;  // objects idle longer are not sampled
  size_t max_rows = 50'000'000;    // ResourceExhausted beyond (memory guard)
};

class DatasetBuilder {
 public:
  explicit DatasetBuilder(DatasetOptions options);

  // What the catalog knows of an object (size, creation time); optional. Without it the size
  // comes from the events and the object is "created" at its first event.
  void SetObjectInfo(const std::string& key, int64_t size, int64_t created_ms);
  // Events must arrive in non-decreasing time order; an earlier one is InvalidArgument.
  // Failed requests and listings are ignored (as the consumer does); a delete ends the object.
  Status Add(const AccessEvent& e);
  // Closes the stream at end_ms (default: the last event's time) and returns the labelled rows.
  Dataset Finish(int64_t end_ms = 0);

  int64_t events() const { return events_; }
  int64_t objects() const { return static_cast<int64_t>(objects_.size()); }
  // Object keys by the index rows carry in Dataset::object.
  const std::vector<std::string>& keys() const { return keys_; }

 private:
  struct Object {
    SlidingWindows windows;
    ObjectRecord record;  // size and created_ms only
    AccessStats stats;    // last_access_ms, reads, writes
    int64_t cum = 0;      // accesses so far
    bool known_info = false;
    bool live = true;
  };
  struct PendingRow {
    uint32_t object;
    int64_t cum_at_t;
  };
  struct Snapshot {
    int64_t t_ms;
    std::vector<PendingRow> rows;  // in the order of their rows in rows_
  };
  Status AdvanceTo(int64_t ts_ms);  // takes snapshots < ts and labels what is due
  Status TakeSnapshot(int64_t t_ms);
  void LabelDue(int64_t ts_ms);

  DatasetOptions options_;
  std::unordered_map<std::string, uint32_t> index_;
  std::vector<std::string> keys_;
  std::vector<Object> objects_;
  std::unordered_map<std::string, std::pair<int64_t, int64_t>> info_;  // before first event
  std::deque<Snapshot> pending_;  // oldest first; labelled in this order
  Dataset rows_;                  // rows [0, labelled_) have their labels
  size_t labelled_ = 0;
  int64_t next_snapshot_ms_ = 0;
  int64_t last_ts_ = 0;
  int64_t events_ = 0;
  Status sticky_;  // first ResourceExhausted
};

}  // namespace dim
