// Precompiling answers (see compile.hpp). Each answer is rendered once as a whole message whose
// question is the owner name at offset 12; the bytes after the question become the Answer body.
#include "compile.hpp"

#include <algorithm>
#include <cstring>
#include <ctime>
#include <map>
#include <set>
#include <stdexcept>

#include "packer.hpp"
#include "wire.hpp"

namespace dnsd {

namespace {

constexpr size_t max_opt_size = 11 + 4 + 8 + 16;  // our OPT RR with a COOKIE option (RFC 7873)


// An answer must fit one TCP message with our OPT and a server cookie beside it: an answer that fits
// only without them would be truncated (TC with no records) over TCP with EDNS.
// The answer a packer holds after its question (`essential` bytes of it through the answer section).
Answer answer_of(const Packer& p, size_t essential, std::span<const uint16_t> additional_ends, size_t ancount) {
  if (p.size() + max_opt_size > max_message) throw std::runtime_error("answer over 64 KiB");
  return Answer(std::span(p.bytes()).subspan(p.body_start()), essential, additional_ends, uint16_t(ancount));
}

class ZoneCompiler {
 public:
  ZoneCompiler(const ZoneRecords& zr, Snapshot& snap)
      : zr_(zr), snap_(snap), table_(zr.records, 0, zr.records.size()), sets_(table_.sets()) {
    find_ = [this](std::string_view owner, ldns_rr_type type) { return table_.find(owner, type); };
  }

  void run() {
    if (sets_.empty() || sets_[0].type != LDNS_RR_TYPE_SOA) throw std::runtime_error("zone without SOA");
    const RRset& soa = sets_[0];
    Zone z;
    z.apex = std::string(soa.owner);
    z.apex_text = zr_.apex;
    z.serial = soa.rrs[0]->soa_serial();
    z.transfers = zr_.transfers;
    z.secondary = zr_.secondary;
    z.soa_negative_tail = soa_tail(*soa.rrs[0], std::min(soa.rrs[0]->ttl(), zr_.negative_ttl));
    z.any = render_any(zr_.ttl);
    const Zone& zone = snap_.add_zone(std::move(z));

    // The names between the owners and the apex are not counted: a last growth, or a slack that
    // Snapshot::shrink_to_fit gives back.
    size_t name_bytes = table_.owner_bytes();
    for (const std::string& name : zr_.empty_names) name_bytes += name.size();
    for (const auto& [name, ttl] : zr_.gated_names) name_bytes += name.size();
    snap_.reserve_nodes(sets_.size() + zr_.empty_names.size() + zr_.gated_names.size(), name_bytes);
    snap_.add_node(zone.apex, zone);
    for (const RRset& set : sets_) {
      Node& node = snap_.add_node(set.owner, zone);
      node.rrsets.emplace_back(uint16_t(set.type), render(set, nullptr));
      if (set.type == LDNS_RR_TYPE_CNAME) node.cname = true;
      add_ancestors(set.owner, zone);
    }
    for (const std::string& name : zr_.empty_names) {
      const std::string key = lower_wire(name);
      if (key.size() <= zone.apex.size()) continue;  // ("" when it is not a name)
      snap_.add_node(key, zone);
      add_ancestors(key, zone);
    }
    for (const auto& [name, ttl] : zr_.gated_names) {
      const std::string key = lower_wire(name);
      if (key.empty()) continue;
      add_ancestors(key, zone);
      Node& gated = snap_.add_node(key, zone);
      gated.gated = true;
      gated.gate_ttl = ttl;
      if (!zone.gate_tail(ttl)) snap_.zone_at(zone.index).gate_tails.emplace_back(ttl, soa_tail(*soa.rrs[0], ttl));
    }
    for (const RRset& set : sets_) {
      if (set.type != LDNS_RR_TYPE_CNAME) continue;
      Node& node = *snap_.find_node(set.owner);
      // Follow the CNAME once inside the zone, for every type its target has.
      const std::string target = fold_wire(set.rrs[0]->rdata_name(0));
      for (const RRset& t : sets_)
        if (t.owner == target && t.type != LDNS_RR_TYPE_CNAME) node.rrsets.emplace_back(uint16_t(t.type), render(set, &t));
    }
  }

 private:
  // Adds the ancestors of `name` below the apex that do not exist yet: empty non-terminals answer
  // NODATA (RFC 8020). One that exists has its own ancestors already.
  void add_ancestors(std::string_view name, const Zone& zone) {
    for (std::string_view n = parent_dname(name); n.size() > zone.apex.size() && !snap_.find_node(n); n = parent_dname(n))
      snap_.add_node(n, zone);
  }

  // An answer that cannot be represented (over 64 KiB) is a diagnostic at the set's last record: with
  // registered members that is the last one registered, which a start then sets aside.
  Answer render(const RRset& set, const RRset* chased) const {
    try {
      return renderer_.rrset(set, chased, find_);
    } catch (const std::runtime_error& e) {
      throw ConfigError({{set.last,
                          "the answer for " + wire_text(set.rrs.front()->owner()) + " " +
                              take_ldns_string(ldns_rr_type2str(set.type)) + " cannot be served: " + e.what(),
                          false}});
    }
  }

  const ZoneRecords& zr_;
  Snapshot& snap_;
  const RRsetTable table_;
  const std::vector<RRset>& sets_;
  RRsetFinder find_;
  mutable AnswerRenderer renderer_;
};

}  // namespace

RRsetTable::RRsetTable(const std::vector<Record>& records, size_t begin, size_t end) {
  const size_t n = end - begin;
  index_.reset(SlotIndex::slots_for(n));  // a set a record at most: never grows
  size_t owner_bytes = 0;
  for (size_t i = begin; i < end; ++i) owner_bytes += records[i].rr.owner().size();
  owners_.reserve(owner_bytes);  // the owners' views stay valid while it fills
  // First the sets and each record's set, then the records set by set (counted, then placed).
  std::vector<uint32_t> set_of(n);
  std::vector<uint32_t> count, last;  // each set's records, and its last one
  std::string owner;  // one buffer for every record's folded owner
  size_t at = SlotIndex::npos;
  for (size_t i = begin; i < end; ++i) {
    const Rr& rr = records[i].rr;
    fold_wire_into(rr.owner(), owner);
    const ldns_rr_type type = rr.type();
    // A set's records mostly come one after another (a cluster's SRV set): the previous record's
    // set is tried before the index.
    if (at == SlotIndex::npos || sets_[at].type != type || sets_[at].owner != owner) {
      const uint64_t h = hash(owner, type);
      at = find_index(owner, type, h);
      if (at == SlotIndex::npos) {  // RFC 2181 §5.2: one TTL per RRset; the first record's TTL wins
        at = sets_.size();
        const size_t from = owners_.size();
        owners_.insert(owners_.end(), owner.begin(), owner.end());
        sets_.push_back({std::string_view(owners_.data() + from, owner.size()), type, rr.ttl(), {}, {}});
        count.push_back(0);
        last.push_back(0);
        index_.add(at, h);
      }
    }
    set_of[i - begin] = uint32_t(at);
    ++count[at];
    last[at] = uint32_t(i);
  }
  for (size_t s = 0; s < sets_.size(); ++s) sets_[s].last = records[last[s]].loc;
  rrs_.resize(n);
  uint32_t start = 0;
  for (size_t s = 0; s < sets_.size(); ++s) {
    sets_[s].rrs = std::span<const Rr* const>(rrs_.data() + start, count[s]);
    const uint32_t c = count[s];
    count[s] = start;  // now where the set's next record goes
    start += c;
  }
  for (size_t i = begin; i < end; ++i) rrs_[count[set_of[i - begin]]++] = &records[i].rr;
}

const RRset* RRsetTable::find(std::string_view owner, ldns_rr_type type) const noexcept {
  const size_t at = find_index(owner, type, hash(owner, type));
  return at == SlotIndex::npos ? nullptr : &sets_[at];
}

size_t RRsetTable::find_index(std::string_view owner, ldns_rr_type type, uint64_t h) const noexcept {
  return index_.find(h, [&](size_t set) { return sets_[set].type == type && sets_[set].owner == owner; });
}

Answer AnswerRenderer::rrset(const RRset& set, const RRset* chased, const RRsetFinder& find) {
  p_.reset(set.owner);
  for (const Rr* rr : set.rrs) p_.rr(*rr, set.ttl);
  size_t ancount = set.rrs.size();
  if (chased) {
    for (const Rr* rr : chased->rrs) p_.rr(*rr, chased->ttl);
    ancount += chased->rrs.size();
  }
  const size_t essential = p_.size() - p_.body_start();
  // Additional section: addresses of in-zone targets, A before AAAA, in record order.
  const RRset& source = chased ? *chased : set;
  done_.clear();
  ends_.clear();
  for (const Rr* rr : source.rrs) {
    const std::string_view target = rr->additional_target();
    if (target.empty()) continue;
    fold_wire_into(target, target_);
    // A handful of targets a set (a linear search): each once.
    bool seen = false;
    for (size_t at = 0; at < done_.size() && !seen; at += size_t(uint8_t(done_[at])) + 1)
      seen = std::string_view(done_).substr(at + 1, uint8_t(done_[at])) == target_;
    if (seen) continue;
    done_ += char(target_.size());  // (a wire name is at most 255 bytes)
    done_ += target_;
    for (ldns_rr_type type : {LDNS_RR_TYPE_A, LDNS_RR_TYPE_AAAA})
      if (const RRset* addr = find(target_, type))
        for (const Rr* arr : addr->rrs) {
          p_.rr(*arr, addr->ttl);
          ends_.push_back(uint16_t((p_.size() - p_.body_start())));
        }
  }
  return answer_of(p_, essential, ends_, ancount);
}

Answer render_any(uint32_t ttl) {
  Packer p(std::string("\1x\0", 3));  // any name but the root: the owner becomes a pointer to the question
  p.hinfo(ttl);
  return answer_of(p, p.size() - p.body_start(), {}, 1);
}

std::vector<uint8_t> soa_tail(const Rr& soa, uint32_t ttl) {
  const std::span<const uint8_t> rdata = soa.rdata();
  std::vector<uint8_t> out(10 + rdata.size());
  put16(out.data(), rr_type::soa);
  put16(out.data() + 2, class_in);
  put32(out.data() + 4, ttl);
  put16(out.data() + 8, uint16_t(rdata.size()));
  if (!rdata.empty()) std::memcpy(out.data() + 10, rdata.data(), rdata.size());
  return out;
}

void compile_zone(const ZoneRecords& records, Snapshot& snapshot) {
  // A secondary zone without a copy (none transferred yet, or expired): every name in it is SERVFAIL.
  if (records.secondary && records.records.empty()) {
    Zone z;
    z.apex = lower_wire(records.apex);
    z.apex_text = records.apex;
    z.secondary = true;
    z.servfail = true;
    snapshot.add_zone(std::move(z));
    return;
  }
  ZoneCompiler(records, snapshot).run();
}

DaemonConfig load_config_reporting_all(const std::string& path) {
  try {
    return load_config(path);
  } catch (const ConfigError& e) {
    if (!e.partial()) throw;
    std::vector<Diagnostic> diags = e.diagnostics();
    for (const ZoneConfig& z : e.partial()->zones) {
      const bool file_clean = std::none_of(e.diagnostics().begin(), e.diagnostics().end(), [&](const Diagnostic& d) {
        return !d.warning && d.loc.file() == z.file;
      });
      if (!z.zone.empty() && file_clean && !z.copy && z.primaries.empty()) build_zone(z, diags);
    }
    std::vector<Diagnostic> errors;
    for (Diagnostic& d : diags)
      if (!d.warning) errors.push_back(std::move(d));
    throw ConfigError(std::move(errors));
  }
}

CompiledConfig compile_config(const DaemonConfig& config, StateStore& state, const HealthTable* health) {
  std::vector<Diagnostic> diags;
  CompiledConfig out;
  for (const ZoneConfig& z : config.zones) out.zones.push_back(build_zone(z, diags, health));
  // Reverse zones: PTRs for the member addresses of their forward zones, in the same snapshot.
  for (size_t i = 0; i < config.zones.size(); ++i)
    if (!config.zones[i].reverse_of.empty()) add_reverse_records(config.zones[i], config.zones, out.zones[i], diags);
  // Nested zones: the child answers for its names, so the parent may hold nothing at or below it.
  for (size_t p = 0; p < out.zones.size(); ++p)
    for (size_t c = 0; c < out.zones.size(); ++c) {
      if (p == c || out.zones[c].records.empty() || out.zones[p].records.empty()) continue;
      const std::string parent = lower_wire(out.zones[p].apex), child = lower_wire(out.zones[c].apex);
      if (parent.empty() || child.empty() || child == parent || !is_subdomain_or_equal(child, parent)) continue;
      for (const Record& rec : out.zones[p].records)
        if (is_subdomain_or_equal(fold_wire(rec.rr.owner()), child))
          diags.push_back({rec.loc, "record is inside zone " + out.zones[c].apex + ", also served here", false});
    }
  std::vector<Diagnostic> errors;
  for (auto& d : diags) (d.warning ? out.warnings : errors).push_back(d);
  if (!errors.empty()) throw ConfigError(std::move(errors));

  auto snap = std::make_shared<Snapshot>();
  std::vector<std::string> key_names;
  for (const TsigKey& k : config.tsig_keys) key_names.push_back(wire_name(k.name));
  snap->set_tsig_keys(std::move(key_names));
  snap->set_rrl(config.rrl);
  if (config.cookies) snap->set_cookie_secret(config.cookie_secret);
  const uint32_t now = uint32_t(std::time(nullptr));
  for (size_t i = 0; i < out.zones.size(); ++i) {
    ZoneRecords& zr = out.zones[i];
    // A secondary's serial is its primary's, in the SOA it transferred.
    if (!zr.secondary) add_soa(zr, config.zones[i], state.serial_for(zr.apex, zone_digest(zr), now));
    compile_zone(zr, *snap);
  }
  snap->shrink_to_fit();
  out.snapshot = std::move(snap);
  return out;
}

}  // namespace dnsd
