#include "stream/key_index.h"

#include <functional>

namespace dim {
namespace {
constexpr uint64_t kTagMask = 0xffffffff00000000ull;
}  // namespace

KeyIndex::KeyIndex(size_t expected_keys) {
  size_t cap = 16;
  while (cap < 2 * expected_keys) cap <<= 1;
  slots_.assign(cap, 0);
  mask_ = cap - 1;
}

uint64_t KeyIndex::Hash(std::string_view key) { return std::hash<std::string_view>{}(key); }

uint64_t KeyIndex::Probe(std::string_view key, uint64_t h) const {
  const uint64_t tag = h & kTagMask;
  for (uint64_t i = h & mask_;; i = (i + 1) & mask_) {
    const uint64_t s = slots_[i];
    if (s == 0 || ((s & kTagMask) == tag && Key(static_cast<uint32_t>(s) - 1) == key)) return i;
  }
}

std::optional<uint32_t> KeyIndex::Find(std::string_view key) const {
  const uint64_t s = slots_[Probe(key, Hash(key))];
  if (s == 0) return std::nullopt;
  return static_cast<uint32_t>(s) - 1;
}

void KeyIndex::InternBatch(const std::string_view* keys, size_t n, uint32_t* ids) {
  // Four stages, kAhead keys apart: fetch the key's first slot; read it and fetch the id's
  // string; read that and fetch its bytes (when not stored inline); intern.
  constexpr size_t kAhead = 8;
  hashes_.resize(n);
  for (size_t i = 0; i < n; ++i) hashes_[i] = Hash(keys[i]);
  for (size_t i = 0; i < n; ++i) {
    if (i + 3 * kAhead < n) __builtin_prefetch(&slots_[hashes_[i + 3 * kAhead] & mask_]);
    if (i + 2 * kAhead < n) {
      const uint64_t s = slots_[hashes_[i + 2 * kAhead] & mask_];
      if (s != 0) __builtin_prefetch(&Key(static_cast<uint32_t>(s) - 1));
    }
    if (i + kAhead < n) {
      const uint64_t s = slots_[hashes_[i + kAhead] & mask_];
      if (s != 0) __builtin_prefetch(Key(static_cast<uint32_t>(s) - 1).data());
    }
    ids[i] = Intern(keys[i], hashes_[i]);
  }
}

uint32_t KeyIndex::Intern(std::string_view key, uint64_t h) {
  const uint64_t i = Probe(key, h);
  if (slots_[i] != 0) return static_cast<uint32_t>(slots_[i]) - 1;
  const auto id = static_cast<uint32_t>(size_);
  const auto [c, at] = Place(size_);
  if (!chunks_[c]) chunks_[c] = std::make_unique<std::string[]>(kFirstChunk << c);
  chunks_[c][at].assign(key);
  ++size_;
  slots_[i] = (h & kTagMask) | (uint64_t{id} + 1);
  if (2 * size_ > slots_.size()) Grow();
  return id;
}

void KeyIndex::Grow() {
  std::vector<uint64_t> old;
  old.swap(slots_);
  slots_.assign(2 * old.size(), 0);
  mask_ = slots_.size() - 1;
  for (uint64_t s : old) {
    if (s == 0) continue;
    uint64_t i = Hash(Key(static_cast<uint32_t>(s) - 1)) & mask_;
    while (slots_[i] != 0) i = (i + 1) & mask_;
    slots_[i] = s;
  }
}

}  // namespace dim
