// DNS UPDATE (RFC 2136) on a compiled zone: each phase of §3 alone (prerequisites, prescan, apply),
// then the whole: adds, deletes, CNAME rules and config-owned records.
#include <catch2/catch.hpp>

#include "compiled_zone.hpp"
#include "update.hpp"
#include "update_message.hpp"

using namespace dnsd;
using namespace dnsd::test;

namespace {

const char* zone_yaml =
    "zone: lab.example.com\n"
    "soa: { mname: ns1.lab.example.com, rname: hostmaster.lab.example.com }\n"
    "ns: [ns1.lab.example.com]\n"
    "records: |\n"
    "  ns1 IN A 192.0.2.53\n"
    "  alias IN CNAME ns1\n"
    "clusters:\n"
    "  - name: c1\n"
    "    members: [{ name: e1, host: etcd-1.lab.example.com, addresses: [192.0.2.21] },\n"
    "              { name: e2, host: etcd-2.c1.lab.example.com, addresses: [192.0.2.22] }]\n"
    "update: { keys: [ddns] }\n";

// A CAA RR whose tag is empty: valid wire, but its text form does not read back.
ldns_rr* caa_empty_tag() {
  const uint8_t wire[] = {3, 'c', 'a', 'a', 3, 'l', 'a', 'b', 7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 3, 'c', 'o', 'm', 0,
                          1, 1, 0, 1, 0, 0, 0, 60, 0, 4, 0xC0, 0, 0, 0};
  ldns_rr* r = nullptr;
  size_t pos = 0;
  REQUIRE(ldns_wire2rr(&r, wire, sizeof wire, &pos, LDNS_SECTION_AUTHORITY) == LDNS_STATUS_OK);
  return r;
}

UpdateResult run(const ZoneRecords& zone, const std::vector<std::string>& records, std::vector<ldns_rr*> prereqs,
                 std::vector<ldns_rr*> updates) {
  dnsd::PktPtr p(update_message("lab.example.com.", prereqs, updates));
  return apply_update(p.get(), zone, records);
}

// An ldns RR list that owns its records: the phases take lists, as ldns_pkt_answer/authority give them.
struct RrList {
  ldns_rr_list* list = ldns_rr_list_new();
  explicit RrList(const std::vector<ldns_rr*>& rrs) {
    for (ldns_rr* r : rrs) ldns_rr_list_push_rr(list, r);
  }
  ~RrList() { ldns_rr_list_deep_free(list); }
  RrList(const RrList&) = delete;
  RrList& operator=(const RrList&) = delete;
};

}  // namespace

TEST_CASE("UPDATE phase 1, prerequisites (RFC 2136 §3.2), against the zone as served", "[update]") {
  CompiledZone z(zone_yaml, ddns_key_yaml);  // (the zone holds its reserved names only with UPDATE keys)
  const UpdateZone zone(z.compiled().zones[0]);
  struct Row {
    const char* what;
    ldns_rr* prerequisite;
    const char* rcode;
  };
  const Row rows[] = {
      {"name in use: yes", empty_rr("ns1.lab.example.com.", LDNS_RR_TYPE_ANY, LDNS_RR_CLASS_ANY), "NOERROR"},
      {"name in use: no", empty_rr("nope.lab.example.com.", LDNS_RR_TYPE_ANY, LDNS_RR_CLASS_ANY), "NXDOMAIN"},
      {"RRset exists: yes", empty_rr("ns1.lab.example.com.", LDNS_RR_TYPE_A, LDNS_RR_CLASS_ANY), "NOERROR"},
      {"RRset exists: no", empty_rr("ns1.lab.example.com.", LDNS_RR_TYPE_TXT, LDNS_RR_CLASS_ANY), "NXRRSET"},
      {"name not in use: it is", empty_rr("NS1.lab.example.com.", LDNS_RR_TYPE_ANY, LDNS_RR_CLASS_NONE), "YXDOMAIN"},
      {"name not in use: it is not", empty_rr("nope.lab.example.com.", LDNS_RR_TYPE_ANY, LDNS_RR_CLASS_NONE), "NOERROR"},
      {"RRset does not exist: it does", empty_rr("ns1.lab.example.com.", LDNS_RR_TYPE_A, LDNS_RR_CLASS_NONE), "YXRRSET"},
      {"RRset equals: yes", rr("ns1.lab.example.com. 0 IN A 192.0.2.53"), "NOERROR"},
      {"RRset equals: other value", rr("ns1.lab.example.com. 0 IN A 192.0.2.54"), "NXRRSET"},
      {"a TTL", rr("ns1.lab.example.com. 60 IN A 192.0.2.53"), "FORMERR"},
      {"outside the zone", empty_rr("a.example.org.", LDNS_RR_TYPE_ANY, LDNS_RR_CLASS_ANY), "NOTZONE"},
  };
  for (const Row& row : rows) {
    INFO(row.what);
    const RrList prerequisites({row.prerequisite});
    CHECK(rcode_text(check_prerequisites(prerequisites.list, zone).rcode) == row.rcode);
  }
}

TEST_CASE("UPDATE phase 2, prescan (§3.4.1): one bad update refuses the message before any is applied", "[update]") {
  CompiledZone z(zone_yaml, ddns_key_yaml);
  const UpdateZone zone(z.compiled().zones[0]);
  const RrList good({rr("new.lab.example.com. 60 IN A 192.0.2.77")});
  CHECK(prescan_updates(good.list, zone).ok());
  const RrList mixed({rr("new.lab.example.com. 60 IN A 192.0.2.77"), rr("ns1.lab.example.com. 60 IN A 192.0.2.9")});
  const UpdateCheck refused = prescan_updates(mixed.list, zone);
  CHECK(rcode_text(refused.rcode) == "REFUSED");
  CHECK_THAT(refused.why, Catch::Contains("touches records the config owns"));
  // The apply phase alone does not guard the config: the prescan is what keeps it whole.
  CHECK(apply_updates(mixed.list, zone, {}).records.size() == 2);
}

TEST_CASE("UPDATE phase 3, apply (§3.4.2), on the zone's UPDATE records only", "[update]") {
  CompiledZone z(zone_yaml, ddns_key_yaml);
  const UpdateZone zone(z.compiled().zones[0]);
  const std::vector<std::string> before = {"a.lab.example.com.\t60\tIN\tA\t192.0.2.1"};
  const RrList add({rr("a.lab.example.com. 60 IN A 192.0.2.2"), rr("b.lab.example.com. 60 IN TXT \"b\"")});
  UpdateResult r = apply_updates(add.list, zone, before);
  CHECK(r.changed);
  CHECK(r.records == std::vector<std::string>{"a.lab.example.com.\t60\tIN\tA\t192.0.2.1", "a.lab.example.com.\t60\tIN\tA\t192.0.2.2",
                                              "b.lab.example.com.\t60\tIN\tTXT\t\"b\""});
  const RrList again({rr("a.lab.example.com. 60 IN A 192.0.2.1")});
  r = apply_updates(again.list, zone, before);
  CHECK_FALSE(r.changed);  // already there: nothing to write
  CHECK(r.records == before);
}

TEST_CASE("UPDATE semantics: adds, deletes, CNAME rules and config-owned records", "[update]") {
  CompiledZone z(zone_yaml, ddns_key_yaml);
  const ZoneRecords& zone = z.compiled().zones[0];

  auto r = run(zone, {}, {}, {rr("a.lab.example.com. 60 IN A 192.0.2.1"), rr("a.lab.example.com. 60 IN A 192.0.2.2"),
                              rr("a.lab.example.com. 60 IN A 192.0.2.1")});
  CHECK(r.rcode == 0);
  CHECK(r.changed);
  CHECK(r.records.size() == 2);  // the duplicate is one record

  const std::vector<std::string> two = r.records;
  r = run(zone, two, {}, {rr("a.lab.example.com. 300 IN A 192.0.2.2")});
  CHECK(r.changed);  // only the TTL: the whole RRset takes it
  CHECK_THAT(r.records[0], Catch::Contains("300"));
  CHECK_THAT(r.records[1], Catch::Contains("300"));
  r = run(zone, two, {}, {rr("A.LAB.example.com. 0 NONE A 192.0.2.1")});
  CHECK(r.records.size() == 1);
  r = run(zone, two, {}, {empty_rr("a.lab.example.com.", LDNS_RR_TYPE_ANY, LDNS_RR_CLASS_ANY)});
  CHECK(r.records.empty());
  CHECK(r.changed);
  r = run(zone, two, {}, {empty_rr("b.lab.example.com.", LDNS_RR_TYPE_A, LDNS_RR_CLASS_ANY)});
  CHECK_FALSE(r.changed);

  // CNAME and other data never share a name: such adds are ignored (RFC 2136 §3.4.2.2).
  r = run(zone, two, {}, {rr("a.lab.example.com. 60 IN CNAME ns1.lab.example.com.")});
  CHECK(r.rcode == 0);
  CHECK_FALSE(r.changed);
  r = run(zone, {}, {}, {rr("alias.lab.example.com. 60 IN TXT \"x\"")});
  CHECK(r.rcode == 0);  // alias is a CNAME in the config: the TXT is ignored
  CHECK_FALSE(r.changed);
  r = run(zone, {}, {}, {rr("c.lab.example.com. 60 IN CNAME ns1.lab.example.com."), rr("c.lab.example.com. 60 IN CNAME etcd-1.lab.example.com.")});
  REQUIRE(r.records.size() == 1);  // a CNAME replaces the name's CNAME
  CHECK_THAT(r.records[0], Catch::Contains("etcd-1"));

  struct Row {
    const char* what;
    ldns_rr* update;
    uint8_t rcode;
  };
  const Row rows[] = {
      {"config A", rr("ns1.lab.example.com. 60 IN A 192.0.2.9"), rcode::refused},
      {"generated SRV", empty_rr("_etcd-client-c1._tcp.lab.example.com.", LDNS_RR_TYPE_SRV, LDNS_RR_CLASS_ANY), rcode::refused},
      {"member address", rr("etcd-1.lab.example.com. 0 NONE A 192.0.2.21"), rcode::refused},
      {"all at a config name", empty_rr("etcd-1.lab.example.com.", LDNS_RR_TYPE_ANY, LDNS_RR_CLASS_ANY), rcode::refused},
      // Every name the etcd records use is the config's, whatever the type.
      {"AAAA beside a member's A", rr("etcd-1.lab.example.com. 60 IN AAAA 2001:db8::666"), rcode::refused},
      {"SRV of the other scheme", rr("_etcd-server-c1._tcp.lab.example.com. 60 IN SRV 0 0 2380 x.example.org."), rcode::refused},
      {"TXT at the other client name", rr("_etcd-client-ssl-c1._tcp.lab.example.com. 60 IN TXT \"x\""), rcode::refused},
      {"CNAME at _tcp", rr("_tcp.lab.example.com. 60 IN CNAME ns1.lab.example.com."), rcode::refused},
      {"CNAME at c1 above a member", rr("c1.lab.example.com. 60 IN CNAME ns1.lab.example.com."), rcode::refused},
      {"apex: all but SOA and NS", empty_rr("lab.example.com.", LDNS_RR_TYPE_ANY, LDNS_RR_CLASS_ANY), rcode::noerror},
      {"delete apex NS", empty_rr("lab.example.com.", LDNS_RR_TYPE_NS, LDNS_RR_CLASS_ANY), rcode::refused},
      {"delegation", rr("sub.lab.example.com. 60 IN NS ns.example.org."), rcode::refused},
      {"wildcard", rr("*.lab.example.com. 60 IN A 192.0.2.1"), rcode::refused},
      {"meta type", empty_rr("x.lab.example.com.", LDNS_RR_TYPE_AXFR, LDNS_RR_CLASS_IN), rcode::formerr},
      {"delete with TTL", rr("a.lab.example.com. 60 NONE A 192.0.2.1"), rcode::formerr},
      {"outside", rr("a.example.org. 60 IN A 192.0.2.1"), rcode_update::notzone},
      {"class CH", rr("a.lab.example.com. 60 CH A 192.0.2.1"), rcode::formerr},
      {"RDATA with no text form (CAA, empty tag)", caa_empty_tag(), rcode::formerr},  // found by fuzz_update
  };
  for (const Row& row : rows) {
    INFO(row.what);
    r = run(zone, two, {}, {rr("new.lab.example.com. 60 IN A 192.0.2.77"), row.update});
    CHECK(int(r.rcode) == int(row.rcode));
    if (r.rcode == 0) CHECK(r.records.size() == 3);  // new added; a.* kept (not at the apex)
  }
}
