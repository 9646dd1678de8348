// Malformed and hostile packets against the real binary: FORMERR or silence, never a crash, and the
// server answers a normal query afterwards.
#include <catch2/catch.hpp>

#include <dirent.h>

#include <fstream>
#include <random>

#include "harness.hpp"
#include "ldns_reply.hpp"

using namespace dnsd::test;

namespace {

struct Server {
  TempDir dir;
  DnsdProcess dnsd{write_config(dir)};
  // A normal query still gets its normal answer.
  bool healthy() {
    auto p = parse_reply(udp_exchange(dnsd.port(), make_query("etcd-1.c1.lab.example.com", 1)));
    return p && ldns_pkt_get_rcode(p.get()) == LDNS_RCODE_NOERROR && ldns_pkt_ancount(p.get()) == 1;
  }
};

Server& server() {
  static Server s;
  return s;
}

}  // namespace

TEST_CASE("malformed packets get FORMERR (or no reply when the header is unreadable)", "[malformed]") {
  const Bytes good = make_query("etcd-1.c1.lab.example.com", 1);
  Bytes loop = good;
  loop[12] = 0xC0;  // the question name points at itself
  loop[13] = 0x0C;
  Bytes label64 = make_query("x.lab.example.com", 1);
  label64[12] = 64;
  Bytes truncated = good;
  truncated.resize(truncated.size() - 3);
  QueryOptions two;
  two.edns = true;
  two.opt_count = 2;
  Bytes response = good;
  response[2] |= 0x80;
  Bytes qd0(good.begin(), good.begin() + 12);
  qd0[5] = 0;
  QueryOptions qd2;
  qd2.qdcount = 2;

  struct Row {
    const char* what;
    Bytes packet;
    bool reply;
    bool question;
  };
  const std::vector<Row> rows = {
      {"short header", Bytes{0x12, 0x34, 0x01}, false, false},
      {"response (QR=1)", response, false, false},
      {"compression loop in the question", loop, true, false},
      {"label length 64", label64, true, false},
      {"truncated question", truncated, true, false},
      {"QDCOUNT 0", qd0, true, false},
      {"QDCOUNT 2", make_query("etcd-1.c1.lab.example.com", 1, 1, qd2), true, false},
      {"two OPT records", make_query("etcd-1.c1.lab.example.com", 1, 1, two), true, true},
  };
  for (const Row& row : rows) {
    INFO(row.what);
    const auto r = udp_exchange_probed(server().dnsd.port(), row.packet);
    if (!row.reply) {
      CHECK_FALSE(r);
    } else {
      REQUIRE(r);
      REQUIRE(r->size() >= 12);
      CHECK(rd16(*r, 0) == rd16(row.packet, 0));
      CHECK(rcode_of(*r) == "FORMERR");
      CHECK_FALSE(aa_of(*r));
      CHECK(rd16(*r, 4) == (row.question ? 1 : 0));
      if (row.question) CHECK(parse_reply(r));
    }
    CHECK(server().healthy());
  }
}

TEST_CASE("random bytes never crash the server and replies stay well-formed", "[malformed]") {
  std::mt19937 rng(20261123);
  const Bytes base = make_query("_etcd-server-ssl-c1._tcp.lab.example.com", 33);
  int replies = 0;
  for (int i = 0; i < 3000; ++i) {
    Bytes p;
    if (i % 2) {
      p.resize(rng() % 80);
      for (auto& b : p) b = uint8_t(rng());
    } else {
      p = base;  // mutate a real query: flips near the structure hit more parser paths
      for (int k = 0; k < 1 + int(rng() % 4); ++k) p[rng() % p.size()] = uint8_t(rng());
      p.resize(rng() % (p.size() + 8));
    }
    if (p.size() >= 3) p[2] &= 0x7F;  // keep QR=0 so that most get a reply
    const auto r = udp_exchange_probed(server().dnsd.port(), p);
    if (!r) continue;
    ++replies;
    REQUIRE(r->size() >= 12);
    CHECK(r->size() <= 512);          // no EDNS in these: the plain UDP limit
    CHECK((r->at(2) & 0x80) != 0);    // QR
  }
  CHECK(replies > 1000);
  CHECK(server().healthy());
}

TEST_CASE("the fuzz seed corpus over UDP: replies parse and the server survives", "[malformed][corpus]") {
  const std::string dir = std::string(DNSD_SOURCE_DIR) + "/tests/fuzz/corpus/query";
  DIR* d = opendir(dir.c_str());
  REQUIRE(d);
  int files = 0, replies = 0;
  while (dirent* e = readdir(d)) {
    const std::string name = e->d_name;
    if (name == "." || name == ".." || name == "README.md") continue;
    std::ifstream in(dir + "/" + name, std::ios::binary);
    Bytes p((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (p.size() > 65507) continue;  // larger than a UDP datagram can carry
    ++files;
    const auto r = udp_exchange_probed(server().dnsd.port(), p);
    if (!r) continue;
    INFO(name);
    ++replies;
    REQUIRE(r->size() >= 12);
    CHECK(r->size() <= 1232);
    CHECK(hex16(rd16(*r, 0)) == hex16(rd16(p, 0)));  // its own ID
    CHECK((r->at(2) & 0x80) != 0);                    // QR
    CHECK(parse_reply(r));                            // a well-formed message
  }
  closedir(d);
  CHECK(files > 300);
  CHECK(replies > 100);  // half the seeds are well-formed queries: a server that answered none fails here
  CHECK(server().healthy());
}
