// An open-addressing index over entries kept elsewhere, numbered 0, 1, ...: each slot holds an
// entry's hash's high half << 32 | entry + 1 (0: empty), probed linearly, a power of two in size that
// its owner keeps at most half full; an entry is compared only when the hash halves match. It indexes
// what tens of thousands of names would otherwise each cost a hash-map node and a key copy for: a
// snapshot's nodes, a compile's RRsets and each owner's types (docs/ARCHITECTURE.md, "Start-up").
// Header only: the data plane's lookups inline it.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace dnsd {

class SlotIndex {
 public:
  static constexpr size_t npos = SIZE_MAX;

  // The size (64 at least) that holds `entries` at most half full.
  static size_t slots_for(size_t entries) noexcept {
    size_t slots = 64;
    while (slots < 2 * entries) slots *= 2;
    return slots;
  }

  // Empty, with `slots` slots (a power of two).
  void reset(size_t slots) { slots_.assign(slots, 0); }
  size_t slots() const noexcept { return slots_.size(); }
  // Whether one entry more than `entries` would leave it over half full.
  bool full(size_t entries) const noexcept { return 2 * (entries + 1) > slots_.size(); }

  // The entry under hash `h` for which `is(entry)` holds, or npos.
  template <class Is>
  size_t find(uint64_t h, Is&& is) const noexcept {
    if (slots_.empty()) return npos;
    const size_t mask = slots_.size() - 1;
    for (size_t i = h & mask;; i = (i + 1) & mask) {
      const uint64_t slot = slots_[i];
      if (slot == 0) return npos;
      if ((slot >> 32) == (h >> 32) && is(size_t(uint32_t(slot) - 1))) return uint32_t(slot) - 1;
    }
  }

  // Indexes `entry` under hash `h` (a slot must be free).
  void add(size_t entry, uint64_t h) noexcept {
    const size_t mask = slots_.size() - 1;
    size_t i = h & mask;
    while (slots_[i] != 0) i = (i + 1) & mask;
    slots_[i] = (h >> 32 << 32) | uint64_t(entry + 1);
  }

  // Indexes the next entry (entries [0, entry) are indexed) under hash `h`, first doubling the size
  // (64 at least) and indexing the others again under hash_of(e) when it would be over half full.
  template <class HashOf>
  void append(size_t entry, uint64_t h, HashOf&& hash_of) {
    if (full(entry)) rehash(std::max<size_t>(64, 2 * slots()), entry, hash_of);
    add(entry, h);
  }

  // `slots` slots (a power of two) indexing entries [0, entries) again, each under hash_of(entry).
  template <class HashOf>
  void rehash(size_t slots, size_t entries, HashOf&& hash_of) {
    reset(slots);
    for (size_t e = 0; e < entries; ++e) add(e, hash_of(e));
  }

 private:
  std::vector<uint64_t> slots_;
};

}  // namespace dnsd
