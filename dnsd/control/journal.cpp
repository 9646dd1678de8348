// The IXFR journal (see journal.hpp).
#include "journal.hpp"

#include <algorithm>
#include <map>
#include <set>
#include <stdexcept>

#include "names.hpp"

namespace dnsd {

namespace {


uint32_t soa_serial(const ZoneRecords& zr) { return zr.records.at(0).rr.soa_serial(); }

// The TTL a record is served with: its RRset's first record's (RFC 2181 §5.2), the sets seen so far in `first`.
using FirstTtls = std::map<std::pair<std::string, ldns_rr_type>, uint32_t>;
uint32_t served_ttl(FirstTtls& first, const Rr& rr) {
  return first.emplace(std::make_pair(fold_wire(rr.owner()), rr.type()), rr.ttl()).first->second;
}

}  // namespace

std::string rr_wire(const ldns_rr* rr, uint32_t ttl) {
  const Rr held = Rr::from_ldns(rr);
  if (!held) throw std::runtime_error("cannot write a record");
  return held.wire(ttl);
}

std::vector<uint32_t> served_ttls(const ZoneRecords& zr) {
  FirstTtls first;
  std::vector<uint32_t> ttls;
  ttls.reserve(zr.records.size());
  for (const Record& rec : zr.records) ttls.push_back(served_ttl(first, rec.rr));
  return ttls;
}

std::vector<std::string> zone_rrs_wire(const ZoneRecords& zr) {
  const std::vector<uint32_t> ttls = served_ttls(zr);
  std::vector<std::string> out;
  out.reserve(zr.records.size());
  for (size_t i = 1; i < zr.records.size(); ++i) out.push_back(zr.records[i].rr.wire(ttls[i]));
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

RecordDelta wire_delta(uint32_t from, const std::vector<std::string>& before, const std::vector<std::string>& now) {
  RecordDelta delta{from, {}, {}};
  std::set_difference(before.begin(), before.end(), now.begin(), now.end(), std::back_inserter(delta.removed));
  std::set_difference(now.begin(), now.end(), before.begin(), before.end(), std::back_inserter(delta.added));
  return delta;
}

std::optional<RecordDelta> zone_delta(const ZoneRecords& before, const ZoneRecords& now) {
  if (before.records.empty() || now.records.empty() || soa_serial(before) == soa_serial(now)) return std::nullopt;
  return wire_delta(soa_serial(before), zone_rrs_wire(before), zone_rrs_wire(now));
}

void add_delta(RecordDelta& delta, std::span<const Record> before, std::span<const Record> after) {
  const auto rrs = [](std::span<const Record> records) {
    std::vector<const Rr*> out;
    out.reserve(records.size());
    for (const Record& rec : records) out.push_back(&rec.rr);
    return out;
  };
  add_delta(delta, rrs(before), rrs(after));
}

void add_delta(RecordDelta& delta, const std::vector<const Rr*>& before, const std::vector<const Rr*>& after) {
  // Each record with its RRset's first TTL in the run, as served_ttls() gives it for a whole zone.
  const auto wire = [](const std::vector<const Rr*>& rrs) {
    FirstTtls first;
    std::set<std::string> out;
    for (const Rr* rr : rrs) out.insert(rr->wire(served_ttl(first, *rr)));
    return out;
  };
  const std::set<std::string> old = wire(before), now = wire(after);
  std::set_difference(old.begin(), old.end(), now.begin(), now.end(), std::back_inserter(delta.removed));
  std::set_difference(now.begin(), now.end(), old.begin(), old.end(), std::back_inserter(delta.added));
}

size_t ZoneJournal::Change::bytes() const noexcept {
  size_t n = soa_from.size() + soa_to.size() + sizeof(Change);
  for (const std::string& r : removed) n += r.size() + sizeof r;
  for (const std::string& r : added) n += r.size() + sizeof r;
  return n;
}

void ZoneJournal::record(const ZoneRecords& zr, const RecordDelta* delta) {
  if (zr.records.empty()) return;
  const uint32_t serial = soa_serial(zr);
  if (serial_ && *serial_ == serial) return;  // the serial follows the records: nothing changed
  std::string soa = zr.records[0].rr.wire(zr.records[0].rr.ttl());
  if (delta && serial_ && delta->from == *serial_) {
    Change c;
    c.soa_from = soa_;
    c.soa_to = soa;
    c.from = *serial_;
    c.to = serial;
    // What the delta removes and adds, net: a record that one part of the change removes and another
    // adds (a host moving between clusters in one publish) is still there.
    std::vector<std::string> removed = delta->removed, added = delta->added;
    for (std::vector<std::string>* v : {&removed, &added}) {
      std::sort(v->begin(), v->end());
      v->erase(std::unique(v->begin(), v->end()), v->end());
    }
    std::set_difference(removed.begin(), removed.end(), added.begin(), added.end(), std::back_inserter(c.removed));
    std::set_difference(added.begin(), added.end(), removed.begin(), removed.end(), std::back_inserter(c.added));
    add(std::move(c));
  } else {
    // The first version, or one whose change is not known: the journal starts again from it.
    changes_.clear();
    bytes_ = 0;
  }
  serial_ = serial;
  soa_ = std::move(soa);
}

void ZoneJournal::add(Change c) {
  bytes_ += c.bytes();
  changes_.push_back(std::move(c));
  while (!changes_.empty() && (changes_.size() > max_changes || bytes_ > max_bytes)) {
    bytes_ -= changes_.front().bytes();
    changes_.pop_front();
  }
}

std::optional<std::vector<const ZoneJournal::Change*>> ZoneJournal::since(uint32_t serial) const {
  auto it = std::find_if(changes_.begin(), changes_.end(), [&](const Change& c) { return c.from == serial; });
  if (it == changes_.end()) return std::nullopt;
  std::vector<const Change*> out;
  for (; it != changes_.end(); ++it) out.push_back(&*it);
  return out;
}

}  // namespace dnsd
