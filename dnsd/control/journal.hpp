// The IXFR journal of a zone (RFC 1995): the differences between the successive versions it served,
// so a secondary that holds an older serial gets only what changed. Each change comes as a record
// delta (uncompressed wire, the TTL of each RRset as served): a patch's, or a whole compile's from
// comparing the zone before and after it (zone_delta); the journal holds no copy of the zone. Bounded:
// the last `max_changes` changes within `max_bytes`; older ones are dropped and their secondaries get
// a whole zone instead.
// Control plane: control thread only.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "zone_builder.hpp"

namespace dnsd {

// A record ldns holds (a secondary's copy) in uncompressed wire form (names as they are), with the
// given TTL: what ldns_rr2wire writes. Throws for a record over 64 KiB. (Rr::wire for a zone's records.)
std::string rr_wire(const ldns_rr* rr, uint32_t ttl);

// Each record of a zone in uncompressed wire form, with its RRset's TTL (the first record's: RFC
// 2181 §5.2, as the answers are compiled), sorted, each once. The SOA (records[0]) is left out.
std::vector<std::string> zone_rrs_wire(const ZoneRecords& zr);

// The zone's records as served: the TTL each record is served with (its RRset's first record's).
std::vector<uint32_t> served_ttls(const ZoneRecords& zr);

// What one change did to a zone's records, SOA aside, in the journal's form (uncompressed wire, the
// served TTL): what a patch hands the journal instead of the whole zone (docs/ARCHITECTURE.md, "Patch").
struct RecordDelta {
  uint32_t from = 0;  // the serial of the version it changes
  std::vector<std::string> removed, added;
};

// Adds to `delta` the difference between two runs of records, each holding every record of its
// owners in the zone (a cluster's range before and after a patch): the records only `before` has
// are removed, those only `after` has added.
void add_delta(RecordDelta& delta, std::span<const Record> before, std::span<const Record> after);
void add_delta(RecordDelta& delta, const std::vector<const Rr*>& before, const std::vector<const Rr*>& after);

// What a whole compile changed in a zone: `now` against `before` (the same zone as served until
// then), record by record. nullopt when either holds no records or the serial did not change.
std::optional<RecordDelta> zone_delta(const ZoneRecords& before, const ZoneRecords& now);
// The same from two zone_rrs_wire() lists, from the version with serial `from`.
RecordDelta wire_delta(uint32_t from, const std::vector<std::string>& before, const std::vector<std::string>& now);

class ZoneJournal {
 public:
  struct Change {
    std::string soa_from, soa_to;  // the SOA RRs (wire) of the two versions
    uint32_t from = 0, to = 0;
    std::vector<std::string> removed, added;  // wire RRs
    size_t bytes() const noexcept;
  };
  static constexpr size_t max_changes = 128;
  static constexpr size_t max_bytes = 32u << 20;

  // The zone as now published (its SOA first). A new serial with `delta` (what changed since the
  // version recorded last, whose serial it names) adds the change, in proportion to it; without one,
  // or from another version, the journal starts again from this version (the changes before it are
  // dropped: their secondaries get the whole zone).
  void record(const ZoneRecords& zr, const RecordDelta* delta);
  // The changes from `serial` to the current version, in order; nullopt when the journal does not
  // reach back that far (or never held `serial`).
  std::optional<std::vector<const Change*>> since(uint32_t serial) const;
  size_t size() const noexcept { return changes_.size(); }
  std::optional<uint32_t> serial() const noexcept { return serial_; }

 private:
  void add(Change c);

  std::optional<uint32_t> serial_;
  std::string soa_;
  std::deque<Change> changes_;
  size_t bytes_ = 0;
};

}  // namespace dnsd
