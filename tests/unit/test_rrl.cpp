// Response rate limiting: buckets per source prefix and response class, refill per second, slip.
#include <catch2/catch.hpp>

#include <arpa/inet.h>

#include <string>

#include "rrl.hpp"
#include "snapshot.hpp"

using namespace dnsd;

namespace {

// A client's address bytes, IPv4 (4) or IPv6 (16).
std::string peer(const char* text) {
  uint8_t buf[16];
  if (inet_pton(AF_INET, text, buf) == 1) return std::string(reinterpret_cast<char*>(buf), 4);
  REQUIRE(inet_pton(AF_INET6, text, buf) == 1);
  return std::string(reinterpret_cast<char*>(buf), 16);
}

const ResponseClass www{ResponseClass::answer, 11};
const ResponseClass mail{ResponseClass::answer, 22};

// How many of n responses in one second go out in full / truncated / not at all.
struct Tally {
  int sent = 0, slipped = 0, dropped = 0;
};
Tally run(Rrl& rrl, const RrlOptions& o, const std::string& ip, const ResponseClass& c, int n, uint32_t now) {
  Tally t;
  const auto* bytes = reinterpret_cast<const uint8_t*>(ip.data());
  for (int i = 0; i < n; ++i) switch (rrl.account(o, bytes, ip.size(), c, now)) {
      case Rrl::Verdict::send: ++t.sent; break;
      case Rrl::Verdict::slip: ++t.slipped; break;
      case Rrl::Verdict::drop: ++t.dropped; break;
    }
  return t;
}

}  // namespace

TEST_CASE("RRL: the rate per bucket per second, every slip-th limited response truncated", "[rrl]") {
  Rrl rrl;
  RrlOptions o;
  o.rate = 10;
  o.slip = 2;
  Tally t = run(rrl, o, peer("192.0.2.1"), www, 30, 100);
  CHECK(t.sent == 10);
  CHECK(t.slipped == 10);
  CHECK(t.dropped == 10);
  // The same /24, another class or name: separate buckets.
  CHECK(run(rrl, o, peer("192.0.2.200"), www, 1, 100).dropped == 1);  // same prefix, same bucket
  CHECK(run(rrl, o, peer("192.0.3.1"), www, 10, 100).sent == 10);
  CHECK(run(rrl, o, peer("192.0.2.1"), mail, 10, 100).sent == 10);
  CHECK(run(rrl, o, peer("192.0.2.1"), {ResponseClass::negative, 11}, 10, 100).sent == 10);
  // The next second refills.
  CHECK(run(rrl, o, peer("192.0.2.1"), www, 12, 101).sent == 10);
  // Off: everything goes.
  o.rate = 0;
  CHECK(run(rrl, o, peer("192.0.2.1"), www, 100, 101).sent == 100);
  // Slip 0 drops all; slip 1 truncates all.
  o.rate = 5;
  o.slip = 0;
  CHECK(run(rrl, o, peer("198.51.100.1"), www, 10, 200).dropped == 5);
  o.slip = 1;
  CHECK(run(rrl, o, peer("198.51.100.1"), www, 10, 201).slipped == 5);
}

TEST_CASE("RRL: IPv6 prefixes and the split between workers", "[rrl]") {
  RrlOptions o;
  o.rate = 8;
  Rrl rrl;
  CHECK(run(rrl, o, peer("2001:db8:0:1::1"), www, 8, 5).sent == 8);
  CHECK(run(rrl, o, peer("2001:db8:0:ff::2"), www, 1, 5).sent == 0);  // same /56
  CHECK(run(rrl, o, peer("2001:db8:0:100::1"), www, 8, 5).sent == 8);  // the next /56
  Rrl quarter(1024, 4);  // four workers: each allows a quarter of the rate
  CHECK(run(quarter, o, peer("203.0.113.9"), www, 8, 5).sent == 2);
}

TEST_CASE("RRL slip: a reply cut to header and question with TC", "[rrl]") {
  std::vector<uint8_t> r = {0x12, 0x34, 0x84, 0x00, 0, 1, 0, 2, 0, 1, 0, 1, 1, 'a', 0, 0, 1, 0, 1};
  r.resize(r.size() + 40, 0xEE);  // records
  const size_t n = truncate_reply(r.data(), r.size());
  CHECK(n == 12 + 3 + 4);
  CHECK(r[2] == (0x84 | 0x02));
  CHECK(r[5] == 1);
  CHECK((r[6] | r[7] | r[8] | r[9] | r[10] | r[11]) == 0);
}
