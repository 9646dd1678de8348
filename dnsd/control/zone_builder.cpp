// Zone records from config (see zone_builder.hpp). `records:` text is parsed by ldns; the generated
// records are built in wire form from their fields.
#include "zone_builder.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstring>
#include <strings.h>
#include <utility>
#include <set>

#include "dname.hpp"
#include "etcd_records.hpp"
#include "hash.hpp"
#include "registry.hpp"
#include "slot_index.hpp"
#include "wire.hpp"
#include "zone_copy.hpp"

namespace dnsd {

namespace {

struct FileCloser {
  void operator()(FILE* f) const noexcept { std::fclose(f); }
};

// Generated records are built in wire form from their fields: a rebuild after every health flip must
// stay cheap, and presentation text would be parsed again each time.
Rr make_rr(std::string_view owner, uint32_t ttl, ldns_rr_type type, std::string_view rdata) {
  return Rr::make(owner, uint16_t(type), LDNS_RR_CLASS_IN, ttl, {reinterpret_cast<const uint8_t*>(rdata.data()), rdata.size()});
}

// Adds a record to the cluster's batch (false when it cannot be built).
bool add_record(ClusterBuild& b, std::string_view owner, uint32_t ttl, ldns_rr_type type, std::string_view rdata,
                const SourceLoc& loc) {
  if (!b.records.add(owner, uint16_t(type), LDNS_RR_CLASS_IN, ttl, {reinterpret_cast<const uint8_t*>(rdata.data()), rdata.size()}))
    return false;
  b.locs.push_back(&loc);
  return true;
}

// An address in text, NUL-terminated for inet_pton and ldns ("" when it cannot be an address).
struct AddressText {
  explicit AddressText(std::string_view a) {
    if (a.size() < sizeof text) std::memcpy(text, a.data(), a.size()), text[a.size()] = '\0';
  }
  bool v6() const noexcept { return std::strchr(text, ':') != nullptr; }
  char text[64] = {};
};

// An address in rdata form (4 or 16 bytes), or "" when it is neither.
std::string address_rdata(std::string_view address) {
  const AddressText a(address);
  const bool v6 = a.v6();
  uint8_t buf[16];
  if (inet_pton(v6 ? AF_INET6 : AF_INET, a.text, buf) != 1) return {};
  return {reinterpret_cast<const char*>(buf), v6 ? 16u : 4u};
}

std::string name_text(const ldns_rdf* dname) { return take_ldns_string(ldns_rdf2str(dname)); }
std::string type_text(ldns_rr_type type) { return take_ldns_string(ldns_rr_type2str(type)); }

// The `records:` block: ldns reads it with $ORIGIN = zone and $TTL = the zone TTL.
// RFC 3597 names types and classes by number: TYPE65535 at most. ldns would store a larger number
// in its 16-bit enum (undefined behaviour) and serve nothing for it; and it stops a line at a NUL
// byte (YAML can carry one as "\0"), which hides the rest of the line from any check made here.
// Such lines are refused, named by line, and left out of what ldns reads (blanked, so the line
// numbers of the rest hold).
void refuse_unreadable_lines(const ZoneConfig& z, std::string& text, std::vector<Diagnostic>& diags) {
  size_t line_start = 0;
  for (int line = 0; line_start < text.size(); ++line) {
    const size_t line_end = std::min(text.find('\n', line_start), text.size());
    if (std::find(text.begin() + long(line_start), text.begin() + long(line_end), '\0') != text.begin() + long(line_end)) {
      diags.push_back({{z.file, z.records_first_line + line}, "a NUL byte: a zone file line cannot carry one", false});
      std::fill(text.begin() + long(line_start), text.begin() + long(line_end), ' ');
    }
    for (size_t pos = line_start; pos < line_end;) {
      while (pos < line_end && std::isspace(static_cast<unsigned char>(text[pos]))) ++pos;
      size_t end = pos;
      while (end < line_end && !std::isspace(static_cast<unsigned char>(text[end]))) ++end;
      const std::string token = text.substr(pos, end - pos);
      for (const char* prefix : {"TYPE", "CLASS"}) {
        const size_t n = std::strlen(prefix);
        if (token.size() <= n || strncasecmp(token.c_str(), prefix, n) != 0) continue;
        // ldns reads the number with atoi(): "TYPE739210.2.1" is type 739210, so the leading digits
        // count, and a sign ("TYPE-360") makes a number no 16-bit field holds.
        std::string rest = token.substr(n);
        const bool sign = !rest.empty() && (rest[0] == '-' || rest[0] == '+');
        if (sign) rest.erase(0, 1);
        const std::string digits = rest.substr(0, size_t(std::find_if(rest.begin(), rest.end(), [](char c) {
                                                           return !std::isdigit(static_cast<unsigned char>(c));
                                                         }) - rest.begin()));
        if (digits.empty()) continue;
        if (sign || digits.size() > 5 || std::stoul(digits) > 65535) {
          diags.push_back({{z.file, z.records_first_line + line}, "'" + token + "': a type or class number is 0 to 65535", false});
          std::fill(text.begin() + long(line_start), text.begin() + long(line_end), ' ');
        }
      }
      pos = end;
    }
    line_start = line_end + 1;
  }
}

void parse_records_block(const ZoneConfig& z, const ldns_rdf* origin, ZoneRecords& out,
                         std::vector<Diagnostic>& diags) {
  if (z.records.empty()) return;
  std::string text = z.records;
  refuse_unreadable_lines(z, text, diags);
  std::unique_ptr<FILE, FileCloser> fp(fmemopen(text.data(), text.size(), "r"));
  if (!fp) throw std::runtime_error("fmemopen failed");
  uint32_t ttl = z.ttl;
  // ldns keeps the current $ORIGIN and the previous owner in these and replaces them as it reads.
  RdfSlot origin_now(ldns_rdf_clone(origin)), previous;
  int line = 0;
  RrBatch batch;  // the records, made together, and where each was read
  std::vector<SourceLoc> locs;
  while (!std::feof(fp.get())) {
    ldns_rr* rr = nullptr;
    const ldns_status st = ldns_rr_new_frm_fp_l(&rr, fp.get(), &ttl, origin_now.slot(), previous.slot(), &line);
    const SourceLoc at{z.file, z.records_first_line + line - 1};
    if (st == LDNS_STATUS_SYNTAX_EMPTY || st == LDNS_STATUS_SYNTAX_TTL || st == LDNS_STATUS_SYNTAX_ORIGIN) continue;
    if (st != LDNS_STATUS_OK) {
      if (!std::feof(fp.get()) || st != LDNS_STATUS_SYNTAX_ERR)
        diags.push_back({at, std::string("bad record: ") + ldns_get_errorstr_by_id(st), false});
      continue;
    }
    const RrPtr owned(rr);
    // ldns keeps 255 fields of a record and drops the rest without a word: a TXT of 255 strings may
    // have lost some.
    const ldns_rr_type type = ldns_rr_get_type(rr);
    if ((type == LDNS_RR_TYPE_TXT || type == LDNS_RR_TYPE_SPF) && ldns_rr_rd_count(rr) >= 255) {
      diags.push_back({at, "a TXT record holds at most 254 strings here (from 255 on, the rest would be dropped)", false});
      continue;
    }
    if (batch.add(rr)) locs.push_back(at);
    else diags.push_back({at, "record data over 64 KiB", false});  // (ldns stops at 255 fields: a guard)
  }
  std::vector<Rr> made = batch.take();
  for (size_t i = 0; i < made.size(); ++i) out.records.push_back({std::move(made[i]), std::move(locs[i])});
}

// Whether every label of a name is made of letters, digits, '-', '_' and '/' (RFC 2317's classless
// reverse names), or is the wildcard "*": what `dnsd check` prints of it reads back the same (ldns
// prints '"', '$' and other bytes in owner names as they are, and reads them back as something else).
bool zone_file_name(std::string_view dname) {
  const auto* p = reinterpret_cast<const uint8_t*>(dname.data());
  const size_t size = dname.size();
  for (size_t i = 0; i < size && p[i] != 0; i += size_t(p[i]) + 1) {
    const size_t len = p[i];
    if (len == 1 && p[i + 1] == '*') continue;
    for (size_t j = i + 1; j <= i + len && j < size; ++j)
      if (!std::isalnum(p[j]) && p[j] != '-' && p[j] != '_' && p[j] != '/') return false;
  }
  return true;
}

// Reserves a name (lower-case wire) and its ancestors below the apex for the etcd records.
void reserve(NameSet& out, const std::string& name, const std::string& apex) {
  if (name.empty() || !is_subdomain_or_equal(name, apex)) return;
  for (std::string_view n = name; n.size() > apex.size(); n = parent_dname(n)) out.insert(n);
}

// The names a cluster reserves (cluster_reserved_names), added to `out`.
void reserve_cluster(const ZoneConfig& z, const Cluster& c, const std::string& apex, NameSet& out) {
  for (Service svc : {Service::server, Service::client})
    for (bool tls : {true, false}) reserve(out, lower_wire(srv_owner(c.name, svc, tls, z.zone)), apex);
  for (const Member& m : c.members) reserve(out, lower_wire(m.host), apex);
}

// Every owner's types (20,000 names at 10,000 members), each marked with who made it: records: (user)
// or soa/ns/clusters (generated). The owners (lower-case wire) are a NameIndex; an owner's types are a
// chain of 8-byte links in one vector. (Three small type sets inline per name were 152 bytes a name,
// 3 MB at 10,000 members: a quarter of a start's page faults.)
class TypesByOwner {
 public:
  static constexpr uint8_t user = 1, generated = 2;

  // For up to `records` records (the tables are sized once for them).
  explicit TypesByOwner(size_t records) {
    owners_.reserve(records);
    first_.reserve(records);
    links_.reserve(records);
  }
  // Adds `type` at `owner`, made by `by` (user or generated); returns who had made it before (0: no one).
  uint8_t add(std::string_view owner, ldns_rr_type type, uint8_t by) {
    const auto [o, fresh] = owners_.insert(owner);
    if (fresh) first_.push_back(none);
    if (const uint32_t l = link(o, type); l != none) return std::exchange(links_[l].by, uint8_t(links_[l].by | by));
    links_.push_back({uint16_t(type), by, first_[o]});
    first_[o] = uint32_t(links_.size() - 1);
    return 0;
  }
  // Whether `owner` has a record of `type`.
  bool has(std::string_view owner, ldns_rr_type type) const noexcept {
    const size_t o = owners_.find(owner);
    return o != SlotIndex::npos && link(o, type) != none;
  }
  // How many types `owner` has.
  size_t count(std::string_view owner) const noexcept {
    const size_t o = owners_.find(owner);
    size_t n = 0;
    if (o != SlotIndex::npos)
      for (uint32_t l = first_[o]; l != none; l = links_[l].next) ++n;
    return n;
  }

 private:
  static constexpr uint32_t none = UINT32_MAX;
  struct Link {
    uint16_t type;
    uint8_t by;
    uint32_t next;  // the owner's type before it
  };
  // Owner o's link for `type`, or none.
  uint32_t link(size_t o, ldns_rr_type type) const noexcept {
    uint32_t l = first_[o];
    while (l != none && links_[l].type != type) l = links_[l].next;
    return l;
  }

  NameIndex owners_;
  std::vector<uint32_t> first_;  // each owner's latest type's link
  std::vector<Link> links_;
};

// Records added by DNS UPDATE come last. UPDATE never lets one take a name and type the config owns,
// but a reload can give the config such a record later: the config wins, and the dropped record is
// reported as a warning.
void add_dynamic_records(const ZoneConfig& z, const std::string& apex, const TypesByOwner& config_types, ZoneRecords& out,
                         std::vector<Diagnostic>& diags) {
  const std::set<std::string> withheld = withheld_srv_names(out);
  NameSet made;  // the reserved names, when the zone does not hold them (no UPDATE keys now)
  if (!reserves_names(z) && !z.dynamic_records.empty())
    for (const Cluster& c : z.clusters) reserve_cluster(z, c, apex, made);
  const NameSet& reserved = reserves_names(z) ? out.reserved_names : made;
  for (const std::string& text : z.dynamic_records) {
    const SourceLoc at{Registry::origin(name_key(z.zone), text), 0};
    Rr rr = Rr::from_text(text);
    auto drop = [&](const std::string& why) { diags.push_back({at, "dropped '" + text + "': " + why, true}); };
    if (!rr) {
      drop("it does not parse");
      continue;
    }
    const std::string owner = fold_wire(rr.owner());
    const ldns_rr_type type = rr.type();
    const bool owned = config_types.count(owner) > 0;
    if (!is_subdomain_or_equal(owner, apex)) drop("outside the zone");
    else if (config_types.has(owner, type)) drop("the config now has this name and type");
    else if (owned && (type == LDNS_RR_TYPE_CNAME || config_types.has(owner, LDNS_RR_TYPE_CNAME))) drop("CNAME beside other data");
    else if (type == LDNS_RR_TYPE_SRV && withheld.count(owner)) drop("the config owns this SRV name");
    else if (reserved.count(owner)) drop("the etcd records use this name");
    else out.records.push_back({std::move(rr), at});
  }
}

}  // namespace

bool reserves_names(const ZoneConfig& z) { return !z.update_keys.empty(); }

NameSet cluster_reserved_names(const ZoneConfig& z, const Cluster& c, const std::string& apex) {
  NameSet names;
  reserve_cluster(z, c, apex, names);
  return names;
}

std::pair<size_t, bool> NameIndex::insert(std::string_view name) {
  const uint64_t h = hash(name);
  if (const size_t i = find(name, h); i != SlotIndex::npos) return {i, false};
  names_.append(name);
  ends_.push_back(uint32_t(names_.size()));
  index_.append(ends_.size() - 1, h, [this](size_t i) { return hash(this->name(i)); });
  return {ends_.size() - 1, true};
}

const SourceLoc* GeneratedNames::insert(std::string_view name, const SourceLoc& loc) {
  const auto [i, fresh] = names_.insert(name);
  if (!fresh) return &locs_[i];
  locs_.push_back(loc);
  return nullptr;
}

void build_cluster(const ZoneConfig& z, const Cluster& c, const std::string& apex, const HealthTable* health,
                   ClusterBuild& b, ZoneRecords& out, std::vector<Diagnostic>& diags) {
  // Each member's host in wire form (case kept), once for its SRV targets and its addresses.
  b.hosts_wire.clear();
  b.host_ends.clear();
  for (const Member& m : c.members) {
    dname_wire_into(m.host, b.key);
    b.hosts_wire += b.key;
    b.host_ends.push_back(uint32_t(b.hosts_wire.size()));
  }
  const auto host = [&b](size_t i) {
    const size_t from = i == 0 ? 0 : b.host_ends[i - 1];
    return std::string_view(b.hosts_wire).substr(from, b.host_ends[i] - from);
  };
  for (Service svc : {Service::server, Service::client}) {
    const std::string owner = srv_owner(c, svc, z.zone);
    // e.g. an unnamed TLS cluster and a clear-text one named "ssl" both make _etcd-server-ssl.
    if (b.srv_owners.insert(owner, c.loc)) {
      diags.push_back({c.loc, "'" + owner + " SRV' is generated twice (by two clusters)", false});
      continue;
    }
    // The bootstrap gate: until the cluster has expected_size members its server set is absent.
    // Once complete it opens for good (a later DELETE is a membership change, not un-bootstrapping).
    if (svc == Service::server && c.expected_size && !c.gate_open && c.members.size() < c.expected_size) {
      out.gated_names.emplace_back(owner, c.gate_negative_ttl);
      continue;
    }
    const uint32_t set_ttl = srv_ttl(c, svc, z.ttl);
    srv_targets_into(c, svc, z.zone, health, b.targets);
    if (b.targets.empty()) out.empty_names.push_back(owner);
    dname_wire_into(owner, b.owner);
    for (const SrvTarget& t : b.targets) {
      const std::string_view target = host(size_t(t.member - c.members.data()));
      b.rdata.assign(6, '\0');
      put16(reinterpret_cast<uint8_t*>(b.rdata.data()), t.priority);
      put16(reinterpret_cast<uint8_t*>(b.rdata.data()) + 2, t.weight);
      put16(reinterpret_cast<uint8_t*>(b.rdata.data()) + 4, t.port);
      b.rdata += target;
      if (!target.empty() && add_record(b, b.owner, set_ttl, LDNS_RR_TYPE_SRV, b.rdata, t.member->loc)) continue;
      diags.push_back({t.member->loc, "cannot build the SRV record of " + owner + " for " + t.member->host, false});
    }
  }
  if (reserves_names(z)) reserve_cluster(z, c, apex, out.reserved_names);
  for (size_t i = 0; i < c.members.size(); ++i) {
    const Member& m = c.members[i];
    const std::string_view wire = host(i);
    fold_wire_into(wire, b.key);
    if (wire.empty() || !is_subdomain_or_equal(b.key, apex)) continue;  // outside: no A/AAAA from us
    // A host that two members share would get its addresses generated twice. When one of them is
    // registered (live state), it is the one named: the config wins such a conflict.
    if (const SourceLoc* taken = b.hosts.insert(b.key, m.host_loc)) {
      const bool registered_first = Registry::is_origin(taken->file()) && !Registry::is_origin(m.host_loc.file());
      diags.push_back({registered_first ? *taken : m.host_loc,
                       "host '" + m.host + "' is generated twice (another member has the same host)", false});
      continue;
    }
    for (std::string_view a : m.addresses) {
      const std::string rdata = address_rdata(a);
      if (rdata.empty()) continue;
      add_record(b, wire, z.ttl, rdata.size() == 4 ? LDNS_RR_TYPE_A : LDNS_RR_TYPE_AAAA, rdata, m.loc);
    }
  }
  std::vector<Rr> made = b.records.take();
  for (size_t i = 0; i < made.size(); ++i) out.records.push_back({std::move(made[i]), *b.locs[i]});
  b.locs.clear();
}

bool Record::dynamic() const noexcept { return Registry::is_update_origin(loc.file()); }

ZoneRecords build_zone(const ZoneConfig& z, std::vector<Diagnostic>& diags, const HealthTable* health) {
  ZoneRecords out;
  out.apex = z.zone;
  out.ttl = z.ttl;
  out.negative_ttl = std::min(z.ttl, z.soa.minimum);
  out.transfers = !z.transfer_allow.empty();
  out.secondary = z.secondary();
  if (z.zone.empty()) return out;
  // A secondary zone serves its copy as transferred (checked on arrival: zone_copy.hpp); without one,
  // or once it has expired, no records (SERVFAIL).
  if (z.secondary()) {
    if (!z.copy || z.expired) return out;
    const ldns_rr* soa = z.copy->rrs.at(0).get();
    out.ttl = z.copy->soa_field(6);
    out.negative_ttl = std::min(ldns_rr_ttl(soa), out.ttl);
    RrBatch batch;  // (a transferred record fits)
    for (const RrPtr& rr : z.copy->rrs) batch.add(rr.get());
    std::vector<Rr> made = batch.take();
    out.records.reserve(made.size());
    for (Rr& rr : made) out.records.push_back({std::move(rr), z.loc});
    return out;
  }
  RdfPtr origin(ldns_dname_new_frm_str(z.zone.c_str()));
  if (!origin) {
    diags.push_back({z.loc, "zone '" + z.zone + "' is not a valid name", false});
    return out;
  }
  const std::string apex = lower_wire(origin.get());
  const std::string ttl = " " + std::to_string(z.ttl) + " IN ";

  for (const std::string& ns : z.ns)
    if (Rr rr = Rr::from_text(z.zone + ttl + "NS " + ns)) out.records.push_back({std::move(rr), z.loc});
  const size_t first_user = out.records.size();
  parse_records_block(z, origin.get(), out, diags);
  const size_t first_cluster = out.records.size();

  // Clusters: server and client SRV sets, then the A/AAAA of in-zone hosts (in member order).
  ClusterBuild build;
  for (const Cluster& c : z.clusters) {
    const size_t begin = out.records.size();
    build_cluster(z, c, apex, health, build, out, diags);
    out.cluster_ranges.emplace_back(begin, out.records.size());
  }

  // Pass 2: meaning across all records.
  TypesByOwner types(out.records.size());
  std::set<std::string> cnames;
  std::string owner;  // each record's, folded (one buffer)
  for (size_t i = 0; i < out.records.size(); ++i) {
    const Record& rec = out.records[i];
    const Rr& rr = rec.rr;
    fold_wire_into(rr.owner(), owner);
    const ldns_rr_type type = rr.type();
    const auto shown = [&rr] { return wire_text(rr.owner()); };  // for errors only: it prints
    auto error = [&](std::string msg) { diags.push_back({rec.loc, std::move(msg), false}); };
    if (!is_subdomain_or_equal(owner, apex)) {
      error("record '" + shown() + "' is outside the zone " + z.zone);
      continue;
    }
    if (i >= first_user && i < first_cluster) {
      if (rr.rr_class() != LDNS_RR_CLASS_IN) error("record '" + shown() + "' is not class IN");
      if (type == LDNS_RR_TYPE_SOA) error("SOA records come from the zone's soa: key, not records:");
      if (type == LDNS_RR_TYPE_NS && owner != apex) error("NS record at '" + shown() + "': delegations are not supported");
      if (type == LDNS_RR_TYPE_NS && owner == apex) error("apex NS records come from the zone's ns: key, not records:");
      if (type == LDNS_RR_TYPE_DNAME) error("DNAME records are not supported");
      // ldns reads a type name it does not know (a typo such as CNMAE, a stray "$FOO") as type 0.
      if (type == 0) error("record '" + shown() + "': unknown type (TYPE0 is reserved; unknown types are written TYPEnnn)");
      if (!zone_file_name(rr.owner())) error("name '" + shown() + "' has a character a zone file cannot carry (letters, digits, '-', '_' and '/' only)");
      // The names in its fields (ldns tells which fields are names).
      if (const RrPtr fields = rr.to_ldns())
        for (size_t f = 0; f < ldns_rr_rd_count(fields.get()); ++f)
          if (const ldns_rdf* d = ldns_rr_rdf(fields.get(), f); ldns_rdf_get_type(d) == LDNS_RDF_TYPE_DNAME && !zone_file_name(rdf_wire(d)))
            error("name '" + name_text(d) + "' in '" + shown() + "' has a character a zone file cannot carry");
      if (owner.size() > 1 && owner[0] == 1 && owner[1] == '*') error("wildcard record '" + shown() + "' is not supported");
    }
    const uint8_t by = i >= first_user && i < first_cluster ? TypesByOwner::user : TypesByOwner::generated;
    if (types.add(owner, type, by) & ~by)
      error("'" + shown() + " " + type_text(type) + "' is generated twice: by records: and by a cluster");
    if (type == LDNS_RR_TYPE_CNAME) cnames.insert(owner);
  }
  for (const std::string& cname : cnames) {
    if (types.count(cname) > 1) {
      for (const Record& rec : out.records)
        if (fold_wire(rec.rr.owner()) == cname) {
          diags.push_back({rec.loc, "CNAME at '" + wire_text(rec.rr.owner()) + "' beside other data (RFC 1034 §3.6.2)", false});
          break;
        }
    }
    if (cname == apex)
      diags.push_back({z.loc, "CNAME at the zone apex", false});
  }
  // Targets and name servers: Go never re-queries a CNAME target, and in-zone hosts need addresses.
  std::set<std::string> reported;  // targets named already (an error is rare: the set stays small)
  const auto check_target = [&](const std::string& t, const auto& shown, const SourceLoc& loc) {
    const char* wrong = cnames.count(t) ? "is a CNAME (Go's resolver never follows it)"
                        : is_subdomain_or_equal(t, apex) && !types.has(t, LDNS_RR_TYPE_A) && !types.has(t, LDNS_RR_TYPE_AAAA)
                            ? "is inside the zone but has no A or AAAA record"
                            : nullptr;
    if (wrong && reported.insert(t).second) diags.push_back({loc, "target '" + shown() + "' " + wrong, false});
  };
  std::string target_key;  // each target, folded (one buffer)
  for (const Record& rec : out.records) {
    const ldns_rr_type type = rec.rr.type();
    const std::string_view target = type == LDNS_RR_TYPE_SRV || type == LDNS_RR_TYPE_NS ? rec.rr.additional_target() : std::string_view();
    if (target.empty()) continue;
    fold_wire_into(target, target_key);
    check_target(target_key, [target] { return wire_text(target); }, rec.loc);
  }
  // Every member's host is a target once the member is healthy and its cluster's gate open: checked
  // whatever they are now, so that neither a health flip nor a gate opening makes the zone unservable.
  for (const Cluster& c : z.clusters)
    for (const Member& m : c.members) {
      lower_wire_into(m.host, target_key);
      if (!target_key.empty()) check_target(target_key, [&m] { return m.host; }, m.host_loc);
    }
  add_dynamic_records(z, apex, types, out, diags);
  return out;
}

void add_reverse_records(const ZoneConfig& reverse, const std::vector<ZoneConfig>& zones, ZoneRecords& out,
                         std::vector<Diagnostic>& diags) {
  const std::string apex = lower_wire(reverse.zone);
  if (apex.empty()) return;
  std::set<std::string> own_ptr;  // PTR names `records:` has: those win
  for (const Record& rec : out.records)
    if (rec.rr.type() == LDNS_RR_TYPE_PTR) own_ptr.insert(fold_wire(rec.rr.owner()));
  std::set<std::pair<std::string, std::string>> added;  // (owner, target): one PTR per pair
  for (const ZoneConfig& z : zones) {
    if (std::find(reverse.reverse_of.begin(), reverse.reverse_of.end(), name_key(z.zone)) == reverse.reverse_of.end()) continue;
    for (const Cluster& c : z.clusters)
      for (size_t i = 0; i < c.members.size(); ++i) {
        const Member& m = c.members[i];
        for (std::string_view text : m.addresses) {
          const AddressText a(text);
          const RdfPtr address(ldns_rdf_new_frm_str(a.v6() ? LDNS_RDF_TYPE_AAAA : LDNS_RDF_TYPE_A, a.text));
          const RdfPtr name(address ? ldns_rdf_address_reverse(address.get()) : nullptr);
          if (!name) continue;
          const std::string owner = lower_wire(name.get());
          if (!is_subdomain_or_equal(owner, apex)) continue;
          if (own_ptr.count(owner)) {
            // A configured member's PTR that records: also writes is an error; a registered one's
            // (saved state) never stops a start: the config's record is served.
            const bool registered = i >= c.static_members;
            diags.push_back({m.loc, "the PTR for " + std::string(text) + " (member '" + m.name + "') is also in records: of " + reverse.zone +
                                        (registered ? ": the config's record is served" : ""), registered});
            continue;
          }
          if (!added.insert({owner, name_key(m.host)}).second) continue;
          if (Rr rr = make_rr(rdf_wire(name.get()), reverse.ttl, LDNS_RR_TYPE_PTR, dname_wire(m.host)))
            out.records.push_back({std::move(rr), m.loc});
        }
      }
  }
}

std::set<std::string> withheld_srv_names(const ZoneRecords& zr) {
  std::set<std::string> out;
  auto add = [&out](const std::string& name) {
    if (std::string wire = lower_wire(name); !wire.empty()) out.insert(std::move(wire));
  };
  for (const auto& [name, ttl] : zr.gated_names) add(name);
  for (const std::string& name : zr.empty_names) add(name);
  return out;
}

uint64_t record_digest(const Rr& rr) {
  // FNV-1a over the record's owner, type, class, TTL and RDATA bytes: stable across restarts and builds.
  uint64_t h = fnv_basis;
  auto mix = [&h](const uint8_t* p, size_t n) { h = fnv1a(p, n, h); };
  mix(reinterpret_cast<const uint8_t*>(rr.owner().data()), rr.owner().size());
  const uint32_t fixed[3] = {uint32_t(rr.type()), uint32_t(rr.rr_class()), rr.ttl()};
  mix(reinterpret_cast<const uint8_t*>(fixed), sizeof fixed);
  const uint32_t size = uint32_t(rr.rdata().size());
  mix(reinterpret_cast<const uint8_t*>(&size), sizeof size);
  mix(rr.rdata().data(), rr.rdata().size());
  return h;
}

uint64_t zone_digest(const ZoneRecords& zr) {
  // A sum (mod 2^64) of the records' digests: a change adjusts it without reading the rest of the zone.
  // The order of records does not count; what they are does.
  uint64_t h = 0;
  for (const Record& rec : zr.records)
    if (rec.rr.type() != LDNS_RR_TYPE_SOA) h += record_digest(rec.rr);
  return h;
}

void add_soa(ZoneRecords& zr, const ZoneConfig& z, uint32_t serial) {
  const std::string text = z.zone + " " + std::to_string(z.ttl) + " IN SOA " + z.soa.mname + " " + z.soa.rname + " " +
                           std::to_string(serial) + " " + std::to_string(z.soa.refresh) + " " +
                           std::to_string(z.soa.retry) + " " + std::to_string(z.soa.expire) + " " +
                           std::to_string(z.soa.minimum);
  Rr rr = Rr::from_text(text);
  if (!rr) throw std::runtime_error("cannot build SOA '" + text + "'");
  zr.records.insert(zr.records.begin(), Record{std::move(rr), z.loc});
  for (auto& [begin, end] : zr.cluster_ranges) ++begin, ++end;
}

std::string zone_text(const ZoneRecords& zr) {
  std::string out = "; zone " + zr.apex +
                    (!zr.secondary           ? ""
                     : zr.records.empty() ? " (secondary: no copy held, or expired; SERVFAIL until a transfer)"
                                          : " (secondary: the copy held)") + "\n";
  for (const Record& rec : zr.records) out += rr_text(rec.rr);
  return out;
}

}  // namespace dnsd
