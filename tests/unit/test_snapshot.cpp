// Data-plane tests: a hand-built snapshot answered through query_process(), no ldns involved.
#include <catch2/catch.hpp>

#include <thread>

#include "packet.hpp"
#include "query.hpp"
#include "wire.hpp"

using namespace dnsd;
using namespace dnsd::test;

namespace {

std::string key(const std::string& text) {
  const Bytes w = wire_name(text);
  return std::string(w.begin(), w.end());
}

// example. with a.example. A 192.0.2.1, y.x.example. TXT (x.example. is an empty non-terminal),
// big.example. with 40 A records and 40 AAAA additionals.
std::shared_ptr<Snapshot> make_snapshot(uint32_t serial = 7) {
  auto snap = std::make_shared<Snapshot>();
  Zone z;
  z.apex = key("example");
  z.apex_text = "example.";
  z.serial = serial;
  Bytes tail = {0, 6, 0, 1, 0, 0, 0, 30};
  Bytes rdata = {0, 0};  // mname and rname: the root, enough for the data plane
  for (int i = 0; i < 5; ++i) rdata.insert(rdata.end(), {0, 0, 0, uint8_t(i == 0 ? serial : 1)});
  push16(tail, uint16_t(rdata.size()));
  tail.insert(tail.end(), rdata.begin(), rdata.end());
  z.soa_negative_tail = tail;
  const Zone& zone = snap->add_zone(std::move(z));
  snap->add_node(key("example"), zone);

  Node& a = snap->add_node(key("a.example"), zone);
  Answer ans;
  ans.body = {0xC0, 0x0C, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 192, 0, 2, 1};
  ans.ancount = 1;
  ans.essential = ans.body.size();
  a.rrsets.emplace_back(rr_type::a, ans);
  a.any = ans;

  snap->add_node(key("x.example"), zone);
  Node& y = snap->add_node(key("y.x.example"), zone);
  Answer txt;
  txt.body = {0xC0, 0x0C, 0, 16, 0, 1, 0, 0, 0, 60, 0, 2, 1, 'x'};
  txt.ancount = 1;
  txt.essential = txt.body.size();
  y.rrsets.emplace_back(rr_type::txt, txt);

  Node& big = snap->add_node(key("big.example"), zone);
  Answer many;
  for (int i = 0; i < 20; ++i) many.body.insert(many.body.end(), {0xC0, 0x0C, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 192, 0, 2, uint8_t(i)});
  many.ancount = 20;
  many.essential = many.body.size();  // 320 bytes: fits 512 with the question
  for (int i = 0; i < 20; ++i) {
    many.body.insert(many.body.end(), {0xC0, 0x0C, 0, 28, 0, 1, 0, 0, 0, 60, 0, 16});
    many.body.insert(many.body.end(), 16, uint8_t(i));
    many.additional_ends.push_back(uint16_t(many.body.size()));
  }
  many.ancount = 20;
  big.rrsets.emplace_back(rr_type::a, many);
  return snap;
}

struct Exchange {
  Bytes reply;
  Counters counters;
  Exchange(const Snapshot* snap, const Bytes& q, Transport t = Transport::udp) {
    reply.resize(65535);
    const size_t n = query_process(snap, q.data(), q.size(), reply.data(), reply.size(), t, counters);
    reply.resize(n == hand_over ? 0 : n);
  }
};

uint16_t qdcount(const Bytes& r) { return rd16(r, 4); }
uint16_t ancount(const Bytes& r) { return rd16(r, 6); }
uint16_t nscount(const Bytes& r) { return rd16(r, 8); }
uint16_t arcount(const Bytes& r) { return rd16(r, 10); }

}  // namespace

TEST_CASE("positive answer: header bits, case-preserving question, body", "[query]") {
  auto snap = make_snapshot();
  QueryOptions o;
  o.flags2 = 0x01 | 0x02;  // RD and (bogus) TC in the query
  o.flags3 = 0x80 | 0x40 | 0x20 | 0x10;  // RA, Z, AD, CD
  const Bytes q = make_query("A.eXample", rr_type::a, 1, o);
  Exchange x(snap.get(), q);
  const Bytes& r = x.reply;
  REQUIRE(r.size() == q.size() + 16);
  CHECK(rd16(r, 0) == 0x1234);
  CHECK(r[2] == (0x80 | 0x04 | 0x01));  // QR, AA, RD; TC of the query not echoed
  CHECK(r[3] == 0x10);                  // CD copied; RA, Z, AD not
  CHECK(qdcount(r) == 1);
  CHECK(ancount(r) == 1);
  CHECK(Bytes(r.begin() + 12, r.begin() + long(q.size())) == Bytes(q.begin() + 12, q.end()));
  CHECK(r.back() == 1);
  CHECK(x.counters.responses[0].load() == 1);
}

TEST_CASE("negative answers carry the SOA with a pointer to the apex", "[query]") {
  auto snap = make_snapshot();
  struct Row {
    const char* name;
    uint16_t type;
    uint8_t rcode;
  };
  const std::vector<Row> rows = {
      {"nope.example", rr_type::a, rcode::nxdomain},
      {"deep.nope.a.example", rr_type::a, rcode::nxdomain},
      {"a.example", rr_type::aaaa, rcode::noerror},   // NODATA: never silence for AAAA
      {"x.example", rr_type::a, rcode::noerror},      // empty non-terminal (RFC 8020)
      {"x.example", rr_type::any, rcode::noerror},    // ANY at an empty non-terminal is NODATA too
      {"EXAMPLE", rr_type::srv, rcode::noerror},
  };
  for (const Row& row : rows) {
    INFO(row.name);
    const Bytes q = make_query(row.name, row.type);
    Exchange x(snap.get(), q);
    const Bytes& r = x.reply;
    REQUIRE(r.size() > q.size());
    CHECK(rcode_of(r) == row.rcode);
    CHECK(aa_of(r));
    CHECK(ancount(r) == 0);
    CHECK(nscount(r) == 1);
    const size_t qname_len = wire_name(row.name).size();
    CHECK(rd16(r, q.size()) == (0xC000 | (12 + qname_len - key("example").size())));
    CHECK(rd16(r, q.size() + 2) == rr_type::soa);
    CHECK(rd16(r, q.size() + 8) == 30);  // negative TTL low half
  }
}

TEST_CASE("error verdicts: rcode, AA and what is echoed", "[query]") {
  auto snap = make_snapshot();
  struct Row {
    const char* what;
    Bytes query;
    size_t reply_size;  // 0 = no reply
    uint8_t rcode;
    bool question;
  };
  const Bytes plain = make_query("a.example", rr_type::a);
  Bytes response = plain;
  response[2] |= 0x80;
  Bytes notify = plain;
  notify[2] = 4 << 3;
  Bytes update = plain;
  update[2] = 5 << 3;
  Bytes no_question(plain.begin(), plain.begin() + 12);
  no_question[5] = 0;
  const std::vector<Row> rows = {
      {"short header", Bytes(5, 0), 0, 0, false},
      {"QR=1 is never answered", response, 0, 0, false},
      {"QDCOUNT 0", no_question, 12, rcode::formerr, false},
      {"NOTIFY", notify, plain.size(), rcode::notimp, true},
      {"UPDATE", update, plain.size(), rcode::notimp, true},
      {"outside our zones", make_query("example.org", rr_type::a), 0, rcode::refused, true},
      {"class CH", make_query("a.example", rr_type::txt, 3), 0, rcode::refused, true},
      {"AXFR", make_query("example", rr_type::axfr), 0, rcode::refused, true},
      {"IXFR", make_query("example", rr_type::ixfr), 0, rcode::refused, true},
      {"qtype OPT", make_query("a.example", rr_type::opt), 0, rcode::formerr, true},
  };
  for (const Row& row : rows) {
    INFO(row.what);
    Exchange x(snap.get(), row.query);
    const Bytes& r = x.reply;
    const bool malformed = row.query.size() < 12 || (row.rcode == rcode::formerr && row.query[5] != 1);
    CHECK(x.counters.malformed.load() == (malformed ? 1u : 0u));
    if (row.reply_size == 0 && row.rcode == 0) {
      CHECK(r.empty());
      continue;
    }
    REQUIRE(r.size() >= 12);
    if (row.reply_size) CHECK(r.size() == row.reply_size);
    CHECK(rcode_of(r) == row.rcode);
    CHECK_FALSE(aa_of(r));
    CHECK((r[2] & 0x78) == (row.query[2] & 0x78));  // opcode copied
    CHECK(qdcount(r) == (row.question ? 1 : 0));
    CHECK(ancount(r) + nscount(r) + arcount(r) == 0);
  }
}

TEST_CASE("response classes for RRL: answers by name and type, negatives by zone, errors alone", "[query][rrl]") {
  auto snap = make_snapshot();
  auto classify = [&](const Bytes& q) {
    Bytes reply(65535);
    Counters c;
    MessageContext context;
    context.classify = true;
    query_process(snap.get(), q.data(), q.size(), reply.data(), reply.size(), Transport::udp, c, &context);
    return context.response;
  };
  const ResponseClass a = classify(make_query("a.example", rr_type::a));
  CHECK(a.kind == ResponseClass::answer);
  CHECK(classify(make_query("A.EXAMPLE", rr_type::a)).name_hash == a.name_hash);  // case does not matter
  CHECK(classify(make_query("a.example", rr_type::any)).name_hash != a.name_hash);  // the type does
  const ResponseClass nx1 = classify(make_query("nope1.example", rr_type::a));
  const ResponseClass nx2 = classify(make_query("nope2.x.example", rr_type::txt));
  const ResponseClass nodata = classify(make_query("a.example", rr_type::txt));
  CHECK(nx1.kind == ResponseClass::negative);
  CHECK(nx2.name_hash == nx1.name_hash);  // one bucket for a random-subdomain flood
  CHECK(nodata.kind == ResponseClass::negative);
  CHECK(classify(make_query("example.org", rr_type::a)).kind == ResponseClass::error);  // REFUSED
  CHECK(classify(make_query("a.example", rr_type::a, 3)).kind == ResponseClass::error);
  CHECK(classify(Bytes(5, 0)).kind == ResponseClass::none);  // no reply at all
}

TEST_CASE("EDNS: OPT echoed with our size, DO copied, BADVERS, FORMERR without OPT", "[query]") {
  auto snap = make_snapshot();
  QueryOptions o;
  o.edns = true;
  o.edns_size = 4096;
  o.edns_do = true;
  const Bytes q = make_query("a.example", rr_type::a, 1, o);
  Exchange x(snap.get(), q);
  const Bytes& r = x.reply;
  REQUIRE(arcount(r) == 1);
  const size_t opt = r.size() - 11;
  CHECK(r[opt] == 0);
  CHECK(rd16(r, opt + 1) == rr_type::opt);
  CHECK(rd16(r, opt + 3) == 1232);
  CHECK(r[opt + 5] == 0);
  CHECK(r[opt + 6] == 0);
  CHECK(rd16(r, opt + 7) == 0x8000);
  CHECK(rd16(r, opt + 9) == 0);

  o.edns_version = 1;
  Exchange bv(snap.get(), make_query("a.example", rr_type::a, 1, o));
  REQUIRE(bv.reply.size() >= 12 + 11);
  CHECK(rcode_of(bv.reply) == 0);
  CHECK(bv.reply[bv.reply.size() - 11 + 5] == 1);  // extended rcode 16 >> 4: BADVERS
  CHECK(ancount(bv.reply) == 0);
  CHECK(arcount(bv.reply) == 1);

  o.edns_version = 0;
  o.opt_count = 2;
  Exchange two(snap.get(), make_query("a.example", rr_type::a, 1, o));
  CHECK(rcode_of(two.reply) == rcode::formerr);
  CHECK(arcount(two.reply) == 0);
  CHECK(qdcount(two.reply) == 1);
}

TEST_CASE("UDP size limits: TC with no partial RRsets, additional trimmed first", "[query]") {
  auto snap = make_snapshot();
  const Bytes plain = make_query("big.example", rr_type::a);
  Exchange small(snap.get(), plain);
  // 12 + 17 + 320 = 349 bytes of answer; no AAAA additional fits beside them in 512 in full.
  REQUIRE(small.reply.size() <= 512);
  CHECK_FALSE(tc_of(small.reply));
  CHECK(ancount(small.reply) == 20);
  CHECK(arcount(small.reply) == (512 - 349) / 28);
  CHECK(small.reply.size() == 349u + arcount(small.reply) * 28u);

  QueryOptions o;
  o.edns = true;
  o.edns_size = 1232;
  Exchange large(snap.get(), make_query("big.example", rr_type::a, 1, o));
  CHECK(ancount(large.reply) == 20);
  CHECK(arcount(large.reply) == 21);  // every AAAA and the OPT
  CHECK(large.reply.size() == 349 + 20 * 28 + 11);

  Exchange tcp(snap.get(), plain, Transport::tcp);
  CHECK(arcount(tcp.reply) == 20);

  // Below 512 counts as 512 (RFC 6891 §6.2.5).
  o.edns_size = 100;
  Exchange tiny(snap.get(), make_query("big.example", rr_type::a, 1, o));
  CHECK(tiny.reply.size() <= 512);
  CHECK(ancount(tiny.reply) == 20);
}

TEST_CASE("an answer section too big for UDP sets TC and keeps only the question", "[query]") {
  auto snap = make_snapshot();
  Node* big = snap->find_node(key("big.example"));
  Answer& a = big->rrsets[0].second;
  a.essential = a.body.size();  // pretend every record belongs to the answer section
  a.ancount = 40;
  a.additional_ends.clear();
  QueryOptions o;
  o.edns = true;
  o.edns_size = 512;
  const Bytes q = make_query("big.example", rr_type::a, 1, o);
  Exchange x(snap.get(), q);
  CHECK(tc_of(x.reply));
  CHECK(aa_of(x.reply));
  CHECK(qdcount(x.reply) == 1);
  CHECK(ancount(x.reply) == 0);
  CHECK(nscount(x.reply) == 0);
  CHECK(arcount(x.reply) == 1);
  CHECK(x.reply.size() == q.size());  // header + question + OPT, nothing else
  CHECK(x.counters.truncated.load() == 1);
  Exchange tcp(snap.get(), q, Transport::tcp);
  CHECK_FALSE(tc_of(tcp.reply));
  CHECK(ancount(tcp.reply) == 40);
}

namespace {
// A query signed with a key named Key.example (the MAC is not checked by the data plane).
Bytes signed_query() {
  Bytes q = make_query("a.example", rr_type::a);
  q[11] = 1;
  const Bytes keyname = wire_name("Key.example");
  q.insert(q.end(), keyname.begin(), keyname.end());
  push16(q, rr_type::tsig);
  push16(q, 255);
  q.insert(q.end(), {0, 0, 0, 0});
  Bytes rdata = wire_name("hmac-sha256");
  rdata.insert(rdata.end(), {0, 0, 0x5f, 0x5e, 0x10, 0x00, 1, 0x2c});  // time signed, fudge 300
  rdata.insert(rdata.end(), {0, 4, 1, 2, 3, 4});                       // MAC size 4
  rdata.insert(rdata.end(), {0xAB, 0xCD, 0, 0, 0, 0});                 // original id, error, other len
  push16(q, uint16_t(rdata.size()));
  q.insert(q.end(), rdata.begin(), rdata.end());
  return q;
}
}  // namespace

TEST_CASE("with TSIG keys configured, UPDATE and signed messages go to the control thread", "[query]") {
  auto snap = make_snapshot();
  snap->set_handoff(true);
  Bytes update = make_query("example", rr_type::soa);
  update[2] = 5 << 3;
  for (const Bytes& q : {update, signed_query()}) {
    Exchange x(snap.get(), q);
    CHECK(x.reply.empty());  // handed over: the worker sends nothing itself
    CHECK(x.counters.handed_over.load() == 1);
  }
  Exchange plain(snap.get(), make_query("a.example", rr_type::a));  // everything else stays here
  CHECK(rcode_of(plain.reply) == rcode::noerror);
  CHECK(plain.counters.handed_over.load() == 0);
}

TEST_CASE("a TSIG-signed query gets NOTAUTH with an unsigned BADKEY TSIG", "[query]") {
  auto snap = make_snapshot();
  const Bytes q = signed_query();
  const Bytes keyname = wire_name("Key.example");
  Exchange x(snap.get(), q);
  const Bytes& r = x.reply;
  REQUIRE(r.size() > 12);
  CHECK(rcode_of(r) == rcode::notauth);
  CHECK_FALSE(aa_of(r));
  CHECK(arcount(r) == 1);
  const size_t tsig = 12 + wire_name("a.example").size() + 4;
  CHECK(Bytes(r.begin() + long(tsig), r.begin() + long(tsig + keyname.size())) == keyname);
  const size_t rd = tsig + keyname.size() + 10;
  CHECK(rd16(r, tsig + keyname.size()) == rr_type::tsig);
  const size_t alg = wire_name("hmac-sha256").size();
  CHECK(rd16(r, rd + alg + 8) == 0);       // MAC size 0: unsigned
  CHECK(rd16(r, rd + alg + 10) == 0xABCD); // original id
  CHECK(rd16(r, rd + alg + 12) == 17);     // BADKEY
  CHECK(r.size() == rd + alg + 16);
}

TEST_CASE("no snapshot yet: REFUSED, never a crash", "[query]") {
  Exchange x(nullptr, make_query("a.example", rr_type::a));
  CHECK(rcode_of(x.reply) == rcode::refused);
}

TEST_CASE("SnapshotSlot: readers always see a whole snapshot while a writer swaps", "[snapshot]") {
  SnapshotSlot slot;
  slot.publish(make_snapshot(1));
  std::atomic<bool> done{false};
  std::atomic<uint64_t> checks{0};
  std::atomic<uint64_t> bad{0};
  std::thread reader([&] {
    uint64_t gen = 0;
    std::shared_ptr<const Snapshot> cur;
    const Bytes q = make_query("nope.example", rr_type::a);
    Bytes reply(512);
    Counters c;
    while (!done.load()) {
      if (slot.generation() != gen) {
        gen = slot.generation();
        cur = slot.current();
      }
      // The serial inside the negative answer must match the zone the snapshot says it holds.
      const size_t n = query_process(cur.get(), q.data(), q.size(), reply.data(), reply.size(), Transport::udp, c);
      const uint8_t serial_in_reply = reply[n - 17];
      if (n == 0 || serial_in_reply != uint8_t(cur->zones().front().serial)) bad.fetch_add(1);
      checks.fetch_add(1);
    }
  });
  for (uint32_t i = 2; i < 2000; ++i) slot.publish(make_snapshot(i));
  while (checks.load() < 10000) std::this_thread::yield();
  done = true;
  reader.join();
  CHECK(bad.load() == 0);
  CHECK(slot.generation() == 1999);
}
