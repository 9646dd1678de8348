// Config (and later registrations and health) -> the records of one zone, validated, in print order.
// Control plane: called on the control thread by compile and by `dnsd check`.
#pragma once

#include <map>
#include <set>
#include <string>
#include <vector>

#include "config.hpp"
#include "etcd_records.hpp"
#include "health.hpp"
#include "ldns.hpp"
#include "name_set.hpp"
#include "names.hpp"
#include "rr.hpp"
#include "slot_index.hpp"

namespace dnsd {

struct Record {
  Rr rr;
  SourceLoc loc;  // a record added by DNS UPDATE has an UPDATE origin (dynamic())
  bool dynamic() const noexcept;
};
static_assert(sizeof(Record) <= 2 * sizeof(void*), "a zone holds tens of thousands of records");

struct ZoneRecords {
  std::string apex;              // absolute, as configured
  uint32_t ttl = 0;              // default TTL
  uint32_t negative_ttl = 0;     // min(SOA TTL, SOA minimum): RFC 2308 §5
  std::vector<Record> records;   // SOA first once serial is set, then NS, records:, clusters
  // Names that exist without records (answer NODATA, never NXDOMAIN): a fail-closed client set with
  // no healthy member keeps its name so that caches do not learn an NXDOMAIN for it.
  std::vector<std::string> empty_names;
  bool transfers = false;  // the zone has transfer.allow rules
  bool secondary = false;  // its records are a copy from primaries (no records: none held, or expired)
  // Server SRV names of clusters still below expected_size: NXDOMAIN with the gate's short negative
  // TTL, so that no member bootstraps a cluster from a partial set (seed 000's race).
  std::vector<std::pair<std::string, uint32_t>> gated_names;
  // Every name the etcd records use, lower-case wire, below the apex: each cluster's four service
  // names (both schemes, so a cluster's other scheme cannot be added beside it), member hosts, and
  // the names between them and the apex (`_tcp`, `c1`). DNS UPDATE may touch none of them. Empty
  // unless the zone takes UPDATE (reserves_names).
  NameSet reserved_names;
  // Where each cluster's records are in `records` (begin, end), in config order, once built: a change
  // to one cluster replaces its range (cluster_patch.hpp). Empty for a zone without clusters' records.
  std::vector<std::pair<size_t, size_t>> cluster_ranges;
};

// Builds and validates every record of the zone except the SOA. Problems go to `diagnostics`
// with file:line; the result is only meaningful when no error was added. health (may be null)
// filters the client SRV sets of probed clusters.
ZoneRecords build_zone(const ZoneConfig& zone, std::vector<Diagnostic>& diagnostics,
                       const HealthTable* health = nullptr);

// Names in one buffer, numbered in the order they were first added and found through a SlotIndex:
// the flat tables a build keeps its names in. A tree node and a key copy per name (24,000 names at
// 10,000 members), freed once the zone was built, left holes between its records: 1.4 MB resident
// after start-up (docs/ARCHITECTURE.md, "Start-up").
class NameIndex {
 public:
  // Sized for `names` names (it grows past them).
  void reserve(size_t names) {
    index_.rehash(SlotIndex::slots_for(names), ends_.size(), [this](size_t i) { return hash(name(i)); });
    ends_.reserve(names);
  }
  // The name's number, and whether it was added now.
  std::pair<size_t, bool> insert(std::string_view name);
  // The name's number, or SlotIndex::npos.
  size_t find(std::string_view name) const noexcept { return find(name, hash(name)); }
  size_t size() const noexcept { return ends_.size(); }
  std::string_view name(size_t i) const noexcept {
    const size_t from = i == 0 ? 0 : ends_[i - 1];
    return std::string_view(names_).substr(from, ends_[i] - from);
  }

 private:
  static uint64_t hash(std::string_view name) noexcept { return std::hash<std::string_view>()(name); }
  size_t find(std::string_view name, uint64_t h) const noexcept {
    return index_.find(h, [&](size_t i) { return this->name(i) == name; });
  }

  std::string names_;
  std::vector<uint32_t> ends_;  // where each name ends in names_
  SlotIndex index_;
};

// Names a zone's clusters have generated so far, each with where it came from.
class GeneratedNames {
 public:
  // Adds `name`, generated at `loc`; when it is there already, adds nothing and returns where it was
  // generated first.
  const SourceLoc* insert(std::string_view name, const SourceLoc& loc);
  size_t size() const noexcept { return names_.size(); }
  std::string_view name(size_t i) const noexcept { return names_.name(i); }

 private:
  NameIndex names_;
  std::vector<SourceLoc> locs_;  // by the names' numbers
};

// What build_cluster carries from one cluster of a zone to the next: the names generated so far (one
// generated twice is an error), and the buffers it builds each cluster's records in, reused (freed
// after each cluster, they too left holes between the records).
struct ClusterBuild {
  GeneratedNames srv_owners;  // SRV owner names, as srv_owner spells them
  GeneratedNames hosts;       // in-zone member hosts, lower-case wire
  std::string hosts_wire;     // the cluster's member hosts in wire form (case kept), one after another
  std::vector<uint32_t> host_ends;  // where each ends in hosts_wire
  std::vector<SrvTarget> targets;
  std::string owner, rdata, key;
  RrBatch records;                      // the cluster's records, made in one block (rr.hpp)
  std::vector<const SourceLoc*> locs;  // and where each comes from
};

// One cluster's part of build_zone: its SRV sets (or gated and empty names), then the A/AAAA of its
// in-zone hosts, appended to `out` with the names it reserves.
void build_cluster(const ZoneConfig& zone, const Cluster& cluster, const std::string& apex, const HealthTable* health,
                   ClusterBuild& build, ZoneRecords& out, std::vector<Diagnostic>& diagnostics);

// Whether a zone holds its reserved names (ZoneRecords::reserved_names): only one that takes DNS UPDATE
// needs them at hand (at 10,000 members the set was a fifteenth of the start-up and 1.3 MB at the
// peak). Records an UPDATE added before its keys were removed are checked against a set made for
// the build, and patches keep their own count of the names (ZoneIndex::reserved).
bool reserves_names(const ZoneConfig& zone);

// The names a cluster reserves (ZoneRecords::reserved_names): its four service names, its members'
// hosts, and the names between them and the apex.
NameSet cluster_reserved_names(const ZoneConfig& zone, const Cluster& cluster, const std::string& apex);

// reverse_of: adds to `out` (the records of the reverse zone `reverse`) a PTR for every member address
// of the zones it is the reverse of that falls inside it, naming the member's host. A PTR that the
// zone's records: already has wins: an error for a configured member, a warning for a registered one.
void add_reverse_records(const ZoneConfig& reverse, const std::vector<ZoneConfig>& zones, ZoneRecords& out,
                         std::vector<Diagnostic>& diags);

// A digest of the records (not the SOA serial): the serial is bumped only when it changes. The sum of
// each record's own digest, so that a change adjusts it by what it removes and adds (record_digest).
uint64_t zone_digest(const ZoneRecords& records);
uint64_t record_digest(const Rr& rr);

// Prepends the SOA with the given serial.
void add_soa(ZoneRecords& records, const ZoneConfig& zone, uint32_t serial);

// RFC 1035 master-file text of the zone, as `dnsd check` prints it.
std::string zone_text(const ZoneRecords& records);

// The SRV names the config holds back (gated server sets, fail_closed client sets with no healthy
// member), lower-case wire: they are the config's even while they have no records.
std::set<std::string> withheld_srv_names(const ZoneRecords& records);

}  // namespace dnsd
