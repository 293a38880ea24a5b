#include "ml/training_data.h"

#include <algorithm>

namespace dim {

size_t Dataset::positives() const {
  size_t n = 0;
  for (float v : y) n += v > 0.5f ? 1 : 0;
  return n;
}

void Dataset::Append(const Dataset& o, size_t i) {
  x.insert(x.end(), o.row(i), o.row(i) + kNumFeatures);
  y.push_back(o.y[i]);
  ts_ms.push_back(o.ts_ms[i]);
  future.push_back(o.future[i]);
  object.push_back(o.object[i]);
}

Result<TimeSplit> SplitByTime(const Dataset& all, double valid_fraction, const LabelSpec& label) {
  if (all.rows() == 0) return Status::InvalidArgument("no training rows (is the history empty?)");
  if (!(valid_fraction > 0 && valid_fraction < 1)) {
    return Status::InvalidArgument("the validation fraction must be in (0, 1)");
  }
  int64_t first = all.ts_ms.front(), last = all.ts_ms.back();
  TimeSplit s;
  s.split_ms = last - static_cast<int64_t>(static_cast<double>(last - first) * valid_fraction);
  const int64_t horizon_ms = label.horizon_s * 1000;
  for (size_t i = 0; i < all.rows(); ++i) {
    if (all.ts_ms[i] >= s.split_ms)
      s.valid.Append(all, i);
    else if (all.ts_ms[i] + horizon_ms <= s.split_ms)
      s.train.Append(all, i);
    // Rows whose label window straddles the split are dropped: they would leak the future.
  }
  auto check = [](const Dataset& d, const char* name) -> Status {
    if (d.rows() == 0) {
      return Status::InvalidArgument(std::string("the ") + name +
                                     " split is empty: the history is too short for this "
                                     "horizon (use a longer trace or a shorter --horizon)");
    }
    size_t pos = d.positives();
    if (pos == 0 || pos == d.rows()) {
      return Status::InvalidArgument(
          std::string("the ") + name + " split has only " + (pos == 0 ? "cold" : "hot") +
          " rows (" + std::to_string(d.rows()) + "): change --min-accesses or --horizon");
    }
    return Status::OK();
  };
  DIM_RETURN_IF_ERROR(check(s.train, "training"));
  DIM_RETURN_IF_ERROR(check(s.valid, "validation"));
  return s;
}

DatasetBuilder::DatasetBuilder(DatasetOptions options) : options_(options) {
  options_.step_s = std::max<int64_t>(1, options_.step_s);
}

void DatasetBuilder::SetObjectInfo(const std::string& key, int64_t size, int64_t created_ms) {
  if (auto it = index_.find(key); it != index_.end()) {
    Object& o = objects_[it->second];
    o.record.size = size;
    o.record.created_ms = created_ms;
    o.known_info = true;
    return;
  }
  info_[key] = {size, created_ms};
}

Status DatasetBuilder::Add(const AccessEvent& e) {
  if (!sticky_.ok()) return sticky_;
  if (events_ > 0 && e.ts_ms < last_ts_) {
    return Status::InvalidArgument("events out of time order: " + std::to_string(e.ts_ms) +
                                   " after " + std::to_string(last_ts_) + " (sort the trace)");
  }
  if (events_ == 0) {
    next_snapshot_ms_ = (e.ts_ms / (options_.step_s * 1000) + 1) * options_.step_s * 1000;
  }
  ++events_;
  last_ts_ = e.ts_ms;
  DIM_RETURN_IF_ERROR(AdvanceTo(e.ts_ms));
  if (e.status >= 400) return Status::OK();
  const bool read = IsRead(e.op), write = IsWrite(e.op);
  if (!read && !write && e.op != AccessOp::kDelete) return Status::OK();

  auto [it, inserted] = index_.try_emplace(e.key, static_cast<uint32_t>(objects_.size()));
  if (inserted) {
    Object o;
    o.record.created_ms = e.ts_ms;
    if (auto inf = info_.find(e.key); inf != info_.end()) {
      o.record.size = inf->second.first;
      o.record.created_ms = inf->second.second;
      o.known_info = true;
      info_.erase(inf);
    }
    objects_.push_back(std::move(o));
    keys_.push_back(e.key);
  }
  Object& o = objects_[it->second];
  if (e.op == AccessOp::kDelete) {
    o.live = false;
    return Status::OK();
  }
  if (!o.live && write) {  // re-created after a delete: a new object, the same key's history
    o.live = true;
    o.record.created_ms = e.ts_ms;
  }
  if (!o.known_info && e.size > 0) o.record.size = e.size;
  o.windows.Add(e.ts_ms);
  o.stats.last_access_ms = std::max(o.stats.last_access_ms, e.ts_ms);
  if (read)
    o.stats.reads++;
  else
    o.stats.writes++;
  o.cum++;
  return Status::OK();
}

Status DatasetBuilder::AdvanceTo(int64_t ts_ms) {
  // Snapshots strictly before ts see every event up to and including their time.
  while (next_snapshot_ms_ < ts_ms) {
    DIM_RETURN_IF_ERROR(TakeSnapshot(next_snapshot_ms_));
    next_snapshot_ms_ += options_.step_s * 1000;
  }
  LabelDue(ts_ms);
  return Status::OK();
}

Status DatasetBuilder::TakeSnapshot(int64_t t) {
  Snapshot snap;
  snap.t_ms = t;
  const int64_t idle_ms = options_.max_idle_s * 1000;
  for (uint32_t i = 0; i < objects_.size(); ++i) {
    Object& o = objects_[i];
    if (!o.live || t - o.stats.last_access_ms > idle_ms) continue;
    if (rows_.rows() >= options_.max_rows) {
      sticky_ =
          Status::ResourceExhausted("more than " + std::to_string(options_.max_rows) +
                                    " training rows; use a larger --step or a shorter history");
      return sticky_;
    }
    o.windows.Prune(t);
    o.stats.access_1h = o.windows.Count1h(t);
    o.stats.access_24h = o.windows.Count24h(t);
    o.stats.access_7d = o.windows.Count7d(t);
    auto f = FeatureVector(ExtractFeatures(&o.record, o.stats, &o.windows, t));
    rows_.x.insert(rows_.x.end(), f.begin(), f.end());
    rows_.y.push_back(0);
    rows_.future.push_back(0);
    rows_.ts_ms.push_back(t);
    rows_.object.push_back(i);
    snap.rows.push_back({i, o.cum});
  }
  if (!snap.rows.empty()) pending_.push_back(std::move(snap));
  return Status::OK();
}

void DatasetBuilder::LabelDue(int64_t ts_ms) {
  // A snapshot's window (t, t + horizon] is complete once an event after its end arrives.
  const int64_t horizon_ms = options_.label.horizon_s * 1000;
  while (!pending_.empty() && pending_.front().t_ms + horizon_ms < ts_ms) {
    for (const auto& r : pending_.front().rows) {
      int64_t future = objects_[r.object].cum - r.cum_at_t;
      rows_.future[labelled_] = static_cast<uint32_t>(std::min<int64_t>(future, UINT32_MAX));
      rows_.y[labelled_] = future >= options_.label.min_accesses ? 1.0f : 0.0f;
      ++labelled_;
    }
    pending_.pop_front();
  }
}

Dataset DatasetBuilder::Finish(int64_t end_ms) {
  int64_t end = std::max(end_ms, last_ts_);
  if (events_ > 0 && sticky_.ok()) {
    while (next_snapshot_ms_ <= end) {
      if (!TakeSnapshot(next_snapshot_ms_).ok()) break;
      next_snapshot_ms_ += options_.step_s * 1000;
    }
    LabelDue(end + 1);  // every event up to `end` is in
  }
  Dataset out = std::move(rows_);
  out.x.resize(labelled_ * kNumFeatures);
  out.y.resize(labelled_);
  out.ts_ms.resize(labelled_);
  out.future.resize(labelled_);
  out.object.resize(labelled_);
  rows_ = Dataset();
  labelled_ = 0;
  pending_.clear();
  return out;
}

}  // namespace dim
