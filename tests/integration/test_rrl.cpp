// Response rate limiting against the real binary: a burst from one address for one name is cut to the
// rate, every second limited reply slips out truncated, and other names, TCP and other clients are not
// affected.
#include <catch2/catch.hpp>

#include "harness.hpp"
#include "ldns_reply.hpp"

using namespace dnsd::test;

namespace {

struct Counts {
  int full = 0, truncated = 0;
};

Counts burst(uint16_t port, const std::string& name, int n) {
  std::vector<Bytes> queries;
  for (int i = 0; i < n; ++i) {
    QueryOptions o;
    o.id = uint16_t(i);
    queries.push_back(make_query(name, 33, 1, o));
  }
  Counts c;
  for (const Bytes& r : udp_burst(port, queries)) (r[2] & 0x02 ? c.truncated : c.full)++;
  return c;
}

}  // namespace

TEST_CASE("RRL: a burst is cut to the rate, slips go out truncated, others are unaffected", "[rrl]") {
  TempDir dir;
  const uint16_t control = free_port();
  DnsdProcess dnsd(write_config(dir, "", "rrl: { responses_per_second: 10, slip: 2 }\n", 1),
                   {"--control", "127.0.0.1:" + std::to_string(control)});
  const Counts c = burst(dnsd.port(), "_etcd-server-ssl-c1._tcp.lab.example.com", 200);
  INFO(c.full << " full, " << c.truncated << " truncated");
  CHECK(c.full >= 10);
  CHECK(c.full <= 20);  // 10 a second: the burst may straddle one second boundary
  CHECK(c.truncated >= (200 - 20) / 2 - 1);
  CHECK(c.truncated <= (200 - 10) / 2 + 1);
  // Another name is another bucket; TCP is never limited.
  CHECK(burst(dnsd.port(), "etcd-1.c1.lab.example.com", 5).full == 5);
  const auto tcp = tcp_exchange(dnsd.port(), {make_query("_etcd-server-ssl-c1._tcp.lab.example.com", 33)}, 1);
  REQUIRE(tcp.size() == 1);
  auto p = parse_reply(tcp[0]);
  REQUIRE(p);
  CHECK(ldns_pkt_ancount(p.get()) == 3);
  const std::string metrics = http_get(control, "/metrics");
  auto value = [&](const std::string& name) {
    const size_t at = metrics.find("\n" + name + " ");
    return at == std::string::npos ? -1 : std::stol(metrics.substr(at + name.size() + 2));
  };
  CHECK(value("dnsd_rrl_slipped_total") == c.truncated);
  CHECK(value("dnsd_rrl_dropped_total") == 200 - c.full - c.truncated);
}

TEST_CASE("RRL off (no rrl: key): the same burst is answered in full", "[rrl]") {
  TempDir dir;
  DnsdProcess dnsd(write_config(dir, "", "", 1));
  const Counts c = burst(dnsd.port(), "_etcd-server-ssl-c1._tcp.lab.example.com", 200);
  CHECK(c.full == 200);
  CHECK(c.truncated == 0);
}
