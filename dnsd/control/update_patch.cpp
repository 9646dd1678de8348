// Patching a published snapshot for a change of UPDATE records (see update_patch.hpp).
#include "update_patch.hpp"

#include <algorithm>
#include <map>

#include "compile.hpp"
#include "dname.hpp"
#include "names.hpp"
#include "registry.hpp"

namespace dnsd {

namespace {

// Where the zone's UPDATE records begin: they are its last records (after the SOA at 0).
size_t dynamic_tail(const ZoneRecords& served) {
  size_t first = served.records.size();
  while (first > 1 && served.records[first - 1].dynamic()) --first;
  return first;
}

// Types whose records change answers beyond their own name (a zone cut, a redirection), and the SOA.
bool reaches_beyond(ldns_rr_type type) {
  return type == LDNS_RR_TYPE_SOA || type == LDNS_RR_TYPE_NS || type == LDNS_RR_TYPE_CNAME || type == LDNS_RR_TYPE_DNAME;
}

}  // namespace

std::optional<UpdatePatch> prepare_update_patch(const DaemonConfig& config, size_t zone, const std::vector<std::string>& records,
                                                const ZoneRecords& served, const ZoneIndex& index,
                                                const std::shared_ptr<const Snapshot>& from, StateStore& state) {
  const ZoneConfig& z = config.zones[zone];
  const std::string& apex = index.apex;
  if (!index.eligible || index.cuts || !z.reverse_of.empty() || zone >= from->zones().size() || from->zones()[zone].apex != apex)
    return std::nullopt;
  // The served UPDATE records are the last ones, one for each of the zone's (none dropped).
  const std::vector<std::string>& before = z.dynamic_records;
  const size_t first = dynamic_tail(served);
  if (served.records.size() - first != before.size()) return std::nullopt;

  UpdatePatch patch;
  patch.zone = zone;
  patch.digest = index.digest;
  // Records kept (the same text, matched in order), removed and added.
  std::map<std::string, std::vector<size_t>> unused;
  for (size_t i = before.size(); i-- > 0;) unused[before[i]].push_back(first + i);
  std::set<std::string> touched;
  std::vector<const Rr*> added;
  for (const std::string& text : records) {
    UpdatePatch::Entry entry;
    if (auto it = unused.find(text); it != unused.end() && !it->second.empty()) {
      entry.kept = it->second.back();
      it->second.pop_back();
    } else {
      entry.rr = Rr::from_text(text);
      if (!entry.rr) return std::nullopt;
      entry.text = text;
    }
    patch.records.push_back(std::move(entry));
  }
  for (const UpdatePatch::Entry& e : patch.records)
    if (e.kept == SIZE_MAX) added.push_back(&e.rr);  // (the vector no longer moves)
  std::vector<const Rr*> removed;
  for (const auto& [text, left] : unused)
    for (size_t i : left) removed.push_back(&served.records[i].rr);
  for (const std::vector<const Rr*>* rrs : {&removed, &added})
    for (const Rr* rr : *rrs) {
      if (reaches_beyond(rr->type())) return std::nullopt;
      touched.insert(fold_wire(rr->owner()));
    }
  for (const Rr* rr : removed) patch.digest -= record_digest(*rr);
  for (const Rr* rr : added) patch.digest += record_digest(*rr);
  // The changed names hold UPDATE records alone, and no other answer includes them.
  for (const std::string& name : touched) {
    if (name == apex || !is_subdomain_or_equal(name, apex) || (name[0] == 1 && name[1] == '*')) return std::nullopt;
    if (index.owners.count(name) || index.config_owners.count(name) || index.referenced.count(name) ||
        index.reserved.count(name))
      return std::nullopt;
  }
  // Their records before and after, in the order served; none names an in-zone target (its
  // addresses would be another name's records).
  std::vector<const Rr*> at_before, at_after;
  for (size_t i = first; i < served.records.size(); ++i)
    if (const Rr& rr = served.records[i].rr; touched.count(fold_wire(rr.owner()))) at_before.push_back(&rr);
  for (const UpdatePatch::Entry& e : patch.records) {
    const Rr& rr = e.kept != SIZE_MAX ? served.records[e.kept].rr : e.rr;
    const std::string owner = fold_wire(rr.owner());
    if (!touched.count(owner)) continue;
    if (reaches_beyond(rr.type())) return std::nullopt;
    if (const std::string_view target = rr.additional_target(); !target.empty() && is_subdomain_or_equal(fold_wire(target), apex))
      return std::nullopt;
    at_after.push_back(&rr);
    patch.owners_after.insert(owner);
  }
  std::set<std::string> owners_before;
  for (const Rr* rr : at_before) owners_before.insert(fold_wire(rr->owner()));
  for (const std::string& name : touched) {
    const int delta = int(patch.owners_after.count(name)) - int(owners_before.count(name));
    if (delta != 0) count_up(patch.name_deltas, name, apex, delta);
  }

  // The changed names rendered from their records (copied into the run an RRsetTable reads).
  std::vector<Record> copies;
  for (const Rr* rr : at_after) copies.push_back({*rr, {}});
  const RRsetTable table(copies, 0, copies.size());
  const std::vector<RRset>& sets = table.sets();
  auto snap = Snapshot::derive(from);
  std::set<std::string> names = touched;
  for (const auto& [name, delta] : patch.name_deltas) names.insert(name);
  try {
    set_names(*snap, *from, zone, names, touched, sets, {}, index, patch.name_deltas);
  } catch (const std::runtime_error&) {
    return std::nullopt;  // an answer over 64 KiB: the whole compile names the record
  }
  patch.soa = renew_soa(*snap, *from, z, zone, served, apex, patch.digest, {}, state);
  if (!patch.soa) return std::nullopt;
  if (served.transfers) {
    patch.delta = RecordDelta{served.records.at(0).rr.soa_serial(), {}, {}};
    add_delta(*patch.delta, at_before, at_after);
  }
  patch.snapshot = std::move(snap);
  return patch;
}

std::optional<RecordDelta> apply_update_patch(UpdatePatch& patch, ZoneRecords& served, ZoneIndex& index) {
  const size_t first = dynamic_tail(served);
  const std::string zone = name_key(served.apex);
  std::vector<Record> tail;
  tail.reserve(patch.records.size());
  for (UpdatePatch::Entry& e : patch.records) {
    if (e.kept != SIZE_MAX) tail.push_back(std::move(served.records[e.kept]));
    else tail.push_back({std::move(e.rr), SourceLoc{Registry::origin(zone, e.text), 0}});
  }
  served.records.resize(first);
  std::move(tail.begin(), tail.end(), std::back_inserter(served.records));
  served.records[0].rr = std::move(patch.soa);
  index.digest = patch.digest;
  // Names that had UPDATE records stay in the sets below: a later patch then only goes the whole
  // way more often than it must.
  for (const std::string& name : patch.owners_after) {
    index.other_owners.insert(name);
    index.dynamic_owners.insert(name);
  }
  apply_name_deltas(index, patch.name_deltas);
  return std::move(patch.delta);
}

}  // namespace dnsd
