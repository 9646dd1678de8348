// Publishing a DNS UPDATE in proportion to it (docs/ARCHITECTURE.md, "Patch"): the zone's UPDATE
// records change at a few names; those names are rendered again from their records and set in a
// snapshot derived from the published one, with the apex SOA. Anything the change could alter
// elsewhere (a name the config or a cluster has records at, one another answer includes, a CNAME,
// NS or DNAME, an in-zone target, a record the whole compile would drop) is left to the whole
// compile: prepare_update_patch says so. Control plane: control thread only.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "cluster_patch.hpp"

namespace dnsd {

struct UpdatePatch {
  size_t zone = 0;
  // The zone's UPDATE records as served after it, in order: an index into the ones served before
  // (kept), or a new record with its text.
  struct Entry {
    size_t kept = SIZE_MAX;
    Rr rr;
    std::string text;
  };
  std::vector<Entry> records;
  std::set<std::string> owners_after;  // the changed names that have records afterwards
  std::unordered_map<std::string, int> name_deltas;
  uint64_t digest = 0;
  Rr soa;
  std::optional<RecordDelta> delta;    // for a zone with transfers
  std::shared_ptr<Snapshot> snapshot;  // derived from the one given, ready to publish
};

// Prepares serving `records` (one-line texts, in order) as the UPDATE records of config.zones[zone]
// instead of its dynamic_records, from snapshot `from`. The serial comes from `state` like a whole
// compile's. nullopt: the change is not confined to the names of the records it changes. Changes
// nothing the caller owns.
std::optional<UpdatePatch> prepare_update_patch(const DaemonConfig& config, size_t zone, const std::vector<std::string>& records,
                                                const ZoneRecords& served, const ZoneIndex& index,
                                                const std::shared_ptr<const Snapshot>& from, StateStore& state);

// Makes the served records and the index what patch.snapshot serves (the caller publishes it and
// sets the zone's dynamic_records). Returns patch.delta.
std::optional<RecordDelta> apply_update_patch(UpdatePatch& patch, ZoneRecords& served, ZoneIndex& index);

}  // namespace dnsd
