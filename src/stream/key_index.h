// KeyIndex: interns object keys, giving each distinct key a dense id (0, 1, 2, ... in order of
// first sight), so the consumer can aggregate per object in flat arrays instead of a map keyed
// by strings. Lookups probe an open-addressing table of 8-byte slots (32 bits of the key's hash
// and the id, linear probing, at most half full), then compare the key's bytes once.
// Thread safety: Intern and Find are for one thread at a time. Key(id) may be called from
// another thread while Intern runs, for any id whose Intern returned before (ordered by the
// caller, e.g. through a mutex): keys are stored in chunks that never move.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace dim {

class KeyIndex {
 public:
  // Ids are below this: the table's 32-bit id field (0 means an empty slot).
  static constexpr size_t kMaxKeys = (size_t{1} << 31) - 1;

  explicit KeyIndex(size_t expected_keys = 1024);
  KeyIndex(const KeyIndex&) = delete;
  KeyIndex& operator=(const KeyIndex&) = delete;

  // The key's id, a new one (size() before the call) if it was not seen before. Any bytes are
  // a key, the empty string included. REQUIRES: size() < kMaxKeys.
  uint32_t Intern(std::string_view key) { return Intern(key, Hash(key)); }
  // Interns keys[0..n) into ids[0..n) (as n calls of Intern), fetching the table's slots and the
  // keys' bytes a few keys ahead, so that a batch of lookups into a large index waits for memory
  // in parallel instead of once per key. REQUIRES: size() + n <= kMaxKeys.
  void InternBatch(const std::string_view* keys, size_t n, uint32_t* ids);
  std::optional<uint32_t> Find(std::string_view key) const;
  // REQUIRES: id < size().
  const std::string& Key(uint32_t id) const {
    const auto [c, i] = Place(id);
    return chunks_[c][i];
  }
  size_t size() const { return size_; }

 private:
  // Chunk c holds kFirstChunk << c keys: 22 chunks hold more than kMaxKeys.
  static constexpr int kFirstChunkBits = 10;
  static constexpr size_t kFirstChunk = size_t{1} << kFirstChunkBits;
  // Where key `id` is stored: its chunk and the index in it.
  static std::pair<int, size_t> Place(size_t id) {
    const size_t n = id + kFirstChunk;
    const int c = 63 - __builtin_clzll(n) - kFirstChunkBits;
    return {c, n - (kFirstChunk << c)};
  }
  static uint64_t Hash(std::string_view key);
  // The slot holding `key` (hash h), or the empty slot where it would go.
  uint64_t Probe(std::string_view key, uint64_t h) const;
  uint32_t Intern(std::string_view key, uint64_t hash);
  void Grow();

  std::vector<uint64_t> hashes_;  // scratch of InternBatch

  std::vector<uint64_t> slots_;  // (hash >> 32) << 32 | (id + 1); 0: empty
  uint64_t mask_ = 0;
  size_t size_ = 0;
  std::array<std::unique_ptr<std::string[]>, 22> chunks_;
};

}  // namespace dim
