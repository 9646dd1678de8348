// A secondary zone's copy (see zone_copy.hpp).
#include "zone_copy.hpp"

#include <filesystem>
#include <map>
#include <set>

#include "hash.hpp"
#include "journal.hpp"
#include "names.hpp"
#include "state_store.hpp"
#include "wire.hpp"

namespace dnsd {

namespace {

constexpr const char* copy_magic = "dnsd zone copy 1\n";
constexpr const char* checked_magic = "checked ";

std::string name_text(const ldns_rdf* dname) { return take_ldns_string(ldns_rdf2str(dname)); }

// What makes two records the same record (RFC 1995: a deletion names the record, not its TTL): the
// canonical form (RFC 4034 §6.2: names in lower case) with the TTL left out.
std::string identity(const ldns_rr* rr) {
  const RrPtr copy(ldns_rr_clone(rr));
  if (!copy) throw std::runtime_error("out of memory");
  ldns_rr2canonical(copy.get());
  return rr_wire(copy.get(), 0);
}

void put32s(std::string& out, uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) out += char(uint8_t(v >> shift));
}

std::string file_name(const std::string& zone) {
  std::string key = name_key(zone);
  if (key.size() > 1 && key.back() == '.') key.pop_back();
  for (char& c : key)
    if (c == '/') c = '%';  // RFC 2317 reverse names
  return key == "." ? "root" : key;
}

std::string checked_path(const std::string& state_dir, const std::string& zone) {
  return state_dir + "/secondary/" + file_name(zone) + ".checked";
}

Result<void> ensure_dir(const std::string& state_dir) {
  std::error_code ec;
  std::filesystem::create_directories(state_dir + "/secondary", ec);
  if (ec) return io_error(state_dir + "/secondary: " + ec.message());
  return {};
}

}  // namespace

uint32_t ZoneCopy::soa_field(size_t i) const noexcept {
  if (rrs.empty() || ldns_rr_get_type(rrs[0].get()) != LDNS_RR_TYPE_SOA || ldns_rr_rd_count(rrs[0].get()) <= i) return 0;
  return ldns_rdf2native_int32(ldns_rr_rdf(rrs[0].get(), i));
}

std::string check_copy(const std::string& apex_text, const std::vector<RrPtr>& rrs) {
  const std::string apex = lower_wire(apex_text);
  if (rrs.empty() || ldns_rr_get_type(rrs[0].get()) != LDNS_RR_TYPE_SOA) return "the transfer does not start with the SOA";
  if (rrs.size() > max_copy_records) return "more than " + std::to_string(max_copy_records) + " records";
  size_t bytes = 0;
  std::map<std::string, std::set<ldns_rr_type>> types;
  for (size_t i = 0; i < rrs.size(); ++i) {
    const ldns_rr* rr = rrs[i].get();
    const std::string owner = lower_wire(ldns_rr_owner(rr));
    const ldns_rr_type type = ldns_rr_get_type(rr);
    const std::string shown = name_text(ldns_rr_owner(rr));
    bytes += owner.size() + 10 + ldns_rr_rd_count(rr) * 2;
    for (size_t f = 0; f < ldns_rr_rd_count(rr); ++f) bytes += ldns_rdf_size(ldns_rr_rdf(rr, f));
    if (bytes > max_copy_bytes) return "more than " + std::to_string(max_copy_bytes >> 20) + " MiB of records";
    if (owner.empty()) return "a record without a valid owner name";
    if (!is_subdomain_or_equal(owner, apex)) return "record '" + shown + "' is outside the zone";
    if (ldns_rr_get_class(rr) != LDNS_RR_CLASS_IN) return "record '" + shown + "' is not class IN";
    if (type == LDNS_RR_TYPE_SOA && (i != 0 || owner != apex)) return "a second SOA, or one not at the apex ('" + shown + "')";
    if (type == LDNS_RR_TYPE_NS && owner != apex) return "NS record at '" + shown + "': delegations are not served by dnsd";
    if (type == LDNS_RR_TYPE_DNAME) return "DNAME record at '" + shown + "': not served by dnsd";
    if (owner.size() > 1 && owner[0] == 1 && owner[1] == '*') return "wildcard record '" + shown + "': not served by dnsd";
    if (type == 0 || type == LDNS_RR_TYPE_OPT || type == LDNS_RR_TYPE_TSIG || (type >= 128 && type <= 255))
      return "record '" + shown + "' has a type that is not data (TYPE" + std::to_string(type) + ")";
    types[owner].insert(type);
  }
  for (const auto& [owner, set] : types)
    if (set.count(LDNS_RR_TYPE_CNAME) && (set.size() > 1 || owner == apex))
      return "a CNAME beside other data or at the apex (RFC 1034 §3.6.2)";
  return {};
}

std::string apply_changes(const ZoneCopy& base, const std::vector<CopyChange>& changes, ZoneCopy& out) {
  // Every record but the SOA, by identity, in the order first seen (kept for stable output).
  std::map<std::string, size_t> index;
  std::vector<RrPtr> rrs;
  for (size_t i = 1; i < base.rrs.size(); ++i) {
    const std::string id = identity(base.rrs[i].get());
    if (index.emplace(id, rrs.size()).second) rrs.emplace_back(ldns_rr_clone(base.rrs[i].get()));
  }
  uint32_t serial = base.serial();
  const ldns_rr* soa = base.rrs.empty() ? nullptr : base.rrs[0].get();
  for (const CopyChange& c : changes) {
    const uint32_t from = ldns_rdf2native_int32(ldns_rr_rdf(c.soa_from.get(), 2));
    if (from != serial) return "a change starts from serial " + std::to_string(from) + ", not " + std::to_string(serial);
    for (const RrPtr& rr : c.removed) {
      if (ldns_rr_get_type(rr.get()) == LDNS_RR_TYPE_SOA) continue;  // RFC 1995: the SOA is the change's own
      const auto it = index.find(identity(rr.get()));
      if (it == index.end()) return "a change deletes '" + take_ldns_string(ldns_rr2str(rr.get())) + "', which the copy does not hold";
      rrs[it->second].reset();
      index.erase(it);
    }
    for (const RrPtr& rr : c.added) {
      if (ldns_rr_get_type(rr.get()) == LDNS_RR_TYPE_SOA) continue;
      const std::string id = identity(rr.get());
      if (const auto it = index.find(id); it != index.end()) rrs[it->second].reset(ldns_rr_clone(rr.get()));
      else {
        index.emplace(id, rrs.size());
        rrs.emplace_back(ldns_rr_clone(rr.get()));
      }
    }
    serial = ldns_rdf2native_int32(ldns_rr_rdf(c.soa_to.get(), 2));
    soa = c.soa_to.get();
  }
  if (!soa) return "no SOA";
  out.rrs.clear();
  out.rrs.emplace_back(ldns_rr_clone(soa));
  for (RrPtr& rr : rrs)
    if (rr) out.rrs.push_back(std::move(rr));
  return {};
}

std::string copy_path(const std::string& state_dir, const std::string& zone) {
  return state_dir + "/secondary/" + file_name(zone) + ".copy";
}

std::string copy_file(const ZoneCopy& copy) {
  std::string out = copy_magic;
  put32s(out, uint32_t(copy.rrs.size()));
  for (const RrPtr& rr : copy.rrs) {
    const std::string wire = rr_wire(rr.get(), ldns_rr_ttl(rr.get()));
    put32s(out, uint32_t(wire.size()));
    out += wire;
  }
  const uint64_t h = fnv1a(reinterpret_cast<const uint8_t*>(out.data()), out.size());
  put32s(out, uint32_t(h >> 32));
  put32s(out, uint32_t(h));
  return out;
}

std::string parse_copy_file(const std::string& bytes, ZoneCopy& copy) {
  const std::string magic = copy_magic;
  if (bytes.compare(0, magic.size(), magic) != 0) return "not a dnsd zone copy";
  if (bytes.size() < magic.size() + 12) return "truncated";
  const auto* p = reinterpret_cast<const uint8_t*>(bytes.data());
  const size_t end = bytes.size() - 8;
  const uint64_t h = fnv1a(p, end);
  if (get32(p + end) != uint32_t(h >> 32) || get32(p + end + 4) != uint32_t(h)) return "damaged (checksum mismatch)";
  size_t pos = magic.size();
  const uint32_t count = get32(p + pos);
  pos += 4;
  if (count > max_copy_records) return "too many records";
  copy.rrs.clear();
  for (uint32_t i = 0; i < count; ++i) {
    if (end - pos < 4) return "truncated";
    const uint32_t len = get32(p + pos);
    pos += 4;
    if (len > end - pos) return "truncated";
    ldns_rr* rr = nullptr;
    size_t at = 0;
    if (ldns_wire2rr(&rr, p + pos, len, &at, LDNS_SECTION_ANSWER) != LDNS_STATUS_OK || at != len) {
      ldns_rr_free(rr);
      return "record " + std::to_string(i + 1) + " is malformed";
    }
    copy.rrs.emplace_back(rr);
    pos += len;
  }
  if (pos != end) return "trailing bytes";
  return {};
}

Result<void> save_copy(const std::string& state_dir, const std::string& zone, const ZoneCopy& copy, std::time_t checked) {
  if (Result<void> dir = ensure_dir(state_dir); !dir) return dir;
  if (Result<void> written = write_file_durably(copy_path(state_dir, zone), copy_file(copy)); !written) return written;
  return save_check_time(state_dir, zone, checked);
}

Result<void> save_check_time(const std::string& state_dir, const std::string& zone, std::time_t checked) {
  if (Result<void> dir = ensure_dir(state_dir); !dir) return dir;
  return write_file_durably(checked_path(state_dir, zone), checked_magic + std::to_string(checked) + "\n");
}

LoadedCopy load_copy(const std::string& state_dir, const std::string& zone) {
  LoadedCopy out;
  std::string bytes;
  if (read_whole_file(copy_path(state_dir, zone), bytes)) return out;  // none yet (or unreadable)
  ZoneCopy copy;
  std::string problem = parse_copy_file(bytes, copy);
  if (problem.empty()) problem = check_copy(zone, copy.rrs);
  if (!problem.empty()) {
    out.problem = copy_path(state_dir, zone) + ": " + problem + "; not served, transferred again";
    return out;
  }
  out.copy = std::move(copy);
  std::string checked;
  const bool read = !read_whole_file(checked_path(state_dir, zone), checked);  // nullopt: read
  if (read && checked.rfind(checked_magic, 0) == 0) {
    try {
      out.checked = std::time_t(std::stoll(checked.substr(std::string(checked_magic).size())));
    } catch (const std::exception&) {
      out.checked = 0;
    }
  }
  return out;
}

std::map<std::string, LoadedCopy> load_copies(const DaemonConfig& config) {
  std::map<std::string, LoadedCopy> out;
  for (const ZoneConfig& z : config.zones)
    if (z.secondary())
      if (LoadedCopy loaded = load_copy(config.state_dir, z.zone); loaded.copy || !loaded.problem.empty())
        out.emplace(name_key(z.zone), std::move(loaded));
  return out;
}

}  // namespace dnsd
