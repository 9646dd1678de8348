// Patching a published snapshot for a change of clusters (see cluster_patch.hpp).
#include "cluster_patch.hpp"

#include <algorithm>
#include <ctime>
#include <map>

#include "compile.hpp"
#include "dname.hpp"
#include "etcd_records.hpp"
#include "names.hpp"

namespace dnsd {

namespace {

// The name a record's answer also carries: a CNAME's target (chased), an SRV, NS or MX target's addresses.
std::string_view named_target(const Rr& rr) {
  return rr.type() == LDNS_RR_TYPE_CNAME ? rr.rdata_name(0) : rr.additional_target();
}

bool has_name(const std::vector<std::string>& names, const std::string& name) {
  return std::find(names.begin(), names.end(), name) != names.end();
}

bool has_name(const std::vector<std::pair<std::string, uint32_t>>& names, const std::string& name) {
  return std::any_of(names.begin(), names.end(), [&](const auto& g) { return g.first == name; });
}

}  // namespace

ZoneIndex index_zone(const DaemonConfig& config, size_t zone, const ZoneRecords& zr) {
  ZoneIndex idx;
  const ZoneConfig& z = config.zones[zone];
  if (z.secondary() || zr.records.empty() || zr.cluster_ranges.size() != z.clusters.size()) return idx;
  idx.apex = lower_wire(z.zone);
  const std::string key = name_key(z.zone);
  for (const ZoneConfig& other : config.zones) {
    if (&other == &z) continue;
    // A reverse zone of this one holds PTRs for its members; a zone inside it takes names from it.
    if (std::find(other.reverse_of.begin(), other.reverse_of.end(), key) != other.reverse_of.end()) return idx;
    const std::string inner = lower_wire(other.zone);
    if (!inner.empty() && inner != idx.apex && is_subdomain_or_equal(inner, idx.apex)) return idx;
  }
  idx.digest = zone_digest(zr);
  std::vector<size_t> cluster_of(zr.records.size(), SIZE_MAX);
  for (size_t c = 0; c < zr.cluster_ranges.size(); ++c)
    for (size_t i = zr.cluster_ranges[c].first; i < zr.cluster_ranges[c].second; ++i) cluster_of[i] = c;
  std::set<std::string> owners;
  auto own = [&idx](const std::string& name, size_t c) {
    auto [it, fresh] = idx.owners.emplace(name, ZoneIndex::Owner{c, false});
    if (!fresh && it->second.cluster != c) it->second.shared = true;
  };
  for (size_t i = 0; i < zr.records.size(); ++i) {
    const Rr& rr = zr.records[i].rr;
    std::string owner = fold_wire(rr.owner());
    if (cluster_of[i] != SIZE_MAX) {
      own(owner, cluster_of[i]);
    } else {
      if (const std::string_view target = named_target(rr); !target.empty()) idx.referenced.insert(fold_wire(target));
      idx.other_owners.insert(owner);
      if (!zr.records[i].dynamic()) idx.config_owners.insert(owner);
      const ldns_rr_type type = rr.type();
      if ((type == LDNS_RR_TYPE_NS && owner != idx.apex) || type == LDNS_RR_TYPE_DNAME) idx.cuts = true;
    }
    owners.insert(std::move(owner));
  }
  for (size_t c = 0; c < z.clusters.size(); ++c)
    for (Service svc : {Service::server, Service::client}) {
      const std::string name = srv_owner(z.clusters[c], svc, z.zone);
      if (!has_name(zr.gated_names, name) && !has_name(zr.empty_names, name)) continue;
      own(lower_wire(name), c);
      owners.insert(lower_wire(name));
    }
  for (const std::string& owner : owners) count_up(idx.names, owner, idx.apex, 1);
  for (const std::string& text : z.dynamic_records) {
    if (const Rr rr = Rr::from_text(text)) idx.dynamic_owners.insert(fold_wire(rr.owner()));
  }
  idx.reserves = reserves_names(z);
  for (size_t c = 0; c < z.clusters.size(); ++c) {
    for (std::string_view name : cluster_reserved_names(z, z.clusters[c], idx.apex)) ++idx.reserved[std::string(name)];
    std::set<std::string>& hosts = idx.cluster_hosts.emplace_back();
    for (const Member& m : z.clusters[c].members)
      if (const std::string host = lower_wire(m.host); !host.empty() && is_subdomain_or_equal(host, idx.apex)) {
        hosts.insert(host);
        idx.hosts.emplace(host, c);
      }
  }
  idx.eligible = true;
  return idx;
}

std::optional<ClusterPatch> prepare_patch(const DaemonConfig& config, size_t zone,
                                          const std::vector<std::pair<size_t, const Cluster*>>& changed,
                                          const ZoneRecords& served, const ZoneIndex& index,
                                          const std::shared_ptr<const Snapshot>& from, const HealthTable* health,
                                          StateStore& state) {
  const ZoneConfig& z = config.zones[zone];
  const std::string& apex = index.apex;
  if (!index.eligible || index.referenced.count(apex) || zone >= from->zones().size() || from->zones()[zone].apex != apex)
    return std::nullopt;
  ClusterPatch patch;
  patch.zone = zone;
  patch.digest = index.digest;
  std::set<std::string> touched;
  std::unordered_map<std::string, size_t> taken;  // names the changed clusters' records are at
  for (const auto& [c, next] : changed) {
    if (c >= z.clusters.size() || c >= served.cluster_ranges.size()) return std::nullopt;
    ClusterPatch::Part part;
    part.cluster = c;
    ClusterBuild build;
    std::vector<Diagnostic> diags;
    build_cluster(z, *next, apex, health, build, part.built, diags);
    if (std::any_of(diags.begin(), diags.end(), [](const Diagnostic& d) { return !d.warning; })) return std::nullopt;
    // Its hosts are its own: no other member in the zone has one (with addresses or not). The checks
    // below already refuse every such case a served zone can hold; this one does not depend on that.
    for (size_t h = 0; h < build.hosts.size(); ++h) {
      const std::string host(build.hosts.name(h));
      const auto other = index.hosts.find(host);
      if ((other != index.hosts.end() && other->second != c) || !taken.emplace("host " + host, c).second) return std::nullopt;
      part.hosts.insert(host);
    }
    for (Service svc : {Service::server, Service::client}) part.srv_names.push_back(srv_owner(*next, svc, z.zone));
    // Each name's records, before and after, as digests in order: a name whose records are the same
    // keeps its node (its SRV names are rendered again all the same: their additional sections
    // carry the hosts' addresses).
    std::map<std::string, std::vector<uint64_t>> before, after;
    const auto [begin, end] = served.cluster_ranges[c];
    for (size_t i = begin; i < end; ++i) {
      const uint64_t digest = record_digest(served.records[i].rr);
      before[fold_wire(served.records[i].rr.owner())].push_back(digest);
      patch.digest -= digest;
    }
    std::set<std::string> addressed;  // names with the cluster's A/AAAA records
    for (const Record& rec : part.built.records) {
      const uint64_t digest = record_digest(rec.rr);
      const std::string owner = fold_wire(rec.rr.owner());
      const ldns_rr_type type = rec.rr.type();
      if (type == LDNS_RR_TYPE_A || type == LDNS_RR_TYPE_AAAA) addressed.insert(owner);
      after[owner].push_back(digest);
      patch.digest += digest;
    }
    std::set<std::string> changes;  // the names whose nodes are rendered again
    for (const auto& [name, digests] : before) {
      part.owners_before.insert(name);
      if (after.count(name) == 0 || after[name] != digests) changes.insert(name);
    }
    for (const auto& [name, digests] : after) {
      part.owners_after.insert(name);
      if (before.count(name) == 0) changes.insert(name);
    }
    for (const std::string& name : part.srv_names) {
      const std::string wire = lower_wire(name);
      if (has_name(served.gated_names, name) || has_name(served.empty_names, name)) part.owners_before.insert(wire);
      if (has_name(part.built.gated_names, name) || has_name(part.built.empty_names, name)) part.owners_after.insert(wire);
      changes.insert(wire);
    }
    // The names it changes hold nothing but its records, and no other record's answer includes them.
    for (const std::string& name : changes) {
      const auto owner = index.owners.find(name);
      if (owner != index.owners.end() && (owner->second.cluster != c || owner->second.shared)) return std::nullopt;
      if (index.other_owners.count(name) || index.referenced.count(name)) return std::nullopt;
    }
    for (const std::string& name : part.owners_after)
      if (!part.owners_before.count(name) && !taken.emplace(name, c).second) return std::nullopt;
    // An in-zone host has its addresses from this cluster alone: they are what the SRV answers carry
    // in additional (without any, the whole compile names the error). Every member's host, in an SRV
    // set now or not: the whole compile checks them all.
    for (const Member& m : next->members)
      if (const std::string target = lower_wire(m.host);
          is_subdomain_or_equal(target, apex) && (!addressed.count(target) || index.other_owners.count(target)))
        return std::nullopt;
    // An UPDATE record at a name the cluster reserves, or reserved no longer, is dropped or served.
    part.reserved_before = cluster_reserved_names(z, z.clusters[c], apex);
    part.reserved_after = cluster_reserved_names(z, *next, apex);
    for (const auto* names : {&part.reserved_before, &part.reserved_after})
      for (std::string_view name : *names)
        if (index.dynamic_owners.count(std::string(name))) return std::nullopt;
    for (const std::string& name : part.owners_before)
      if (!part.owners_after.count(name)) count_up(patch.name_deltas, name, apex, -1);
    for (const std::string& name : part.owners_after)
      if (!part.owners_before.count(name)) count_up(patch.name_deltas, name, apex, 1);
    touched.insert(changes.begin(), changes.end());
    patch.parts.push_back(std::move(part));
  }

  auto snap = Snapshot::derive(from);
  std::vector<RRsetTable> tables;  // hold what the sets view
  std::vector<RRset> sets;
  std::unordered_map<std::string, uint32_t> gated;
  for (const ClusterPatch::Part& part : patch.parts) {
    tables.emplace_back(part.built.records, 0, part.built.records.size());
    sets.insert(sets.end(), tables.back().sets().begin(), tables.back().sets().end());
    for (const auto& [name, ttl] : part.built.gated_names) gated[lower_wire(name)] = ttl;
  }
  std::set<std::string> names = touched;
  for (const auto& [name, delta] : patch.name_deltas) names.insert(name);
  try {
    set_names(*snap, *from, zone, names, touched, sets, gated, index, patch.name_deltas);
  } catch (const std::runtime_error&) {
    return std::nullopt;  // an answer over 64 KiB: the whole compile names the record
  }
  patch.soa = renew_soa(*snap, *from, z, zone, served, apex, patch.digest, gated, state);
  if (!patch.soa) return std::nullopt;
  patch.snapshot = std::move(snap);
  return patch;
}

void set_names(Snapshot& snap, const Snapshot& from, size_t zone, const std::set<std::string>& names,
               const std::set<std::string>& touched, const std::vector<RRset>& sets,
               const std::unordered_map<std::string, uint32_t>& gated, const ZoneIndex& index,
               const std::unordered_map<std::string, int>& deltas) {
  // Additional targets are the changed records' own (the callers refuse any other in-zone target).
  const RRsetFinder find = [&sets](std::string_view owner, ldns_rr_type type) -> const RRset* {
    for (const RRset& s : sets)
      if (s.owner == owner && s.type == type) return &s;
    return nullptr;
  };
  for (const std::string& name : names) {
    const auto counted = index.names.find(name);
    const auto delta = deltas.find(name);
    const long count = (counted == index.names.end() ? 0 : long(counted->second)) + (delta == deltas.end() ? 0 : delta->second);
    if (count <= 0) {
      snap.drop_node(name);
      continue;
    }
    Node node;
    node.zone = uint32_t(zone);
    if (!touched.count(name)) {  // a name between a changed one and the apex
      if (!from.node(name)) snap.set_node(name, std::move(node));  // a new empty non-terminal
      continue;
    }
    for (const RRset& set : sets)
      if (set.owner == name) node.rrsets.emplace_back(uint16_t(set.type), render_rrset(set, nullptr, find));
    if (const auto g = gated.find(name); g != gated.end()) {
      node.gated = true;
      node.gate_ttl = g->second;
    }
    snap.set_node(name, std::move(node));
  }
}

Rr renew_soa(Snapshot& snap, const Snapshot& from, const ZoneConfig& z, size_t zone, const ZoneRecords& served,
                const std::string& apex, uint64_t digest, const std::unordered_map<std::string, uint32_t>& gated,
                StateStore& state) {
  const Node* apex_node = from.node(apex);
  if (!apex_node) return {};
  ZoneRecords soa;
  add_soa(soa, z, state.serial_for(served.apex, digest, uint32_t(std::time(nullptr))));
  Rr out = std::move(soa.records[0].rr);
  Zone& served_zone = snap.zone_at(zone);
  served_zone.serial = out.soa_serial();
  served_zone.soa_negative_tail = soa_tail(out, std::min(out.ttl(), served.negative_ttl));
  for (auto& [ttl, tail] : served_zone.gate_tails) tail = soa_tail(out, ttl);
  for (const auto& [name, ttl] : gated)
    if (!served_zone.gate_tail(ttl)) served_zone.gate_tails.emplace_back(ttl, soa_tail(out, ttl));
  Node renewed = *apex_node;
  const Rr* const soa_rr[] = {&out};
  const RRset soa_set{apex, LDNS_RR_TYPE_SOA, out.ttl(), soa_rr, z.loc};
  for (auto& [type, answer] : renewed.rrsets)
    if (type == LDNS_RR_TYPE_SOA) answer = render_rrset(soa_set, nullptr, [](std::string_view, ldns_rr_type) -> const RRset* { return nullptr; });
  snap.set_node(apex, std::move(renewed));
  return out;
}

std::optional<RecordDelta> apply_patch(ClusterPatch& patch, ZoneRecords& served, ZoneIndex& index) {
  std::optional<RecordDelta> changed;
  if (served.transfers) changed = RecordDelta{served.records.at(0).rr.soa_serial(), {}, {}};
  for (ClusterPatch::Part& part : patch.parts) {
    // The cluster's range takes its new records: those that fit are moved in place, the rest inserted
    // or erased at its end (the records after it move once).
    auto& [begin, end] = served.cluster_ranges[part.cluster];
    // Its owners have no records outside it (prepare_patch saw to that): the difference of the
    // ranges is the zone's.
    if (changed) add_delta(*changed, std::span<const Record>(served.records).subspan(begin, end - begin), part.built.records);
    const size_t before = end - begin, after = part.built.records.size(), common = std::min(before, after);
    std::move(part.built.records.begin(), part.built.records.begin() + long(common), served.records.begin() + long(begin));
    if (after > before)
      served.records.insert(served.records.begin() + long(end), std::make_move_iterator(part.built.records.begin() + long(common)),
                            std::make_move_iterator(part.built.records.end()));
    else
      served.records.erase(served.records.begin() + long(begin + after), served.records.begin() + long(end));
    end = begin + after;
    for (size_t c = part.cluster + 1; c < served.cluster_ranges.size(); ++c) {
      served.cluster_ranges[c].first = served.cluster_ranges[c].first + after - before;
      served.cluster_ranges[c].second = served.cluster_ranges[c].second + after - before;
    }
    std::erase_if(served.gated_names, [&](const auto& g) { return has_name(part.srv_names, g.first); });
    std::erase_if(served.empty_names, [&](const std::string& n) { return has_name(part.srv_names, n); });
    served.gated_names.insert(served.gated_names.end(), part.built.gated_names.begin(), part.built.gated_names.end());
    served.empty_names.insert(served.empty_names.end(), part.built.empty_names.begin(), part.built.empty_names.end());
    for (std::string_view name : part.reserved_before)
      if (auto it = index.reserved.find(std::string(name)); it != index.reserved.end() && --it->second == 0) {
        index.reserved.erase(it);
        if (index.reserves) served.reserved_names.erase(name);
      }
    for (std::string_view name : part.reserved_after)
      if (index.reserved[std::string(name)]++ == 0 && index.reserves) served.reserved_names.insert(name);
    for (const std::string& host : index.cluster_hosts[part.cluster]) index.hosts.erase(host);
    for (const std::string& host : part.hosts) index.hosts[host] = part.cluster;
    index.cluster_hosts[part.cluster] = std::move(part.hosts);
    for (const std::string& name : part.owners_before) index.owners.erase(name);
    for (const std::string& name : part.owners_after) index.owners[name] = {part.cluster, false};
  }
  served.records[0].rr = std::move(patch.soa);
  index.digest = patch.digest;
  apply_name_deltas(index, patch.name_deltas);
  return changed;
}

void apply_name_deltas(ZoneIndex& index, const std::unordered_map<std::string, int>& deltas) {
  for (const auto& [name, delta] : deltas) {
    auto& count = index.names[name];
    count = uint32_t(long(count) + delta);
    if (count == 0) index.names.erase(name);
  }
}

}  // namespace dnsd
