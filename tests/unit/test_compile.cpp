// Compiled answers, parsed back with ldns: every section and field of each response shape.
#include <catch2/catch.hpp>

#include <algorithm>
#include <ctime>

#include "compiled_zone.hpp"

using namespace dnsd;
using namespace dnsd::test;

namespace {

const std::string zone_yaml =
    "zone: lab.example.com\n"
    "ttl: 30\n"
    "soa: { mname: ns1.lab.example.com, rname: hostmaster.lab.example.com, minimum: 10 }\n"
    "ns: [ns1.lab.example.com, ns2.example.org]\n"
    "records: |\n"
    "  ns1 3600 IN A 192.0.2.53\n"
    "  www IN CNAME ns1\n"
    "  mail IN MX 10 ns1\n"
    "clusters:\n"
    "  - name: c1\n"
    "    members:\n"
    "      - { name: e1, host: etcd-1.c1.lab.example.com, addresses: [192.0.2.21] }\n"
    "      - { name: e2, host: etcd-2.c1.lab.example.com, addresses: [192.0.2.22] }\n"
    "      - { name: e3, host: Etcd-3.C1.lab.example.com, addresses: [192.0.2.23] }\n";

const CompiledZone& zone() {
  static CompiledZone z(zone_yaml);
  return z;
}

uint32_t serial() { return zone().snapshot()->zones().front().serial; }

}  // namespace

TEST_CASE("SRV answer: AA, the set in order, targets' addresses in additional", "[compile]") {
  QueryOptions o;
  o.edns = true;
  auto p = zone().ask("_etcd-server-ssl-C1._tcp.lab.EXAMPLE.com", rr_type::srv, o);
  REQUIRE(p);
  CHECK(ldns_pkt_get_rcode(p.get()) == LDNS_RCODE_NOERROR);
  CHECK(ldns_pkt_aa(p.get()));
  CHECK(ldns_pkt_qr(p.get()));
  CHECK_FALSE(ldns_pkt_ra(p.get()));
  CHECK(section_text(ldns_pkt_question(p.get())) == "_etcd-server-ssl-C1._tcp.lab.EXAMPLE.com.\tIN\tSRV\n");
  CHECK(section_text(ldns_pkt_answer(p.get())) ==
        "_etcd-server-ssl-C1._tcp.lab.EXAMPLE.com.\t30\tIN\tSRV\t0 0 2380 etcd-1.c1.lab.example.com.\n"
        "_etcd-server-ssl-C1._tcp.lab.EXAMPLE.com.\t30\tIN\tSRV\t0 0 2380 etcd-2.c1.lab.example.com.\n"
        "_etcd-server-ssl-C1._tcp.lab.EXAMPLE.com.\t30\tIN\tSRV\t0 0 2380 Etcd-3.C1.lab.example.com.\n");
  CHECK(ldns_pkt_nscount(p.get()) == 0);
  CHECK(section_text(ldns_pkt_additional(p.get())) ==
        "etcd-1.c1.lab.example.com.\t30\tIN\tA\t192.0.2.21\n"
        "etcd-2.c1.lab.example.com.\t30\tIN\tA\t192.0.2.22\n"
        "Etcd-3.C1.lab.example.com.\t30\tIN\tA\t192.0.2.23\n");
  CHECK(ldns_pkt_edns(p.get()));
  CHECK(ldns_pkt_edns_udp_size(p.get()) == 1232);
}

TEST_CASE("SRV targets are never compressed: each appears in full in the wire bytes", "[compile]") {
  const Bytes r = zone().raw(make_query("_etcd-client-c1._tcp.lab.example.com", rr_type::srv));
  for (const char* t : {"etcd-1.c1.lab.example.com", "etcd-2.c1.lab.example.com", "Etcd-3.C1.lab.example.com"}) {
    INFO(t);
    const Bytes w = test::wire_name(t);
    CHECK(std::search(r.begin(), r.end(), w.begin(), w.end()) != r.end());
  }
}

TEST_CASE("NS at the apex with in-zone glue - A answers - MX additional", "[compile]") {
  auto ns = zone().ask("lab.example.com", rr_type::ns);
  REQUIRE(ns);
  CHECK(section_text(ldns_pkt_answer(ns.get())) ==
        "lab.example.com.\t30\tIN\tNS\tns1.lab.example.com.\n"
        "lab.example.com.\t30\tIN\tNS\tns2.example.org.\n");
  CHECK(section_text(ldns_pkt_additional(ns.get())) == "ns1.lab.example.com.\t3600\tIN\tA\t192.0.2.53\n");

  auto a = zone().ask("etcd-2.c1.lab.example.com", rr_type::a);
  REQUIRE(a);
  CHECK(section_text(ldns_pkt_answer(a.get())) == "etcd-2.c1.lab.example.com.\t30\tIN\tA\t192.0.2.22\n");
  CHECK(ldns_pkt_arcount(a.get()) == 0);

  auto mx = zone().ask("mail.lab.example.com", rr_type::mx);
  REQUIRE(mx);
  CHECK(section_text(ldns_pkt_additional(mx.get())) == "ns1.lab.example.com.\t3600\tIN\tA\t192.0.2.53\n");
}

TEST_CASE("SOA query answers the SOA with the serial", "[compile]") {
  auto p = zone().ask("lab.example.com", rr_type::soa);
  REQUIRE(p);
  CHECK(section_text(ldns_pkt_answer(p.get())) ==
        "lab.example.com.\t30\tIN\tSOA\tns1.lab.example.com. hostmaster.lab.example.com. " + std::to_string(serial()) +
            " 3600 600 86400 10\n");
}

TEST_CASE("NXDOMAIN, NODATA and empty non-terminals carry the SOA with the negative TTL", "[compile]") {
  struct Row {
    const char* name;
    uint16_t type;
    ldns_pkt_rcode rcode;
  };
  const std::vector<Row> rows = {
      {"nothing.lab.example.com", rr_type::a, LDNS_RCODE_NXDOMAIN},
      {"a.b.nothing.lab.example.com", rr_type::srv, LDNS_RCODE_NXDOMAIN},
      {"below.etcd-1.c1.lab.example.com", rr_type::a, LDNS_RCODE_NXDOMAIN},
      {"etcd-1.c1.lab.example.com", rr_type::aaaa, LDNS_RCODE_NOERROR},
      {"_tcp.lab.example.com", rr_type::srv, LDNS_RCODE_NOERROR},
      {"c1.lab.example.com", rr_type::a, LDNS_RCODE_NOERROR},
      {"_etcd-server-ssl-c1._tcp.lab.example.com", rr_type::a, LDNS_RCODE_NOERROR},
  };
  const std::string soa = "lab.example.com.\t10\tIN\tSOA\tns1.lab.example.com. hostmaster.lab.example.com. " +
                          std::to_string(serial()) + " 3600 600 86400 10\n";
  for (const Row& row : rows) {
    INFO(row.name);
    auto p = zone().ask(row.name, row.type);
    REQUIRE(p);
    CHECK(ldns_pkt_get_rcode(p.get()) == row.rcode);
    CHECK(ldns_pkt_aa(p.get()));
    CHECK(ldns_pkt_ancount(p.get()) == 0);
    CHECK(section_text(ldns_pkt_authority(p.get())) == soa);
    CHECK(ldns_pkt_qdcount(p.get()) == 1);
  }
}

TEST_CASE("CNAME answers for other types, chased inside the zone", "[compile]") {
  auto p = zone().ask("WWW.lab.example.com", rr_type::a);
  REQUIRE(p);
  CHECK(section_text(ldns_pkt_answer(p.get())) ==
        "WWW.lab.example.com.\t30\tIN\tCNAME\tns1.lab.example.com.\n"
        "ns1.lab.example.com.\t3600\tIN\tA\t192.0.2.53\n");
  auto t = zone().ask("www.lab.example.com", rr_type::txt);
  REQUIRE(t);
  CHECK(section_text(ldns_pkt_answer(t.get())) == "www.lab.example.com.\t30\tIN\tCNAME\tns1.lab.example.com.\n");
}

TEST_CASE("ANY gets one synthesized HINFO (RFC 8482)", "[compile]") {
  auto p = zone().ask("lab.example.com", rr_type::any);
  REQUIRE(p);
  CHECK(ldns_pkt_get_rcode(p.get()) == LDNS_RCODE_NOERROR);
  CHECK(ldns_pkt_aa(p.get()));
  CHECK(section_text(ldns_pkt_answer(p.get())) == "lab.example.com.\t30\tIN\tHINFO\t\"RFC8482\" \"\"\n");
  // One body serves the zone: its owner is the question name, whatever name and case were asked.
  auto deep = zone().ask("_ETCD-server-ssl-c1._tcp.lab.example.com", rr_type::any);
  REQUIRE(deep);
  CHECK(section_text(ldns_pkt_answer(deep.get())) == "_ETCD-server-ssl-c1._tcp.lab.example.com.\t30\tIN\tHINFO\t\"RFC8482\" \"\"\n");
  auto empty = zone().ask("_tcp.lab.example.com", rr_type::any);  // an empty non-terminal: NODATA
  REQUIRE(empty);
  CHECK(ldns_pkt_ancount(empty.get()) == 0);
  CHECK(ldns_pkt_get_rcode(empty.get()) == LDNS_RCODE_NOERROR);
}

TEST_CASE("a large cluster truncates over plain UDP and answers in full over TCP", "[compile]") {
  std::string yaml =
      "zone: big.example\nsoa: { mname: ns1.example.org, rname: h.example.org }\nns: [ns1.example.org]\n"
      "clusters:\n  - name: c1\n    members:\n";
  for (int i = 0; i < 40; ++i)
    yaml += "      - { name: m" + std::to_string(i) + ", host: member-" + std::to_string(i) +
            ".big.example, addresses: [192.0.2." + std::to_string(i + 1) + "] }\n";
  CompiledZone z(yaml);
  const std::string name = "_etcd-server-ssl-c1._tcp.big.example";
  auto udp = z.ask(name, rr_type::srv);
  REQUIRE(udp);
  CHECK(ldns_pkt_tc(udp.get()));
  CHECK(ldns_pkt_ancount(udp.get()) == 0);
  CHECK(ldns_pkt_qdcount(udp.get()) == 1);

  QueryOptions o;
  o.edns = true;
  o.edns_size = 4096;  // capped at 1232: 40 uncompressed targets do not fit
  const Bytes edns_reply = z.raw(make_query(name, rr_type::srv, 1, o));
  CHECK(edns_reply.size() <= 1232);
  CHECK((edns_reply[2] & 0x02) != 0);

  auto tcp = z.ask(name, rr_type::srv, {}, Transport::tcp);
  REQUIRE(tcp);
  CHECK_FALSE(ldns_pkt_tc(tcp.get()));
  CHECK(ldns_pkt_ancount(tcp.get()) == 40);
  CHECK(ldns_pkt_arcount(tcp.get()) == 40);
}

namespace {
// A zone whose big.lab.example.com TXT set makes a reply body of exactly 244 records of 268 bytes
// and one more of 13 + last bytes.
std::string big_txt_zone(size_t last) {
  std::string yaml = "zone: lab.example.com\nsoa: { mname: ns.example.org, rname: h.example.org }\nns: [ns.example.org]\nrecords: |\n";
  for (int i = 0; i < 244; ++i) {
    const std::string n = std::to_string(1000 + i);
    yaml += "  big IN TXT \"" + n + std::string(255 - n.size(), 'x') + "\"\n";
  }
  yaml += "  big IN TXT \"" + std::string(last, 'y') + "\"\n";
  return yaml;
}
}  // namespace

TEST_CASE("a TXT record of 255 strings or more is refused by line, not cut short", "[compile]") {
  const auto zone_with = [](int strings) {
    std::string txt;
    for (int i = 0; i < strings; ++i) txt += " \"" + std::to_string(i) + "\"";
    return "zone: lab.example.com\nsoa: { mname: ns.example.org, rname: h.example.org }\nns: [ns.example.org]\n"
           "records: |\n  ok IN A 192.0.2.1\n  t IN TXT" + txt + "\n";
  };
  // ldns would keep the first 255 of 300 and drop the rest.
  CHECK_THROWS_WITH(CompiledZone(zone_with(300)), Catch::Contains(":6: a TXT record holds at most 254 strings"));
  CHECK_THROWS_WITH(CompiledZone(zone_with(255)), Catch::Contains("at most 254 strings"));
  const CompiledZone z(zone_with(254));
  auto r = z.ask("t.lab.example.com", rr_type::txt, {}, Transport::tcp);
  REQUIRE(r);
  REQUIRE(ldns_pkt_ancount(r.get()) == 1);
  CHECK(ldns_rr_rd_count(ldns_rr_list_rr(ldns_pkt_answer(r.get()), 0)) == 254);
}

TEST_CASE("an RRset too big to answer over TCP beside our OPT and cookie is refused, not truncated", "[compile]") {
  // Header 12 + question 25 = 37. 244 x 268 + 13 + 73 = 65478 of answer: 65515 bytes, which fits
  // 65535 alone but not with room for our OPT and a server cookie (39 more).
  CHECK_THROWS_WITH(CompiledZone(big_txt_zone(73)), Catch::Contains("big.lab.example.com. TXT cannot be served: answer over 64 KiB"));
  // 19 bytes less: it fits with the room kept, and TCP with EDNS gets it whole.
  const CompiledZone z(big_txt_zone(54));
  QueryOptions o;
  o.edns = true;
  const Bytes r = z.raw(make_query("big.lab.example.com", rr_type::txt, 1, o), Transport::tcp);
  CHECK_FALSE(tc_of(r));
  CHECK(rd16(r, 6) == 245);
  CHECK(r.size() == 37 + 65392 + 13 + 54 + 11);
}

TEST_CASE("RRsets are grouped by owner and type as they first appear, and one renderer gives each answer a fresh one gives", "[compile]") {
  // 200 members: the SRV answers' compression tables grow past what a reset keeps; the mixed-case
  // host and the CNAME of zone_yaml come along in the same zone's records.
  // And a set whose records give two TTLs: the first one's is the set's (RFC 2181 §5.2).
  std::string yaml = zone_yaml;
  yaml.insert(yaml.find("records: |\n") + 11, "  multi 60 IN A 192.0.2.1\n  multi 120 IN A 192.0.2.2\n");
  for (int i = 4; i < 200; ++i)
    yaml += "      - { name: e" + std::to_string(i) + ", host: etcd-" + std::to_string(i) + ".c1.lab.example.com, addresses: [10.0." +
            std::to_string(i / 250) + "." + std::to_string(i % 250 + 1) + ", \"2001:db8::" + std::to_string(i) + "\"] }\n";
  CompiledZone z(yaml);
  const std::vector<Record>& records = z.compiled().zones.at(0).records;
  const RRsetTable table(records, 0, records.size());
  const std::vector<RRset>& sets = table.sets();
  size_t held = 0, first_new = 0;
  for (size_t i = 0; i < records.size(); ++i) {
    const Rr& rr = records[i].rr;
    const RRset* set = table.find(fold_wire(rr.owner()), rr.type());
    REQUIRE(set);
    CHECK(std::count(set->rrs.begin(), set->rrs.end(), &rr) == 1);
    if (set->rrs.front() == &rr) {  // a set's first record: the sets come in that order, with its TTL
      CHECK(set == &sets.at(first_new++));
      CHECK(set->ttl == rr.ttl());
    }
  }
  for (const RRset& set : sets) held += set.rrs.size();
  CHECK(held == records.size());
  CHECK(first_new == sets.size());
  CHECK_FALSE(table.find(fold_wire(records.at(1).rr.owner()), LDNS_RR_TYPE_TXT));
  CHECK_FALSE(table.find(std::string("\4none\0", 6), LDNS_RR_TYPE_A));
  const RRset* multi = table.find(lower_wire("multi.lab.example.com."), LDNS_RR_TYPE_A);
  REQUIRE(multi);
  CHECK(multi->rrs.size() == 2);
  CHECK(multi->ttl == 60);
  const auto multi_reply = z.ask("multi.lab.example.com", rr_type::a);
  REQUIRE(multi_reply);
  REQUIRE(ldns_rr_list_rr_count(ldns_pkt_answer(multi_reply.get())) == 2);
  for (size_t i = 0; i < 2; ++i) CHECK(ldns_rr_ttl(ldns_rr_list_rr(ldns_pkt_answer(multi_reply.get()), i)) == 60);

  const RRsetFinder find = [&table](std::string_view owner, ldns_rr_type type) { return table.find(owner, type); };
  AnswerRenderer shared;
  size_t rendered = 0;
  for (int round = 0; round < 2; ++round)  // in order, then backwards: big answers before small ones and after
    for (size_t k = 0; k < sets.size(); ++k) {
      const RRset& set = sets[round == 0 ? k : sets.size() - 1 - k];
      INFO("set " << wire_text(set.owner) << " type " << set.type);
      CHECK(shared.rrset(set, nullptr, find) == render_rrset(set, nullptr, find));
      ++rendered;
    }
  CHECK(rendered == 2 * sets.size());
  CHECK(sets.size() > 400);  // 200 hosts with A and AAAA
}
