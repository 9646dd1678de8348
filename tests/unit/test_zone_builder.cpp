// Record generation: the etcd naming table (docs/ARCHITECTURE.md, "etcd naming"), validation, and
// the records added by UPDATE beside the config's.
#include <catch2/catch.hpp>

#include "compiled_zone.hpp"
#include "registry.hpp"

using namespace dnsd;
using namespace dnsd::test;

namespace {
const std::string head =
    "zone: lab.example.com\nttl: 60\nsoa: { mname: ns1.lab.example.com, rname: hostmaster.lab.example.com }\n"
    "ns: [ns1.example.org]\n";

std::string records_of(const std::string& zone_yaml) {
  CompiledZone z(zone_yaml);
  return zone_text(z.compiled().zones.at(0));
}
}  // namespace

TEST_CASE("the naming table: server/client, ssl/plain, -NAME suffix", "[records]") {
  struct Row {
    const char* what;
    std::string cluster;
    std::vector<std::string> expect;
  };
  const std::string m = "    members: [{ name: e1, host: e1.lab.example.com, addresses: [192.0.2.1] }]\n";
  const std::vector<Row> rows = {
      {"named, TLS peers, clear clients (defaults)", "  - name: c1\n" + m,
       {"_etcd-server-ssl-c1._tcp.lab.example.com.\t60\tIN\tSRV\t0 0 2380 e1.lab.example.com.",
        "_etcd-client-c1._tcp.lab.example.com.\t60\tIN\tSRV\t0 0 2379 e1.lab.example.com.",
        "e1.lab.example.com.\t60\tIN\tA\t192.0.2.1"}},
      {"unnamed, clear peers, TLS clients", "  - peer_tls: false\n    client_tls: true\n" + m,
       {"_etcd-server._tcp.lab.example.com.\t60\tIN\tSRV\t0 0 2380 e1.lab.example.com.",
        "_etcd-client-ssl._tcp.lab.example.com.\t60\tIN\tSRV\t0 0 2379 e1.lab.example.com."}},
      {"ports, priority and weight", "  - name: x\n    peer_port: 12380\n    client_port: 12379\n    priority: 10\n    weight: 5\n" + m,
       {"_etcd-server-ssl-x._tcp.lab.example.com.\t60\tIN\tSRV\t10 5 12380 e1.lab.example.com.",
        "_etcd-client-x._tcp.lab.example.com.\t60\tIN\tSRV\t10 5 12379 e1.lab.example.com."}},
      {"per-member ports", "  - name: p\n    members: [{ name: e1, host: e1.lab.example.com, addresses: [2001:db8::1], peer_port: 3380, client_port: 3379 }]\n",
       {"_etcd-server-ssl-p._tcp.lab.example.com.\t60\tIN\tSRV\t0 0 3380 e1.lab.example.com.",
        "e1.lab.example.com.\t60\tIN\tAAAA\t2001:db8::1"}},
  };
  for (const Row& row : rows) {
    INFO(row.what);
    const std::string text = records_of(head + "clusters:\n" + row.cluster);
    for (const std::string& e : row.expect) CHECK_THAT(text, Catch::Contains(e + "\n"));
  }
}

TEST_CASE("a host outside the zone gets an SRV record but no address from us", "[records]") {
  const std::string text = records_of(head + "clusters:\n  - members: [{ name: e1, host: etcd.example.net }]\n");
  CHECK_THAT(text, Catch::Contains("_etcd-server-ssl._tcp.lab.example.com.\t60\tIN\tSRV\t0 0 2380 etcd.example.net.\n"));
  CHECK_THAT(text, !Catch::Contains("etcd.example.net.\t60\tIN\tA"));
}

TEST_CASE("target spelling is kept byte for byte and the order is the configured one", "[records]") {
  const std::string text = records_of(head +
                                      "clusters:\n  - members:\n"
                                      "      - { name: z, host: Zeta.LAB.example.com, addresses: [192.0.2.3] }\n"
                                      "      - { name: a, host: alpha.lab.example.com, addresses: [192.0.2.1] }\n");
  const auto zeta = text.find("2380 Zeta.LAB.example.com.");
  const auto alpha = text.find("2380 alpha.lab.example.com.");
  REQUIRE(zeta != std::string::npos);
  REQUIRE(alpha != std::string::npos);
  CHECK(zeta < alpha);
}

TEST_CASE("the SOA comes first with serial, timers and the zone TTL", "[records]") {
  const std::string text = records_of(head);
  CHECK_THAT(text, Catch::StartsWith("; zone lab.example.com.\nlab.example.com.\t60\tIN\tSOA\tns1.lab.example.com. "
                                     "hostmaster.lab.example.com. "));
  CHECK_THAT(text, Catch::Contains(" 3600 600 86400 30\nlab.example.com.\t60\tIN\tNS\tns1.example.org.\n"));
}

TEST_CASE("an UPDATE record the config has taken over is dropped with a warning, never served twice", "[records][update]") {
  Registry reg;
  reg.records["lab.example.com."] = {"web.lab.example.com.\t60\tIN\tTXT\t\"two words\"",
                                     "web.lab.example.com.\t60\tIN\tA\t192.0.2.80",
                                     "ns1.lab.example.com. 60 IN A 192.0.2.99"};
  TempDir dir;
  const std::string conf = dir.write("dnsd.yaml", "listen: [\"127.0.0.1:1053\"]\nzones: [\"zones/*.yaml\"]\nstate_dir: state\n");
  dir.write("zones/zone.yaml", head + "records: |\n  ns1 IN A 192.0.2.53\n");
  DaemonConfig cfg = load_config(conf);
  reg.apply(cfg);
  StateStore state(cfg.state_dir, true);
  const CompiledConfig c = compile_config(cfg, state);
  const std::string text = zone_text(c.zones[0]);
  CHECK_THAT(text, Catch::Contains("\"two words\"") && Catch::Contains("192.0.2.80") && !Catch::Contains("192.0.2.99"));
  REQUIRE(c.warnings.size() == 1);
  CHECK_THAT(c.warnings[0].message, Catch::Contains("the config now has this name and type"));
}

TEST_CASE("an UPDATE record at a name the etcd records use is dropped, whether the zone takes UPDATE now or not", "[records][update]") {
  for (const bool keys : {true, false}) {
    INFO((keys ? "update keys" : "no update keys (removed since)"));
    Registry reg;
    reg.records["lab.example.com."] = {"e1.lab.example.com.\t60\tIN\tTXT\t\"at a member's host\"",
                                       "_tcp.lab.example.com.\t60\tIN\tTXT\t\"between\"",
                                       "free.lab.example.com.\t60\tIN\tTXT\t\"kept\""};
    TempDir dir;
    const std::string conf = dir.write(
        "dnsd.yaml", std::string("listen: [\"127.0.0.1:1053\"]\nzones: [\"zones/*.yaml\"]\nstate_dir: state\n") +
                         (keys ? ddns_key_yaml : ""));
    dir.write("zones/zone.yaml", head + (keys ? "update: { keys: [ddns] }\n" : "") +
                                     "clusters:\n  - name: c1\n    members: [{ name: e1, host: e1.lab.example.com, addresses: [192.0.2.1] }]\n");
    DaemonConfig cfg = load_config(conf);
    reg.apply(cfg);
    StateStore state(cfg.state_dir, true);
    const CompiledConfig c = compile_config(cfg, state);
    const std::string text = zone_text(c.zones[0]);
    CHECK_THAT(text, Catch::Contains("\"kept\"") && !Catch::Contains("at a member's host") && !Catch::Contains("between"));
    REQUIRE(c.warnings.size() == 2);
    CHECK_THAT(c.warnings[0].message, Catch::Contains("the etcd records use this name"));
    // The zone holds its reserved names only while it takes UPDATE.
    CHECK(c.zones[0].reserved_names.contains(lower_wire("e1.lab.example.com.")) == keys);
    CHECK(c.zones[0].reserved_names.empty() == !keys);
  }
}
