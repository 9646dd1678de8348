// Member health: the rise/fall state machine and the probe metrics.
#include <catch2/catch.hpp>

#include "health.hpp"
#include "health_fixture.hpp"

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

TEST_CASE("probe metrics: results, latency and healthy members", "[health][metrics]") {
  DaemonConfig cfg;
  ZoneConfig z;
  z.zone = "z.";
  z.clusters.push_back(probed_cluster(false));
  cfg.zones.push_back(z);
  const std::vector<ProbedCluster> probed = probed_clusters(cfg);
  REQUIRE(probed.size() == 1);
  CHECK(probed[0].members == std::vector<std::string>{"a", "b", "c"});
  HealthTable t = table("hx");
  t[health_key("z.", "c1", "a")].successes = 7;
  t[health_key("z.", "c1", "a")].latency_sum_s = 0.5;
  DriftTable drift;
  drift[health_key("z.", "c1", "")] = {{"c"}, {}, 1, ""};
  const std::string m = render_health_metrics(probed, t, drift, 3);
  CHECK_THAT(m, Catch::Contains("dnsd_probe_results_total{zone=\"z.\",cluster=\"c1\",member=\"a\",result=\"success\"} 7\n"));
  CHECK_THAT(m, Catch::Contains("dnsd_probe_duration_seconds_sum{zone=\"z.\",cluster=\"c1\",member=\"a\"} 0.500000\n"));
  CHECK_THAT(m, Catch::Contains("dnsd_cluster_members_healthy{zone=\"z.\",cluster=\"c1\"} 1\n"));
  CHECK_THAT(m, Catch::Contains("dnsd_probes_in_flight 3\n"));
  CHECK_THAT(m, Catch::Contains("# TYPE dnsd_probe_results_total counter\n"));
  CHECK_THAT(m, Catch::Contains("dnsd_cluster_drift_members{zone=\"z.\",cluster=\"c1\",kind=\"not_in_etcd\"} 1\n"));
  CHECK_THAT(m, Catch::Contains("dnsd_cluster_drift_members{zone=\"z.\",cluster=\"c1\",kind=\"not_served\"} 0\n"));
}

TEST_CASE("drift: served members etcd does not list, and etcd's members DNS does not serve", "[health][drift]") {
  DaemonConfig cfg;
  ZoneConfig z;
  z.zone = "z.";
  z.clusters.push_back(probed_cluster(false));
  z.clusters[0].members[1].host = "B.z.";  // etcd writes what the member advertised: compared without case
  z.clusters[0].members[2].peer_port = 2390;
  cfg.zones.push_back(z);
  const ProbedCluster c = probed_clusters(cfg).at(0);
  CHECK(c.formed);  // no gate
  CHECK(c.peer_urls == std::vector<std::string>{"https://a.z:2380", "https://b.z:2380", "https://c.z:2390"});

  auto member = [](const std::string& name, const std::string& url) { return EtcdMember{"1", name, {url}, {}}; };
  const ClusterDrift agree = compute_drift(c, {member("a", "https://a.z:2380"), member("b", "https://b.z:2380"),
                                               member("c", "https://C.z:2390")});
  CHECK(agree.not_in_etcd.empty());
  CHECK(agree.not_served.empty());

  // c removed behind dnsd's back; d added by hand, and e added but not started (no name yet).
  const ClusterDrift d = compute_drift(c, {member("a", "https://a.z:2380"), member("b", "https://b.z:2380"),
                                           member("d", "https://d.z:2380"), member("", "https://e.z:2380")});
  CHECK(d.not_in_etcd == std::vector<std::string>{"c"});
  CHECK(d.not_served == std::vector<std::string>{"d", "https://e.z:2380"});
  CHECK(drift_json(d) == R"({"not_in_etcd":["c"],"not_served":["d","https://e.z:2380"],"checked":0,"error":""})");

  z.clusters[0].expected_size = 5;  // a gate still closed: not formed, etcd is not asked
  cfg.zones[0] = z;
  CHECK_FALSE(probed_clusters(cfg).at(0).formed);
}
