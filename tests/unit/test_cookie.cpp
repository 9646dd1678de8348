// DNS cookies: RFC 9018's published server cookies, reuse of fresh ones, and the OPT of replies.
#include <catch2/catch.hpp>

#include <string>

#include "cookie.hpp"
#include "packet.hpp"
#include "query.hpp"
#include "wire.hpp"

using namespace dnsd;
using dnsd::test::Bytes;

namespace {

Bytes unhex(const std::string& h) {
  Bytes out;
  for (size_t i = 0; i + 1 < h.size(); i += 2) out.push_back(uint8_t(std::stoi(h.substr(i, 2), nullptr, 16)));
  return out;
}

std::string hex(const uint8_t* p, size_t n) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  for (size_t i = 0; i < n; ++i) out += std::string{digits[p[i] >> 4], digits[p[i] & 15]};
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
  Bytes q = dnsd::test::make_query("a.example", rr_type::a);
  q[11] = 1;
  q.insert(q.end(), {0, 0, 41, 0x10, 0, 0, 0, 0, 0});
  dnsd::test::push16(q, uint16_t(4 + cookie.size()));
  dnsd::test::push16(q, edns_cookie);
  dnsd::test::push16(q, uint16_t(cookie.size()));
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

TEST_CASE("replies carry our cookie after the client's; bad lengths are FORMERR", "[cookie][query]") {
  Snapshot snap;
  snap.set_cookie_secret(std::string(secret.begin(), secret.end()));
  Bytes reply(65535);
  Counters c;
  MessageContext context;
  context.client_ip = client_v4;
  context.client_ip_len = 4;
  context.now = 1559731985;
  const Bytes q = query_with_cookie(unhex("2464c4abcf10c957"));
  size_t n = query_process(&snap, q.data(), q.size(), reply.data(), reply.size(), Transport::udp, c, &context);
  REQUIRE(n > 40);
  CHECK(reply[3] == rcode::refused);  // no zones: REFUSED, still with the OPT and the cookie
  CHECK(get16(reply.data() + n - 30) == 28);                         // OPT RDLENGTH
  CHECK(get16(reply.data() + n - 28) == edns_cookie);
  CHECK(hex(reply.data() + n - 24, 24) == "2464c4abcf10c957010000005cf79f111f8130c3eee29480");
  // Without a secret (cookies off) or without a client address, the OPT has no options.
  Snapshot off;
  n = query_process(&off, q.data(), q.size(), reply.data(), reply.size(), Transport::udp, c, &context);
  CHECK(get16(reply.data() + n - 2) == 0);
  for (size_t len : {0, 7, 9, 15, 41}) {
    INFO(len);
    const Bytes bad = query_with_cookie(Bytes(len, 0xAB));
    n = query_process(&snap, bad.data(), bad.size(), reply.data(), reply.size(), Transport::udp, c, &context);
    CHECK((reply[3] & 0x0F) == rcode::formerr);
  }
  for (size_t len : {8, 16, 24, 40}) {
    const Bytes good = query_with_cookie(Bytes(len, 0xAB));
    n = query_process(&snap, good.data(), good.size(), reply.data(), reply.size(), Transport::udp, c, &context);
    CHECK((reply[3] & 0x0F) == rcode::refused);
  }
}
