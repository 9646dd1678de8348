// TSIG signing and verification, and DNS UPDATE semantics on a compiled zone.
#include <catch2/catch.hpp>

#include "compiled_zone.hpp"
#include "registry.hpp"
#include "tsig.hpp"
#include "update.hpp"
#include "update_message.hpp"

using namespace dnsd;
using namespace dnsd::test;

namespace {

const TsigKey key{"ddns-key.", "hmac-sha256", "0123456789abcdef0123456789abcdef", {}};
const TsigKey key512{"other.", "hmac-sha512", "another secret", {}};
const std::vector<TsigKey> keys{key, key512};  // what tsig_verify finds keys in (found points here)

std::vector<uint8_t> signed_query(uint64_t time, const TsigKey& k = key) {
  std::vector<uint8_t> q = make_query("lab.example.com", 6);
  tsig_sign_request(q, k, time);
  return q;
}

TsigCheck check(const std::vector<uint8_t>& msg, uint64_t now, TsigRecord& t, const TsigKey*& found) {
  QueryView v;
  REQUIRE(parse_query(msg.data(), msg.size(), v) == ParseResult::ok);
  REQUIRE(v.tsig_offset);
  REQUIRE(read_tsig(msg.data(), msg.size(), v.tsig_offset, v.tsig_end, t));
  return tsig_verify(keys, msg.data(), t, now, found);
}

const char* zone_yaml =
    "zone: lab.example.com\n"
    "soa: { mname: ns1.lab.example.com, rname: hostmaster.lab.example.com }\n"
    "ns: [ns1.lab.example.com]\n"
    "records: |\n"
    "  ns1 IN A 192.0.2.53\n"
    "  alias IN CNAME ns1\n"
    "clusters:\n"
    "  - name: c1\n"
    "    members: [{ name: e1, host: etcd-1.lab.example.com, addresses: [192.0.2.21] }]\n";

// A CAA RR whose tag is empty: valid wire, but its text form does not read back.
ldns_rr* caa_empty_tag() {
  const uint8_t wire[] = {3, 'c', 'a', 'a', 3, 'l', 'a', 'b', 7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 3, 'c', 'o', 'm', 0,
                          1, 1, 0, 1, 0, 0, 0, 60, 0, 4, 0xC0, 0, 0, 0};
  ldns_rr* r = nullptr;
  size_t pos = 0;
  REQUIRE(ldns_wire2rr(&r, wire, sizeof wire, &pos, LDNS_SECTION_AUTHORITY) == LDNS_STATUS_OK);
  return r;
}

UpdateResult run(const ZoneRecords& zone, const std::vector<std::string>& records, std::vector<ldns_rr*> prereqs,
                 std::vector<ldns_rr*> updates) {
  dnsd::PktPtr p(update_message("lab.example.com.", prereqs, updates));
  return apply_update(p.get(), zone, records);
}

}  // namespace

TEST_CASE("TSIG: a signed request verifies, and any change to it, the key or the clock does not", "[tsig]") {
  const uint64_t now = 1800000000;
  TsigRecord t;
  const TsigKey* found = nullptr;
  CHECK(check(signed_query(now), now, t, found) == TsigCheck::ok);
  CHECK(found == &keys[0]);
  CHECK(t.time_signed == now);
  CHECK(t.fudge == 300);
  CHECK(t.mac.size() == 32);
  CHECK(check(signed_query(now, key512), now, t, found) == TsigCheck::ok);
  CHECK(t.mac.size() == 64);

  auto tampered = signed_query(now);
  tampered[13] ^= 0x20;  // one letter of the question's case: the MAC covers it
  CHECK(check(tampered, now, t, found) == TsigCheck::badsig);
  CHECK(found == nullptr);
  CHECK(check(signed_query(now), now + 301, t, found) == TsigCheck::badtime);
  CHECK(found == &keys[0]);  // BADTIME replies are signed
  CHECK(check(signed_query(now), now - 300, t, found) == TsigCheck::ok);
  TsigKey stranger = key;
  stranger.name = "stranger.";
  CHECK(check(signed_query(now, stranger), now, t, found) == TsigCheck::badkey);
  TsigKey wrong_alg = key;
  wrong_alg.algorithm = "hmac-sha512";
  CHECK(check(signed_query(now, wrong_alg), now, t, found) == TsigCheck::badkey);
  TsigKey wrong_secret = key;
  wrong_secret.secret[0] ^= 1;
  CHECK(check(signed_query(now, wrong_secret), now, t, found) == TsigCheck::badsig);
}

TEST_CASE("TSIG: replies are signed over the request MAC, checked by ldns", "[tsig]") {
  const uint64_t now = uint64_t(std::time(nullptr));
  auto q = signed_query(now);
  TsigRecord t;
  const TsigKey* found = nullptr;
  REQUIRE(check(q, now, t, found) == TsigCheck::ok);
  std::vector<uint8_t> reply(q.begin(), q.begin() + long(t.offset));
  reply[2] |= 0x80;
  reply[10] = reply[11] = 0;
  tsig_append(reply, found, t, 0, now);
  ldns_pkt* parsed = nullptr;
  REQUIRE(ldns_wire2pkt(&parsed, reply.data(), reply.size()) == LDNS_STATUS_OK);
  dnsd::PktPtr p(parsed);
  RdfPtr mac(ldns_native2rdf_int16_data(t.mac.size(), reinterpret_cast<uint8_t*>(const_cast<char*>(t.mac.data()))));
  CHECK(ldns_pkt_tsig_verify(p.get(), reply.data(), reply.size(), "ddns-key.", "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=", mac.get()));
  CHECK_FALSE(ldns_pkt_tsig_verify(p.get(), reply.data(), reply.size(), "ddns-key.", "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=", nullptr));

  std::vector<uint8_t> unsigned_reply(q.begin(), q.begin() + long(t.offset));
  unsigned_reply[10] = unsigned_reply[11] = 0;
  tsig_append(unsigned_reply, nullptr, t, tsig_error::badsig, now);
  TsigRecord back;
  REQUIRE(read_tsig(unsigned_reply.data(), unsigned_reply.size(), t.offset, unsigned_reply.size(), back));
  CHECK(back.mac.empty());
  CHECK(back.error == tsig_error::badsig);
  CHECK(back.original_id == t.original_id);
}

TEST_CASE("UPDATE semantics: adds, deletes, CNAME rules and config-owned records", "[update]") {
  CompiledZone z(zone_yaml);
  const ZoneRecords& zone = z.compiled().zones[0];

  auto r = run(zone, {}, {}, {rr("a.lab.example.com. 60 IN A 192.0.2.1"), rr("a.lab.example.com. 60 IN A 192.0.2.2"),
                              rr("a.lab.example.com. 60 IN A 192.0.2.1")});
  CHECK(r.rcode == 0);
  CHECK(r.changed);
  CHECK(r.records.size() == 2);  // the duplicate is one record

  const std::vector<std::string> two = r.records;
  r = run(zone, two, {}, {rr("a.lab.example.com. 300 IN A 192.0.2.2")});
  CHECK(r.changed);  // only the TTL: the whole RRset takes it
  CHECK_THAT(r.records[0], Catch::Contains("300"));
  CHECK_THAT(r.records[1], Catch::Contains("300"));
  r = run(zone, two, {}, {rr("A.LAB.example.com. 0 NONE A 192.0.2.1")});
  CHECK(r.records.size() == 1);
  r = run(zone, two, {}, {empty_rr("a.lab.example.com.", LDNS_RR_TYPE_ANY, LDNS_RR_CLASS_ANY)});
  CHECK(r.records.empty());
  CHECK(r.changed);
  r = run(zone, two, {}, {empty_rr("b.lab.example.com.", LDNS_RR_TYPE_A, LDNS_RR_CLASS_ANY)});
  CHECK_FALSE(r.changed);

  // CNAME and other data never share a name: such adds are ignored (RFC 2136 §3.4.2.2).
  r = run(zone, two, {}, {rr("a.lab.example.com. 60 IN CNAME ns1.lab.example.com.")});
  CHECK(r.rcode == 0);
  CHECK_FALSE(r.changed);
  r = run(zone, {}, {}, {rr("alias.lab.example.com. 60 IN TXT \"x\"")});
  CHECK(r.rcode == 0);  // alias is a CNAME in the config: the TXT is ignored
  CHECK_FALSE(r.changed);
  r = run(zone, {}, {}, {rr("c.lab.example.com. 60 IN CNAME ns1.lab.example.com."), rr("c.lab.example.com. 60 IN CNAME etcd-1.lab.example.com.")});
  REQUIRE(r.records.size() == 1);  // a CNAME replaces the name's CNAME
  CHECK_THAT(r.records[0], Catch::Contains("etcd-1"));

  struct Row {
    const char* what;
    ldns_rr* update;
    uint8_t rcode;
  };
  const Row rows[] = {
      {"config A", rr("ns1.lab.example.com. 60 IN A 192.0.2.9"), rcode::refused},
      {"generated SRV", empty_rr("_etcd-client-c1._tcp.lab.example.com.", LDNS_RR_TYPE_SRV, LDNS_RR_CLASS_ANY), rcode::refused},
      {"member address", rr("etcd-1.lab.example.com. 0 NONE A 192.0.2.21"), rcode::refused},
      {"all at a config name", empty_rr("etcd-1.lab.example.com.", LDNS_RR_TYPE_ANY, LDNS_RR_CLASS_ANY), rcode::refused},
      {"apex: all but SOA and NS", empty_rr("lab.example.com.", LDNS_RR_TYPE_ANY, LDNS_RR_CLASS_ANY), rcode::noerror},
      {"delete apex NS", empty_rr("lab.example.com.", LDNS_RR_TYPE_NS, LDNS_RR_CLASS_ANY), rcode::refused},
      {"delegation", rr("sub.lab.example.com. 60 IN NS ns.example.org."), rcode::refused},
      {"wildcard", rr("*.lab.example.com. 60 IN A 192.0.2.1"), rcode::refused},
      {"meta type", empty_rr("x.lab.example.com.", LDNS_RR_TYPE_AXFR, LDNS_RR_CLASS_IN), rcode::formerr},
      {"delete with TTL", rr("a.lab.example.com. 60 NONE A 192.0.2.1"), rcode::formerr},
      {"outside", rr("a.example.org. 60 IN A 192.0.2.1"), rcode_update::notzone},
      {"class CH", rr("a.lab.example.com. 60 CH A 192.0.2.1"), rcode::formerr},
      {"RDATA with no text form (CAA, empty tag)", caa_empty_tag(), rcode::formerr},  // found by fuzz_update
  };
  for (const Row& row : rows) {
    INFO(row.what);
    r = run(zone, two, {}, {rr("new.lab.example.com. 60 IN A 192.0.2.77"), row.update});
    CHECK(int(r.rcode) == int(row.rcode));
    if (r.rcode == 0) CHECK(r.records.size() == 3);  // new added; a.* kept (not at the apex)
  }
}

TEST_CASE("UPDATE records: persisted in the registry file and served after config records", "[update]") {
  Registry reg;
  reg.records["lab.example.com."] = {"web.lab.example.com.\t60\tIN\tTXT\t\"two words\"", "web.lab.example.com.\t60\tIN\tA\t192.0.2.80"};
  const Registry back = Registry::parse(reg.serialize(), "registrations");
  CHECK(back.records == reg.records);
  std::string damaged = reg.serialize();
  damaged.replace(damaged.find("192.0.2.80"), 10, "192.0.2.81");
  CHECK_THROWS_WITH(Registry::parse(damaged, "registrations"), Catch::Contains("checksum mismatch"));

  // A record the config took over since it was added is dropped with a warning, never served twice.
  TempDir dir;
  const std::string conf = dir.write("dnsd.yaml", "listen: [\"127.0.0.1:1053\"]\nzones: [\"zones/*.yaml\"]\nstate_dir: state\n");
  dir.write("zones/zone.yaml", zone_yaml);
  DaemonConfig cfg = load_config(conf);
  reg.records["lab.example.com."].push_back("ns1.lab.example.com. 60 IN A 192.0.2.99");
  reg.apply(cfg);
  StateStore state(cfg.state_dir, true);
  const CompiledConfig c = compile_config(cfg, state);
  const std::string text = zone_text(c.zones[0]);
  CHECK_THAT(text, Catch::Contains("\"two words\"") && Catch::Contains("192.0.2.80") && !Catch::Contains("192.0.2.99"));
  REQUIRE(c.warnings.size() == 1);
  CHECK_THAT(c.warnings[0].message, Catch::Contains("the config now has this name and type"));
}
