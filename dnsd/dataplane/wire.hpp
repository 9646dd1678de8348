// DNS message layout: reading a received query into a view, and the byte helpers replies are built with.
// Data plane: called per packet on worker threads; allocates nothing, never throws, never casts a packet.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "dname.hpp"

namespace dnsd {

constexpr size_t header_size = 12;
constexpr uint16_t our_edns_payload = 1232;  // DNS flag day 2020; go1.19 rejects larger UDP replies
constexpr size_t udp_plain_limit = 512;      // RFC 1035 §4.2.1
constexpr size_t max_message = 65535;

namespace rr_type {
constexpr uint16_t a = 1, ns = 2, cname = 5, soa = 6, ptr = 12, hinfo = 13, mx = 15, txt = 16, aaaa = 28,
                   srv = 33, opt = 41, tsig = 250, ixfr = 251, axfr = 252, any = 255;
}
namespace rcode {
constexpr uint8_t noerror = 0, formerr = 1, servfail = 2, nxdomain = 3, notimp = 4, refused = 5, notauth = 9;
constexpr uint16_t badvers = 16;  // extended: upper 8 bits travel in the OPT TTL (RFC 6891 §6.1.3)
}  // namespace rcode
constexpr uint16_t tsig_badkey = 17;  // RFC 8945 §5.2.1
constexpr uint16_t class_in = 1;
constexpr uint8_t opcode_notify = 4;  // RFC 1996
constexpr uint8_t opcode_update = 5;  // RFC 2136

// The mnemonic of an rcode (RFC 1035, RFC 2136, RFC 6891: "NOERROR" ... "NOTZONE", "BADVERS"), or null.
const char* rcode_name(size_t rc) noexcept;

inline uint16_t get16(const uint8_t* p) noexcept { return uint16_t(p[0] << 8 | p[1]); }
inline uint32_t get32(const uint8_t* p) noexcept {
  return uint32_t(p[0]) << 24 | uint32_t(p[1]) << 16 | uint32_t(p[2]) << 8 | p[3];
}
inline void put16(uint8_t* p, uint16_t v) noexcept {
  p[0] = uint8_t(v >> 8);
  p[1] = uint8_t(v);
}
inline void put32(uint8_t* p, uint32_t v) noexcept {
  put16(p, uint16_t(v >> 16));
  put16(p + 2, uint16_t(v));
}

// What a query says, as offsets into the packet it was parsed from.
struct QueryView {
  uint16_t id = 0;
  uint8_t opcode = 0;
  bool rd = false;
  bool cd = false;
  uint16_t qdcount = 0;
  bool has_question = false;      // exactly one well-formed question
  size_t question_len = 0;        // name + type + class, starting at offset 12
  size_t qname_len = 0;
  uint8_t lname[max_dname_wire];  // lower-cased question name
  uint16_t qtype = 0;
  uint16_t qclass = 0;
  bool edns = false;
  uint16_t edns_payload = 0;  // as sent; replies treat below 512 as 512
  uint8_t edns_version = 0;
  bool edns_do = false;
  size_t cookie_offset = 0;  // the COOKIE option's data (RFC 7873); 0 = none
  uint8_t cookie_len = 0;    // 8 (client cookie only) or 16 to 40
  size_t tsig_offset = 0;  // offset of the TSIG RR's owner name; 0 = none
  size_t tsig_end = 0;
};

enum class ParseResult {
  drop,      // no reply: shorter than a header, or QR=1
  formerr,   // header readable, rest malformed; view says whether the question may be echoed
  ok,
};

// Parses header, question and the OPT/TSIG records of the additional section. The view stays valid as
// long as the packet does. RFC rules applied here: QR=1 is never answered (RFC 1035 §4.1.1), two OPT
// RRs or an OPT owner other than the root are FORMERR (RFC 6891 §6.1.1), TSIG must be the last RR.
ParseResult parse_query(const uint8_t* pkt, size_t len, QueryView& q) noexcept;

}  // namespace dnsd
