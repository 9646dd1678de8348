// SIGHUP reload with good and broken configs, no query lost meanwhile; start-up refusals.
#include <catch2/catch.hpp>

#include <signal.h>

#include <atomic>
#include <cstdlib>
#include <fstream>
#include <thread>

#include "harness.hpp"
#include "ldns_reply.hpp"

using namespace dnsd::test;

namespace {
uint32_t serial_of(uint16_t port) {
  auto p = parse_reply(udp_exchange(port, make_query("lab.example.com", 6)));
  if (!p || ldns_pkt_ancount(p.get()) != 1) return 0;
  return ldns_rdf2native_int32(ldns_rr_rdf(ldns_rr_list_rr(ldns_pkt_answer(p.get()), 0), 2));
}

ldns_pkt_rcode rcode_for(uint16_t port, const std::string& name) {
  auto p = parse_reply(udp_exchange(port, make_query(name, 1)));
  return p ? ldns_pkt_get_rcode(p.get()) : LDNS_RCODE_SERVFAIL;
}
}  // namespace

TEST_CASE("SIGHUP: a good config is swapped in, a broken one is reported and the old one kept", "[reload]") {
  TempDir dir;
  const std::string conf = write_config(dir);
  DnsdProcess d(conf);
  const uint32_t serial1 = serial_of(d.port());
  REQUIRE(serial1 > 0);
  CHECK(rcode_for(d.port(), "new.lab.example.com") == LDNS_RCODE_NXDOMAIN);

  write_config(dir, "  - name: c2\n    members: [{ name: n1, host: new.lab.example.com, addresses: [192.0.2.99] }]\n");
  d.signal(SIGHUP);
  REQUIRE(d.wait_for_log("control: reloaded 1 zone(s)", 5000));
  CHECK(rcode_for(d.port(), "new.lab.example.com") == LDNS_RCODE_NOERROR);
  const uint32_t serial2 = serial_of(d.port());
  CHECK(serial2 > serial1);

  // Broken: an unknown key on line 13 of the zone file.
  write_config(dir, "  - name: c3\n    colour: blue\n    members: [{ name: x, host: x.lab.example.com, addresses: [192.0.2.7] }]\n");
  d.signal(SIGHUP);
  REQUIRE(d.wait_for_log("reload failed, keeping the old zones", 5000));
  CHECK_THAT(d.log(), Catch::Contains("lab.example.com.yaml:14: unknown key 'colour' in cluster"));
  CHECK(rcode_for(d.port(), "new.lab.example.com") == LDNS_RCODE_NOERROR);
  CHECK(rcode_for(d.port(), "x.lab.example.com") == LDNS_RCODE_NXDOMAIN);
  CHECK(serial_of(d.port()) == serial2);
}

TEST_CASE("no query is lost while the config is reloaded 30 times", "[reload]") {
  TempDir dir;
  const std::string conf = write_config(dir);
  DnsdProcess d(conf);
  std::atomic<bool> stop{false};
  std::atomic<int> sent{0}, answered{0}, wrong{0};
  std::thread client([&] {
    while (!stop) {
      ++sent;
      auto p = parse_reply(udp_exchange(d.port(), make_query("_etcd-server-ssl-c1._tcp.lab.example.com", 33), 1000));
      if (!p) continue;
      ++answered;
      if (ldns_pkt_ancount(p.get()) != 3) ++wrong;
    }
  });
  for (int i = 0; i < 30; ++i) {
    dir.write("zones/extra.yaml", "zone: z" + std::to_string(i) +
                                      ".example\nsoa: { mname: ns.example.org, rname: h.example.org }\nns: [ns.example.org]\n");
    d.signal(SIGHUP);
    REQUIRE(d.wait_for_log("z" + std::to_string(i) + ".example. serial", 5000));
  }
  stop = true;
  client.join();
  CHECK(sent.load() > 30);
  CHECK(answered.load() == sent.load());
  CHECK(wrong.load() == 0);
}

TEST_CASE("start-up refuses a port that another process holds, and a broken config", "[reload]") {
  TempDir dir;
  const std::string conf = write_config(dir);
  DnsdProcess first(conf);
  // The second one must not share the port through SO_REUSEPORT (its own state_dir: the first holds
  // this one).
  const std::string other = dir.write("other.yaml", "listen: [\"127.0.0.1:1\"]\nzones: [\"zones/*.yaml\"]\nstate_dir: state2\n");
  const std::string cmd = std::string(DNSD_BINARY) + " run -c " + other + " --listen 127.0.0.1:" +
                          std::to_string(first.port()) + " 2>" + dir.path("second.log");
  CHECK(WEXITSTATUS(std::system(cmd.c_str())) == 1);
  std::ifstream in(dir.path("second.log"));
  const std::string log((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  CHECK_THAT(log, Catch::Contains("cannot bind UDP 127.0.0.1:" + std::to_string(first.port())));

  dir.write("zones/lab.example.com.yaml", "zone: lab.example.com\nns: [a.b]\n");
  const std::string bad = std::string(DNSD_BINARY) + " run -c " + conf + " --listen 127.0.0.1:0 2>" + dir.path("bad.log");
  CHECK(WEXITSTATUS(std::system(bad.c_str())) == 1);
  std::ifstream in2(dir.path("bad.log"));
  const std::string log2((std::istreambuf_iterator<char>(in2)), std::istreambuf_iterator<char>());
  CHECK_THAT(log2, Catch::Contains("lab.example.com.yaml:1: missing required key 'soa' in zone file"));
}

TEST_CASE("a second dnsd on the same state_dir refuses to start, naming it and the first one's pid", "[reload]") {
  TempDir dir;
  const std::string conf = write_config(dir);
  DnsdProcess first(conf);
  const std::string cmd = std::string(DNSD_BINARY) + " run -c " + conf + " --listen 127.0.0.1:0 2>" + dir.path("second.log");
  CHECK(WEXITSTATUS(std::system(cmd.c_str())) == 1);
  std::ifstream in(dir.path("second.log"));
  const std::string log((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  CHECK_THAT(log, Catch::Contains("state_dir " + dir.path("state") + " is in use by another dnsd (pid " +
                                  std::to_string(first.pid()) + ")"));
  // The first one is unharmed, and once it is gone the directory is free again.
  CHECK(udp_exchange(first.port(), make_query("lab.example.com", 6), 1000));
  first.signal(SIGTERM);
  REQUIRE(first.wait_exit(5000));
  DnsdProcess again(conf);
  CHECK(udp_exchange(again.port(), make_query("lab.example.com", 6), 1000));
}
