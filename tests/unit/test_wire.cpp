// parse_query(): header, question, EDNS, cookies and TSIG located; every malformed shape gets its verdict.
#include <catch2/catch.hpp>

#include "packet.hpp"
#include "wire.hpp"

using namespace dnsd;
using namespace dnsd::test;

namespace Catch {
template <>
struct StringMaker<ParseResult> {
  static std::string convert(ParseResult r) { return r == ParseResult::ok ? "ok" : r == ParseResult::drop ? "drop" : "formerr"; }
};
}  // namespace Catch

namespace {
ParseResult parse(const Bytes& b, QueryView& q) { return parse_query(b.data(), b.size(), q); }
}  // namespace

TEST_CASE("parse_query reads header, question and EDNS", "[wire]") {
  QueryOptions o;
  o.edns = true;
  o.edns_size = 4096;
  o.edns_do = true;
  o.flags3 = 0x10;  // CD
  const Bytes b = make_query("_etcd-server-ssl._tcp.LAB.example.com", rr_type::srv, 1, o);
  QueryView q;
  REQUIRE(parse(b, q) == ParseResult::ok);
  CHECK(hex16(q.id) == "0x1234");
  CHECK(q.rd);
  CHECK(q.cd);
  CHECK(type_name(q.qtype) == "SRV");
  CHECK(q.qclass == 1);
  CHECK(q.has_question);
  CHECK(q.qname_len == wire_name("_etcd-server-ssl._tcp.LAB.example.com").size());
  CHECK(q.lname[23] == 'l');  // folded copy; the packet keeps "LAB"
  CHECK(q.edns);
  CHECK(q.edns_payload == 4096);
  CHECK(q.edns_do);
  CHECK(q.edns_version == 0);
}

TEST_CASE("parse_query verdicts for malformed messages", "[wire]") {
  struct Row {
    const char* what;
    Bytes bytes;
    ParseResult expect;
    bool question;
  };
  const Bytes good = make_query("a.example", 1);
  Bytes response = good;
  response[2] |= 0x80;
  Bytes no_question(good.begin(), good.begin() + 12);
  no_question[5] = 0;
  QueryOptions two;
  two.qdcount = 2;
  QueryOptions opts2;
  opts2.edns = true;
  opts2.opt_count = 2;
  // Additional records appended by hand: OPT = owner, type 41, size, ext-rcode, version, flags, rdlen.
  auto with_additional = [&](Bytes extra) {
    Bytes out = good;
    out[11] = 1;
    out.insert(out.end(), extra.begin(), extra.end());
    return out;
  };
  const Bytes bad_owner = with_additional({1, 'x', 0, 0, 41, 4, 0xD0, 0, 0, 0, 0, 0, 0});
  const Bytes bad_options = with_additional({0, 0, 41, 4, 0xD0, 0, 0, 0, 0, 0, 3});
  const Bytes bad_option_tiling = with_additional({0, 0, 41, 4, 0xD0, 0, 0, 0, 0, 0, 4, 0, 10, 0, 9});
  const Bytes good_option = with_additional({0, 0, 41, 4, 0xD0, 0, 0, 0, 0, 0, 6, 0, 99, 0, 2, 0xAB, 0xCD});
  Bytes truncated_question = good;
  truncated_question.resize(good.size() - 2);
  Bytes pointer_question = good;
  pointer_question[12] = 0xC0;
  pointer_question[13] = 0x0C;

  const std::vector<Row> rows = {
      {"short header", Bytes(11, 0), ParseResult::drop, false},
      {"response (QR=1)", response, ParseResult::drop, false},
      {"QDCOUNT 0", no_question, ParseResult::formerr, false},
      {"QDCOUNT 2", make_query("a.example", 1, 1, two), ParseResult::formerr, false},
      {"truncated question", truncated_question, ParseResult::formerr, false},
      {"pointer in question (loop)", pointer_question, ParseResult::formerr, false},
      {"two OPT records", make_query("a.example", 1, 1, opts2), ParseResult::formerr, true},
      {"OPT owner not root", bad_owner, ParseResult::formerr, true},
      {"OPT rdlen past the end", bad_options, ParseResult::formerr, true},
      {"OPT option past rdlen", bad_option_tiling, ParseResult::formerr, true},
      {"unknown EDNS option is fine", good_option, ParseResult::ok, true},
  };
  for (const Row& r : rows) {
    INFO(r.what);
    QueryView q;
    CHECK(parse(r.bytes, q) == r.expect);
    if (r.expect != ParseResult::drop) CHECK(q.has_question == r.question);
  }
}

TEST_CASE("parse_query finds a TSIG record and insists it is last", "[wire]") {
  Bytes b = make_query("a.example", 1);
  b[11] = 1;  // ARCOUNT
  const Bytes key = wire_name("key.example");
  const Bytes alg = wire_name("hmac-sha256");
  b.insert(b.end(), key.begin(), key.end());
  push16(b, rr_type::tsig);
  push16(b, 255);
  b.insert(b.end(), {0, 0, 0, 0});
  Bytes rdata = alg;
  rdata.insert(rdata.end(), {0, 0, 0x5f, 0, 0, 0, 1, 0x2c, 0, 0, 0x12, 0x34, 0, 0, 0, 0});
  push16(b, uint16_t(rdata.size()));
  b.insert(b.end(), rdata.begin(), rdata.end());
  QueryView q;
  REQUIRE(parse(b, q) == ParseResult::ok);
  CHECK(q.tsig_offset == 12 + wire_name("a.example").size() + 4);
  CHECK(q.tsig_end == b.size());

  // An OPT after the TSIG: the TSIG is no longer last.
  Bytes after = b;
  after[11] = 2;
  after.insert(after.end(), {0, 0, 41, 4, 0xD0, 0, 0, 0, 0, 0, 0});
  QueryView q2;
  CHECK(parse(after, q2) == ParseResult::formerr);
}
