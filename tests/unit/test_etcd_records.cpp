// etcd naming as code: which members each SRV set holds (server sets are membership, client sets
// follow health, fail-open or fail-closed), the client-set TTL cap, and the fail-closed NODATA.
#include <catch2/catch.hpp>

#include "compiled_zone.hpp"
#include "exchange.hpp"
#include "health_fixture.hpp"

using namespace dnsd;
using namespace dnsd::test;

TEST_CASE("client sets follow health, server sets never do", "[health]") {
  struct Row {
    const char* what;
    bool fail_closed;
    std::string states;
    std::string client;
  };
  const std::vector<Row> rows = {
      {"all healthy", false, "hhh", "abc"},
      {"one unhealthy leaves", false, "hxh", "ac"},
      {"unknown members stay", false, "uxu", "ac"},
      {"none healthy: fail-open serves all", false, "xxx", "abc"},
      {"none healthy: fail-closed serves none", true, "xxx", ""},
      {"fail-closed with one healthy", true, "xxh", "c"},
  };
  for (const Row& row : rows) {
    INFO(row.what);
    const Cluster c = probed_cluster(row.fail_closed);
    const HealthTable t = table(row.states);
    CHECK(targets(srv_targets(c, Service::client, "z.", &t)) == row.client);
    CHECK(targets(srv_targets(c, Service::server, "z.", &t)) == "abc");
  }
  Cluster unprobed = probed_cluster(false);
  unprobed.health.reset();
  const HealthTable down = table("xxx");
  CHECK(targets(srv_targets(unprobed, Service::client, "z.", &down)) == "abc");
}

TEST_CASE("client-set TTL is capped at the probe interval", "[health]") {
  Cluster c = probed_cluster(false);
  CHECK(srv_ttl(c, Service::client, 30) == 5);
  CHECK(srv_ttl(c, Service::client, 3) == 3);
  CHECK(srv_ttl(c, Service::server, 30) == 30);
  c.health->interval_ms = 250;
  CHECK(srv_ttl(c, Service::client, 30) == 1);
}

TEST_CASE("a fail-closed empty client set answers NODATA, not NXDOMAIN", "[health]") {
  TempDir dir;
  const std::string conf = dir.write("dnsd.yaml", "listen: [\"127.0.0.1:1\"]\nzones: [\"z.yaml\"]\nstate_dir: state\n");
  dir.write("z.yaml",
            "zone: lab.example.com\nsoa: { mname: ns.example.org, rname: h.example.org }\nns: [ns.example.org]\n"
            "clusters:\n  - name: c1\n    health: { fail_closed: true }\n    members:\n"
            "      - { name: a, host: a.lab.example.com, addresses: [192.0.2.1] }\n");
  DaemonConfig cfg = load_config(conf);
  StateStore state(cfg.state_dir, false);
  HealthTable t;
  t[health_key("lab.example.com.", "c1", "a")].state.observe(false, 1, 1);
  auto compiled = compile_config(cfg, state, &t);
  const Bytes q = make_query("_etcd-client-c1._tcp.lab.example.com", 33);
  const Exchange client(compiled.snapshot.get(), q);
  CHECK(rcode_of(client.reply) == "NOERROR");
  CHECK(rd16(client.reply, 6) == 0);  // no answer
  CHECK(rd16(client.reply, 8) == 1);  // SOA
  // The server set is still there.
  const Exchange server(compiled.snapshot.get(), make_query("_etcd-server-ssl-c1._tcp.lab.example.com", 33));
  CHECK(rd16(server.reply, 6) == 1);
}
