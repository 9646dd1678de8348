// Publishing a change in proportion to the change (docs/ARCHITECTURE.md, "Publish"): a registration,
// its removal and a health flip each change clusters of one zone; their names are built and rendered
// again and set in a snapshot derived from the published one, and everything else is shared. Whatever
// such a change could alter outside its clusters (a record of the config at or naming one of its
// names, an UPDATE record, a reverse or child zone, a host another cluster has) is left to the whole
// compile: prepare_patch says so, and the caller compiles everything as before.
// Control plane: control thread only.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "compile.hpp"
#include "config.hpp"
#include "dname.hpp"
#include "health.hpp"
#include "journal.hpp"
#include "snapshot.hpp"
#include "state_store.hpp"
#include "zone_builder.hpp"

namespace dnsd {

// What a patch needs to know about the rest of a served zone, taken from its records once after a
// whole compile and kept up to date by each patch.
struct ZoneIndex {
  bool eligible = false;  // a primary zone with records, no reverse zone of it and no zone inside it
  std::string apex;       // lower-case wire
  uint64_t digest = 0;    // zone_digest of the records served
  // Names (lower-case wire) a change of clusters may not touch: owners of records no cluster made
  // (NS, records:, UPDATE), and the names their answers include (NS/MX/SRV targets, CNAME targets).
  std::unordered_set<std::string> other_owners, referenced;
  std::unordered_set<std::string> dynamic_owners;        // of the zone's UPDATE records, served or dropped
  std::unordered_set<std::string> config_owners;         // of records the config has (NS, records:), not UPDATE's
  bool cuts = false;  // an NS record below the apex or a DNAME (never served: the whole compile refuses them)
  struct Owner {
    size_t cluster = 0;
    bool shared = false;  // another cluster has a record at the name too: never patched
  };
  // Names the clusters' records are at (SRV names, hosts; gated and empty names) -> their cluster.
  std::unordered_map<std::string, Owner> owners;
  // In-zone member hosts (with addresses or not) -> their cluster, and each cluster's: no two members
  // may share one (the whole compile's "generated twice").
  std::unordered_map<std::string, size_t> hosts;
  std::vector<std::set<std::string>> cluster_hosts;
  std::unordered_map<std::string, uint32_t> names;        // below the apex -> owners at or below it
  std::unordered_map<std::string, uint32_t> reserved;     // reserved name -> clusters reserving it
  bool reserves = false;  // the served records hold the reserved names too (reserves_names)
};

// Built from a whole compile's records of config.zones[zone] (served: its records as published).
ZoneIndex index_zone(const DaemonConfig& config, size_t zone, const ZoneRecords& served);

struct ClusterPatch {
  struct Part {
    size_t cluster = 0;
    ZoneRecords built;                   // the cluster's records, gated and empty names, reserved names
    std::vector<std::string> srv_names;  // its server and client SRV names as built (ZoneRecords' spelling)
    std::set<std::string> owners_before, owners_after;  // names of its records, gated and empty names
    std::set<std::string> hosts;                         // its in-zone member hosts
    NameSet reserved_before, reserved_after;  // cluster_reserved_names of the cluster before and after
  };
  size_t zone = 0;
  std::vector<Part> parts;
  std::unordered_map<std::string, int> name_deltas;  // ZoneIndex::names changes
  uint64_t digest = 0;
  Rr soa;
  std::shared_ptr<Snapshot> snapshot;  // derived from the one given, ready to publish
};

// Prepares serving `changed` (cluster index -> the cluster as it will be served, registrations and
// opened gate included) in config.zones[zone], with `health`, from snapshot `from`. The serial comes
// from `state` like a whole compile's. nullopt: the change is not confined to those clusters (or
// cannot be served: the whole compile names why). Changes nothing the caller owns.
std::optional<ClusterPatch> prepare_patch(const DaemonConfig& config, size_t zone,
                                          const std::vector<std::pair<size_t, const Cluster*>>& changed,
                                          const ZoneRecords& served, const ZoneIndex& index,
                                          const std::shared_ptr<const Snapshot>& from, const HealthTable* health,
                                          StateStore& state);

// The shared steps of a patch (a change of clusters here, of UPDATE records in update_patch.*).
// Adds `delta` to the name and each name between it and the apex (ZoneIndex::names, or a patch's
// changes to them).
template <typename Map>
void count_up(Map& names, const std::string& name, const std::string& apex, int delta) {
  for (std::string_view n = name; n.size() > apex.size(); n = parent_dname(n)) names[std::string(n)] += delta;
}
// A patch's changes to those counts, applied to the index (a name counted down to nothing leaves it).
void apply_name_deltas(ZoneIndex& index, const std::unordered_map<std::string, int>& deltas);
// Sets each of `names` in `snap` (derived from `from`) as zone `zone` will serve it: dropped when
// no owner is left at or below it (the index's counts plus `deltas`); a name in `touched` gets its
// RRsets among `sets` rendered (gated when in `gated`); any other name is kept, or added as an empty
// non-terminal. Throws std::runtime_error for an answer over 64 KiB.
void set_names(Snapshot& snap, const Snapshot& from, size_t zone, const std::set<std::string>& names,
               const std::set<std::string>& touched, const std::vector<RRset>& sets,
               const std::unordered_map<std::string, uint32_t>& gated, const ZoneIndex& index,
               const std::unordered_map<std::string, int>& deltas);
// The zone's new SOA for records of digest `digest` (the serial as a whole compile picks it, from
// `state`), set in `snap` with everything that carries it: the negative tails (those of `gated` too)
// and the apex's SOA answer. Empty when `from` has no apex node.
Rr renew_soa(Snapshot& snap, const Snapshot& from, const ZoneConfig& z, size_t zone, const ZoneRecords& served,
                const std::string& apex, uint64_t digest, const std::unordered_map<std::string, uint32_t>& gated,
                StateStore& state);

// Makes the served records and the index what patch.snapshot serves (the caller publishes it and
// puts the changed clusters into its config). For a zone with transfers, returns what changed in its
// records (the IXFR journal's next change, without comparing the whole zone).
std::optional<RecordDelta> apply_patch(ClusterPatch& patch, ZoneRecords& served, ZoneIndex& index);

}  // namespace dnsd
