// DNS UPDATE (RFC 2136) with TSIG (RFC 8945) against the real binary: requests built and signed by
// ldns, replies verified by ldns (an implementation independent of dnsd's), over UDP and TCP.
#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <ctime>
#include <thread>

#include "config.hpp"
#include "tsig.hpp"
#include "harness.hpp"
#include "ldns_reply.hpp"
#include "../unit/update_message.hpp"

using namespace dnsd::test;

namespace {

const char* const secret = "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LTEyMzQ=";
const char* const other_secret = "b3RoZXItb3RoZXItb3RoZXItb3RoZXItb3RoZXItb3RoZXI=";

std::string config(const TempDir& dir) {
  return write_config(dir, "update: { keys: [ddns-key] }\n",
                      "tsig_keys:\n"
                      "  - { name: ddns-key, algorithm: hmac-sha256, secret: \"" + std::string(secret) + "\" }\n"
                      "  - { name: Reader., algorithm: hmac-sha512, secret: \"" + std::string(other_secret) + "\" }\n");
}

struct Update {
  std::vector<ldns_rr*> prereqs;
  std::vector<ldns_rr*> updates;
  std::string zone = "lab.example.com.";
};

Pkt make_update(const Update& u) {
  Pkt p(update_message(u.zone, u.prereqs, u.updates));
  ldns_pkt_set_id(p.get(), uint16_t(std::rand()));
  return p;
}

struct Exchange {
  Pkt query;
  Pkt reply;
  Bytes wire;
};

// Signs (when key_name is set), sends and parses the reply.
Exchange send(uint16_t port, Pkt query, const char* key_name, const char* key, bool over_tcp = false,
              const char* algorithm = "hmac-sha256.") {
  if (key_name) REQUIRE(ldns_pkt_tsig_sign(query.get(), key_name, key, 300, algorithm, nullptr) == LDNS_STATUS_OK);
  uint8_t* buf = nullptr;
  size_t len = 0;
  REQUIRE(ldns_pkt2wire(&buf, query.get(), &len) == LDNS_STATUS_OK);
  Bytes wire(buf, buf + len);
  free(buf);
  std::optional<Bytes> got;
  if (over_tcp) {
    auto r = tcp_exchange(port, {wire}, 1);
    if (!r.empty()) got = r[0];
  } else {
    got = udp_exchange(port, wire);
  }
  Exchange e{std::move(query), parse_reply(got), got.value_or(Bytes{})};
  return e;
}

// The reply's TSIG verified by ldns with the request's MAC.
bool verified(const Exchange& e, const char* key_name, const char* key) {
  const ldns_rdf* mac = ldns_rr_rdf(ldns_pkt_tsig(e.query.get()), 3);
  return ldns_pkt_tsig_verify(e.reply.get(), e.wire.data(), e.wire.size(), key_name, key, mac);
}

uint16_t tsig_error(const Pkt& p) {
  const ldns_rr* t = ldns_pkt_tsig(p.get());
  return t ? ldns_rdf2native_int16(ldns_rr_rdf(t, 5)) : 0xFFFF;
}

size_t tsig_mac_size(const Pkt& p) { return ldns_rdf_size(ldns_rr_rdf(ldns_pkt_tsig(p.get()), 3)) - 2; }

std::string answer(uint16_t port, const std::string& name, uint16_t type) {
  auto p = parse_reply(udp_exchange(port, make_query(name, type)));
  return p ? rrs(ldns_pkt_answer(p.get())) : "no reply";
}

uint32_t serial(uint16_t port) {
  auto p = parse_reply(udp_exchange(port, make_query("lab.example.com", 6)));
  return p && ldns_pkt_ancount(p.get()) ? ldns_rdf2native_int32(ldns_rr_rdf(ldns_rr_list_rr(ldns_pkt_answer(p.get()), 0), 2)) : 0;
}

ldns_pkt_rcode rcode(const Exchange& e) { return e.reply ? ldns_pkt_get_rcode(e.reply.get()) : LDNS_RCODE_SERVFAIL; }

struct Server {
  TempDir dir;
  uint16_t control = free_port();
  std::unique_ptr<DnsdProcess> dnsd;
  Server() {
    config(dir);
    start();
  }
  void start() {
    dnsd = std::make_unique<DnsdProcess>(dir.path("dnsd.yaml"),
                                         std::vector<std::string>{"--control", "127.0.0.1:" + std::to_string(control)});
  }
  uint16_t port() const { return dnsd->port(); }
};

}  // namespace

TEST_CASE("UPDATE: signed adds and deletes over UDP and TCP, replies signed, records served at once", "[update]") {
  Server s;
  const uint32_t before = serial(s.port());
  auto add = send(s.port(), make_update({{}, {rr("web.lab.example.com. 60 IN A 192.0.2.80"),
                                              rr("web.lab.example.com. 60 IN TXT \"hello world\"")}}),
                  "ddns-key.", secret);
  REQUIRE(add.reply);
  CHECK(rcode(add) == LDNS_RCODE_NOERROR);
  CHECK(ldns_pkt_get_opcode(add.reply.get()) == LDNS_PACKET_UPDATE);
  CHECK(ldns_pkt_id(add.reply.get()) == ldns_pkt_id(add.query.get()));
  CHECK(verified(add, "ddns-key.", secret));
  CHECK_THAT(answer(s.port(), "web.lab.example.com", 1), Catch::Contains("192.0.2.80"));
  CHECK_THAT(answer(s.port(), "WEB.lab.example.com", 16), Catch::Contains("\"hello world\""));
  CHECK(serial(s.port()) > before);

  // Over TCP: a second address joins the RRset and takes the new TTL (one TTL per RRset).
  auto tcp = send(s.port(), make_update({{}, {rr("web.lab.example.com. 120 IN A 192.0.2.81")}}), "ddns-key.", secret, true);
  REQUIRE(tcp.reply);
  CHECK(rcode(tcp) == LDNS_RCODE_NOERROR);
  CHECK(verified(tcp, "ddns-key.", secret));
  const std::string both = answer(s.port(), "web.lab.example.com", 1);
  CHECK_THAT(both, Catch::Contains("120\tIN\tA\t192.0.2.80") && Catch::Contains("120\tIN\tA\t192.0.2.81"));

  // Delete one RR (class NONE), then the TXT RRset (class ANY).
  auto del = send(s.port(), make_update({{}, {rr("web.lab.example.com. 0 NONE A 192.0.2.80"),
                                              empty_rr("web.lab.example.com.", LDNS_RR_TYPE_TXT, LDNS_RR_CLASS_ANY)}}),
                  "ddns-key.", secret);
  CHECK(rcode(del) == LDNS_RCODE_NOERROR);
  CHECK_THAT(answer(s.port(), "web.lab.example.com", 1), !Catch::Contains("192.0.2.80") && Catch::Contains("192.0.2.81"));
  CHECK(answer(s.port(), "web.lab.example.com", 16).empty());

  // The same add twice is one record; the serial does not move for a no-op.
  const uint32_t now = serial(s.port());
  CHECK(rcode(send(s.port(), make_update({{}, {rr("web.lab.example.com. 120 IN A 192.0.2.81")}}), "ddns-key.", secret)) ==
        LDNS_RCODE_NOERROR);
  CHECK(serial(s.port()) == now);
}

TEST_CASE("UPDATE: prerequisites (RFC 2136 §2.4) answer with their rcodes and change nothing", "[update]") {
  Server s;
  REQUIRE(rcode(send(s.port(), make_update({{}, {rr("db.lab.example.com. 60 IN A 192.0.2.90")}}), "ddns-key.", secret)) ==
          LDNS_RCODE_NOERROR);
  struct Row {
    const char* what;
    ldns_rr* prereq;
    ldns_pkt_rcode want;
  };
  const Row rows[] = {
      {"name is in use", empty_rr("db.lab.example.com.", LDNS_RR_TYPE_ANY, LDNS_RR_CLASS_ANY), LDNS_RCODE_NOERROR},
      {"name is in use (fails)", empty_rr("nope.lab.example.com.", LDNS_RR_TYPE_ANY, LDNS_RR_CLASS_ANY), LDNS_RCODE_NXDOMAIN},
      {"name is not in use (fails)", empty_rr("db.lab.example.com.", LDNS_RR_TYPE_ANY, LDNS_RR_CLASS_NONE), LDNS_RCODE_YXDOMAIN},
      {"RRset exists (fails)", empty_rr("db.lab.example.com.", LDNS_RR_TYPE_AAAA, LDNS_RR_CLASS_ANY), LDNS_RCODE_NXRRSET},
      {"RRset does not exist (fails)", empty_rr("db.lab.example.com.", LDNS_RR_TYPE_A, LDNS_RR_CLASS_NONE), LDNS_RCODE_YXRRSET},
      {"config record exists", empty_rr("_etcd-server-ssl-c1._tcp.lab.example.com.", LDNS_RR_TYPE_SRV, LDNS_RR_CLASS_ANY), LDNS_RCODE_NOERROR},
      {"value-dependent RRset matches", rr("db.lab.example.com. 0 IN A 192.0.2.90"), LDNS_RCODE_NOERROR},
      {"value-dependent RRset differs", rr("db.lab.example.com. 0 IN A 192.0.2.91"), LDNS_RCODE_NXRRSET},
      {"prerequisite outside the zone", empty_rr("db.example.org.", LDNS_RR_TYPE_ANY, LDNS_RR_CLASS_ANY), LDNS_RCODE_NOTZONE},
  };
  int n = 0;
  for (const Row& row : rows) {
    INFO(row.what);
    const std::string name = "p" + std::to_string(n++) + ".lab.example.com";
    auto e = send(s.port(), make_update({{row.prereq}, {rr(name + ". 60 IN A 192.0.2.99")}}), "ddns-key.", secret);
    REQUIRE(e.reply);
    CHECK(rcode(e) == row.want);
    CHECK(verified(e, "ddns-key.", secret));
    CHECK(answer(s.port(), name, 1).empty() == (row.want != LDNS_RCODE_NOERROR));
  }
}

TEST_CASE("UPDATE: keys, signatures and time are checked first (RFC 8945 §5.2)", "[update]") {
  Server s;
  auto add = [] { return make_update({{}, {rr("x.lab.example.com. 60 IN A 192.0.2.7")}}); };

  auto unknown = send(s.port(), add(), "stranger.", secret);
  REQUIRE(unknown.reply);
  CHECK(rcode(unknown) == LDNS_RCODE_NOTAUTH);
  CHECK(tsig_error(unknown.reply) == 17);  // BADKEY, unsigned
  CHECK(tsig_mac_size(unknown.reply) == 0);

  auto bad_sig = send(s.port(), add(), "ddns-key.", other_secret);
  REQUIRE(bad_sig.reply);
  CHECK(rcode(bad_sig) == LDNS_RCODE_NOTAUTH);
  CHECK(tsig_error(bad_sig.reply) == 16);  // BADSIG, unsigned
  CHECK(tsig_mac_size(bad_sig.reply) == 0);

  auto wrong_alg = send(s.port(), add(), "ddns-key.", secret, false, "hmac-sha512.");
  CHECK(tsig_error(wrong_alg.reply) == 17);  // the key exists with another algorithm: BADKEY

  // Signed twenty minutes ago: BADTIME, signed, with our clock in Other Data.
  Pkt old = add();
  uint8_t* buf = nullptr;
  size_t len = 0;
  REQUIRE(ldns_pkt2wire(&buf, old.get(), &len) == LDNS_STATUS_OK);
  std::vector<uint8_t> wire(buf, buf + len);
  free(buf);
  dnsd::TsigKey key{"ddns-key.", "hmac-sha256", *dnsd::decode_base64(secret), {}};
  dnsd::tsig_sign_request(wire, key, uint64_t(std::time(nullptr)) - 1200);
  auto late = parse_reply(udp_exchange(s.port(), wire));
  REQUIRE(late);
  CHECK(ldns_pkt_get_rcode(late.get()) == LDNS_RCODE_NOTAUTH);
  CHECK(tsig_error(late) == 18);
  const ldns_rr* t = ldns_pkt_tsig(late.get());
  CHECK(ldns_rdf_size(ldns_rr_rdf(t, 6)) == 2 + 6);  // Other Len 6: the server's time
  CHECK(tsig_mac_size(late) == 32);
  // ... and in time it is accepted.
  wire.resize(len);
  wire[10] = wire[11] = 0;  // unsigned again (ARCOUNT 0), then signed now
  dnsd::tsig_sign_request(wire, key, uint64_t(std::time(nullptr)));
  auto ok = parse_reply(udp_exchange(s.port(), wire));
  REQUIRE(ok);
  CHECK(ldns_pkt_get_rcode(ok.get()) == LDNS_RCODE_NOERROR);

  // Unsigned, or signed with a key the zone does not list: REFUSED. Another zone: NOTAUTH.
  CHECK(rcode(send(s.port(), add(), nullptr, nullptr)) == LDNS_RCODE_REFUSED);
  CHECK(rcode(send(s.port(), add(), "reader.", other_secret, false, "hmac-sha512.")) == LDNS_RCODE_REFUSED);
  Update elsewhere{{}, {rr("x.example.org. 60 IN A 192.0.2.7")}, "example.org."};
  CHECK(rcode(send(s.port(), make_update(elsewhere), "ddns-key.", secret)) == LDNS_RCODE_NOTAUTH);
  CHECK(s.dnsd->wait_for_log("bad signature", 1000));
  const std::string metrics = http_get(s.control, "/metrics");
  // The unknown key and the unsigned UPDATE never left the workers; the rest was checked on the control thread.
  CHECK_THAT(metrics, Catch::Contains("dnsd_tsig_unknown_key_total 1\n"));
  CHECK_THAT(metrics, Catch::Contains("dnsd_updates_unsigned_total 1\n"));
  CHECK_THAT(metrics, Catch::Contains("dnsd_tsig_failures_total 3\n"));  // BADKEY (wrong algorithm), BADSIG, BADTIME
  CHECK_THAT(metrics, Catch::Contains("dnsd_updates_total{rcode=\"REFUSED\"} 1\n"));
  CHECK_THAT(metrics, Catch::Contains("dnsd_updates_total{rcode=\"NOTAUTH\"} 1\n"));
  CHECK_THAT(metrics, Catch::Contains("dnsd_updates_total{rcode=\"NOERROR\"} 1\n"));
  CHECK_THAT(metrics, Catch::Contains("dnsd_handed_over_total 6\n"));
}

TEST_CASE("UPDATE: what the config owns is REFUSED, and nothing of a refused update applies", "[update]") {
  Server s;
  struct Row {
    const char* what;
    ldns_rr* update;
  };
  const Row rows[] = {
      {"delete a cluster's SRV set", empty_rr("_etcd-server-ssl-c1._tcp.lab.example.com.", LDNS_RR_TYPE_SRV, LDNS_RR_CLASS_ANY)},
      {"add to a cluster's SRV set", rr("_etcd-server-ssl-c1._tcp.lab.example.com. 30 IN SRV 0 0 2380 evil.example.org.")},
      {"delete a member's address", rr("etcd-1.c1.lab.example.com. 0 NONE A 192.0.2.21")},
      {"delete all at a records: name", empty_rr("ns1.lab.example.com.", LDNS_RR_TYPE_ANY, LDNS_RR_CLASS_ANY)},
      {"add an apex NS", rr("lab.example.com. 60 IN NS ns2.example.org.")},
      {"replace the SOA", rr("lab.example.com. 60 IN SOA a. b. 1 2 3 4 5")},
  };
  for (const Row& row : rows) {
    INFO(row.what);
    auto e = send(s.port(), make_update({{}, {rr("first.lab.example.com. 60 IN A 192.0.2.5"), row.update}}), "ddns-key.", secret);
    CHECK(rcode(e) == LDNS_RCODE_REFUSED);
    CHECK(answer(s.port(), "first.lab.example.com", 1).empty());  // all or nothing
  }
  CHECK_THAT(answer(s.port(), "_etcd-server-ssl-c1._tcp.lab.example.com", 33), Catch::Contains("etcd-1.c1.lab.example.com."));
  CHECK_THAT(answer(s.port(), "etcd-1.c1.lab.example.com", 1), Catch::Contains("192.0.2.21"));
  // A signed query is answered and signed too.
  auto q = send(s.port(), Pkt(ldns_pkt_query_new(ldns_dname_new_frm_str("ns1.lab.example.com."), LDNS_RR_TYPE_A,
                                                  LDNS_RR_CLASS_IN, 0)),
                "ddns-key.", secret);
  REQUIRE(q.reply);
  CHECK_THAT(rrs(ldns_pkt_answer(q.reply.get())), Catch::Contains("192.0.2.53"));
  CHECK(verified(q, "ddns-key.", secret));
}

TEST_CASE("UPDATE: acknowledged changes survive kill -9 and a reload", "[update][durability]") {
  Server s;
  for (int i = 0; i < 20; ++i)
    REQUIRE(rcode(send(s.port(), make_update({{}, {rr("h" + std::to_string(i) + ".lab.example.com. 60 IN A 192.0.2." + std::to_string(100 + i))}}),
                       "ddns-key.", secret, i % 2)) == LDNS_RCODE_NOERROR);
  s.dnsd->signal(SIGKILL);
  s.dnsd->wait_exit(2000);
  s.start();
  for (int i = 0; i < 20; ++i)
    CHECK_THAT(answer(s.port(), "h" + std::to_string(i) + ".lab.example.com", 1), Catch::Contains("192.0.2." + std::to_string(100 + i)));
  s.dnsd->signal(SIGHUP);
  REQUIRE(s.dnsd->wait_for_log("reloaded", 2000));
  CHECK_THAT(answer(s.port(), "h7.lab.example.com", 1), Catch::Contains("192.0.2.107"));
}

TEST_CASE("UPDATE over TCP from a client that half-closes after sending: the reply still arrives", "[update][tcp]") {
  TempDir dir;
  DnsdProcess d(config(dir));
  Update u;
  u.updates = {rr("halfclose.lab.example.com. 60 IN A 192.0.2.66")};
  Pkt q = make_update(u);
  REQUIRE(ldns_pkt_tsig_sign(q.get(), "ddns-key.", secret, 300, "hmac-sha256.", nullptr) == LDNS_STATUS_OK);
  uint8_t* buf = nullptr;
  size_t len = 0;
  REQUIRE(ldns_pkt2wire(&buf, q.get(), &len) == LDNS_STATUS_OK);
  Bytes framed;
  push16(framed, uint16_t(len));
  framed.insert(framed.end(), buf, buf + len);
  free(buf);
  const int fd = tcp_connect(d.port());
  REQUIRE(fd >= 0);
  ::send(fd, framed.data(), framed.size(), MSG_NOSIGNAL);
  shutdown(fd, SHUT_WR);  // "that was all": the reply is handed over to the control thread meanwhile
  const auto reply = parse_reply(tcp_read_reply(fd, 3000));
  close(fd);
  REQUIRE(reply);
  CHECK(ldns_pkt_get_rcode(reply.get()) == LDNS_RCODE_NOERROR);
  CHECK(answer(d.port(), "halfclose.lab.example.com", 1) == "halfclose.lab.example.com.\t60\tIN\tA\t192.0.2.66\n");
}

namespace {

// The wire form of an UPDATE adding `name` A 192.0.2.9, signed with key_name/key (nullptr: unsigned).
Bytes signed_add(const std::string& name, const char* key_name, const char* key) {
  Pkt q = make_update({{}, {rr(name + " 60 IN A 192.0.2.9")}});
  if (key_name) REQUIRE(ldns_pkt_tsig_sign(q.get(), key_name, key, 300, "hmac-sha256.", nullptr) == LDNS_STATUS_OK);
  uint8_t* buf = nullptr;
  size_t len = 0;
  REQUIRE(ldns_pkt2wire(&buf, q.get(), &len) == LDNS_STATUS_OK);
  Bytes wire(buf, buf + len);
  free(buf);
  return wire;
}

}  // namespace

TEST_CASE("a flood of forged and unsigned UPDATEs from one source cannot starve signed ones", "[update][limits]") {
  Server s;
  // The flood: 127.0.0.2 sends forged-MAC (right key name, wrong secret) and unsigned UPDATEs at
  // about 120,000 a second (what one attacking host measured in the abuse report managed).
  std::vector<Bytes> forged;
  for (int i = 0; i < 64; ++i) forged.push_back(signed_add("forged" + std::to_string(i) + ".lab.example.com.", "ddns-key.", other_secret));
  for (int i = 0; i < 64; ++i) forged.push_back(signed_add("unsigned" + std::to_string(i) + ".lab.example.com.", nullptr, nullptr));
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> sent{0};
  std::thread flood([&] {
    const int fd = socket(AF_INET, SOCK_DGRAM, 0);
    sockaddr_in from{}, to{};
    from.sin_family = to.sin_family = AF_INET;
    inet_pton(AF_INET, "127.0.0.2", &from.sin_addr);
    inet_pton(AF_INET, "127.0.0.1", &to.sin_addr);
    to.sin_port = htons(s.port());
    bind(fd, reinterpret_cast<sockaddr*>(&from), sizeof from);
    auto next = std::chrono::steady_clock::now();
    for (size_t i = 0; !stop; ++i) {
      const Bytes& m = forged[i % forged.size()];
      if (sendto(fd, m.data(), m.size(), 0, reinterpret_cast<sockaddr*>(&to), sizeof to) > 0) ++sent;
      if (i % 120 == 119) {  // 120 every millisecond
        char sink[512];
        while (recv(fd, sink, sizeof sink, MSG_DONTWAIT) > 0) {
        }
        next += std::chrono::milliseconds(1);
        std::this_thread::sleep_until(next);
      }
    }
    close(fd);
  });
  const auto flood_start = std::chrono::steady_clock::now();
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // the flood is on
  int tcp_answered = 0, udp_answered = 0;
  const int tcp_tries = 20, udp_tries = 50;
  for (int i = 0; i < tcp_tries; ++i) {
    const auto r = tcp_exchange(s.port(), {signed_add("tcp" + std::to_string(i) + ".lab.example.com.", "ddns-key.", secret)}, 1, 2000);
    const auto p = r.empty() ? nullptr : parse_reply(r[0]);
    tcp_answered += p && ldns_pkt_get_rcode(p.get()) == LDNS_RCODE_NOERROR;
  }
  // Over UDP the flood can overrun the socket's buffer, so a datagram may be lost in the kernel: a
  // client retries (dig and nsupdate try three times), and the same signed bytes again get the first
  // answer (the replay cache), so each UPDATE gets up to three sends of a second each.
  for (int i = 0; i < udp_tries; ++i) {
    const Bytes update = signed_add("udp" + std::to_string(i) + ".lab.example.com.", "ddns-key.", secret);
    for (int attempt = 0; attempt < 3; ++attempt) {
      const auto p = parse_reply(udp_exchange(s.port(), update, 1000));
      if (!p) continue;
      udp_answered += ldns_pkt_get_rcode(p.get()) == LDNS_RCODE_NOERROR;
      break;
    }
  }
  // At least a second of flood, however fast the signed ones were answered (the count below).
  std::this_thread::sleep_until(flood_start + std::chrono::seconds(1));
  stop = true;
  flood.join();
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // what the flood left queued drains
  INFO(sent.load() << " forged or unsigned UPDATEs sent during the run");
  CHECK(sent.load() > 50000);  // a flood of tens of thousands a second ran throughout
  CHECK(tcp_answered == tcp_tries);
  CHECK(udp_answered == udp_tries);
  for (const std::string name : {"forged0", "forged63", "unsigned0", "unsigned63"})
    CHECK(answer(s.port(), name + ".lab.example.com", 1).empty());
  CHECK(answer(s.port(), "tcp19.lab.example.com", 1) == "tcp19.lab.example.com.\t60\tIN\tA\t192.0.2.9\n");
  const std::string metrics = http_get(s.control, "/metrics");
  CHECK_THAT(metrics, !Catch::Contains("dnsd_handoff_limited_total 0\n"));
}

TEST_CASE("TSIG: a replayed signed UPDATE gets its first answer and is not applied again, and fudge is capped", "[update][tsig]") {
  Server s;
  const dnsd::TsigKey key{"ddns-key.", "hmac-sha256", *dnsd::decode_base64(secret), {}};
  auto wire_of = [](const Update& u) {
    Pkt q = make_update(u);
    uint8_t* buf = nullptr;
    size_t len = 0;
    REQUIRE(ldns_pkt2wire(&buf, q.get(), &len) == LDNS_STATUS_OK);
    std::vector<uint8_t> wire(buf, buf + len);
    free(buf);
    return wire;
  };
  std::vector<uint8_t> add = wire_of({{}, {rr("replayed.lab.example.com. 60 IN A 192.0.2.70")}});
  dnsd::tsig_sign_request(add, key, uint64_t(std::time(nullptr)));
  const auto first = udp_exchange(s.port(), Bytes(add.begin(), add.end()));
  REQUIRE(first);
  CHECK(rcode_of(*first) == "NOERROR");
  std::vector<uint8_t> del = wire_of({{}, {empty_rr("replayed.lab.example.com.", LDNS_RR_TYPE_A, LDNS_RR_CLASS_ANY)}});
  dnsd::tsig_sign_request(del, key, uint64_t(std::time(nullptr)));
  REQUIRE(udp_exchange(s.port(), Bytes(del.begin(), del.end())));
  CHECK(answer(s.port(), "replayed.lab.example.com", 1).empty());
  // The exact bytes of the add again: the same answer, and the deleted record stays deleted.
  const auto again = udp_exchange(s.port(), Bytes(add.begin(), add.end()));
  REQUIRE(again);
  CHECK(hex(*again, 0, again->size()) == hex(*first, 0, first->size()));
  CHECK(answer(s.port(), "replayed.lab.example.com", 1).empty());
  CHECK_THAT(http_get(s.control, "/metrics"), Catch::Contains("dnsd_tsig_replays_total 1\n"));

  // A signer asking for an hour of fudge gets five minutes: signed twenty minutes ago is BADTIME.
  std::vector<uint8_t> old = wire_of({{}, {rr("old.lab.example.com. 60 IN A 192.0.2.71")}});
  dnsd::tsig_sign_request(old, key, uint64_t(std::time(nullptr)) - 1200, 3600);
  const auto late = parse_reply(udp_exchange(s.port(), Bytes(old.begin(), old.end())));
  REQUIRE(late);
  CHECK(tsig_error(late) == 18);
  CHECK(answer(s.port(), "old.lab.example.com", 1).empty());
}

TEST_CASE("an UPDATE that would push an RRset over 64 KiB is answered REFUSED, never left unanswered", "[update]") {
  Server s;
  const std::string text(250, 't');
  int refused_at = -1;
  for (int i = 0; i < 300 && refused_at < 0; ++i) {
    Update u;
    u.updates = {rr("big.lab.example.com. 60 IN TXT \"" + std::to_string(i) + text + "\"")};
    const Exchange e = send(s.port(), make_update(u), "ddns-key.", secret, true);
    REQUIRE(e.reply);  // every one answered
    if (rcode(e) == LDNS_RCODE_REFUSED) refused_at = i;
    else REQUIRE(rcode(e) == LDNS_RCODE_NOERROR);
  }
  INFO("refused at record " << refused_at);
  CHECK(refused_at > 200);  // 64 KiB of 262-byte records, less room for the header, OPT and cookie
  CHECK(s.dnsd->wait_for_log("cannot be served: answer over 64 KiB", 1000));
  // What was accepted is served whole over TCP.
  const auto r = tcp_exchange(s.port(), {make_query("big.lab.example.com", 16)}, 1);
  REQUIRE(r.size() == 1);
  const auto p = parse_reply(r[0]);
  REQUIRE(p);
  CHECK(ldns_pkt_ancount(p.get()) == size_t(refused_at));
}
