// Query parsing (see wire.hpp). Flat guard clauses; every length is checked before it is read.
#include "wire.hpp"

namespace dnsd {

namespace {

constexpr size_t rr_fixed = 10;  // type, class, TTL, rdlength

// Reads the OPT RR whose fixed part starts at `fixed`; returns false when it is malformed.
bool read_opt(const uint8_t* pkt, size_t fixed, size_t rdlen, QueryView& q) noexcept {
  q.edns = true;
  q.edns_payload = get16(pkt + fixed + 2);
  q.edns_version = pkt[fixed + 5];
  q.edns_do = pkt[fixed + 6] & 0x80;
  // Options must tile the RDATA exactly; unknown ones are ignored, never echoed (RFC 6891 §6.1.2).
  size_t pos = fixed + rr_fixed;
  const size_t end = pos + rdlen;
  while (pos < end) {
    if (end - pos < 4) return false;
    const size_t olen = get16(pkt + pos + 2);
    if (end - pos - 4 < olen) return false;
    if (get16(pkt + pos) == 10 && q.cookie_offset == 0) {
      // RFC 7873 §5.2.2: a client cookie is 8 bytes, a server cookie 8 to 32; anything else is FORMERR.
      if (olen < 8 || (olen > 8 && olen < 16) || olen > 40) return false;
      q.cookie_offset = pos + 4;
      q.cookie_len = uint8_t(olen);
    }
    pos += 4 + olen;
  }
  return true;
}

}  // namespace

ParseResult parse_query(const uint8_t* pkt, size_t len, QueryView& q) noexcept {
  // An unreadable header cannot be answered: there is no ID to answer to.
  if (len < header_size) return ParseResult::drop;
  // Never answer a response (RFC 1035 §4.1.1); answering would let two servers loop.
  if (pkt[2] & 0x80) return ParseResult::drop;
  q.id = get16(pkt);
  q.opcode = (pkt[2] >> 3) & 0x0F;
  q.rd = pkt[2] & 0x01;
  q.cd = pkt[3] & 0x10;
  q.qdcount = get16(pkt + 4);
  const uint16_t ancount = get16(pkt + 6);
  const uint16_t nscount = get16(pkt + 8);
  const uint16_t arcount = get16(pkt + 10);

  // RFC 9619: exactly one question; anything else is FORMERR with no question echoed.
  if (q.qdcount != 1) return ParseResult::formerr;
  q.qname_len = parse_dname(pkt, len, header_size, q.lname);
  if (q.qname_len == 0) return ParseResult::formerr;
  const size_t qfixed = header_size + q.qname_len;
  if (len - qfixed < 4) return ParseResult::formerr;
  q.qtype = get16(pkt + qfixed);
  q.qclass = get16(pkt + qfixed + 2);
  q.question_len = q.qname_len + 4;
  q.has_question = true;

  size_t pos = qfixed + 4;
  const size_t records = size_t(ancount) + nscount + arcount;
  for (size_t i = 0; i < records; ++i) {
    const size_t owner = pos;
    pos = skip_dname(pkt, len, pos);
    if (pos == 0 || len - pos < rr_fixed) return ParseResult::formerr;
    const uint16_t type = get16(pkt + pos);
    const size_t rdlen = get16(pkt + pos + 8);
    if (len - pos - rr_fixed < rdlen) return ParseResult::formerr;
    const bool additional = i >= size_t(ancount) + nscount;
    // TSIG must be the last record of the message (RFC 8945 §5.1).
    if (q.tsig_offset) return ParseResult::formerr;
    if (additional && type == rr_type::opt) {
      if (q.edns) return ParseResult::formerr;              // two OPTs (RFC 6891 §6.1.1)
      if (pkt[owner] != 0) return ParseResult::formerr;     // OPT owner must be the root
      if (!read_opt(pkt, pos, rdlen, q)) return ParseResult::formerr;
    } else if (additional && type == rr_type::tsig) {
      q.tsig_offset = owner;
      q.tsig_end = pos + rr_fixed + rdlen;
    }
    pos += rr_fixed + rdlen;
  }
  // Trailing bytes after the last counted record are ignored, as NSD and Knot do.
  return ParseResult::ok;
}

const char* rcode_name(size_t rc) noexcept {
  static const char* const names[] = {"NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED",
                                      "YXDOMAIN", "YXRRSET", "NXRRSET", "NOTAUTH", "NOTZONE"};
  if (rc < sizeof names / sizeof names[0]) return names[rc];
  return rc == rcode::badvers ? "BADVERS" : nullptr;
}

}  // namespace dnsd
