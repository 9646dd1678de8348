// query_process() against a hand-built snapshot: every reply shape of the answer table in
// docs/ARCHITECTURE.md, header bits, EDNS, UDP size limits, hand-over. Data plane only, no ldns.
#include <catch2/catch.hpp>

#include "exchange.hpp"
#include "snapshot_fixture.hpp"

using namespace dnsd;
using namespace dnsd::test;

namespace {

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
  CHECK(hex(r, 2, 2) == "8510");  // QR, AA, RD; TC of the query not echoed; CD copied; RA, Z, AD not
  CHECK(qdcount(r) == 1);
  CHECK(ancount(r) == 1);
  CHECK(hex(r, 12, q.size() - 12) == hex(q, 12, q.size() - 12));  // the question as sent, case and all
  CHECK(int(r.back()) == 1);
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
    CHECK(rcode_of(r) == rcode_text(row.rcode));
    CHECK(aa_of(r));
    CHECK(ancount(r) == 0);
    CHECK(nscount(r) == 1);
    const size_t qname_len = wire_name(row.name).size();
    CHECK(hex16(rd16(r, q.size())) == hex16(uint16_t(0xC000 | (12 + qname_len - key("example").size()))));  // pointer to the apex
    CHECK(type_name(rd16(r, q.size() + 2)) == "SOA");
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
      {"NOTIFY (every zone is a primary)", notify, plain.size(), rcode::refused, true},
      {"UPDATE", update, plain.size(), rcode::notimp, true},
      {"outside our zones", make_query("example.org", rr_type::a), 0, rcode::refused, true},
      {"class CH", make_query("a.example", rr_type::txt, 3), 0, rcode::refused, true},
      {"AXFR of a zone without transfer rules", make_query("example", rr_type::axfr), 0, rcode::refused, true},
      {"IXFR of a zone without transfer rules", make_query("example", rr_type::ixfr), 0, rcode::refused, true},
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
    CHECK(rcode_of(r) == rcode_text(row.rcode));
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
  CHECK(int(r[opt]) == 0);
  CHECK(type_name(rd16(r, opt + 1)) == "OPT");
  CHECK(rd16(r, opt + 3) == 1232);
  CHECK(int(r[opt + 5]) == 0);
  CHECK(int(r[opt + 6]) == 0);
  CHECK(hex16(rd16(r, opt + 7)) == "0x8000");  // DO
  CHECK(rd16(r, opt + 9) == 0);

  o.edns_version = 1;
  Exchange bv(snap.get(), make_query("a.example", rr_type::a, 1, o));
  REQUIRE(bv.reply.size() >= 12 + 11);
  CHECK(rcode_of(bv.reply) == "NOERROR");
  CHECK(int(bv.reply[bv.reply.size() - 11 + 5]) == 1);  // extended rcode 16 >> 4: BADVERS
  CHECK(ancount(bv.reply) == 0);
  CHECK(arcount(bv.reply) == 1);

  o.edns_version = 0;
  o.opt_count = 2;
  Exchange two(snap.get(), make_query("a.example", rr_type::a, 1, o));
  CHECK(rcode_of(two.reply) == "FORMERR");
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
  a = Answer(a.body(), a.body().size(), {}, 40);  // pretend every record belongs to the answer section
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

// A message signed with `key` (lower-case text), as signed_query() but for another name.
Bytes signed_with(const std::string& key, Bytes q) {
  const Bytes signed_default = signed_query();
  const Bytes plain = make_query("a.example", rr_type::a);
  Bytes tsig(signed_default.begin() + long(plain.size()) + long(wire_name("Key.example").size()), signed_default.end());
  q[11] = uint8_t(q[11] + 1);
  const Bytes name = wire_name(key);
  q.insert(q.end(), name.begin(), name.end());
  q.insert(q.end(), tsig.begin(), tsig.end());
  return q;
}

TEST_CASE("with TSIG keys configured, only what needs a key goes to the control thread", "[query]") {
  auto snap = make_snapshot();
  snap->set_tsig_keys({key("key.example")});
  Bytes update = make_query("example", rr_type::soa);
  update[2] = 5 << 3;
  struct Row {
    const char* what;
    Bytes query;
    const char* rcode;  // nullptr: handed over
  };
  Bytes update_elsewhere = make_query("example.org", rr_type::soa);
  update_elsewhere[2] = 5 << 3;
  Bytes update_not_soa = make_query("example", rr_type::a);
  update_not_soa[2] = 5 << 3;
  const Row rows[] = {
      {"a query signed with a known key (case does not matter)", signed_query(), nullptr},
      {"an UPDATE signed with a known key", signed_with("key.example", update), nullptr},
      {"a query signed with an unknown key: BADKEY here", signed_with("other.example", make_query("a.example", rr_type::a)), "NOTAUTH"},
      {"an unsigned UPDATE of our zone: REFUSED here", update, "REFUSED"},
      {"an unsigned UPDATE of another zone: NOTAUTH here", update_elsewhere, "NOTAUTH"},
      {"an unsigned UPDATE without an SOA zone section: FORMERR here", update_not_soa, "FORMERR"},
  };
  for (const Row& row : rows) {
    INFO(row.what);
    Exchange x(snap.get(), row.query);
    if (!row.rcode) {
      CHECK(x.verdict == Verdict::hand_over);  // the worker sends nothing itself
      CHECK(x.reply.empty());
      CHECK(x.counters.handed_over.load() == 1);
    } else {
      CHECK(x.verdict == Verdict::reply);
      CHECK(rcode_of(x.reply) == row.rcode);
      CHECK(x.counters.handed_over.load() == 0);
    }
  }
  Exchange plain(snap.get(), make_query("a.example", rr_type::a));  // everything else stays here
  CHECK(rcode_of(plain.reply) == "NOERROR");
  CHECK(plain.counters.handed_over.load() == 0);
}

TEST_CASE("a TSIG-signed query gets NOTAUTH with an unsigned BADKEY TSIG", "[query]") {
  auto snap = make_snapshot();
  const Bytes q = signed_query();
  const Bytes keyname = wire_name("Key.example");
  Exchange x(snap.get(), q);
  const Bytes& r = x.reply;
  REQUIRE(r.size() > 12);
  CHECK(rcode_of(r) == "NOTAUTH");
  CHECK_FALSE(aa_of(r));
  CHECK(arcount(r) == 1);
  const size_t tsig = 12 + wire_name("a.example").size() + 4;
  CHECK(Bytes(r.begin() + long(tsig), r.begin() + long(tsig + keyname.size())) == keyname);
  const size_t rd = tsig + keyname.size() + 10;
  CHECK(type_name(rd16(r, tsig + keyname.size())) == "TSIG");
  const size_t alg = wire_name("hmac-sha256").size();
  CHECK(rd16(r, rd + alg + 8) == 0);       // MAC size 0: unsigned
  CHECK(hex16(rd16(r, rd + alg + 10)) == "0xabcd");  // original id
  CHECK(rd16(r, rd + alg + 12) == tsig_badkey);
  CHECK(r.size() == rd + alg + 16);
}

TEST_CASE("no snapshot yet: REFUSED, never a crash", "[query]") {
  Exchange x(nullptr, make_query("a.example", rr_type::a));
  CHECK(rcode_of(x.reply) == "REFUSED");
}


namespace {

// A TXT answer whose RDATA is `rdlen` bytes (strings of up to 255), owner a pointer to the question.
Answer txt_answer(size_t rdlen) {
  Bytes body = {0xC0, 0x0C, 0, 16, 0, 1, 0, 0, 0, 60};
  push16(body, uint16_t(rdlen));
  for (size_t left = rdlen; left > 0;) {
    const size_t n = std::min<size_t>(left - 1, 255);
    body.push_back(uint8_t(n));
    body.insert(body.end(), n, 'x');
    left -= n + 1;
  }
  return Answer(body, body.size(), {}, 1);
}

// A query with EDNS (payload `size`) and, when `cookie`, an 8-byte client COOKIE option.
Bytes edns_query(const std::string& name, uint16_t size, bool cookie) {
  QueryOptions o;
  o.edns = true;
  o.edns_size = size;
  Bytes q = make_query(name, rr_type::txt, 1, o);
  if (cookie) {
    q[q.size() - 1] = 12;  // OPT RDLENGTH: one option of 4 + 8 bytes
    q.insert(q.end(), {0, 10, 0, 8, 1, 2, 3, 4, 5, 6, 7, 8});
  }
  return q;
}

}  // namespace

TEST_CASE("the UDP budget counts our OPT and cookie: what fits only without them is truncated", "[query]") {
  // Reply sizes: header 12 + question + answer; our OPT adds 11, a server cookie 28 more.
  auto snap = make_snapshot();
  snap->set_cookie_secret("0123456789abcdef");
  const Zone& zone = snap->zones().front();
  const size_t question = 12 + key("fit.example").size() + 4;
  const size_t question2 = 12 + key("fitopt.example").size() + 4;
  // fit.example: 507 bytes without OPT (fits 512), 518 with it (does not).
  snap->add_node(key("fit.example"), zone).rrsets.emplace_back(rr_type::txt, txt_answer(507 - question - 12));
  // fitopt.example: 510 bytes with our OPT (fits 512), 538 with a cookie too (does not).
  snap->add_node(key("fitopt.example"), zone).rrsets.emplace_back(rr_type::txt, txt_answer(510 - 11 - question2 - 12));
  const uint8_t client[4] = {192, 0, 2, 7};
  MessageContext context;
  context.client_ip = client;
  context.client_ip_len = 4;
  context.now = 1800000000;
  struct Row {
    const char* what;
    Bytes query;
    size_t limit;  // what the client allows
    size_t size;   // of the reply
    bool tc;
  };
  const Row rows[] = {
      {"no EDNS: 507 fits 512", make_query("fit.example", rr_type::txt), 512, 507, false},
      {"EDNS 512: 518 with our OPT, truncated", edns_query("fit.example", 512, false), 512, question + 11, true},
      {"EDNS 1232: 518 fits", edns_query("fit.example", 1232, false), 1232, 518, false},
      {"EDNS 512, no cookie: 510 fits", edns_query("fitopt.example", 512, false), 512, 510, false},
      {"EDNS 512, cookie: 538, truncated", edns_query("fitopt.example", 512, true), 512, question2 + 11 + 28, true},
  };
  for (const Row& row : rows) {
    INFO(row.what);
    MessageContext ctx = context;
    const Exchange x(snap.get(), row.query, Transport::udp, &ctx);
    CHECK(x.reply.size() == row.size);
    CHECK(x.reply.size() <= row.limit);
    CHECK(tc_of(x.reply) == row.tc);
  }
}
