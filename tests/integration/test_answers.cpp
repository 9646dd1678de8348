// The answer table of docs/ARCHITECTURE.md row by row against the real binary over UDP and TCP; replies parsed with ldns.
#include <catch2/catch.hpp>

#include "harness.hpp"
#include "ldns_reply.hpp"

using namespace dnsd::test;

namespace {

struct Server {
  TempDir dir;
  DnsdProcess dnsd;
  explicit Server(const std::string& zone_extra = "") : dnsd(write_config(dir, zone_extra)) {}
  Pkt udp(const std::string& name, uint16_t type, uint16_t klass = 1, QueryOptions o = {}) {
    return parse_reply(udp_exchange(dnsd.port(), make_query(name, type, klass, o)));
  }
  Pkt tcp(const std::string& name, uint16_t type, QueryOptions o = {}) {
    auto r = tcp_exchange(dnsd.port(), {make_query(name, type, 1, o)}, 1);
    return r.empty() ? nullptr : parse_reply(r[0]);
  }
};

Server& server() {
  static Server s;
  return s;
}

}  // namespace

TEST_CASE("data: AA, SRV set in order, addresses in additional, question echoed as sent", "[answers]") {
  for (bool over_tcp : {false, true}) {
    INFO((over_tcp ? "tcp" : "udp"));
    auto p = over_tcp ? server().tcp("_ETCD-server-ssl-c1._tcp.Lab.example.com", 33)
                      : server().udp("_ETCD-server-ssl-c1._tcp.Lab.example.com", 33);
    REQUIRE(p);
    CHECK(ldns_pkt_get_rcode(p.get()) == LDNS_RCODE_NOERROR);
    CHECK(ldns_pkt_aa(p.get()));
    CHECK(ldns_pkt_rd(p.get()));
    CHECK_FALSE(ldns_pkt_ra(p.get()));
    CHECK(rrs(ldns_pkt_question(p.get())) == "_ETCD-server-ssl-c1._tcp.Lab.example.com.\tIN\tSRV\n");
    CHECK(rrs(ldns_pkt_answer(p.get())) ==
          "_ETCD-server-ssl-c1._tcp.Lab.example.com.\t30\tIN\tSRV\t0 0 2380 etcd-1.c1.lab.example.com.\n"
          "_ETCD-server-ssl-c1._tcp.Lab.example.com.\t30\tIN\tSRV\t0 0 2380 etcd-2.c1.lab.example.com.\n"
          "_ETCD-server-ssl-c1._tcp.Lab.example.com.\t30\tIN\tSRV\t0 0 2380 etcd-3.c1.lab.example.com.\n");
    CHECK(rrs(ldns_pkt_additional(p.get())) ==
          "etcd-1.c1.lab.example.com.\t30\tIN\tA\t192.0.2.21\n"
          "etcd-2.c1.lab.example.com.\t30\tIN\tA\t192.0.2.22\n"
          "etcd-3.c1.lab.example.com.\t30\tIN\tA\t192.0.2.23\n");
  }
}

TEST_CASE("NODATA, NXDOMAIN and empty non-terminals: AA and the SOA", "[answers]") {
  struct Row {
    const char* name;
    uint16_t type;
    ldns_pkt_rcode rcode;
  };
  for (const Row& row : std::vector<Row>{{"etcd-1.c1.lab.example.com", 28, LDNS_RCODE_NOERROR},
                                         {"_tcp.lab.example.com", 33, LDNS_RCODE_NOERROR},
                                         {"missing.lab.example.com", 1, LDNS_RCODE_NXDOMAIN}}) {
    INFO(row.name);
    auto p = server().udp(row.name, row.type);
    REQUIRE(p);
    CHECK(ldns_pkt_get_rcode(p.get()) == row.rcode);
    CHECK(ldns_pkt_aa(p.get()));
    CHECK(ldns_pkt_ancount(p.get()) == 0);
    REQUIRE(ldns_pkt_nscount(p.get()) == 1);
    const ldns_rr* soa = ldns_rr_list_rr(ldns_pkt_authority(p.get()), 0);
    CHECK(ldns_rr_get_type(soa) == LDNS_RR_TYPE_SOA);
    CHECK(ldns_rr_ttl(soa) == 10);  // min(SOA TTL 30, minimum 10)
  }
}

TEST_CASE("REFUSED outside our zones and for other classes, without AA", "[answers]") {
  for (auto [name, klass] : std::vector<std::pair<const char*, uint16_t>>{{"example.org", 1}, {"lab.example.com", 3}}) {
    INFO(name);
    auto p = server().udp(name, 16, klass);
    REQUIRE(p);
    CHECK(ldns_pkt_get_rcode(p.get()) == LDNS_RCODE_REFUSED);
    CHECK_FALSE(ldns_pkt_aa(p.get()));
    CHECK(ldns_pkt_qdcount(p.get()) == 1);
  }
}

TEST_CASE("ANY: one synthesized HINFO", "[answers]") {
  auto p = server().udp("lab.example.com", 255);
  REQUIRE(p);
  CHECK(ldns_pkt_aa(p.get()));
  CHECK(rrs(ldns_pkt_answer(p.get())) == "lab.example.com.\t30\tIN\tHINFO\t\"RFC8482\" \"\"\n");
}

TEST_CASE("EDNS: our payload size, DO copied, BADVERS for version 1", "[answers]") {
  QueryOptions o;
  o.edns = true;
  o.edns_size = 4096;
  o.edns_do = true;
  auto p = server().udp("etcd-1.c1.lab.example.com", 1, 1, o);
  REQUIRE(p);
  CHECK(ldns_pkt_edns(p.get()));
  CHECK(ldns_pkt_edns_udp_size(p.get()) == 1232);
  CHECK(ldns_pkt_edns_do(p.get()));
  CHECK(ldns_pkt_edns_version(p.get()) == 0);

  o.edns_version = 1;
  auto bad = server().udp("etcd-1.c1.lab.example.com", 1, 1, o);
  REQUIRE(bad);
  CHECK(ldns_pkt_edns_extended_rcode(bad.get()) == 1);  // 16 >> 4: BADVERS
  CHECK(ldns_pkt_ancount(bad.get()) == 0);
  CHECK_FALSE(ldns_pkt_aa(bad.get()));
}

TEST_CASE("NOTIFY to a primary zone: REFUSED - transfers of a zone without transfer rules: REFUSED on both transports", "[answers]") {
  Bytes notify = make_query("lab.example.com", 6);
  notify[2] = 4 << 3;
  auto n = parse_reply(udp_exchange(server().dnsd.port(), notify));
  REQUIRE(n);
  CHECK(ldns_pkt_get_rcode(n.get()) == LDNS_RCODE_REFUSED);
  CHECK(ldns_pkt_get_opcode(n.get()) == LDNS_PACKET_NOTIFY);
  CHECK_FALSE(ldns_pkt_aa(n.get()));

  auto axfr_udp = server().udp("lab.example.com", 252);
  auto axfr_tcp = server().tcp("lab.example.com", 252);
  REQUIRE(axfr_udp);
  REQUIRE(axfr_tcp);
  CHECK(ldns_pkt_get_rcode(axfr_udp.get()) == LDNS_RCODE_REFUSED);
  CHECK(ldns_pkt_get_rcode(axfr_tcp.get()) == LDNS_RCODE_REFUSED);
}

TEST_CASE("too big for UDP: TC=1 with the question only, the full answer over TCP", "[answers]") {
  std::string extra = "  - name: big\n    members:\n";
  for (int i = 0; i < 30; ++i)
    extra += "      - { name: m" + std::to_string(i) + ", host: member-" + std::to_string(i) +
             ".big.lab.example.com, addresses: [192.0.2." + std::to_string(100 + i) + "] }\n";
  Server s(extra);
  const std::string name = "_etcd-server-ssl-big._tcp.lab.example.com";
  const auto raw = udp_exchange(s.dnsd.port(), make_query(name, 33));
  REQUIRE(raw);
  CHECK(raw->size() <= 512);
  auto udp = parse_reply(raw);
  REQUIRE(udp);
  CHECK(ldns_pkt_tc(udp.get()));
  CHECK(ldns_pkt_aa(udp.get()));
  CHECK(ldns_pkt_ancount(udp.get()) == 0);
  CHECK(ldns_pkt_qdcount(udp.get()) == 1);
  auto tcp = s.tcp(name, 33);
  REQUIRE(tcp);
  CHECK_FALSE(ldns_pkt_tc(tcp.get()));
  CHECK(ldns_pkt_ancount(tcp.get()) == 30);
  CHECK(ldns_pkt_arcount(tcp.get()) == 30);
}

TEST_CASE("the control endpoint: healthz, readyz, metrics, 404", "[answers][control]") {
  TempDir dir;
  const uint16_t control = free_port();
  DnsdProcess d(write_config(dir), {"--control", "127.0.0.1:" + std::to_string(control)});
  udp_exchange(d.port(), make_query("missing.lab.example.com", 1));
  CHECK_THAT(http_get(control, "/healthz"), Catch::StartsWith("HTTP/1.1 200") && Catch::Contains("ok"));
  CHECK_THAT(http_get(control, "/readyz"), Catch::StartsWith("HTTP/1.1 200") && Catch::Contains("ready"));
  const std::string metrics = http_get(control, "/metrics");
  CHECK_THAT(metrics, Catch::Contains("dnsd_responses_total{rcode=\"NXDOMAIN\"} 1\n"));
  CHECK_THAT(metrics, Catch::Contains("dnsd_zone_serial{zone=\"lab.example.com.\"}"));
  CHECK_THAT(http_get(control, "/nope"), Catch::StartsWith("HTTP/1.1 404") && Catch::Contains("\"error\""));
}

TEST_CASE("a wildcard listener replies from the address each query was sent to", "[answers]") {
  TempDir dir;
  const uint16_t port = free_port();
  // The harness listens on 127.0.0.1 too (and waits for it); the wildcard ones have their own port.
  DnsdProcess d(write_config(dir), {"--listen", "0.0.0.0:" + std::to_string(port), "--listen", "[::]:" + std::to_string(port)});
  const auto v4 = udp_exchange_to("127.0.0.2", port, make_query("lab.example.com", 6), 1000);
  const auto v6 = udp_exchange_to("::1", port, make_query("lab.example.com", 6), 1000);
  // udp_exchange_to uses a connected socket: a reply from any other source address never arrives.
  REQUIRE(v4);
  REQUIRE(v6);
  CHECK(rcode_of(*v4) == "NOERROR");
  CHECK(rcode_of(*v6) == "NOERROR");
}
