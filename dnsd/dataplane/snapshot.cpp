// Snapshot lookup and publication (see snapshot.hpp).
#include "snapshot.hpp"

#include "dname.hpp"

namespace dnsd {

namespace {
constexpr uint16_t type_cname = 5;
}

const Answer* Node::find(uint16_t qtype) const noexcept {
  for (const auto& [type, answer] : rrsets)
    if (type == qtype) return &answer;
  if (cname) return find(type_cname);
  return nullptr;
}

Snapshot::Hit Snapshot::lookup(std::string_view lname, uint16_t qtype) const noexcept {
  if (auto it = nodes_.find(lname); it != nodes_.end()) {
    const Node& node = it->second;
    if (!node.gate_tail.empty()) return {Kind::nxdomain, node.zone, nullptr, &node.gate_tail};
    if (qtype == 255 && !node.rrsets.empty()) return {Kind::answer, node.zone, &node.any};
    if (const Answer* a = node.find(qtype)) return {Kind::answer, node.zone, a};
    // Empty non-terminals are nodes without RRsets: NODATA, never NXDOMAIN (RFC 8020).
    return {Kind::nodata, node.zone, nullptr};
  }
  if (const Zone* zone = find_zone(lname)) return {Kind::nxdomain, zone, nullptr};
  return {};
}

const Zone* Snapshot::find_zone(std::string_view lname) const noexcept {
  for (std::string_view name = lname; !name.empty(); name = parent_dname(name))
    if (auto it = zone_index_.find(name); it != zone_index_.end()) return it->second;
  return nullptr;
}

Zone& Snapshot::add_zone(Zone zone) {
  Zone& stored = zones_.emplace_back(std::move(zone));
  zone_index_.emplace(stored.apex, &stored);
  return stored;
}

Node& Snapshot::add_node(std::string lname, const Zone& zone) {
  if (auto it = nodes_.find(lname); it != nodes_.end()) return it->second;
  const std::string& key = keys_.emplace_back(std::move(lname));
  Node& node = nodes_[key];
  node.zone = &zone;
  return node;
}

Node* Snapshot::find_node(std::string_view lname) {
  auto it = nodes_.find(lname);
  return it == nodes_.end() ? nullptr : &it->second;
}

void SnapshotSlot::publish(std::shared_ptr<const Snapshot> next) {
  std::shared_ptr<const Snapshot> old;
  {
    std::lock_guard lock(mutex_);
    old = std::exchange(current_, std::move(next));
    generation_.fetch_add(1, std::memory_order_acq_rel);
  }
  // `old` is released outside the lock; workers still holding it keep it alive until their next batch.
}

std::shared_ptr<const Snapshot> SnapshotSlot::current() const {
  std::lock_guard lock(mutex_);
  return current_;
}

}  // namespace dnsd
