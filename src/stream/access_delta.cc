#include "stream/access_delta.h"

#include <algorithm>

#include "bus/event_codec.h"
#include "core/varint.h"

namespace dim {
namespace {

constexpr uint8_t kVersion = 1;
constexpr uint64_t kMaxCount = uint64_t{1} << 62;  // counts and bytes; far above any real one
constexpr uint64_t kMaxHour = uint64_t{1} << 40;

bool GetCount(std::string_view& in, int64_t* v) {
  uint64_t u;
  if (!GetVarint(in, &u) || u > kMaxCount) return false;
  *v = static_cast<int64_t>(u);
  return true;
}

}  // namespace

void ObjectDelta::Merge(const ObjectDelta& o) {
  window.Merge(o.window);
  for (const auto& h : o.hours) {
    auto it = std::find_if(hours.begin(), hours.end(),
                           [&](const HourDelta& x) { return x.hour == h.hour; });
    if (it == hours.end()) {
      hours.push_back(h);
    } else {
      it->reads += h.reads;
      it->writes += h.writes;
      it->bytes += h.bytes;
    }
  }
  last_access_ms = std::max(last_access_ms, o.last_access_ms);
  reads += o.reads;
  writes += o.writes;
  bytes_read += o.bytes_read;
  bytes_written += o.bytes_written;
}

std::string EncodeDeltas(const DeltaMap& deltas) {
  std::string out;
  out.reserve(16 + deltas.size() * 64);
  out.push_back(static_cast<char>(kVersion));
  PutVarint(out, deltas.size());
  for (const auto& [key, d] : deltas) {
    PutVarint(out, key.size());
    out.append(key);
    PutVarint(out, static_cast<uint64_t>(d.last_access_ms));
    PutVarint(out, static_cast<uint64_t>(d.reads));
    PutVarint(out, static_cast<uint64_t>(d.writes));
    PutVarint(out, static_cast<uint64_t>(d.bytes_read));
    PutVarint(out, static_cast<uint64_t>(d.bytes_written));
    const std::string w = d.window.Encode();
    PutVarint(out, w.size());
    out.append(w);
    PutVarint(out, d.hours.size());
    for (const auto& h : d.hours) {
      PutVarint(out, static_cast<uint64_t>(h.hour));
      PutVarint(out, static_cast<uint64_t>(h.reads));
      PutVarint(out, static_cast<uint64_t>(h.writes));
      PutVarint(out, static_cast<uint64_t>(h.bytes));
    }
  }
  return out;
}

bool DecodeDeltasInto(std::string_view in, DeltaMap* out) {
  if (in.empty() || static_cast<uint8_t>(in.front()) != kVersion) return false;
  in.remove_prefix(1);
  uint64_t n;
  if (!GetVarint(in, &n) || n > in.size()) return false;  // each object needs > 1 byte
  std::vector<std::pair<std::string, ObjectDelta>> got;
  got.reserve(static_cast<size_t>(n));
  for (uint64_t i = 0; i < n; ++i) {
    uint64_t key_len;
    if (!GetVarint(in, &key_len) || key_len == 0 || key_len > kMaxEventKeyBytes ||
        key_len > in.size()) {
      return false;
    }
    std::string key(in.substr(0, static_cast<size_t>(key_len)));
    in.remove_prefix(static_cast<size_t>(key_len));
    ObjectDelta d;
    if (!GetCount(in, &d.last_access_ms) || !GetCount(in, &d.reads) || !GetCount(in, &d.writes) ||
        !GetCount(in, &d.bytes_read) || !GetCount(in, &d.bytes_written)) {
      return false;
    }
    uint64_t w_len;
    if (!GetVarint(in, &w_len) || w_len > in.size()) return false;
    auto w = SlidingWindows::Decode(in.substr(0, static_cast<size_t>(w_len)));
    if (!w) return false;
    d.window = std::move(*w);
    in.remove_prefix(static_cast<size_t>(w_len));
    uint64_t n_hours;
    if (!GetVarint(in, &n_hours) || n_hours > in.size() / 4) return false;  // >= 4 bytes each
    for (uint64_t k = 0; k < n_hours; ++k) {
      uint64_t hour;
      HourDelta h;
      if (!GetVarint(in, &hour) || hour > kMaxHour || !GetCount(in, &h.reads) ||
          !GetCount(in, &h.writes) || !GetCount(in, &h.bytes)) {
        return false;
      }
      h.hour = static_cast<int64_t>(hour);
      if (std::any_of(d.hours.begin(), d.hours.end(),
                      [&](const HourDelta& x) { return x.hour == h.hour; })) {
        return false;  // hours are distinct
      }
      d.hours.push_back(h);
    }
    got.emplace_back(std::move(key), std::move(d));
  }
  if (!in.empty()) return false;
  for (auto& [key, d] : got) {
    auto [it, inserted] = out->try_emplace(std::move(key));
    if (inserted) {
      it->second = std::move(d);
    } else {
      it->second.Merge(d);
    }
  }
  return true;
}

}  // namespace dim
