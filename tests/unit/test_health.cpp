// Health: the rise/fall state machine, client-set filtering (fail-open and fail-closed), the TTL cap,
// the /health body check and the probe metrics.
#include <catch2/catch.hpp>

#include "compiled_zone.hpp"
#include "etcd_records.hpp"
#include "health.hpp"
#include "prober.hpp"

using namespace dnsd;
using namespace dnsd::test;

TEST_CASE("HealthState: the first result decides, then rise and fall in a row", "[health]") {
  struct Row {
    const char* what;
    std::string results;  // '+' success, '-' failure
    std::string states;   // state after each: u, h, x (unhealthy)
  };
  const std::vector<Row> rows = {
      {"first success", "+", "h"},
      {"first failure", "-", "x"},
      {"fall 3 needs three failures in a row", "+--+---", "hhhhhhx"},
      {"rise 2 needs two successes in a row", "-+-++", "xxxxh"},
      {"flapping never flips", "+-+-+-", "hhhhhh"},
  };
  for (const Row& row : rows) {
    INFO(row.what);
    HealthState s;
    std::string got;
    for (char r : row.results) {
      s.observe(r == '+', 2, 3);
      got += s.state() == Health::healthy ? 'h' : s.state() == Health::unhealthy ? 'x' : 'u';
    }
    CHECK(got == row.states);
  }
  HealthState s;
  CHECK(s.observe(true, 2, 3));    // unknown -> healthy is a flip
  CHECK_FALSE(s.observe(true, 2, 3));
  CHECK_FALSE(s.observe(false, 2, 3));
  CHECK_FALSE(s.observe(false, 2, 3));
  CHECK(s.observe(false, 2, 3));   // third failure
}

namespace {

Cluster probed_cluster(bool fail_closed) {
  Cluster c;
  c.name = "c1";
  c.health = HealthOptions{};
  c.health->fail_closed = fail_closed;
  c.health->interval_ms = 5000;
  for (const char* n : {"a", "b", "c"}) c.members.push_back({n, std::string(n) + ".z.", {"192.0.2.1"}, {}, {}, {}, {}});
  return c;
}

std::string targets(const std::vector<SrvTarget>& t) {
  std::string out;
  for (const auto& x : t) out += x.member->name;
  return out;
}

HealthTable table(const std::string& states) {  // one char per member a, b, c: h, x or u
  HealthTable t;
  for (size_t i = 0; i < states.size(); ++i) {
    if (states[i] == 'u') continue;
    MemberHealth& h = t[health_key("z.", "c1", std::string(1, char('a' + i)))];
    h.state.observe(states[i] == 'h', 1, 1);
  }
  return t;
}

}  // namespace

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
  Bytes r(512);
  Counters c;
  r.resize(query_process(compiled.snapshot.get(), q.data(), q.size(), r.data(), r.size(), Transport::udp, c));
  CHECK(rcode_of(r) == 0);
  CHECK(rd16(r, 6) == 0);  // no answer
  CHECK(rd16(r, 8) == 1);  // SOA
  // The server set is still there.
  const Bytes qs = make_query("_etcd-server-ssl-c1._tcp.lab.example.com", 33);
  r.resize(512);
  r.resize(query_process(compiled.snapshot.get(), qs.data(), qs.size(), r.data(), r.size(), Transport::udp, c));
  CHECK(rd16(r, 6) == 1);
}

TEST_CASE("the /health body decides a probe", "[health]") {
  std::string err;
  CHECK(health_body_ok(200, "{\"health\":\"true\",\"reason\":\"\"}", err));
  CHECK(health_body_ok(200, "{ \"health\": true }", err));
  CHECK(health_body_ok(200, "ok", err));  // /readyz and /livez
  CHECK_FALSE(health_body_ok(200, "{\"health\":\"false\",\"reason\":\"RAFT NO LEADER\"}", err));
  CHECK_THAT(err, Catch::Contains("RAFT NO LEADER"));
  CHECK_FALSE(health_body_ok(503, "{\"health\":\"true\"}", err));
  CHECK(err == "HTTP status 503");
}

TEST_CASE("probe metrics: results, latency and healthy members", "[health][metrics]") {
  DaemonConfig cfg;
  ZoneConfig z;
  z.zone = "z.";
  z.clusters.push_back(probed_cluster(false));
  cfg.zones.push_back(z);
  HealthTable t = table("hx");
  t[health_key("z.", "c1", "a")].successes = 7;
  t[health_key("z.", "c1", "a")].latency_sum_s = 0.5;
  const std::string m = render_health_metrics(cfg, t, 3);
  CHECK_THAT(m, Catch::Contains("dnsd_probe_results_total{zone=\"z.\",cluster=\"c1\",member=\"a\",result=\"success\"} 7\n"));
  CHECK_THAT(m, Catch::Contains("dnsd_probe_duration_seconds_sum{zone=\"z.\",cluster=\"c1\",member=\"a\"} 0.500000\n"));
  CHECK_THAT(m, Catch::Contains("dnsd_cluster_members_healthy{zone=\"z.\",cluster=\"c1\"} 1\n"));
  CHECK_THAT(m, Catch::Contains("dnsd_probes_in_flight 3\n"));
  CHECK_THAT(m, Catch::Contains("# TYPE dnsd_probe_results_total counter\n"));
}

TEST_CASE("health config keys: defaults and errors with file:line", "[health][config]") {
  TempDir dir;
  const std::string conf = dir.write("dnsd.yaml", "listen: [\"127.0.0.1:1\"]\nzones: [\"z.yaml\"]\n");
  const std::string head =
      "zone: lab.example.com\nsoa: { mname: ns.example.org, rname: h.example.org }\nns: [ns.example.org]\n"
      "clusters:\n  - client_tls: true\n    members: [{ name: a, host: a.example.org }]\n";
  dir.write("z.yaml", head + "    health: {}\n");
  const DaemonConfig cfg = load_config(conf);
  const HealthOptions& h = *cfg.zones.at(0).clusters.at(0).health;
  CHECK(h.scheme == "https");  // from client_tls
  CHECK(h.path == "/health");
  CHECK(h.interval_ms == 2000);
  CHECK(h.timeout_ms == 1000);
  CHECK(h.rise == 2);
  CHECK(h.fall == 3);
  CHECK_FALSE(h.fail_closed);
  dir.write("z.yaml", head + "    health: { scheme: gopher, interval: 1s, timeout: 2s, fall: 0, ca_file: nope.pem, colour: 1 }\n");
  try {
    load_config(conf);
    FAIL("no error");
  } catch (const ConfigError& e) {
    const std::string m = e.what();
    CHECK_THAT(m, Catch::Contains("z.yaml:7: scheme must be http or https, not 'gopher'"));
    CHECK_THAT(m, Catch::Contains("z.yaml:7: fall must be an integer from 1 to 100"));
    CHECK_THAT(m, Catch::Contains("nope.pem' does not exist"));
    CHECK_THAT(m, Catch::Contains("z.yaml:7: unknown key 'colour' in health"));
    CHECK_THAT(m, Catch::Contains("z.yaml:7: timeout must not exceed interval"));
  }
}
