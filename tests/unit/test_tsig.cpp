// TSIG (RFC 8945): signing and verification, the checks in their RFC order, replies signed over the
// request MAC (checked by ldns).
#include <catch2/catch.hpp>

#include "compiled_zone.hpp"
#include "tsig.hpp"

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
  const std::optional<TsigRecord> read = read_tsig(msg.data(), msg.size(), v.tsig_offset, v.tsig_end);
  REQUIRE(read);
  t = *read;
  const TsigVerdict verdict = tsig_verify(keys, msg.data(), t, now);
  found = verdict.key;
  return verdict.check;
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
  const std::optional<TsigRecord> back = read_tsig(unsigned_reply.data(), unsigned_reply.size(), t.offset, unsigned_reply.size());
  REQUIRE(back);
  CHECK(back->mac.empty());
  CHECK(back->error == tsig_error::badsig);
  CHECK(back->original_id == t.original_id);
}
