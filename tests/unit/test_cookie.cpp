// DNS cookies: RFC 9018's published server cookies, reuse of fresh ones, and the OPT of replies.
#include <catch2/catch.hpp>

#include <string>

#include "cookie.hpp"
#include "exchange.hpp"
#include "wire.hpp"

using namespace dnsd;
using namespace dnsd::test;

namespace {

Bytes unhex(const std::string& h) {
  Bytes out;
  for (size_t i = 0; i + 1 < h.size(); i += 2) out.push_back(uint8_t(std::stoi(h.substr(i, 2), nullptr, 16)));
  return out;
}

const Bytes secret = unhex("e5e973e5a6b2a43f48e7dc849e37bfcf");
const uint8_t client_v4[4] = {198, 51, 100, 100};

std::string answered(const std::string& cookie_hex, uint32_t now) {
  const Bytes cookie = unhex(cookie_hex);
  uint8_t out[16];
  answer_cookie(secret.data(), cookie.data(), cookie.size(), client_v4, 4, now, out);
  return cookie_hex.substr(0, 16) + hex(out, 16);
}

// A query with EDNS and a COOKIE option of the given bytes.
Bytes query_with_cookie(const Bytes& cookie) {
  Bytes q = make_query("a.example", rr_type::a);
  q[11] = 1;
  q.insert(q.end(), {0, 0, 41, 0x10, 0, 0, 0, 0, 0});
  push16(q, uint16_t(4 + cookie.size()));
  push16(q, edns_cookie);
  push16(q, uint16_t(cookie.size()));
  q.insert(q.end(), cookie.begin(), cookie.end());
  return q;
}

}  // namespace

TEST_CASE("SipHash-2-4 reference vector", "[cookie]") {
  uint8_t key[16], msg[15];
  for (int i = 0; i < 16; ++i) key[i] = uint8_t(i);
  for (int i = 0; i < 15; ++i) msg[i] = uint8_t(i);
  CHECK(siphash24(key, msg, 15) == 0xa129ca6149be45e5ULL);  // the paper's Appendix A
  CHECK(siphash24(key, msg, 0) == 0x726fdb47dd0e0e31ULL);
}

TEST_CASE("server cookies: RFC 9018 appendix A, and fresh cookies kept", "[cookie]") {
  // A.1: a client cookie alone gets a new server cookie.
  CHECK(answered("2464c4abcf10c957", 1559731985) == "2464c4abcf10c957010000005cf79f111f8130c3eee29480");
  // A.2: forty minutes later the same cookie is renewed.
  CHECK(answered("2464c4abcf10c957010000005cf79f111f8130c3eee29480", 1559734385) ==
        "2464c4abcf10c957010000005cf7a871d4a564a1442aca77");
  // Within half an hour it is kept as it is; a forged or foreign one is replaced.
  CHECK(answered("2464c4abcf10c957010000005cf79f111f8130c3eee29480", 1559731985 + 600) ==
        "2464c4abcf10c957010000005cf79f111f8130c3eee29480");
  CHECK(answered("2464c4abcf10c957010000005cf79f111f8130c3eee29481", 1559731985 + 600) ==
        answered("2464c4abcf10c957", 1559731985 + 600));
}

TEST_CASE("replies carry our cookie after the client's, and bad lengths are FORMERR", "[cookie][query]") {
  Snapshot snap;
  snap.set_cookie_secret(std::string(secret.begin(), secret.end()));
  MessageContext context;
  context.client_ip = client_v4;
  context.client_ip_len = 4;
  context.now = 1559731985;
  const Bytes q = query_with_cookie(unhex("2464c4abcf10c957"));
  const Exchange x(&snap, q, Transport::udp, &context);
  const Bytes& r = x.reply;
  REQUIRE(r.size() > 40);
  CHECK(rcode_of(r) == "REFUSED");  // no zones: REFUSED, still with the OPT and the cookie
  CHECK(rd16(r, r.size() - 30) == 28);  // OPT RDLENGTH
  CHECK(rd16(r, r.size() - 28) == edns_cookie);
  CHECK(hex(r, r.size() - 24, 24) == "2464c4abcf10c957010000005cf79f111f8130c3eee29480");
  // Without a secret (cookies off) or without a client address, the OPT has no options.
  Snapshot off;
  const Exchange plain(&off, q, Transport::udp, &context);
  CHECK(rd16(plain.reply, plain.reply.size() - 2) == 0);
  for (size_t len : {0, 7, 9, 15, 41}) {
    INFO(len);
    const Exchange bad(&snap, query_with_cookie(Bytes(len, 0xAB)), Transport::udp, &context);
    CHECK(rcode_of(bad.reply) == "FORMERR");
  }
  for (size_t len : {8, 16, 24, 40}) {
    INFO(len);
    const Exchange good(&snap, query_with_cookie(Bytes(len, 0xAB)), Transport::udp, &context);
    CHECK(rcode_of(good.reply) == "REFUSED");
  }
}

TEST_CASE("a cookie secret drawn at start is 16 fresh random bytes each time", "[cookie]") {
  const std::string a = random_cookie_secret(), b = random_cookie_secret();
  CHECK(a.size() == 16);
  CHECK(b.size() == 16);
  CHECK(a != b);  // 2^-128 of failing by chance
  CHECK(a != std::string(16, '\0'));
}
