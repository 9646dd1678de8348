// The IXFR journal (see journal.hpp).
#include "journal.hpp"

#include <algorithm>
#include <map>
#include <stdexcept>

#include "names.hpp"
#include "wire.hpp"

namespace dnsd {

namespace {


uint32_t soa_serial(const ZoneRecords& zr) { return ldns_rdf2native_int32(ldns_rr_rdf(zr.records.at(0).rr.get(), 2)); }

}  // namespace

std::string rr_wire(const ldns_rr* rr, uint32_t ttl) {
  // ldns keeps every field in wire form: the record is its owner, type, class, TTL, length and
  // fields in a row (what ldns_rr2wire writes without compression, without cloning the record).
  const ldns_rdf* owner = ldns_rr_owner(rr);
  size_t rdlength = 0;
  for (size_t i = 0; i < ldns_rr_rd_count(rr); ++i) rdlength += ldns_rdf_size(ldns_rr_rdf(rr, i));
  if (!owner || rdlength > 0xFFFF) throw std::runtime_error("cannot write a record");
  std::string out;
  out.reserve(ldns_rdf_size(owner) + 10 + rdlength);
  out.append(reinterpret_cast<const char*>(ldns_rdf_data(owner)), ldns_rdf_size(owner));
  uint8_t fixed[10];
  put16(fixed, uint16_t(ldns_rr_get_type(rr)));
  put16(fixed + 2, uint16_t(ldns_rr_get_class(rr)));
  put32(fixed + 4, ttl);
  put16(fixed + 8, uint16_t(rdlength));
  out.append(reinterpret_cast<const char*>(fixed), sizeof fixed);
  for (size_t i = 0; i < ldns_rr_rd_count(rr); ++i) {
    const ldns_rdf* f = ldns_rr_rdf(rr, i);
    out.append(reinterpret_cast<const char*>(ldns_rdf_data(f)), ldns_rdf_size(f));
  }
  return out;
}

std::vector<uint32_t> served_ttls(const ZoneRecords& zr) {
  std::map<std::pair<std::string, ldns_rr_type>, uint32_t> first;
  std::vector<uint32_t> ttls;
  ttls.reserve(zr.records.size());
  for (const Record& rec : zr.records) {
    const ldns_rr* rr = rec.rr.get();
    ttls.push_back(first.emplace(std::make_pair(lower_wire(ldns_rr_owner(rr)), ldns_rr_get_type(rr)), ldns_rr_ttl(rr)).first->second);
  }
  return ttls;
}

std::set<std::string, std::less<>> zone_rrs_wire(const ZoneRecords& zr) {
  const std::vector<uint32_t> ttls = served_ttls(zr);
  std::set<std::string, std::less<>> out;
  for (size_t i = 1; i < zr.records.size(); ++i) out.insert(rr_wire(zr.records[i].rr.get(), ttls[i]));
  return out;
}

void add_delta(RecordDelta& delta, std::span<const Record> before, std::span<const Record> after) {
  const auto rrs = [](std::span<const Record> records) {
    std::vector<const ldns_rr*> out;
    out.reserve(records.size());
    for (const Record& rec : records) out.push_back(rec.rr.get());
    return out;
  };
  add_delta(delta, rrs(before), rrs(after));
}

void add_delta(RecordDelta& delta, const std::vector<const ldns_rr*>& before, const std::vector<const ldns_rr*>& after) {
  // Each record with its RRset's first TTL in the run, as served_ttls() gives it for a whole zone.
  const auto wire = [](const std::vector<const ldns_rr*>& rrs) {
    std::map<std::pair<std::string, ldns_rr_type>, uint32_t> first;
    std::set<std::string> out;
    for (const ldns_rr* rr : rrs)
      out.insert(rr_wire(rr, first.emplace(std::make_pair(lower_wire(ldns_rr_owner(rr)), ldns_rr_get_type(rr)), ldns_rr_ttl(rr)).first->second));
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
  const std::string soa = rr_wire(zr.records[0].rr.get(), ldns_rr_ttl(zr.records[0].rr.get()));
  Change c;
  c.soa_from = soa_;
  c.soa_to = soa;
  c.from = serial_.value_or(0);
  c.to = serial;
  if (delta && serial_ && delta->from == *serial_) {
    // The records the delta names, as the whole comparison below would find them (in its order): one
    // that a part of the change removes and another adds is still there.
    const std::set<std::string_view> added(delta->added.begin(), delta->added.end());
    for (const std::string& rr : delta->removed)
      if (rrs_.count(rr) && !added.count(rr)) c.removed.push_back(rr);
    for (const std::string_view rr : added)
      if (!rrs_.count(rr)) c.added.emplace_back(rr);
    std::sort(c.removed.begin(), c.removed.end());
    c.removed.erase(std::unique(c.removed.begin(), c.removed.end()), c.removed.end());
    for (const std::string& rr : c.removed) rrs_.erase(rr);
    rrs_.insert(c.added.begin(), c.added.end());
    ++from_deltas_;
  } else {
    std::set<std::string, std::less<>> next = zone_rrs_wire(zr);
    std::set_difference(rrs_.begin(), rrs_.end(), next.begin(), next.end(), std::back_inserter(c.removed));
    std::set_difference(next.begin(), next.end(), rrs_.begin(), rrs_.end(), std::back_inserter(c.added));
    rrs_ = std::move(next);
  }
  if (serial_) add(std::move(c));
  serial_ = serial;
  soa_ = soa;
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
