// Snapshot lookup and publication (see snapshot.hpp).
#include "snapshot.hpp"

#include <algorithm>
#include <stdexcept>

#include "dname.hpp"

namespace dnsd {

namespace {
constexpr uint16_t type_cname = 5;
}

const uint16_t Answer::empty_[Answer::header] = {};

Answer::Answer(std::span<const uint8_t> body, size_t essential, std::span<const uint16_t> additional_ends, uint16_t ancount)
{
  if (body.size() > UINT16_MAX || additional_ends.size() > UINT16_MAX) throw std::length_error("answer over 64 KiB");
  uint16_t* data = new uint16_t[header + additional_ends.size() + (body.size() + 1) / 2];
  data[0] = uint16_t(body.size());
  data[1] = uint16_t(essential);
  data[2] = uint16_t(additional_ends.size());
  data[3] = ancount;
  if (!additional_ends.empty()) std::memcpy(data + header, additional_ends.data(), additional_ends.size_bytes());
  if (!body.empty()) std::memcpy(data + header + additional_ends.size(), body.data(), body.size());
  data_ = data;
}

bool Answer::operator==(const Answer& other) const noexcept {
  return ancount() == other.ancount() && essential() == other.essential() && std::ranges::equal(body(), other.body()) &&
         std::ranges::equal(additional_ends(), other.additional_ends());
}

NodeAnswers::NodeAnswers(const NodeAnswers& other) : first_(other.first_), size_(other.size_) {
  if (size_ > 1) {
    more_ = std::make_unique<Entry[]>(size_ - 1);
    std::copy(other.more_.get(), other.more_.get() + size_ - 1, more_.get());
  }
}

NodeAnswers& NodeAnswers::operator=(const NodeAnswers& other) {
  if (this != &other) *this = NodeAnswers(other);
  return *this;
}

void NodeAnswers::emplace_back(uint16_t type, Answer answer) {
  if (size_ == 0) {
    first_ = {type, std::move(answer)};
  } else {  // rare: sized exactly, moved over
    auto more = std::make_unique<Entry[]>(size_);
    std::move(more_.get(), more_.get() + size_ - 1, more.get());
    more[size_ - 1] = {type, std::move(answer)};
    more_ = std::move(more);
  }
  ++size_;
}

const Answer* Node::find(uint16_t qtype) const noexcept {
  for (const auto& [type, answer] : rrsets)
    if (type == qtype) return &answer;
  if (cname) return find(type_cname);
  return nullptr;
}

const std::vector<uint8_t>* Zone::gate_tail(uint32_t ttl) const noexcept {
  for (const auto& [t, tail] : gate_tails)
    if (t == ttl) return &tail;
  return nullptr;
}

const Node* Snapshot::node(std::string_view lname) const noexcept {
  // One lookup in the full snapshot's table, after the overlay's when there is one.
  const Snapshot* full = this;
  if (base_) {
    if (const Named* named = overlaid(lname)) return named->node ? &*named->node : nullptr;
    full = base_.get();
  }
  return full->find_full(lname);
}

const Snapshot::Named* Snapshot::overlaid(std::string_view lname) const noexcept {
  if (!own_.empty())
    if (const auto it = own_.find(lname); it != own_.end()) return it->second.get();
  if (shared_ && !shared_->empty())
    if (const auto it = shared_->find(lname); it != shared_->end()) return it->second.get();
  return nullptr;
}

void Snapshot::overlay(std::shared_ptr<const Named> named) {
  // The key views the entry's own name: an entry replaced goes with its key.
  if (own_.erase(named->name) == 0 && !(shared_ && shared_->count(named->name))) ++own_new_;
  own_.emplace(named->name, std::move(named));
}

const Node* Snapshot::find_full(std::string_view lname, uint64_t h) const noexcept {
  const size_t n = index_.find(h, [&](size_t node) { return name_of(node) == lname; });
  return n == SlotIndex::npos ? nullptr : &nodes_[n];
}

Snapshot::Hit Snapshot::lookup(std::string_view lname, uint16_t qtype) const noexcept {
  // A full snapshot (the one answering but for a moment after a change) looks its table up here,
  // where the lookup is inlined; a derived one goes through its overlay first.
  const Node* found = nullptr;
  if (!base_) {
    found = find_full(lname);
  } else {
    found = node(lname);
  }
  if (found) {
    const Node& node = *found;
    const Zone* zone = zone_by_index_[node.zone];
    if (node.gated) return {Kind::nxdomain, zone, nullptr, zone->gate_tail(node.gate_ttl)};
    if (qtype == 255 && !node.rrsets.empty()) return {Kind::answer, zone, &zone->any};
    if (const Answer* a = node.find(qtype)) return {Kind::answer, zone, a};
    // Empty non-terminals are nodes without RRsets: NODATA, never NXDOMAIN (RFC 8020).
    return {Kind::nodata, zone, nullptr};
  }
  if (const Zone* zone = find_zone(lname)) return {Kind::nxdomain, zone, nullptr};
  return {};
}

std::shared_ptr<Snapshot> Snapshot::derive(const std::shared_ptr<const Snapshot>& from) {
  auto out = std::make_shared<Snapshot>();
  for (const Zone& z : from->zones_) out->add_zone(z);
  out->base_ = from->base_ ? from->base_ : from;
  out->shared_ = from->shared_;
  if (from->own_.size() < overlay_merge) {
    out->own_ = from->own_;
    out->own_new_ = from->own_new_;
  } else {  // own_ goes into a new shared overlay (its entries replace those of the same names)
    auto merged = std::make_shared<Overlay>(from->shared_ ? *from->shared_ : Overlay());
    for (const auto& [name, named] : from->own_) {
      merged->erase(name);
      merged->emplace(name, named);
    }
    out->shared_ = std::move(merged);
  }
  out->tsig_keys_ = from->tsig_keys_;
  out->rrl_ = from->rrl_;
  out->cookies_ = from->cookies_;
  std::memcpy(out->cookie_secret_, from->cookie_secret_, sizeof cookie_secret_);
  return out;
}

void Snapshot::set_node(std::string lname, Node node) {
  overlay(std::make_shared<Named>(Named{std::move(lname), std::move(node)}));
}

void Snapshot::drop_node(std::string lname) {
  overlay(std::make_shared<Named>(Named{std::move(lname), std::nullopt}));
}

std::vector<std::string> Snapshot::names() const {
  std::vector<std::string> out;
  const Snapshot& full = base_ ? *base_ : *this;
  for (size_t i = 0; i < full.nodes_.size(); ++i)
    if (const std::string_view name = full.name_of(i); !overlaid(name)) out.emplace_back(name);
  for (const auto& [name, named] : own_)
    if (named->node) out.emplace_back(name);
  if (shared_)
    for (const auto& [name, named] : *shared_)
      if (named->node && !own_.count(name)) out.emplace_back(name);
  return out;
}

const Zone* Snapshot::find_zone(std::string_view lname) const noexcept {
  for (std::string_view name = lname; !name.empty(); name = parent_dname(name))
    if (auto it = zone_index_.find(name); it != zone_index_.end()) return it->second;
  return nullptr;
}

Zone& Snapshot::add_zone(Zone zone) {
  zone.index = uint32_t(zones_.size());
  Zone& stored = zones_.emplace_back(std::move(zone));
  zone_by_index_.push_back(&stored);
  zone_index_.emplace(stored.apex, &stored);
  return stored;
}

Node& Snapshot::add_node(std::string_view lname, const Zone& zone) {
  const uint64_t hash = std::hash<std::string_view>{}(lname);  // once: the lookup and the index
  if (const Node* found = find_full(lname, hash)) return const_cast<Node&>(*found);
  if (lname.size() > 255) throw std::invalid_argument("not a wire name");
  name_offsets_.push_back(uint32_t(names_.size()));
  names_.push_back(char(lname.size()));
  names_.append(lname);
  Node& node = nodes_.emplace_back();
  node.zone = zone.index;
  index_.append(nodes_.size() - 1, hash, [this](size_t n) { return name_hash(n); });
  return node;
}

void Snapshot::reserve_nodes(size_t nodes, size_t name_bytes) {
  const size_t all = nodes_.size() + nodes;
  if (const size_t slots = SlotIndex::slots_for(all); slots > index_.slots())
    index_.rehash(slots, nodes_.size(), [this](size_t n) { return name_hash(n); });
  name_offsets_.reserve(all);
  names_.reserve(names_.size() + name_bytes + nodes);  // each name after its length byte
}

void Snapshot::shrink_to_fit() {
  name_offsets_.shrink_to_fit();
  names_.shrink_to_fit();
}

Node* Snapshot::find_node(std::string_view lname) {
  return const_cast<Node*>(find_full(lname));
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
