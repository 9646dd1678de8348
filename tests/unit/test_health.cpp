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
  const std::string m = render_health_metrics(probed, t, 3);
  CHECK_THAT(m, Catch::Contains("dnsd_probe_results_total{zone=\"z.\",cluster=\"c1\",member=\"a\",result=\"success\"} 7\n"));
  CHECK_THAT(m, Catch::Contains("dnsd_probe_duration_seconds_sum{zone=\"z.\",cluster=\"c1\",member=\"a\"} 0.500000\n"));
  CHECK_THAT(m, Catch::Contains("dnsd_cluster_members_healthy{zone=\"z.\",cluster=\"c1\"} 1\n"));
  CHECK_THAT(m, Catch::Contains("dnsd_probes_in_flight 3\n"));
  CHECK_THAT(m, Catch::Contains("# TYPE dnsd_probe_results_total counter\n"));
}
