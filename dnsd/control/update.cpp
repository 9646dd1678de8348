// DNS UPDATE (see update.hpp). Names are compared in lower-case wire form; RDATA in canonical form
// (RFC 4034 §6.2), so that "delete this RR" matches however the client spelled its names.
#include "update.hpp"

#include <map>
#include <set>

#include "wire.hpp"

namespace dnsd {

namespace {

constexpr uint16_t class_none = 254, class_any = 255;

std::string rdata_key(const ldns_rr* rr) {
  RrPtr copy(ldns_rr_clone(rr));
  ldns_rr2canonical(copy.get());
  std::string key;
  for (size_t i = 0; i < ldns_rr_rd_count(copy.get()); ++i) {
    const ldns_rdf* f = ldns_rr_rdf(copy.get(), i);
    key += std::to_string(ldns_rdf_size(f)) + ":";
    key.append(reinterpret_cast<const char*>(ldns_rdf_data(f)), ldns_rdf_size(f));
  }
  return key;
}

std::string one_line(const ldns_rr* rr) {
  std::string out = take_ldns_string(ldns_rr2str(rr));
  while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
  return out;
}

// UPDATE records are kept as text (registrations file, zone build): an RR whose RDATA does not come
// back the same from its text form (a CAA with an empty tag, say) cannot be stored.
bool round_trips(const ldns_rr* rr) {
  ldns_rr* back = nullptr;
  if (ldns_rr_new_frm_str(&back, one_line(rr).c_str(), 0, nullptr, nullptr) != LDNS_STATUS_OK) return false;
  RrPtr owned(back);
  return ldns_rr_get_type(back) == ldns_rr_get_type(rr) && lower_wire(ldns_rr_owner(back)) == lower_wire(ldns_rr_owner(rr)) &&
         rdata_key(back) == rdata_key(rr);
}

// Types an update may not add: type 0 (reserved), meta types and pseudo-RRs (RFC 2136 §3.4.1.2).
bool meta_type(uint16_t t) { return t == 0 || t == rr_type::opt || (t >= 128 && t <= 255); }

struct Dynamic {
  std::string owner;
  uint16_t type;
  std::string rdata;
  RrPtr rr;
};

}  // namespace

UpdateZone::UpdateZone(const ZoneRecords& zone, const std::set<std::string>* names) : apex(lower_wire(zone.apex)) {
  if (!names) reserved = zone.reserved_names;
  else
    for (const std::string& name : *names)
      if (zone.reserved_names.count(name)) reserved.insert(name);
  std::set<size_t> sizes;  // of the names' wire forms: most owners are skipped before they are lowered
  if (names)
    for (const std::string& name : *names) sizes.insert(name.size());
  for (const Record& rec : zone.records) {
    if (names && !sizes.count(rec.rr.owner().size())) continue;
    const std::string owner = fold_wire(rec.rr.owner());
    if (names && !names->count(owner)) continue;
    const uint16_t type = rec.rr.type();
    const RrPtr fields = rec.rr.to_ldns();  // the rdata's fields: names compare without case
    if (fields) served[owner][type].insert(rdata_key(fields.get()));
    if (!rec.dynamic()) owned.emplace(owner, type);
  }
  for (const std::string& name : withheld_srv_names(zone))
    if (!names || names->count(name)) owned.emplace(name, rr_type::srv);
}

std::set<uint16_t> UpdateZone::owned_at(const std::string& owner) const {
  std::set<uint16_t> types;
  for (auto it = owned.lower_bound({owner, 0}); it != owned.end() && it->first == owner; ++it) types.insert(it->second);
  return types;
}

UpdateCheck check_prerequisites(const ldns_rr_list* prereqs, const UpdateZone& zone) {
  std::map<std::string, std::map<uint16_t, std::set<std::string>>> wanted;  // compared as whole RRsets (§3.2.3)
  for (size_t i = 0; i < ldns_rr_list_rr_count(prereqs); ++i) {
    const ldns_rr* rr = ldns_rr_list_rr(prereqs, i);
    const std::string owner = lower_wire(ldns_rr_owner(rr));
    const uint16_t type = ldns_rr_get_type(rr);
    const uint16_t cls = ldns_rr_get_class(rr);
    if (ldns_rr_ttl(rr) != 0) return {rcode::formerr, "prerequisite with a TTL"};
    if (!is_subdomain_or_equal(owner, zone.apex)) return {rcode_update::notzone, "prerequisite outside the zone"};
    const auto name = zone.served.find(owner);
    const bool name_used = name != zone.served.end();
    const bool set_exists = name_used && name->second.count(type);
    if (cls == class_any || cls == class_none) {
      if (ldns_rr_rd_count(rr) != 0) return {rcode::formerr, "prerequisite with RDATA"};
      if (cls == class_any && type == rr_type::any && !name_used) return {rcode::nxdomain, "name not in use"};
      if (cls == class_any && type != rr_type::any && !set_exists) return {rcode_update::nxrrset, "RRset does not exist"};
      if (cls == class_none && type == rr_type::any && name_used) return {rcode_update::yxdomain, "name in use"};
      if (cls == class_none && type != rr_type::any && set_exists) return {rcode_update::yxrrset, "RRset exists"};
    } else if (cls == class_in) {
      wanted[owner][type].insert(rdata_key(rr));
    } else {
      return {rcode::formerr, "prerequisite of class " + std::to_string(cls)};
    }
  }
  for (const auto& [owner, types] : wanted)
    for (const auto& [type, rdatas] : types) {
      const auto name = zone.served.find(owner);
      if (name == zone.served.end() || !name->second.count(type) || name->second.at(type) != rdatas)
        return {rcode_update::nxrrset, "RRset differs"};
    }
  return {};
}

UpdateCheck prescan_updates(const ldns_rr_list* updates, const UpdateZone& zone) {
  for (size_t i = 0; i < ldns_rr_list_rr_count(updates); ++i) {
    const ldns_rr* rr = ldns_rr_list_rr(updates, i);
    const std::string owner = lower_wire(ldns_rr_owner(rr));
    const uint16_t type = ldns_rr_get_type(rr);
    const uint16_t cls = ldns_rr_get_class(rr);
    if (!is_subdomain_or_equal(owner, zone.apex)) return {rcode_update::notzone, "update outside the zone"};
    if (cls == class_in) {
      if (meta_type(type)) return {rcode::formerr, "cannot add a meta type"};
      if (ldns_rr_rd_count(rr) == 0) return {rcode::formerr, "add without RDATA"};
      if (!round_trips(rr)) return {rcode::formerr, "RDATA malformed for its type"};
      if (type == rr_type::soa || type == rr_type::ns || type == LDNS_RR_TYPE_DNAME)
        return {rcode::refused, "SOA, NS and DNAME records come from the config"};
      if (owner.size() > 1 && owner[0] == 1 && owner[1] == '*') return {rcode::refused, "wildcards are not supported"};
      if (type == rr_type::cname && owner == zone.apex) return {rcode::refused, "CNAME at the apex"};
    } else if (cls == class_any || cls == class_none) {
      if (ldns_rr_ttl(rr) != 0) return {rcode::formerr, "delete with a TTL"};
      if (cls == class_any && ldns_rr_rd_count(rr) != 0) return {rcode::formerr, "delete RRset with RDATA"};
      if (meta_type(type) && !(cls == class_any && type == rr_type::any)) return {rcode::formerr, "delete of a meta type"};
    } else {
      return {rcode::formerr, "update of class " + std::to_string(cls)};
    }
    // Every name the etcd records use belongs to the config and the registry: an AAAA beside a
    // member's A, an SRV of the cluster's other scheme or a CNAME at `_tcp` would change how etcd
    // finds its peers.
    if (zone.reserved.count(owner)) return {rcode::refused, "'" + one_line(rr) + "' is at a name the etcd records use"};
    // Policy: what the config owns stays as the config says. At the apex, "delete all RRsets" keeps
    // SOA and NS by definition (§3.4.2.3), so only other owned types refuse it.
    std::set<uint16_t> types = zone.owned_at(owner);
    const bool delete_all = cls == class_any && type == rr_type::any;
    if (delete_all && owner == zone.apex) types.erase(rr_type::soa), types.erase(rr_type::ns);
    if (delete_all ? !types.empty() : types.count(type) > 0)
      return {rcode::refused, "'" + one_line(rr) + "' touches records the config owns"};
  }
  return {};
}

UpdateResult apply_updates(const ldns_rr_list* updates, const UpdateZone& zone, const std::vector<std::string>& records) {
  UpdateResult out;
  std::vector<Dynamic> dyn;
  for (const std::string& text : records) {
    ldns_rr* rr = nullptr;
    if (ldns_rr_new_frm_str(&rr, text.c_str(), 0, nullptr, nullptr) != LDNS_STATUS_OK) continue;
    dyn.push_back({lower_wire(ldns_rr_owner(rr)), uint16_t(ldns_rr_get_type(rr)), rdata_key(rr), RrPtr(rr)});
  }
  auto config_has = [&](const std::string& owner, bool cname) {
    for (uint16_t t : zone.owned_at(owner))
      if ((t == rr_type::cname) == cname) return true;
    return false;
  };
  for (size_t i = 0; i < ldns_rr_list_rr_count(updates); ++i) {
    const ldns_rr* rr = ldns_rr_list_rr(updates, i);
    const std::string owner = lower_wire(ldns_rr_owner(rr));
    const uint16_t type = ldns_rr_get_type(rr);
    const uint16_t cls = ldns_rr_get_class(rr);
    const size_t before = dyn.size();
    if (cls == class_in) {
      // CNAME and other data never share a name: such an add is ignored (§3.4.2.2); a CNAME replaces
      // the name's CNAME.
      bool other = config_has(owner, type != rr_type::cname), same = false;
      for (const Dynamic& d : dyn)
        if (d.owner == owner) {
          other = other || ((d.type == rr_type::cname) != (type == rr_type::cname));
          same = same || d.type == type;
        }
      if (other) continue;
      const std::string key = rdata_key(rr);
      if (type == rr_type::cname && same) {
        std::erase_if(dyn, [&](const Dynamic& d) { return d.owner == owner && d.type == type; });
        out.changed = true;
      }
      bool duplicate = false;
      for (Dynamic& d : dyn)
        if (d.owner == owner && d.type == type) {
          if (ldns_rr_ttl(d.rr.get()) != ldns_rr_ttl(rr)) out.changed = true;
          ldns_rr_set_ttl(d.rr.get(), ldns_rr_ttl(rr));  // one TTL per RRset (RFC 2181 §5.2)
          duplicate = duplicate || d.rdata == key;
        }
      if (duplicate) continue;
      dyn.push_back({owner, type, key, RrPtr(ldns_rr_clone(rr))});
      out.changed = true;
    } else if (cls == class_any) {
      std::erase_if(dyn, [&](const Dynamic& d) { return d.owner == owner && (type == rr_type::any || d.type == type); });
    } else {
      const std::string key = rdata_key(rr);
      std::erase_if(dyn, [&](const Dynamic& d) { return d.owner == owner && d.type == type && d.rdata == key; });
    }
    out.changed = out.changed || dyn.size() != before;
  }
  for (const Dynamic& d : dyn) out.records.push_back(one_line(d.rr.get()));
  return out;
}

UpdateResult apply_update(const ldns_pkt* msg, const ZoneRecords& records_zone, const std::vector<std::string>& records) {
  std::set<std::string> names;  // the owners the message names: what it may ask about
  for (const ldns_rr_list* section : {ldns_pkt_answer(msg), ldns_pkt_authority(msg)})
    for (size_t i = 0; i < ldns_rr_list_rr_count(section); ++i) names.insert(lower_wire(ldns_rr_owner(ldns_rr_list_rr(section, i))));
  const UpdateZone zone(records_zone, &names);
  UpdateCheck check = check_prerequisites(ldns_pkt_answer(msg), zone);
  if (check.ok()) check = prescan_updates(ldns_pkt_authority(msg), zone);
  if (!check.ok()) {
    UpdateResult failed;
    failed.rcode = check.rcode;
    failed.why = std::move(check.why);
    return failed;
  }
  return apply_updates(ldns_pkt_authority(msg), zone, records);
}

}  // namespace dnsd
