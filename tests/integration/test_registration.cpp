// The registration API, its durability under kill -9, the bootstrap gate and `dnsd register`, against
// the real binary.
#include <catch2/catch.hpp>

#include <signal.h>
#include <sys/mount.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <random>
#include <set>
#include <thread>

#include "harness.hpp"
#include "ldns_reply.hpp"
#include "../unit/update_message.hpp"

using namespace dnsd::test;

namespace {

const std::string token = "t0ps3cret";
const std::string base = "/v1/zones/lab.example.com/clusters/";

// A zone with a registration cluster r1 (one static member, expected_size 3), and the static c1.
std::string config(const TempDir& dir, bool with_token = true, int expected = 3) {
  dir.write("token", "  " + token + "\n");
  return write_config(dir,
                      "  - name: r1\n    registration: true\n    expected_size: " + std::to_string(expected) +
                          "\n    members: [{ name: s1, host: s1.r1.lab.example.com, addresses: [192.0.2.31] }]\n",
                      with_token ? "control: { listen: \"127.0.0.1:1\", token_file: token }\n" : "");
}

std::string body(const std::string& host, const std::string& address) {
  return "{\"host\": \"" + host + "\", \"addresses\": [\"" + address + "\"]}";
}

// Over TCP: a cluster with hundreds of members does not fit in UDP.
std::vector<std::string> srv_targets(uint16_t port, const std::string& name) {
  const auto replies = tcp_exchange(port, {make_query(name, 33)}, 1);
  auto p = replies.empty() ? nullptr : parse_reply(replies[0]);
  std::vector<std::string> out;
  if (!p) return out;
  for (size_t i = 0; i < ldns_pkt_ancount(p.get()); ++i)
    out.push_back(dnsd::take_ldns_string(ldns_rdf2str(ldns_rr_rdf(ldns_rr_list_rr(ldns_pkt_answer(p.get()), i), 3))));
  return out;
}

ldns_pkt_rcode rcode_for_test(uint16_t port, const std::string& name) {
  auto p = parse_reply(udp_exchange(port, make_query(name, 33)));
  return p ? ldns_pkt_get_rcode(p.get()) : LDNS_RCODE_SERVFAIL;
}

struct Server {
  TempDir dir;
  uint16_t control = free_port();
  std::unique_ptr<DnsdProcess> dnsd;
  explicit Server(bool with_token = true, int expected = 3) {
    config(dir, with_token, expected);
    start();
  }
  void start(uint16_t port = 0) {
    dnsd = std::make_unique<DnsdProcess>(dir.path("dnsd.yaml"), std::vector<std::string>{"--control", "127.0.0.1:" + std::to_string(control)},
                                         true, port);
  }
  HttpReply put(const std::string& member, const std::string& b, const std::string& t = token) {
    return http_request(control, "PUT", base + "r1/members/" + member, b, t);
  }
};

}  // namespace

TEST_CASE("registration API: authentication comes first", "[registration]") {
  Server off(false);
  const HttpReply r = off.put("m1", body("m1.r1.lab.example.com", "192.0.2.41"));
  CHECK(r.status == 405);
  CHECK_THAT(r.body, Catch::Contains("the write API is off"));

  Server s;
  CHECK(s.put("m1", "not json at all", "").status == 401);
  CHECK(s.put("m1", "not json at all", "wrong").status == 401);
  CHECK(s.put("m1", "not json at all", token + "x").status == 401);
  CHECK(s.put("m1", "not json at all", std::string(token.size(), 'x')).status == 401);  // the right length, wrong
  CHECK(http_request(s.control, "DELETE", base + "r1/members/s1", "", "nope").status == 401);
  CHECK(s.put("m1", "not json at all").status == 400);
}

TEST_CASE("registration API: bad bodies are 400 naming the field", "[registration]") {
  Server s;
  // Raw bytes inside a JSON string: a NUL, a space and a newline after a valid address.
  std::string nul_address = "{\"host\": \"m1.r1.lab.example.com\", \"addresses\": [\"192.0.2.4";
  nul_address += '\0';
  nul_address += " x\ny\"]}";
  struct Row {
    const char* what;
    std::string member;
    std::string body;
    int status;
    std::string field;
  };
  const std::vector<Row> rows = {
      {"not an object", "m1", "[1, 2]", 400, ""},
      {"host missing", "m1", "{\"addresses\": [\"192.0.2.1\"]}", 400, "host"},
      {"all-numeric host", "m1", body("10.0.0.9", "192.0.2.1"), 400, "host"},
      {"bad address", "m1", body("m1.r1.lab.example.com", "192.0.2.300"), 400, "addresses"},
      {"in-zone host without addresses", "m1", "{\"host\": \"m1.r1.lab.example.com\"}", 400, "addresses"},
      {"port out of range", "m1", "{\"host\": \"m1.example.org\", \"peer_port\": 70000}", 400, "peer_port"},
      {"unknown field", "m1", "{\"host\": \"m1.example.org\", \"colour\": 1}", 400, "colour"},
      {"bad member name", "m%20x", body("m1.r1.lab.example.com", "192.0.2.1"), 400, "member"},
      {"a static member's name", "s1", body("x.r1.lab.example.com", "192.0.2.1"), 409, "member"},
      {"another member's host", "m2", body("S1.r1.lab.example.com", "192.0.2.1"), 409, "host"},
      {"a raw NUL inside an address (a control character: not JSON)", "m1", nul_address, 400, ""},
      {"an escaped NUL inside an address", "m1", "{\"host\": \"m1.r1.lab.example.com\", \"addresses\": [\"192.0.2.4\\u0000x\"]}", 400, "addresses"},
      {"a field given twice", "m1", "{\"host\": \"a.example.org\", \"host\": \"b.example.org\"}", 400, "host"},
      {"a port in hex", "m1", "{\"host\": \"m1.example.org\", \"peer_port\": 0x950}", 400, "peer_port"},
      {"member name ..", "..", body("m1.r1.lab.example.com", "192.0.2.1"), 400, "member"},
      {"host at the zone apex", "m1", body("lab.example.com", "192.0.2.1"), 400, "host"},
      {"host at a service name", "m1", body("_etcd-server-ssl-r1._tcp.lab.example.com", "192.0.2.1"), 400, "host"},
      {"host above the service names", "m1", body("_tcp.lab.example.com", "192.0.2.1"), 400, "host"},
  };
  for (const Row& row : rows) {
    INFO(row.what);
    const HttpReply r = s.put(row.member, row.body);
    CHECK(r.status == row.status);
    if (!row.field.empty()) CHECK_THAT(r.body, Catch::Contains("\"field\": \"" + row.field + "\""));
  }
  CHECK(http_request(s.control, "PUT", base + "c1/members/m1", body("m1.example.org", "192.0.2.1"), token).status == 403);
  CHECK(http_request(s.control, "PUT", base + "zz/members/m1", body("m1.example.org", "192.0.2.1"), token).status == 404);
  CHECK(http_request(s.control, "PUT", "/v1/zones/example.org/clusters/r1/members/m1", "{}", token).status == 404);
  const std::string big = "{\"host\": \"m1.example.org\", \"x\": \"" + std::string(5000, 'a') + "\"}";
  CHECK(s.put("m1", big).status == 413);
  // Nothing above was written: the registrations file (none yet) is not created by refusals.
  CHECK_FALSE(std::filesystem::exists(s.dir.path("state/registrations")));
}

TEST_CASE("registration API: idempotent PUT, replacing PUT, DELETE, and the gate", "[registration]") {
  Server s;
  const uint16_t dns = s.dnsd->port();
  const std::string server_set = "_etcd-server-ssl-r1._tcp.lab.example.com";
  // Gated: 1 of 3 members. NXDOMAIN with the short negative TTL.
  auto gated = parse_reply(udp_exchange(dns, make_query(server_set, 33)));
  REQUIRE(gated);
  CHECK(ldns_pkt_get_rcode(gated.get()) == LDNS_RCODE_NXDOMAIN);
  CHECK(ldns_pkt_ancount(gated.get()) == 0);
  REQUIRE(ldns_pkt_nscount(gated.get()) == 1);
  CHECK(ldns_rr_get_type(ldns_rr_list_rr(ldns_pkt_authority(gated.get()), 0)) == LDNS_RR_TYPE_SOA);
  CHECK(ldns_rr_ttl(ldns_rr_list_rr(ldns_pkt_authority(gated.get()), 0)) == 1);
  CHECK_THAT(http_request(s.control, "GET", base + "r1").body, Catch::Contains("\"gate\":\"closed\""));

  CHECK(s.put("m1", body("m1.r1.lab.example.com", "192.0.2.41")).status == 201);
  CHECK(s.put("m1", body("m1.r1.lab.example.com", "192.0.2.41")).status == 200);  // the same PUT again
  CHECK(srv_targets(dns, "_etcd-client-r1._tcp.lab.example.com").size() == 2);
  CHECK(s.put("m1", body("m1.r1.lab.example.com", "192.0.2.42")).status == 200);  // a new address
  auto a = parse_reply(udp_exchange(dns, make_query("m1.r1.lab.example.com", 1)));
  REQUIRE(a);
  CHECK(rrs(ldns_pkt_answer(a.get())) == "m1.r1.lab.example.com.\t30\tIN\tA\t192.0.2.42\n");
  CHECK(rcode_for_test(dns, server_set) == LDNS_RCODE_NXDOMAIN);  // 2 of 3

  CHECK(s.put("m2", body("m2.r1.lab.example.com", "192.0.2.43")).status == 201);  // 3 of 3: open
  CHECK(srv_targets(dns, server_set) ==
        std::vector<std::string>{"s1.r1.lab.example.com.", "m1.r1.lab.example.com.", "m2.r1.lab.example.com."});
  CHECK(http_request(s.control, "DELETE", base + "r1/members/m2", "", token).status == 200);
  CHECK(http_request(s.control, "DELETE", base + "r1/members/m2", "", token).status == 404);
  CHECK(http_request(s.control, "DELETE", base + "r1/members/s1", "", token).status == 409);
  // Below expected_size again, but the gate stays open: that is membership change, not un-bootstrapping.
  CHECK(srv_targets(dns, server_set).size() == 2);

  // Everything acknowledged survives a restart, the open gate included.
  s.dnsd.reset();
  s.start();
  CHECK(srv_targets(s.dnsd->port(), server_set) ==
        std::vector<std::string>{"s1.r1.lab.example.com.", "m1.r1.lab.example.com."});
  CHECK_THAT(http_request(s.control, "GET", base + "r1").body, Catch::Contains("\"gate\":\"open\""));
}

TEST_CASE("acknowledged registrations survive kill -9 at random moments", "[registration][durability]") {
  Server s(true, 1);
  const uint16_t dns_port = s.dnsd->port();
  std::mutex mu;
  std::set<std::string> acknowledged;
  std::atomic<bool> stop{false};
  std::vector<std::thread> clients;
  for (int t = 0; t < 3; ++t)
    clients.emplace_back([&, t] {
      for (int i = 0; !stop; ++i) {
        const std::string name = "k" + std::to_string(t) + "-" + std::to_string(i);
        const HttpReply r = s.put(name, body(name + ".r1.lab.example.com", "192.0.2." + std::to_string(1 + i % 250)));
        if (r.status / 100 == 2) {
          std::lock_guard lock(mu);
          acknowledged.insert(name);
        }
        if (r.status == 0) std::this_thread::sleep_for(std::chrono::milliseconds(5));
      }
    });
  std::mt19937 rng(7);
  for (int round = 0; round < 4; ++round) {
    std::this_thread::sleep_for(std::chrono::milliseconds(150 + rng() % 250));
    s.dnsd->signal(SIGKILL);  // mid-write included: the clients never pause
    s.dnsd->wait_exit(5000);
    s.start(dns_port);
    // The file was never found damaged (loading reports that as an error; the clients' new
    // registrations may already be logged as info by now).
    CHECK_THAT(s.dnsd->log(), !Catch::Contains("error registry:"));
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  stop = true;
  for (auto& c : clients) c.join();
  const std::string cluster = http_request(s.control, "GET", base + "r1").body;
  const auto served = srv_targets(dns_port, "_etcd-server-ssl-r1._tcp.lab.example.com");
  std::set<std::string> served_names;
  for (const auto& t : served) served_names.insert(t.substr(0, t.find('.')));
  INFO(acknowledged.size() << " acknowledged, " << served.size() << " served");
  CHECK(acknowledged.size() > 20);
  for (const std::string& name : acknowledged) {
    INFO(name);
    CHECK(served_names.count(name) == 1);
  }
  // Served members are whole: each has its address record.
  for (const auto& t : served) {
    INFO(t);
    const auto a = parse_reply(udp_exchange(dns_port, make_query(t, 1)));
    REQUIRE(a);
    CHECK(ldns_pkt_get_rcode(a.get()) == LDNS_RCODE_NOERROR);
    REQUIRE(ldns_pkt_ancount(a.get()) >= 1);
    CHECK(ldns_rr_get_type(ldns_rr_list_rr(ldns_pkt_answer(a.get()), 0)) == LDNS_RR_TYPE_A);
  }
}

TEST_CASE("a truncated or corrupt registrations file is reported and survived", "[registration][durability]") {
  Server s;
  REQUIRE(s.put("m1", body("m1.r1.lab.example.com", "192.0.2.41")).status == 201);
  REQUIRE(s.put("m2", body("m2.r1.lab.example.com", "192.0.2.42")).status == 201);
  s.dnsd.reset();
  s.start();  // compacts the change log into the file
  s.dnsd.reset();
  const std::string file = s.dir.path("state/registrations");
  CHECK(std::filesystem::file_size(file + ".log") == 0);
  std::filesystem::resize_file(file, std::filesystem::file_size(file) - 10);  // cut the end line
  s.start();
  CHECK_THAT(s.dnsd->log(), Catch::Contains(file + ":") && Catch::Contains("end line"));
  CHECK_THAT(s.dnsd->log(), Catch::Contains("kept the 3 good entries of " + file));
  // Every whole line is kept (two members, the opened gate): both are served, with the static member.
  CHECK(srv_targets(s.dnsd->port(), "_etcd-client-r1._tcp.lab.example.com") ==
        std::vector<std::string>{"s1.r1.lab.example.com.", "m1.r1.lab.example.com.", "m2.r1.lab.example.com."});

  s.dnsd.reset();
  std::ofstream(file) << "garbage\n";
  std::ofstream(file + ".prev") << "dnsd-registrations 1\nmember lab.example.com. r1 x\n";
  s.start();
  CHECK_THAT(s.dnsd->log(), Catch::Contains("not a dnsd registrations file"));
  CHECK_THAT(s.dnsd->log(), Catch::Contains("serving the configured members only"));
  CHECK(srv_targets(s.dnsd->port(), "_etcd-client-r1._tcp.lab.example.com") ==
        std::vector<std::string>{"s1.r1.lab.example.com."});
}

TEST_CASE("dnsd register --wait: waits while the gate is closed, prints the etcd flags once it opens", "[registration][register]") {
  Server s;
  const std::string server_set = "_etcd-server-ssl-r1._tcp.lab.example.com";
  auto member = [&](const std::string& n, int i) {
    return std::vector<std::string>{DNSD_BINARY, "register", "--control", "http://127.0.0.1:" + std::to_string(s.control),
                                    "--token-file", s.dir.path("token"), "--zone", "lab.example.com", "--cluster", "r1",
                                    "--timeout", "20", "--wait", "--member", n, "--host", n + ".r1.lab.example.com",
                                    "--address", "192.0.2.5" + std::to_string(i)};
  };
  // The static s1 and w0: 2 of 3. w0 is registered and still waits; the server set stays withheld.
  ChildProcess w0(member("w0", 0), s.dir.path("w0.out"));
  REQUIRE(w0.wait_for_log("waiting for the cluster to complete (2/3 members)", 10000));
  std::this_thread::sleep_for(std::chrono::milliseconds(700));  // two polls of the cluster
  CHECK(w0.running());
  CHECK_THAT(w0.log(), !Catch::Contains("--name="));
  CHECK(rcode_for_test(s.dnsd->port(), server_set) == LDNS_RCODE_NXDOMAIN);
  CHECK(srv_targets(s.dnsd->port(), "_etcd-client-r1._tcp.lab.example.com").size() == 2);

  // w1 completes the cluster: the gate opens and both print their flags and exit 0.
  ChildProcess w1(member("w1", 1), s.dir.path("w1.out"));
  CHECK(w1.wait_exit(15000) == 0);
  CHECK(w0.wait_exit(15000) == 0);
  CHECK_THAT(w0.log(), Catch::Contains(
                           "--name=w0 --discovery-srv=lab.example.com --discovery-srv-name=r1 "
                           "--initial-advertise-peer-urls=https://w0.r1.lab.example.com:2380 "
                           "--advertise-client-urls=http://w0.r1.lab.example.com:2379 --initial-cluster-token=r1.lab.example.com "
                           "--initial-cluster-state=new\n"));
  CHECK_THAT(w1.log(), Catch::Contains("--name=w1 ") && !Catch::Contains("waiting for the cluster"));
  CHECK(srv_targets(s.dnsd->port(), server_set).size() == 3);
}

TEST_CASE("dnsd register: retries an unreachable dnsd, then gives up", "[registration][register]") {
  Server s;
  const std::string unreachable = std::string(DNSD_BINARY) + " register --control http://127.0.0.1:" +
                                  std::to_string(free_port()) + " --token-file " + s.dir.path("token") +
                                  " --zone lab.example.com --member x --host x.example.org --timeout 1 2> " + s.dir.path("err");
  CHECK(WEXITSTATUS(std::system(unreachable.c_str())) == 1);
  std::ifstream in(s.dir.path("err"));
  const std::string err((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  CHECK_THAT(err, Catch::Contains("Connection refused (retrying in 0.2 s)") && Catch::Contains("(gave up)"));
}

TEST_CASE("the control endpoint over TLS with client certificates", "[registration][tls]") {
  TempDir dir;
  auto sh = [&](const std::string& cmd) { return std::system(("cd " + dir.path() + " && " + cmd + " >/dev/null 2>&1").c_str()); };
  // A CA, a server certificate for 127.0.0.1 and a client certificate; and an unrelated CA.
  for (const std::string ca : {"ca", "other"})
    REQUIRE(sh("openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=" + ca + " -keyout " + ca + "-key.pem -out " + ca + ".pem") == 0);
  dir.write("server.ext", "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n");
  dir.write("client.ext", "extendedKeyUsage=clientAuth\n");
  for (const std::string kind : {"server", "client"}) {
    REQUIRE(sh("openssl req -newkey rsa:2048 -nodes -subj /CN=" + kind + " -keyout " + kind + "-key.pem -out " + kind + ".csr") == 0);
    REQUIRE(sh("openssl x509 -req -in " + kind + ".csr -CA ca.pem -CAkey ca-key.pem -CAcreateserial -days 2 -extfile " +
               kind + ".ext -out " + kind + ".pem") == 0);
  }
  dir.write("token", token + "\n");
  const uint16_t control = free_port();
  write_config(dir, "  - name: r1\n    registration: true\n    members: []\n",
               "control: { listen: \"127.0.0.1:1\", token_file: token,\n"
               "           tls: { cert_file: server.pem, key_file: server-key.pem, client_ca_file: ca.pem } }\n");
  DnsdProcess d(dir.path("dnsd.yaml"), {"--control", "127.0.0.1:" + std::to_string(control)});
  CHECK_THAT(d.log(), Catch::Contains("control: https on 127.0.0.1:" + std::to_string(control) + " (client certificates required)"));

  const std::string reg = std::string(DNSD_BINARY) + " register --control https://127.0.0.1:" + std::to_string(control) +
                          " --token-file " + dir.path("token") + " --zone lab.example.com --cluster r1 --timeout 1" +
                          " --host m1.example.org --member m1";
  auto run = [&](const std::string& extra) {
    return WEXITSTATUS(std::system((reg + " " + extra + " >" + dir.path("out") + " 2>" + dir.path("err")).c_str()));
  };
  auto err = [&] {
    std::ifstream in(dir.path("err"));
    return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  };
  const std::string certs = " --cert-file " + dir.path("client.pem") + " --key-file " + dir.path("client-key.pem");
  CHECK(run("--ca-file " + dir.path("ca.pem") + certs) == 0);
  CHECK(srv_targets(d.port(), "_etcd-server-ssl-r1._tcp.lab.example.com") == std::vector<std::string>{"m1.example.org."});
  CHECK(run("--ca-file " + dir.path("other.pem") + certs) == 1);  // the endpoint's certificate is not trusted
  CHECK_THAT(err(), Catch::Contains("certificate verify failed"));
  CHECK(run("--ca-file " + dir.path("ca.pem")) == 1);  // no client certificate
  CHECK(http_request(control, "GET", base + "r1").status == 0);  // plain HTTP gets nothing
}

TEST_CASE("saved state never stops a start or a reload, and dnsd check says what run will do", "[registration][durability]") {
  Server s;
  REQUIRE(s.put("m1", body("m1.r1.lab.example.com", "192.0.2.41")).status == 201);
  REQUIRE(s.put("m2", body("m2.r1.lab.example.com", "192.0.2.42")).status == 201);
  const uint16_t dns = s.dnsd->port();
  // The config now takes m1's host for a record of its own: on SIGHUP the config wins, m1 is set aside.
  std::string zone = s.dir.read("zones/lab.example.com.yaml");
  zone.replace(zone.find("  ns1 3600 IN A 192.0.2.53\n"), 0, "  m1.r1 IN A 192.0.2.99\n");
  s.dir.write("zones/lab.example.com.yaml", zone);
  s.dnsd->signal(SIGHUP);
  REQUIRE(s.dnsd->wait_for_log("reloaded", 5000));
  CHECK_THAT(s.dnsd->log(), !Catch::Contains("reload failed"));
  CHECK_THAT(s.dnsd->log(), Catch::Contains("warning config: registered member m1 (cluster r1 of lab.example.com.): set aside"));
  auto a = parse_reply(udp_exchange(dns, make_query("m1.r1.lab.example.com", 1)));
  REQUIRE(a);
  CHECK(rrs(ldns_pkt_answer(a.get())) == "m1.r1.lab.example.com.\t30\tIN\tA\t192.0.2.99\n");
  CHECK(srv_targets(dns, "_etcd-client-r1._tcp.lab.example.com") ==
        std::vector<std::string>{"s1.r1.lab.example.com.", "m2.r1.lab.example.com."});

  // dnsd check reads the same state and tells the same story, exit 0.
  const std::string check = std::string(DNSD_BINARY) + " check -c " + s.dir.path("dnsd.yaml") + " > " +
                            s.dir.path("check.out") + " 2> " + s.dir.path("check.err");
  CHECK(WEXITSTATUS(std::system(check.c_str())) == 0);
  CHECK_THAT(s.dir.read("check.err"), Catch::Contains("registered member m1 (cluster r1 of lab.example.com.): warning: set aside"));
  CHECK_THAT(s.dir.read("check.out"), Catch::Contains("m2.r1.lab.example.com.") && Catch::Contains("192.0.2.99"));

  // A restart does the same: it starts, serves, and keeps m1 on disk.
  s.dnsd.reset();
  s.start();
  CHECK_THAT(s.dnsd->log(), Catch::Contains("set aside, not served (kept on disk)"));
  CHECK(srv_targets(s.dnsd->port(), "_etcd-client-r1._tcp.lab.example.com").size() == 2);
  CHECK_THAT(s.dir.read("state/registrations"), Catch::Contains("member lab.example.com. r1 m1 "));
  // m1 registering again with a host of its own is served again.
  CHECK(s.put("m1", body("m1b.r1.lab.example.com", "192.0.2.43")).status == 200);
  CHECK(srv_targets(s.dnsd->port(), "_etcd-client-r1._tcp.lab.example.com").size() == 3);
}

TEST_CASE("a full state_dir: writes refused with 507 and the reason, nothing left behind, serving goes on", "[registration][durability]") {
  TempDir dir;
  dir.write("token", "  " + token + "\n");
  write_config(dir,
               "  - name: r1\n    registration: true\n    expected_size: 3\n"
               "    members: [{ name: s1, host: s1.r1.lab.example.com, addresses: [192.0.2.31] }]\n"
               "update: { keys: [ddns-key] }\n",
               "control: { listen: \"127.0.0.1:1\", token_file: token }\n"
               "tsig_keys: [{ name: ddns-key, algorithm: hmac-sha256, secret: \"c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LTEyMzQ=\" }]\n");
  std::filesystem::create_directories(dir.path("state"));
  // A small filesystem of its own for state_dir (root only: where mounting is not allowed, say so and stop).
  if (mount("tmpfs", dir.path("state").c_str(), "tmpfs", 0, "size=256k") != 0) {
    WARN("cannot mount a tmpfs (not root?): the full-disk test did not run");
    return;
  }
  struct Unmount {
    std::string path;
    ~Unmount() { umount2(path.c_str(), MNT_DETACH); }
  } unmount{dir.path("state")};
  const uint16_t control = free_port();
  const std::vector<std::string> extra{"--control", "127.0.0.1:" + std::to_string(control)};
  auto dnsd = std::make_unique<DnsdProcess>(dir.path("dnsd.yaml"), extra);
  auto put = [&](const std::string& m) {
    return http_request(control, "PUT", base + "r1/members/" + m, body(m + ".r1.lab.example.com", "192.0.2.41"), token);
  };
  REQUIRE(put("m1").status == 201);
  // Fill the disk.
  {
    std::ofstream filler(dir.path("state/filler"), std::ios::binary);
    const std::string block(4096, 'x');
    while (filler.write(block.data(), std::streamsize(block.size())) && filler.flush()) {
    }
  }
  // A registration is one line appended to the change log: the first few may still fit in the space
  // the log's last block has left; then they are refused.
  int fitted = 0;
  HttpReply full = put("m2");
  for (; full.status == 201 && fitted < 100; full = put("m2-" + std::to_string(++fitted))) {
  }
  CHECK(fitted < 100);
  CHECK(full.status == 507);
  CHECK_THAT(full.body, Catch::Contains("cannot write the change to disk") && Catch::Contains("No space left on device"));
  // A signed UPDATE on the full disk is answered SERVFAIL, never left to time out.
  {
    Pkt update(update_message("lab.example.com.", {}, {rr("full.lab.example.com. 60 IN A 192.0.2.77")}));
    REQUIRE(ldns_pkt_tsig_sign(update.get(), "ddns-key.", "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LTEyMzQ=", 300,
                               "hmac-sha256.", nullptr) == LDNS_STATUS_OK);
    uint8_t* buf = nullptr;
    size_t len = 0;
    REQUIRE(ldns_pkt2wire(&buf, update.get(), &len) == LDNS_STATUS_OK);
    const Bytes wire(buf, buf + len);
    free(buf);
    const auto reply = parse_reply(udp_exchange(dnsd->port(), wire, 2000));
    REQUIRE(reply);
    CHECK(ldns_pkt_get_rcode(reply.get()) == LDNS_RCODE_SERVFAIL);
  }
  const HttpReply del = http_request(control, "DELETE", base + "r1/members/m1", "", token);
  CHECK((del.status == 507 || del.status == 200));  // smaller: it may still fit; never a 500
  CHECK_FALSE(std::filesystem::exists(dir.path("state/registrations.tmp")));
  // Answers go on, from what was acknowledged.
  auto a = parse_reply(udp_exchange(dnsd->port(), make_query("s1.r1.lab.example.com", 1)));
  REQUIRE(a);
  CHECK(ldns_pkt_get_rcode(a.get()) == LDNS_RCODE_NOERROR);
  CHECK(srv_targets(dnsd->port(), "_etcd-client-r1._tcp.lab.example.com").size() == size_t(2 + fitted - (del.status == 200)));

  // A restart with a changed zone on the full disk: the new serial cannot be written, and it starts anyway.
  dnsd.reset();
  std::string zone = dir.read("zones/lab.example.com.yaml");
  zone.replace(zone.find("  ns1 3600 IN A 192.0.2.53\n"), 0, "  new IN A 192.0.2.77\n");
  dir.write("zones/lab.example.com.yaml", zone);
  dnsd = std::make_unique<DnsdProcess>(dir.path("dnsd.yaml"), extra);
  CHECK(dnsd->wait_for_log("cannot write serials, serving them from memory", 2000));
  auto added = parse_reply(udp_exchange(dnsd->port(), make_query("new.lab.example.com", 1)));
  REQUIRE(added);
  CHECK(rrs(ldns_pkt_answer(added.get())) == "new.lab.example.com.\t30\tIN\tA\t192.0.2.77\n");
  CHECK_FALSE(std::filesystem::exists(dir.path("state/serials.tmp")));
  // Room again: the next change writes.
  std::filesystem::remove(dir.path("state/filler"));
  CHECK(put("m3").status == 201);
  CHECK(dnsd->wait_for_log("serials written again", 2000));
}
