// A set of names (lower-case wire form) held in one buffer with an open-addressing table of offsets:
// the names a zone's etcd records reserve are tens of thousands, and a std::set of strings spent two
// allocations and ~110 bytes on each (docs/ARCHITECTURE.md, "Start-up"). Control plane.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

namespace dnsd {

class NameSet {
 public:
  NameSet() = default;
  NameSet(std::initializer_list<std::string_view> names) {
    for (std::string_view n : names) insert(n);
  }

  bool insert(std::string_view name);  // true when it was not in the set
  bool erase(std::string_view name);   // true when it was
  bool contains(std::string_view name) const noexcept { return find(name) != npos; }
  size_t count(std::string_view name) const noexcept { return contains(name) ? 1 : 0; }
  size_t size() const noexcept { return size_; }
  bool empty() const noexcept { return size_ == 0; }
  // The same names, whatever order they were added in.
  bool operator==(const NameSet& other) const noexcept;

  // The names in no particular order (a change to the set invalidates iterators).
  class const_iterator {
   public:
    std::string_view operator*() const noexcept { return set_->name_at(set_->slots_[i_]); }
    const_iterator& operator++() noexcept {
      i_ = set_->next_used(i_ + 1);
      return *this;
    }
    bool operator==(const const_iterator& o) const noexcept { return i_ == o.i_; }

   private:
    friend class NameSet;
    const_iterator(const NameSet* set, size_t i) : set_(set), i_(i) {}
    const NameSet* set_;
    size_t i_;
  };
  const_iterator begin() const noexcept { return {this, next_used(0)}; }
  const_iterator end() const noexcept { return {this, slots_.size()}; }

 private:
  static constexpr size_t npos = size_t(-1);
  static constexpr uint32_t empty_slot = 0;             // slots hold a name's offset + 1
  static constexpr uint32_t erased_slot = UINT32_MAX;  // a tombstone: probing goes on past it
  std::string_view name_at(uint32_t slot) const noexcept {
    const size_t at = slot - 1;
    return {bytes_.data() + at + 1, size_t(uint8_t(bytes_[at]))};
  }
  size_t find(std::string_view name) const noexcept;  // the slot's index, or npos
  size_t next_used(size_t i) const noexcept;
  void rebuild(size_t slots);  // a table of `slots` (a power of two), the names packed again

  std::string bytes_;            // each name: its length (one byte), then its bytes
  std::vector<uint32_t> slots_;  // empty_slot, erased_slot or an offset into bytes_ + 1
  size_t size_ = 0;              // names in the set
  size_t taken_ = 0;             // slots not empty (names and tombstones)
  size_t garbage_ = 0;           // bytes of erased names in bytes_
};

}  // namespace dnsd
