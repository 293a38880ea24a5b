#include "stream/sliding_window.h"

#include <algorithm>

#include "core/varint.h"

namespace dim {
namespace {

constexpr int64_t kMinuteMs = 60'000;
constexpr int64_t kHourMs = 3'600'000;
constexpr uint8_t kVersion = 1;

int64_t FloorDiv(int64_t a, int64_t b) { return a >= 0 ? a / b : -((-a + b - 1) / b); }

}  // namespace

void SlidingWindows::AddTo(Buckets& b, int64_t index, int64_t n) {
  if (!b.empty() && b.back().first == index) {
    b.back().second += n;
    return;
  }
  auto it = std::lower_bound(b.begin(), b.end(), index,
                             [](const auto& p, int64_t i) { return p.first < i; });
  if (it != b.end() && it->first == index) it->second += n;
  else b.insert(it, {index, n});
}

void SlidingWindows::Add(int64_t ts_ms, int64_t n) {
  if (n <= 0) return;
  AddTo(minutes_, FloorDiv(ts_ms, kMinuteMs), n);
  AddTo(hours_, FloorDiv(ts_ms, kHourMs), n);
}

void SlidingWindows::MergeInto(Buckets& dst, const Buckets& src) {
  if (src.empty()) return;
  if (dst.empty() || dst.back().first < src.front().first) {
    dst.insert(dst.end(), src.begin(), src.end());
    return;
  }
  Buckets out;
  out.reserve(dst.size() + src.size());
  auto a = dst.cbegin(), b = src.cbegin();
  while (a != dst.cend() || b != src.cend()) {
    if (b == src.cend() || (a != dst.cend() && a->first < b->first)) {
      out.push_back(*a++);
    } else if (a == dst.cend() || b->first < a->first) {
      out.push_back(*b++);
    } else {
      out.push_back({a->first, a->second + b->second});
      ++a;
      ++b;
    }
  }
  dst.swap(out);
}

void SlidingWindows::Merge(const SlidingWindows& other) {
  MergeInto(minutes_, other.minutes_);
  MergeInto(hours_, other.hours_);
}

void SlidingWindows::Prune(int64_t now_ms) {
  int64_t min_first = FloorDiv(now_ms, kMinuteMs) - 59;
  int64_t hour_first = FloorDiv(now_ms, kHourMs) - 167;
  minutes_.erase(minutes_.begin(), std::lower_bound(minutes_.begin(), minutes_.end(), min_first,
                                                    [](const auto& p, int64_t i) { return p.first < i; }));
  hours_.erase(hours_.begin(), std::lower_bound(hours_.begin(), hours_.end(), hour_first,
                                                [](const auto& p, int64_t i) { return p.first < i; }));
}

int64_t SlidingWindows::SumFrom(const Buckets& b, int64_t first, int64_t last) {
  int64_t s = 0;
  for (const auto& [i, c] : b) {
    if (i >= first && i <= last) s += c;
  }
  return s;
}

int64_t SlidingWindows::Count1h(int64_t now_ms) const {
  int64_t m = FloorDiv(now_ms, kMinuteMs);
  return SumFrom(minutes_, m - 59, m);
}

int64_t SlidingWindows::Count24h(int64_t now_ms) const {
  int64_t h = FloorDiv(now_ms, kHourMs);
  return SumFrom(hours_, h - 23, h);
}

int64_t SlidingWindows::Count7d(int64_t now_ms) const {
  int64_t h = FloorDiv(now_ms, kHourMs);
  return SumFrom(hours_, h - 167, h);
}

std::vector<int64_t> SlidingWindows::MinuteSeries(int64_t now_ms) const {
  std::vector<int64_t> out(60, 0);
  int64_t m = FloorDiv(now_ms, kMinuteMs);
  for (const auto& [i, c] : minutes_) {
    int64_t k = i - (m - 59);
    if (k >= 0 && k < 60) out[static_cast<size_t>(k)] += c;
  }
  return out;
}

std::string SlidingWindows::Encode() const {
  std::string out;
  out.push_back(static_cast<char>(kVersion));
  for (const Buckets* b : {&minutes_, &hours_}) {
    PutVarint(out, b->size());
    int64_t prev = 0;
    for (const auto& [i, c] : *b) {
      PutVarint(out, ZigZag(i - prev));
      PutVarint(out, static_cast<uint64_t>(c));
      prev = i;
    }
  }
  return out;
}

std::optional<SlidingWindows> SlidingWindows::Decode(std::string_view in) {
  if (in.empty()) return SlidingWindows();
  if (static_cast<uint8_t>(in.front()) != kVersion) return std::nullopt;
  in.remove_prefix(1);
  SlidingWindows w;
  for (Buckets* b : {&w.minutes_, &w.hours_}) {
    uint64_t n;
    if (!GetVarint(in, &n) || n > in.size()) return std::nullopt;  // each bucket needs >= 2 bytes
    int64_t prev = 0;
    for (uint64_t k = 0; k < n; ++k) {
      uint64_t d, c;
      if (!GetVarint(in, &d) || !GetVarint(in, &c)) return std::nullopt;
      // Bucket indices are Unix minutes or hours: far below 2^40. Checking the delta first keeps
      // the sum from overflowing on hostile input.
      constexpr int64_t kMaxIndex = int64_t{1} << 40;
      const int64_t delta = UnZigZag(d);
      if (delta > kMaxIndex || delta < -kMaxIndex) return std::nullopt;
      int64_t idx = prev + delta;
      if (idx < 0 || idx > kMaxIndex) return std::nullopt;
      if (k > 0 && idx <= prev) return std::nullopt;  // must be strictly increasing
      if (c == 0 || c > (1ull << 62)) return std::nullopt;
      b->push_back({idx, static_cast<int64_t>(c)});
      prev = idx;
    }
  }
  if (!in.empty()) return std::nullopt;
  return w;
}

}  // namespace dim
