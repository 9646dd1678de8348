// Zone records -> precompiled wire answers in a Snapshot. Owner names and the rdata names of the
// RFC 1035 types are compressed; SRV targets never are (RFC 2782; go1.19 rejects the message).
// Control plane: called on the control thread, off the hot path.
#pragma once

#include <functional>
#include <memory>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "config.hpp"
#include "packer.hpp"
#include "slot_index.hpp"
#include "snapshot.hpp"
#include "state_store.hpp"
#include "zone_builder.hpp"

namespace dnsd {

// The pieces of a compile, shared with the incremental path (cluster_patch.hpp), which renders the
// names a change touches exactly as a whole compile would.
struct RRset {
  std::string_view owner;  // lower-case wire, held by the RRsetTable the set is from (or by its maker)
  ldns_rr_type type;
  uint32_t ttl;
  std::span<const Rr* const> rrs;  // held there too
  SourceLoc last;  // where the set's last record came from: named when the answer cannot be built
};
using RRsetFinder = std::function<const RRset*(std::string_view owner, ldns_rr_type type)>;
// Records grouped into RRsets by (owner, type), in order of first appearance, an RRset's TTL its first
// record's (RFC 2181 §5.2), and found by (owner, type) through an index of their numbers
// (slot_index.hpp): no key is copied for it. The sets' owners and record lists are views into three
// buffers the table holds (owners, record pointers set by set, the sets): a compile of 30,000 records
// made 40,000 allocations of an owner string and a vector each. A moved table's views stay valid.
class RRsetTable {
 public:
  RRsetTable(const std::vector<Record>& records, size_t begin, size_t end);
  RRsetTable(RRsetTable&&) noexcept = default;
  RRsetTable& operator=(RRsetTable&&) noexcept = default;
  RRsetTable(const RRsetTable&) = delete;
  RRsetTable& operator=(const RRsetTable&) = delete;
  const std::vector<RRset>& sets() const noexcept { return sets_; }
  // The bytes of the sets' owners, a name once per set (what a node table of them holds at most).
  size_t owner_bytes() const noexcept { return owners_.size(); }
  // The set of `owner` (lower-case wire) and `type`, or null.
  const RRset* find(std::string_view owner, ldns_rr_type type) const noexcept;

 private:
  static uint64_t hash(std::string_view owner, ldns_rr_type type) noexcept {
    return std::hash<std::string_view>()(owner) * 31 + size_t(type);
  }
  size_t find_index(std::string_view owner, ldns_rr_type type, uint64_t h) const noexcept;

  std::vector<char> owners_;     // each set's owner, back to back (reserved once: never moves)
  std::vector<const Rr*> rrs_;   // each set's records, set after set
  std::vector<RRset> sets_;
  SlotIndex index_;
};
// Renders RRsets' answers, one message buffer, compression table and list of targets reused for
// every answer it renders (a zone's 30,000 answers were 120,000 allocations).
class AnswerRenderer {
 public:
  // An RRset's answer (a CNAME's followed by `chased`, its in-zone target's set), with the addresses
  // `find` gives for in-zone SRV, NS and MX targets in additional. Throws std::runtime_error when it
  // cannot fit a TCP message.
  Answer rrset(const RRset& set, const RRset* chased, const RRsetFinder& find);

 private:
  Packer p_;
  std::string target_;          // the target at hand, folded
  std::string done_;            // the targets whose addresses are in, each after its length byte
  std::vector<uint16_t> ends_;  // where each additional record ends
};
inline Answer render_rrset(const RRset& set, const RRset* chased, const RRsetFinder& find) {
  return AnswerRenderer().rrset(set, chased, find);
}
// RFC 8482's answer to ANY: one synthesized HINFO, owned by the question name (Zone::any).
Answer render_any(uint32_t ttl);
// The SOA after its owner, with the negative TTL and uncompressed names, so that it can follow a
// pointer to the apex at any offset.
std::vector<uint8_t> soa_tail(const Rr& soa, uint32_t ttl);

// Adds one zone (its records must start with the SOA) to the snapshot. Throws ConfigError naming the
// record when an answer cannot be represented (an RRset over 64 KiB).
void compile_zone(const ZoneRecords& records, Snapshot& snapshot);

struct CompiledConfig {
  std::shared_ptr<const Snapshot> snapshot;
  std::vector<ZoneRecords> zones;  // with their SOA, in config order: what `dnsd check` prints
  std::vector<Diagnostic> warnings;  // e.g. records added by UPDATE that the config now owns
};

// Every zone of the config: build and validate records, pick serials (persisted through `state`),
// compile. All-or-nothing: throws ConfigError listing every problem, and nothing is published.
// load_config, and when the config has errors, the build problems of every zone that loaded cleanly
// too (an out-of-zone record, a target without addresses): every problem in one pass, each once.
DaemonConfig load_config_reporting_all(const std::string& path);

CompiledConfig compile_config(const DaemonConfig& config, StateStore& state, const HealthTable* health = nullptr);

}  // namespace dnsd
