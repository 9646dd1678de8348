// A compact set of wire names (see name_set.hpp).
#include "name_set.hpp"

#include <algorithm>

#include "hash.hpp"

namespace dnsd {

namespace {
uint64_t name_hash(std::string_view name) noexcept {
  return fnv1a(reinterpret_cast<const uint8_t*>(name.data()), name.size());
}
}  // namespace

size_t NameSet::find(std::string_view name) const noexcept {
  if (slots_.empty()) return npos;
  const size_t mask = slots_.size() - 1;
  for (size_t i = name_hash(name) & mask;; i = (i + 1) & mask) {
    const uint32_t slot = slots_[i];
    if (slot == empty_slot) return npos;
    if (slot != erased_slot && name_at(slot) == name) return i;
  }
}

size_t NameSet::next_used(size_t i) const noexcept {
  while (i < slots_.size() && (slots_[i] == empty_slot || slots_[i] == erased_slot)) ++i;
  return i;
}

bool NameSet::insert(std::string_view name) {
  if (name.size() > 255) return false;  // not a wire name: never in the set
  if (contains(name)) return false;
  // At most half the table taken, tombstones counted: probes stay short and always end.
  if ((taken_ + 1) * 2 > slots_.size()) {
    size_t n = std::max<size_t>(16, slots_.size());
    while ((size_ + 1) * 4 > n) n *= 2;  // room for as many again before the next rebuild
    rebuild(n);
  }
  const size_t mask = slots_.size() - 1;
  size_t i = name_hash(name) & mask;
  while (slots_[i] != empty_slot && slots_[i] != erased_slot) i = (i + 1) & mask;
  if (slots_[i] == empty_slot) ++taken_;
  slots_[i] = uint32_t(bytes_.size() + 1);
  bytes_.push_back(char(name.size()));
  bytes_.append(name);
  ++size_;
  return true;
}

bool NameSet::erase(std::string_view name) {
  const size_t i = find(name);
  if (i == npos) return false;
  garbage_ += name.size() + 1;
  slots_[i] = erased_slot;
  --size_;
  // The name's bytes stay until the next rebuild; a buffer mostly of erased names is packed again.
  if (bytes_.size() > 4096 && garbage_ * 2 > bytes_.size()) rebuild(slots_.size());
  return true;
}

void NameSet::rebuild(size_t slots) {
  NameSet next;
  next.slots_.assign(slots, empty_slot);
  next.bytes_.reserve(bytes_.size());
  for (std::string_view name : *this) {
    const size_t mask = slots - 1;
    size_t i = name_hash(name) & mask;
    while (next.slots_[i] != empty_slot) i = (i + 1) & mask;
    next.slots_[i] = uint32_t(next.bytes_.size() + 1);
    next.bytes_.push_back(char(name.size()));
    next.bytes_.append(name);
  }
  next.size_ = next.taken_ = size_;
  *this = std::move(next);
}

bool NameSet::operator==(const NameSet& other) const noexcept {
  if (size_ != other.size_) return false;
  for (std::string_view name : *this)
    if (!other.contains(name)) return false;
  return true;
}

}  // namespace dnsd
