// Test helper (control plane): drives a zone state through registrations, removals and health flips
// chosen by the caller's numbers (random in the unit test, fuzzer input in fuzz_patch), and after
// each one compares every answer of the published snapshot (patched where the change allowed it)
// with a whole compile of the same config, registry and health: names, types, rcodes, sections byte
// for byte, negative answers, serials, and the records as a transfer sends them; and the IXFR
// journal's change, taken from the patch's delta, with the one a comparison of whole zones finds. Used by
// tests/unit/test_cluster_patch.cpp and tests/fuzz/fuzz_patch.cpp.
#pragma once

#include <algorithm>
#include <filesystem>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "compile.hpp"
#include "compiled_zone.hpp"
#include "journal.hpp"
#include "temp_dir.hpp"
#include "zone_state.hpp"

namespace dnsd::test {

class PatchCheck {
 public:
  static constexpr const char* zone = "lab.example.com.";

  // update_keys: lab.example.com takes DNS UPDATE (its records hold the reserved names, which patches
  // keep up); without, the UPDATE records it holds are checked against a set made for each build.
  explicit PatchCheck(bool update_keys = true) {
    const std::string conf = dir_.write(
        "dnsd.yaml", std::string("listen: [\"127.0.0.1:1\"]\nzones: [\"z.yaml\", \"other.yaml\"]\nstate_dir: state\nlog: { level: off }\n") +
                         (update_keys ? ddns_key_yaml : ""));
    dir_.write("z.yaml",
               "zone: lab.example.com\nsoa: { mname: ns1.lab.example.com, rname: h.example.org }\n"
               "ns: [ns1.lab.example.com]\n"
               "records: |\n"
               "  ns1 IN A 192.0.2.53\n  taken IN A 192.0.2.99\n  note IN TXT \"a note\"\n"
               "  web IN A 192.0.2.80\n  alias IN CNAME web\n  @ IN MX 10 mail\n  mail IN A 192.0.2.25\n"
               "  svc IN SRV 0 0 80 s1.c3.lab.example.com.\n"
               "clusters:\n"
               "  - { name: c1, registration: true, expected_size: 3, gate_negative_ttl: 7,\n"
               "      health: { fail_closed: true } }\n"
               "  - { name: c2, registration: true, client_tls: true, health: {} }\n"
               "  - name: c3\n    registration: true\n"
               "    members: [{ name: s1, host: s1.c3.lab.example.com, addresses: [192.0.2.31, \"2001:db8::31\"] }]\n"
               "  - { registration: true, peer_tls: false }\n"
               "transfer:\n  allow:\n    - { address: 127.0.0.0/8 }\n" +
                   std::string(update_keys ? "update: { keys: [ddns] }\n" : ""));
    dir_.write("other.yaml",
               "zone: other.example\nsoa: { mname: ns.other.example, rname: h.example.org }\nns: [ns.other.example]\n"
               "records: |\n  ns IN A 192.0.2.1\nclusters:\n  - { name: o1, registration: true }\n");
    file_config_ = load_config(conf);
    zones_.start(file_config_);
    // Two journals of the zone with transfers: one as the transfer service keeps it (a patch's delta),
    // one comparing whole zones every time.
    zones_.on_publish([this](const std::vector<ZoneRecords>& served, const ZoneState::Deltas& deltas) {
      for (size_t i = 0; i < served.size(); ++i)
        if (served[i].transfers) {
          const std::optional<uint32_t> was = journal_.serial();
          journal_.record(served[i], i < deltas.size() && deltas[i] ? &*deltas[i] : nullptr);
          const unsigned long whole_now = wholes();
          if (journal_.serial() != was && was && whole_now == wholes_seen_) ++patched_changes_;
          wholes_seen_ = whole_now;
          // The reference compares whole zones: the version it recorded last against this one.
          std::vector<std::string> now = zone_rrs_wire(served[i]);
          const RecordDelta whole = wire_delta(whole_journal_.serial().value_or(0), whole_rrs_, now);
          whole_journal_.record(served[i], whole_journal_.serial() ? &whole : nullptr);
          whole_rrs_ = std::move(now);
        }
    });
    checked_serial_ = whole_journal_.serial().value_or(0);
    // Records added by UPDATE: one beside the clusters, one where a member may register its host.
    Registry next = zones_.registry();
    // A third names u1 in its answer: an UPDATE of u1's addresses changes that answer too.
    next.records[zone] = {"dyn.lab.example.com.\t60\tIN\tTXT\t\"u\"", "m7.c1.lab.example.com.\t60\tIN\tTXT\t\"u\"",
                          "ref.lab.example.com.\t60\tIN\tMX\t10\tu1.lab.example.com."};
    if (!zones_.commit(std::move(next)).ok()) throw std::runtime_error("cannot add the UPDATE records");
  }

  // One change from four numbers: a registration (any host, any addresses, taken or not), a removal,
  // a health flip or an UPDATE. Returns what it did.
  std::string step(uint32_t op, uint32_t a, uint32_t b, uint32_t c) {
    if (op % 12 >= 10) return update(a, b, c);
    static const std::vector<std::string> clusters{"c1", "c2", "c3", "", "o1"};
    const std::string cluster = clusters[a % clusters.size()];
    const std::string zone_of = cluster == "o1" ? "other.example." : zone;
    const std::string member = "m" + std::to_string(b % 8);
    const std::string where = (cluster.empty() ? "u" : cluster) + "." + zone_of;
    if (op % 12 < 6) {
      static const std::vector<std::string> hosts{"%M.%C", "%M.%C", "%M.%C", "sub.%M.%C", "%C", "taken.lab.example.com.",
                                                  "note.lab.example.com.", "web.lab.example.com.", "%M.example.org.",
                                                  "dyn.lab.example.com.", "m2.c2.lab.example.com.", "s1.c3.lab.example.com.",
                                                  "alias.lab.example.com.", "mail.lab.example.com."};
      std::string host = hosts[(c >> 8) % hosts.size()];
      for (auto [from, to] : {std::pair<std::string, std::string>{"%M", member}, {"%C", where}})
        for (size_t at; (at = host.find(from)) != std::string::npos;) host.replace(at, from.size(), to);
      Registration r{zone_of, cluster, member, host, {}, {}, {}};
      static const std::vector<std::string> addresses{"192.0.2." + std::to_string(100 + b % 50), "2001:db8::" + std::to_string(b % 90),
                                                      "198.51.100.7"};
      for (size_t i = 0; i < 3; ++i)
        if (c & (1u << i)) r.addresses.push_back(addresses[(i + c / 8) % 3]);
      if (c & 8) r.peer_port = uint16_t(2000 + c % 50);
      return record("put " + member + " " + host + " in " + where, zones_.change_member({RegistryChange::Kind::put, r}));
    }
    if (op % 12 < 8)
      return record("remove " + member + " from " + where,
                    zones_.change_member({RegistryChange::Kind::remove, Registration{zone_of, cluster, member, {}, {}, {}, {}}}));
    MemberHealth& h = health_[health_key(zone_of, cluster, member)];
    h.state.observe((c & 1) != 0, 1, 1);
    zones_.republish("flip", {{zone_of, cluster}});
    if (op % 23 == 0) zones_.compact();
    return "flip " + member + " of " + where + ((c & 1) ? " healthy" : " unhealthy");
  }

  // "" when the published snapshot answers every question as a whole compile does, else the first
  // difference.
  std::string compare() {
    TempDir ref;
    std::filesystem::copy(dir_.path("state/serials"), ref.path("serials"));
    StateStore state(ref.path(), false);
    // The reference is built from the files and the registry as a restart would build it, so the
    // config the zone state keeps is checked too.
    DaemonConfig config = file_config_;
    zones_.registry().apply(config);
    CompiledConfig whole;
    try {
      whole = compile_config(config, state, &health_);
    } catch (const ConfigError& e) {
      return "served what a whole compile refuses: " + (e.diagnostics().empty() ? e.what() : e.diagnostics().front().message);
    }
    const auto patched = zones_.snapshot();
    const Snapshot& full = *whole.snapshot;
    for (size_t i = 0; i < whole.zones.size(); ++i) {
      const ZoneRecords* served = zones_.served(name_key(whole.zones[i].apex));
      if (!served) return "zone " + whole.zones[i].apex + " not served";
      if (zone_text(*served) != zone_text(whole.zones[i]))
        return "records of " + whole.zones[i].apex + " differ:\n" + zone_text(*served) + "-- whole:\n" + zone_text(whole.zones[i]);
      if (served->reserved_names != whole.zones[i].reserved_names) return "reserved names differ";
      if (std::set(served->empty_names.begin(), served->empty_names.end()) !=
          std::set(whole.zones[i].empty_names.begin(), whole.zones[i].empty_names.end()))
        return "empty names differ";
    }
    if (const std::string journal = compare_journals(); !journal.empty()) return journal;
    std::set<std::string> names;
    for (const Snapshot* s : {patched.get(), &full})
      for (const std::string& n : s->names()) {
        names.insert(n);
        names.insert(std::string("\5zz-nx") + n);
      }
    for (const std::string& name : names)
      for (uint16_t type : {1, 28, 33, 16, 2, 6, 5, 15, 12, 13, 255, 99}) {
        const Snapshot::Hit p = patched->lookup(name, type), w = full.lookup(name, type);
        const std::string what = printable(name) + " type " + std::to_string(type) + ": ";
        if (p.kind != w.kind) return what + "kind " + std::to_string(int(p.kind)) + " vs " + std::to_string(int(w.kind));
        if (!p.zone != !w.zone) return what + "zone";
        if (!p.zone) continue;
        if (p.zone->apex != w.zone->apex || p.zone->serial != w.zone->serial)
          return what + "zone or serial " + std::to_string(p.zone->serial) + " vs " + std::to_string(w.zone->serial);
        const auto& pt = p.negative_tail ? *p.negative_tail : p.zone->soa_negative_tail;
        const auto& wt = w.negative_tail ? *w.negative_tail : w.zone->soa_negative_tail;
        if (pt != wt) return what + "negative tail";
        if (!p.answer != !w.answer) return what + "answer present";
        if (!p.answer) continue;
        const Answer &pa = *p.answer, &wa = *w.answer;
        if (!(pa == wa))
          return what + "answer bytes (" + std::to_string(pa.ancount()) + " and " + std::to_string(pa.additional_ends().size()) +
                 " additional, against " + std::to_string(wa.ancount()) + " and " + std::to_string(wa.additional_ends().size()) + ")";
      }
    return "";
  }

  ZoneState& zones() { return zones_; }
  const std::vector<std::string>& log() const { return log_; }
  // How many UPDATEs were published as patches.
  size_t update_patches() const { return update_patches_; }
  // How many journal changes came from a patch's delta (not a whole compile's).
  size_t journal_patched_changes() const { return patched_changes_; }

 private:
  // An UPDATE of lab.example.com (as the UPDATE service hands it over, unchecked): a record added at
  // a name of its own, one the config, a cluster or another answer has, or an empty non-terminal's,
  // of a type that stays at its name or one that reaches beyond (CNAME, NS, an in-zone target); or
  // one of the UPDATE records removed.
  std::string update(uint32_t a, uint32_t b, uint32_t c) {
    // Names and types of its own mostly; a quarter of the time one that the whole compile drops or
    // that reaches beyond its name (the UPDATE service refuses most of those: here they are forced).
    static const std::vector<std::string> owners{"dyn", "u1", "u2.sub", "u3.deep.sub", "sub", "u4", "u1"};
    static const std::vector<std::string> odd_owners{"m7.c1", "note", "web", "alias", "mail", "taken", "c2", "_tcp"};
    static const std::vector<std::string> rdatas{"TXT \"t%\"", "TXT \"t%\"", "A 192.0.2.%", "AAAA 2001:db8::%",
                                                 "MX 10 mx%.example.org.", "SRV 0 0 80 s%.example.org."};
    static const std::vector<std::string> odd_rdatas{"MX 10 mail.lab.example.com.", "CNAME web.lab.example.com.",
                                                     "NS ns.example.org.", "SRV 0 0 80 u1.lab.example.com."};
    std::vector<std::string> records = zones_.registry().records.count(zone) ? zones_.registry().records.at(zone) : std::vector<std::string>{};
    std::string did;
    if (records.empty() || (c & 1) != 0) {
      const std::string& owner = (c & 0x300) == 0x300 ? odd_owners[a % odd_owners.size()] : owners[a % owners.size()];
      std::string rdata = (c & 0xC00) == 0xC00 ? odd_rdatas[(c >> 2) % odd_rdatas.size()] : rdatas[(c >> 2) % rdatas.size()];
      if (const size_t at = rdata.find('%'); at != std::string::npos) rdata.replace(at, 1, std::to_string(b % 4));
      std::string text = owner + ".lab.example.com.\t" + ((c & 64) ? "120" : "60") + "\tIN\t" + rdata;
      std::replace(text.begin(), text.end(), ' ', '\t');
      records.insert(records.begin() + long((c >> 12) % (records.size() + 1)), text);
      did = "update add " + text;
    } else {
      const size_t i = b % records.size();
      did = "update delete " + records[i];
      records.erase(records.begin() + long(i));
    }
    const unsigned long before = wholes();
    const Result<void> done = zones_.set_update_records(zone, records);
    if (done && wholes() == before) ++update_patches_;
    return record(did, done);
  }

  // The journal changes since the last check, from deltas and from whole zones: "" when equal.
  std::string compare_journals() {
    if (journal_.serial() != whole_journal_.serial()) return "journal serials differ";
    const auto mine = journal_.since(checked_serial_), whole = whole_journal_.since(checked_serial_);
    checked_serial_ = whole_journal_.serial().value_or(0);
    if (!mine != !whole) return "journal reaches back in one way only";
    if (!mine) return "";
    if (mine->size() != whole->size()) return "journal change counts differ";
    for (size_t i = 0; i < mine->size(); ++i) {
      const ZoneJournal::Change &a = *(*mine)[i], &b = *(*whole)[i];
      if (a.from != b.from || a.to != b.to || a.soa_from != b.soa_from || a.soa_to != b.soa_to)
        return "journal change " + std::to_string(a.from) + " -> " + std::to_string(a.to) + ": serials or SOA differ";
      if (a.removed != b.removed || a.added != b.added)
        return "journal change " + std::to_string(a.from) + " -> " + std::to_string(a.to) + ": " + std::to_string(a.removed.size()) +
               " removed, " + std::to_string(a.added.size()) + " added; whole zones: " + std::to_string(b.removed.size()) +
               " removed, " + std::to_string(b.added.size()) + " added";
    }
    return "";
  }

  unsigned long wholes() const {
    const std::string m = zones_.metrics(), key = "dnsd_publishes_total{how=\"whole\"} ";
    return std::stoul(m.substr(m.find(key) + key.size()));
  }

  std::string record(const std::string& what, const Result<void>& done) {
    log_.push_back(what + (done ? " ok" : " refused: " + done.error().message));
    return log_.back();
  }
  static std::string printable(const std::string& wire) {
    std::string out;
    for (size_t i = 0; i < wire.size() && wire[i]; i += size_t(uint8_t(wire[i])) + 1) out += wire.substr(i + 1, uint8_t(wire[i])) + ".";
    return out;
  }

  TempDir dir_;
  DaemonConfig file_config_;
  SnapshotSlot slot_;
  HealthTable health_;
  ZoneState zones_{slot_, health_};
  ZoneJournal journal_, whole_journal_;
  std::vector<std::string> whole_rrs_;  // the version whole_journal_ recorded last
  uint32_t checked_serial_ = 0;
  size_t update_patches_ = 0;
  size_t patched_changes_ = 0;
  unsigned long wholes_seen_ = 0;
  std::vector<std::string> log_;
};

}  // namespace dnsd::test
