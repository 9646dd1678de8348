// The immutable compiled zones that workers answer from, and the slot that publishes them.
// Built on the control thread (compile.cpp), read concurrently by every worker without locks.
#pragma once

#include <atomic>
#include <cstring>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "rrl.hpp"
#include "slot_index.hpp"

namespace dnsd {

// A reply body precompiled for one (name, type): the answer and additional sections in wire format
// (NOERROR, no authority), rendered as if the question name sat at offset 12 (owner names point at
// 0xC00C). One allocation holds everything, the answer itself is a pointer: four 16-bit words (the
// body's size, its essential size, the count of additional ends, the answer count), where each
// additional RR ends, then the body. A zone has an answer per RRset, tens of thousands of them: 24
// bytes inline each made a node 64 bytes where 48 hold it (docs/ARCHITECTURE.md, "Start-up").
class Answer {
 public:
  Answer() noexcept = default;
  // `essential`: the body's length through the answer section; `additional_ends`: the body's length
  // after each additional RR (a reply may keep any prefix of them without TC, RFC 2181 §9, but never
  // a partial answer section). Throws std::length_error for a body of 64 KiB or more.
  Answer(std::span<const uint8_t> body, size_t essential, std::span<const uint16_t> additional_ends, uint16_t ancount);
  Answer(const Answer& other) : Answer() {
    if (other.data_ != empty_) *this = Answer(other.body(), other.essential(), other.additional_ends(), other.ancount());
  }
  Answer& operator=(const Answer& other) {
    if (this != &other) *this = Answer(other);
    return *this;
  }
  Answer(Answer&& other) noexcept : data_(std::exchange(other.data_, empty_)) {}
  Answer& operator=(Answer&& other) noexcept {  // the moved-from is empty, what this held freed
    Answer taken(std::move(other));
    std::swap(data_, taken.data_);
    return *this;
  }
  ~Answer() {
    if (data_ != empty_) delete[] data_;
  }
  bool operator==(const Answer& other) const noexcept;

  std::span<const uint8_t> body() const noexcept {
    return {reinterpret_cast<const uint8_t*>(data_ + header + data_[2]), data_[0]};
  }
  std::span<const uint16_t> additional_ends() const noexcept { return {data_ + header, data_[2]}; }
  size_t essential() const noexcept { return data_[1]; }
  uint16_t ancount() const noexcept { return data_[3]; }

 private:
  static constexpr size_t header = 4;  // words before the additional ends
  static const uint16_t empty_[header];  // an empty answer's (never written, never freed)
  const uint16_t* data_ = empty_;
};
static_assert(sizeof(Answer) == sizeof(void*), "a snapshot holds an answer per RRset");

struct Zone {
  std::string apex;       // lower-case wire name
  std::string apex_text;  // as configured, for logs
  uint32_t index = 0;     // its place in the snapshot's zones (set by add_zone); nodes name their zone by it
  uint32_t serial = 0;
  bool transfers = false;  // transfer.allow has rules: AXFR/IXFR go to the control thread
  bool secondary = false;  // its records come from primaries: NOTIFY goes to the control thread
  bool servfail = false;   // a secondary without a copy (none yet, or expired): every name SERVFAIL
  // The zone's SOA RR after its owner name (type, class, negative TTL, rdlen, uncompressed rdata):
  // negative answers write a pointer to the apex inside the question, then these bytes (RFC 2308 §3).
  std::vector<uint8_t> soa_negative_tail;
  // The same SOA tail with each gate's negative TTL (a gated server set answers NXDOMAIN with it): one
  // per distinct TTL, shared by every gated name of the zone, and renewed with the serial.
  std::vector<std::pair<uint32_t, std::vector<uint8_t>>> gate_tails;
  const std::vector<uint8_t>* gate_tail(uint32_t ttl) const noexcept;
  // RFC 8482 §4.2: ANY at a name with records is answered with one synthesized HINFO. Its owner is
  // the question name (a pointer to it), so one body serves every name of the zone.
  Answer any;
};

// A name's answers by qtype: the first inline, any more (a name with several types) in one array of
// their own. Most names have one type; a vector took an allocation and 48 bytes of heap for each
// (10,000 members: 14,000 names, 0.4 MB and a 14,000 allocations more at every compile).
class NodeAnswers {
 public:
  using Entry = std::pair<uint16_t, Answer>;
  NodeAnswers() = default;
  NodeAnswers(const NodeAnswers& other);
  NodeAnswers& operator=(const NodeAnswers& other);
  NodeAnswers(NodeAnswers&& other) noexcept
      : first_(std::move(other.first_)), more_(std::move(other.more_)), size_(std::exchange(other.size_, 0)) {}
  NodeAnswers& operator=(NodeAnswers&& other) noexcept {
    first_ = std::move(other.first_);
    more_ = std::move(other.more_);
    size_ = std::exchange(other.size_, 0);  // the moved-from is empty, as a moved-from vector
    return *this;
  }

  void emplace_back(uint16_t type, Answer answer);
  size_t size() const noexcept { return size_; }
  bool empty() const noexcept { return size_ == 0; }
  Entry& operator[](size_t i) noexcept { return i == 0 ? first_ : more_[i - 1]; }
  const Entry& operator[](size_t i) const noexcept { return i == 0 ? first_ : more_[i - 1]; }

  template <class Owner, class Value>
  class Iter {
   public:
    Iter(Owner* owner, size_t i) : owner_(owner), i_(i) {}
    Value& operator*() const noexcept { return (*owner_)[i_]; }
    Iter& operator++() noexcept { return ++i_, *this; }
    bool operator!=(const Iter& o) const noexcept { return i_ != o.i_; }

   private:
    Owner* owner_;
    size_t i_;
  };
  Iter<NodeAnswers, Entry> begin() noexcept { return {this, 0}; }
  Iter<NodeAnswers, Entry> end() noexcept { return {this, size_}; }
  Iter<const NodeAnswers, const Entry> begin() const noexcept { return {this, 0}; }
  Iter<const NodeAnswers, const Entry> end() const noexcept { return {this, size_}; }

 private:
  Entry first_;
  std::unique_ptr<Entry[]> more_;  // entries 1.. (size_ - 1 of them)
  uint32_t size_ = 0;
};

struct Node {
  uint32_t zone = 0;  // Zone::index
  bool cname = false;
  bool gated = false;  // the name answers NXDOMAIN with its zone's gate tail for gate_ttl (see zone_builder)
  uint32_t gate_ttl = 0;
  NodeAnswers rrsets;  // by qtype; the CNAME entry answers every other type
  const Answer* find(uint16_t qtype) const noexcept;
};

class Snapshot {
 public:
  enum class Kind { refused, nxdomain, nodata, answer };
  struct Hit {
    Kind kind = Kind::refused;
    const Zone* zone = nullptr;
    const Answer* answer = nullptr;
    const std::vector<uint8_t>* negative_tail = nullptr;  // overrides the zone's for this name
  };

  Snapshot() = default;
  Snapshot(const Snapshot&) = delete;
  Snapshot& operator=(const Snapshot&) = delete;

  // Looks up a lower-case wire name. Never allocates.
  Hit lookup(std::string_view lname, uint16_t qtype) const noexcept;

  // Building (control thread only, before publishing).
  Zone& add_zone(Zone zone);
  Node& add_node(std::string_view lname, const Zone& zone);  // returns the existing node if present
  // Sizes the node table for `nodes` more names of `name_bytes` bytes (wire names) in all, so that
  // adding them does not grow it.
  void reserve_nodes(size_t nodes, size_t name_bytes);
  // Gives back what the node table holds beyond its names once every zone is in (reserved from
  // estimates, or grown by doubling).
  void shrink_to_fit();
  const Zone* find_zone(std::string_view lname) const noexcept;  // most specific enclosing zone
  Node* find_node(std::string_view lname);
  const std::deque<Zone>& zones() const noexcept { return zones_; }

  // Changing a published snapshot in proportion to the change (docs/ARCHITECTURE.md, "Publish"): a
  // derived snapshot answers as the full one it was derived from (directly or through other derived
  // ones: always one base) except for the names set or dropped in its overlay, which it carries over
  // from the snapshot it was derived from; zones and settings are copied and may be changed.
  static std::shared_ptr<Snapshot> derive(const std::shared_ptr<const Snapshot>& from);
  void set_node(std::string lname, Node node);  // replaces the name's node
  void drop_node(std::string lname);             // the name no longer exists
  Zone& zone_at(size_t index) { return zones_[index]; }
  // The node a name has as this snapshot answers (base and overlay); null when none.
  const Node* node(std::string_view lname) const noexcept;
  // Names in the overlay (set or dropped): how far the snapshot has drifted from its base.
  size_t overlay_size() const noexcept { return (shared_ ? shared_->size() : 0) + own_new_; }
  size_t node_count() const noexcept { return base_ ? base_->nodes_.size() : nodes_.size(); }
  // Every name that has a node, in no particular order (tests compare snapshots with it).
  std::vector<std::string> names() const;
  // True when TSIG keys are configured: UPDATE and signed messages go to the control thread.
  bool handoff() const noexcept { return !tsig_keys_.empty(); }
  // The configured TSIG key names (lower-case wire): a message signed with another key is answered
  // BADKEY by the worker, never handed over (a flood of them costs the control thread nothing).
  bool knows_key(std::string_view lower_wire) const noexcept {
    for (const std::string& k : tsig_keys_)
      if (k == lower_wire) return true;
    return false;
  }
  void set_tsig_keys(std::vector<std::string> lower_wire_names) { tsig_keys_ = std::move(lower_wire_names); }
  // Response rate limiting, as configured (it changes with a reload like everything else).
  const RrlOptions& rrl() const noexcept { return rrl_; }
  void set_rrl(const RrlOptions& options) noexcept { rrl_ = options; }
  // DNS cookies: on when a secret is set (16 bytes).
  bool cookies() const noexcept { return cookies_; }
  const uint8_t* cookie_secret() const noexcept { return cookie_secret_; }
  void set_cookie_secret(const std::string& secret) noexcept {
    cookies_ = secret.size() == sizeof cookie_secret_;
    if (cookies_) std::memcpy(cookie_secret_, secret.data(), sizeof cookie_secret_);
  }

 private:
  struct Named {  // an overlay entry: owns the name its key views
    std::string name;
    std::optional<Node> node;  // empty: dropped
  };
  std::deque<Zone> zones_;
  std::vector<const Zone*> zone_by_index_;  // Zone::index -> the zone (a deque's [] costs more per answer)
  std::unordered_map<std::string_view, const Zone*> zone_index_;
  // Nodes in blocks of 256 that never move (add_node's references stay valid): a node's place is a
  // shift and a mask (a deque of 48-byte nodes divided by ten on every lookup).
  class NodeBlocks {
   public:
    Node& emplace_back() {
      if ((size_ & mask) == 0) blocks_.push_back(std::make_unique<Node[]>(block));
      Node& node = blocks_[size_ >> shift][size_ & mask];
      ++size_;
      return node;
    }
    Node& operator[](size_t i) noexcept { return blocks_[i >> shift][i & mask]; }
    const Node& operator[](size_t i) const noexcept { return blocks_[i >> shift][i & mask]; }
    size_t size() const noexcept { return size_; }

   private:
    static constexpr size_t shift = 8, block = size_t(1) << shift, mask = block - 1;
    std::vector<std::unique_ptr<Node[]>> blocks_;
    size_t size_ = 0;
  };
  // A full snapshot's nodes (none when derived), in one table sized by the zone rather than a node
  // allocation each (docs/ARCHITECTURE.md, "Start-up"): the nodes, each one's name in names_ (its
  // length byte, then the lower-case wire name), and an index of their numbers by the names' hashes
  // (slot_index.hpp).
  NodeBlocks nodes_;
  std::vector<uint32_t> name_offsets_;  // node -> its name in names_
  std::string names_;
  SlotIndex index_;
  std::string_view name_of(size_t node) const noexcept {
    const size_t at = name_offsets_[node];
    return {names_.data() + at + 1, size_t(uint8_t(names_[at]))};
  }
  const Node* find_full(std::string_view lname) const noexcept {
    return find_full(lname, std::hash<std::string_view>{}(lname));
  }
  const Node* find_full(std::string_view lname, uint64_t hash) const noexcept;
  uint64_t name_hash(size_t node) const noexcept { return std::hash<std::string_view>{}(name_of(node)); }
  std::shared_ptr<const Snapshot> base_;             // a derived snapshot's full one
  // A derived snapshot's overlay: the names set or dropped since its base. Its own recent ones
  // (own_), then those it shares with the snapshots derived before it (shared_, never changed once
  // shared). derive() copies own_ alone; past overlay_merge entries own_ goes into a new shared_, so
  // that a change copies a few dozen entries and the whole overlay once in that many changes (copied
  // whole, it was a seventh of a registration's cost at 10,000 members).
  using Overlay = std::unordered_map<std::string_view, std::shared_ptr<const Named>>;
  static constexpr size_t overlay_merge = 64;
  std::shared_ptr<const Overlay> shared_;
  Overlay own_;
  size_t own_new_ = 0;  // names in own_ that shared_ does not have
  // The overlay's entry for a name (own_ first), or null when the base answers for it.
  const Named* overlaid(std::string_view lname) const noexcept;
  void overlay(std::shared_ptr<const Named> named);
  std::vector<std::string> tsig_keys_;
  RrlOptions rrl_;
  bool cookies_ = false;
  uint8_t cookie_secret_[16] = {};
};

// Holds the published snapshot. publish() swaps under a mutex and bumps the generation; workers read
// generation() once per batch and call current() only when it changed (std::atomic<shared_ptr> locks
// on g++ 12, so it must never be read per packet).
class SnapshotSlot {
 public:
  void publish(std::shared_ptr<const Snapshot> next);
  std::shared_ptr<const Snapshot> current() const;
  uint64_t generation() const noexcept { return generation_.load(std::memory_order_acquire); }

 private:
  mutable std::mutex mutex_;
  std::shared_ptr<const Snapshot> current_;
  std::atomic<uint64_t> generation_{0};
};

}  // namespace dnsd
