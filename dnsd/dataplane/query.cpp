// query_process() (see query.hpp): verdict by flat guard clauses, then reply assembly from the
// snapshot's precompiled bodies. Anchor: NSD query.c query_process().
#include "query.hpp"

#include <algorithm>

#include "cookie.hpp"
#include "wire.hpp"

namespace dnsd {

namespace {

constexpr size_t opt_size = 11;
constexpr size_t cookie_option_size = 4 + client_cookie_size + server_cookie_size;

struct Reply {
  uint8_t* out;
  size_t limit;  // what this reply may occupy: transport and client size
  size_t opt = 0;  // our OPT RR's size: 0 without EDNS, more with a cookie
  const uint8_t* cookie = nullptr;  // the client cookie to echo, and ...
  uint8_t server_cookie[server_cookie_size] = {};  // ... our server cookie after it
  size_t pos = header_size;
  uint16_t counts[4] = {0, 0, 0, 0};
};

// The size a UDP reply must fit in: 512 without EDNS, else the client's size (at least 512) capped at
// ours (RFC 6891 §6.2.5; go1.19 fails on UDP replies over 1232 bytes).
size_t reply_limit(const QueryView& q, Transport t, size_t cap) noexcept {
  size_t limit = max_message;
  if (t == Transport::udp)
    limit = q.edns ? std::clamp<size_t>(q.edns_payload, udp_plain_limit, our_edns_payload) : udp_plain_limit;
  return std::min(limit, cap);
}

// Header: ID, opcode, RD and CD copied; RA, AD, Z and TC of the query never echoed.
void write_header(Reply& r, const QueryView& q, bool aa, bool tc, uint16_t rc) noexcept {
  put16(r.out, q.id);
  r.out[2] = uint8_t(0x80 | (q.opcode << 3) | (aa ? 0x04 : 0) | (tc ? 0x02 : 0) | (q.rd ? 0x01 : 0));
  r.out[3] = uint8_t((q.cd ? 0x10 : 0) | (rc & 0x0F));
  for (int i = 0; i < 4; ++i) put16(r.out + 4 + 2 * i, r.counts[i]);
}

// Copies the question exactly as sent: case preserved for 0x20 resolvers, and Go drops replies
// whose question differs from what it asked.
void write_question(Reply& r, const uint8_t* pkt, const QueryView& q) noexcept {
  std::memcpy(r.out + header_size, pkt + header_size, q.question_len);
  r.pos = header_size + q.question_len;
  r.counts[0] = 1;
}

// Our OPT: root owner, payload 1232, extended rcode bits, version 0, DO copied; the only option is
// COOKIE, when the client sent one (RFC 7873 §5.2).
void write_opt(Reply& r, const QueryView& q, uint16_t rc) noexcept {
  uint8_t* p = r.out + r.pos;
  p[0] = 0;
  put16(p + 1, rr_type::opt);
  put16(p + 3, our_edns_payload);
  p[5] = uint8_t(rc >> 4);
  p[6] = 0;
  put16(p + 7, q.edns_do ? 0x8000 : 0);
  put16(p + 9, uint16_t(r.opt - opt_size));
  if (r.cookie) {
    put16(p + 11, edns_cookie);
    put16(p + 13, client_cookie_size + server_cookie_size);
    std::memcpy(p + 15, r.cookie, client_cookie_size);
    std::memcpy(p + 15 + client_cookie_size, r.server_cookie, server_cookie_size);
  }
  r.pos += r.opt;
  ++r.counts[3];
}

size_t finish(Reply& r, const QueryView& q, bool aa, bool tc, uint16_t rc, Counters& c) noexcept {
  write_header(r, q, aa, tc, rc);
  bump(c.responses[std::min<size_t>(rc, c.responses.size() - 1)]);
  if (tc) bump(c.truncated);
  return r.pos;
}

// A reply with no records: header, the question when there is one, and OPT when the query had one.
size_t error_reply(Reply& r, const uint8_t* pkt, const QueryView& q, uint16_t rc, bool with_opt,
                   Counters& c) noexcept {
  if (q.has_question && header_size + q.question_len + r.opt <= r.limit) write_question(r, pkt, q);
  if (with_opt && q.edns && r.pos + r.opt <= r.limit) write_opt(r, q, rc);
  return finish(r, q, false, false, rc, c);
}

// TC reply: header + question (+ OPT), no partial RRsets; the client retries over TCP.
size_t truncated_reply(Reply& r, const uint8_t* pkt, const QueryView& q, uint16_t rc, Counters& c) noexcept {
  write_question(r, pkt, q);
  if (q.edns) write_opt(r, q, rc);
  return finish(r, q, true, true, rc, c);
}

// Answers from precompiled bodies: answer and authority always whole, additional RRs while they fit.
size_t data_reply(Reply& r, const uint8_t* pkt, const QueryView& q, const Answer& a, Counters& c) noexcept {
  const size_t base = header_size + q.question_len + r.opt;
  if (base + a.essential() > r.limit) return truncated_reply(r, pkt, q, rcode::noerror, c);
  size_t body = a.essential();
  uint16_t additional = 0;
  for (uint16_t end : a.additional_ends()) {
    if (base + end > r.limit) break;
    body = end;
    ++additional;
  }
  write_question(r, pkt, q);
  std::memcpy(r.out + r.pos, a.body().data(), body);
  r.pos += body;
  r.counts[1] = a.ancount();
  r.counts[2] = 0;
  r.counts[3] = additional;
  if (q.edns) write_opt(r, q, rcode::noerror);
  return finish(r, q, true, false, rcode::noerror, c);
}

// NXDOMAIN and NODATA: the zone's SOA in authority (RFC 2308 §3), its owner a pointer to the apex,
// which is a suffix of the question name.
size_t negative_reply(Reply& r, const uint8_t* pkt, const QueryView& q, const Zone& z,
                      const std::vector<uint8_t>& tail, uint8_t rc, Counters& c) noexcept {
  const size_t soa = 2 + tail.size();
  const size_t base = header_size + q.question_len + r.opt;
  if (base + soa > r.limit) return truncated_reply(r, pkt, q, rc, c);
  write_question(r, pkt, q);
  put16(r.out + r.pos, uint16_t(0xC000 | (header_size + q.qname_len - z.apex.size())));
  std::memcpy(r.out + r.pos + 2, tail.data(), tail.size());
  r.pos += soa;
  r.counts[2] = 1;
  if (q.edns) write_opt(r, q, rc);
  return finish(r, q, true, false, rc, c);
}

Processed sent(size_t size) noexcept { return {Verdict::reply, size}; }

// RFC 8945 §5.2.1: a TSIG key we do not know gets NOTAUTH, unsigned, with a TSIG RR carrying BADKEY.
size_t badkey_reply(Reply& r, const uint8_t* pkt, size_t len, const QueryView& q, Counters& c) noexcept {
  const size_t owner_len = parse_dname(pkt, len, q.tsig_offset, nullptr);
  const size_t rdata = q.tsig_offset + owner_len + 10;
  const size_t alg_len = owner_len ? parse_dname(pkt, len, rdata, nullptr) : 0;
  // Names in TSIG are never compressed (RFC 8945 §4.2); fixed fields: time 6, fudge 2, MAC size 2.
  if (alg_len == 0 || q.tsig_end < rdata + alg_len + 10) return error_reply(r, pkt, q, rcode::formerr, true, c);
  const size_t mac_len = get16(pkt + rdata + alg_len + 8);
  const size_t orig_id = rdata + alg_len + 10 + mac_len;
  if (q.tsig_end < orig_id + 6) return error_reply(r, pkt, q, rcode::formerr, true, c);

  const size_t rdlen = alg_len + 6 + 2 + 2 + 2 + 2 + 2;
  const size_t tsig_size = owner_len + 10 + rdlen;
  const size_t need = header_size + q.question_len + r.opt + tsig_size;
  if (need > r.limit) return truncated_reply(r, pkt, q, rcode::notauth, c);
  write_question(r, pkt, q);
  if (q.edns) write_opt(r, q, rcode::notauth);  // TSIG must stay the last record
  uint8_t* p = r.out + r.pos;
  std::memcpy(p, pkt + q.tsig_offset, owner_len);
  p += owner_len;
  put16(p, rr_type::tsig);
  put16(p + 2, rr_type::any);  // class ANY
  put32(p + 4, 0);
  put16(p + 8, uint16_t(rdlen));
  p += 10;
  std::memcpy(p, pkt + rdata, alg_len + 8);  // algorithm, time signed, fudge: as the client sent them
  p += alg_len + 8;
  put16(p, 0);  // MAC size 0: unsigned
  std::memcpy(p + 2, pkt + orig_id, 2);
  put16(p + 4, tsig_badkey);
  put16(p + 6, 0);  // other len
  r.pos += tsig_size;
  ++r.counts[3];
  return finish(r, q, false, false, rcode::notauth, c);
}

// Whether the snapshot knows the key a signed message names (names in TSIG are never compressed).
bool known_key(const Snapshot& snap, const uint8_t* pkt, size_t len, const QueryView& q) noexcept {
  uint8_t name[max_dname_wire];
  const size_t n = parse_dname(pkt, len, q.tsig_offset, name);
  return n > 0 && snap.knows_key({reinterpret_cast<const char*>(name), n});
}

// An UPDATE without a signature: FORMERR when its zone section is not one SOA question, NOTAUTH when
// we do not serve the zone, REFUSED otherwise (RFC 2136 §3.1, §3.3).
size_t unsigned_update_reply(Reply& r, const uint8_t* pkt, const QueryView& q, const Snapshot* snap, Counters& c) noexcept {
  if (q.qtype != rr_type::soa || q.qclass != class_in) return error_reply(r, pkt, q, rcode::formerr, true, c);
  const std::string_view zone(reinterpret_cast<const char*>(q.lname), q.qname_len);
  const Zone* served = snap->find_zone(zone);
  return error_reply(r, pkt, q, served && served->apex == zone ? rcode::refused : rcode::notauth, true, c);
}

}  // namespace

Processed retry_over_tcp(const uint8_t* pkt, size_t len, uint8_t* out, size_t cap, Counters& c) noexcept {
  QueryView q;
  if (parse_query(pkt, len, q) != ParseResult::ok || !q.has_question || header_size + q.question_len > cap)
    return {Verdict::drop, 0};
  Reply r{out, std::min(cap, udp_plain_limit)};
  write_question(r, pkt, q);
  return sent(finish(r, q, false, true, rcode::noerror, c));
}

Processed query_process(const Snapshot* snap, const uint8_t* pkt, size_t len, uint8_t* out, size_t cap,
                        Transport transport, Counters& c, MessageContext* context) noexcept {
  bump(c.queries[transport == Transport::tcp ? 1 : 0]);
  QueryView q;
  const ParseResult parsed = parse_query(pkt, len, q);
  if (parsed == ParseResult::drop) {
    bump(c.dropped);
    if (len < header_size) bump(c.malformed);
    return {Verdict::drop, 0};
  }
  Reply r{out, reply_limit(q, transport, cap)};
  bump(c.qtypes[q.qtype < 256 ? q.qtype : 0]);
  ResponseClass ignored;
  ResponseClass& rc = context ? context->response : ignored;
  rc = {ResponseClass::error, 0};  // until it is known to be an answer or a negative one
  if (q.edns) r.opt = opt_size;
  // A server cookie for every reply with our OPT, when the client sent a cookie (RFC 7873 §5.2.3-4).
  if (q.cookie_offset && snap && snap->cookies() && context && context->client_ip && parsed == ParseResult::ok) {
    r.cookie = pkt + q.cookie_offset;
    answer_cookie(snap->cookie_secret(), r.cookie, q.cookie_len, context->client_ip, context->client_ip_len,
                  context->now, r.server_cookie);
    r.opt += cookie_option_size;
  }

  // Malformed after a readable header: FORMERR, question echoed only when it parsed, no OPT.
  if (parsed == ParseResult::formerr) {
    bump(c.malformed);
    return sent(error_reply(r, pkt, q, rcode::formerr, false, c));
  }
  // EDNS version above 0: BADVERS with our OPT saying version 0 (RFC 6891 §6.1.3).
  if (q.edns && q.edns_version > 0) return sent(error_reply(r, pkt, q, rcode::badvers, true, c));
  // Keys, UPDATE and the durable state live on the control thread; only what needs them goes there.
  if (snap && snap->handoff() && (q.tsig_offset || q.opcode == opcode_update)) {
    // A key we do not know: BADKEY here, unsigned (RFC 8945 §5.2.1).
    if (q.tsig_offset && !known_key(*snap, pkt, len, q)) {
      bump(c.tsig_unknown_key);
      return sent(badkey_reply(r, pkt, len, q, c));
    }
    // An unsigned UPDATE: every zone that takes updates wants a key (RFC 2136 §3.1: the zone first).
    if (!q.tsig_offset) {
      bump(c.update_unsigned);
      return sent(unsigned_update_reply(r, pkt, q, snap, c));
    }
    bump(c.handed_over);
    rc.kind = ResponseClass::none;
    return {Verdict::hand_over, 0};
  }
  // No TSIG keys are configured, so every signed message names a key we do not know.
  if (q.tsig_offset) return sent(badkey_reply(r, pkt, len, q, c));
  // A NOTIFY (RFC 1996) for a secondary zone goes to the control thread, which knows its primaries;
  // for anything else it is refused.
  if (q.opcode == opcode_notify) {
    const Zone* zone = snap ? snap->find_zone({reinterpret_cast<const char*>(q.lname), q.qname_len}) : nullptr;
    if (!q.has_question || !zone || !zone->secondary || zone->apex.size() != q.qname_len)
      return sent(error_reply(r, pkt, q, rcode::refused, true, c));
    bump(c.handed_over);
    rc.kind = ResponseClass::none;
    return {Verdict::hand_over, 0};
  }
  // Only QUERY is implemented: UPDATE without keys and the rest get NOTIMP, never NOERROR.
  if (q.opcode != 0) return sent(error_reply(r, pkt, q, rcode::notimp, true, c));
  // OPT is a pseudo-type: asking for it is malformed.
  if (q.qtype == rr_type::opt) return sent(error_reply(r, pkt, q, rcode::formerr, true, c));
  // We serve class IN only; CH, HS and ANY are refused.
  if (q.qclass != class_in) return sent(error_reply(r, pkt, q, rcode::refused, true, c));
  if (!snap) return sent(error_reply(r, pkt, q, rcode::refused, true, c));
  // Zone transfers (RFC 5936, RFC 1995) of a zone's apex, when the zone has transfer rules, run on
  // the control thread (ACLs, TSIG, the journal). AXFR is TCP only (RFC 5936 §4.2); IXFR over UDP is
  // answered there with the SOA alone. Everything else is refused here.
  if (q.qtype == rr_type::axfr || q.qtype == rr_type::ixfr) {
    const std::string_view name{reinterpret_cast<const char*>(q.lname), q.qname_len};
    const Zone* zone = snap->find_zone(name);
    if (!zone || zone->apex != name || !zone->transfers) return sent(error_reply(r, pkt, q, rcode::refused, true, c));
    if (zone->servfail) return sent(error_reply(r, pkt, q, rcode::servfail, true, c));
    if (q.qtype == rr_type::axfr && transport == Transport::udp) return sent(error_reply(r, pkt, q, rcode::notimp, true, c));
    bump(c.handed_over);
    rc.kind = ResponseClass::none;
    return {Verdict::hand_over, 0};
  }

  const Snapshot::Hit hit = snap->lookup({reinterpret_cast<const char*>(q.lname), q.qname_len}, q.qtype);
  // A secondary zone with no copy to serve (none yet, or expired): SERVFAIL, as Knot and NSD answer.
  if (hit.zone && hit.zone->servfail) return sent(error_reply(r, pkt, q, rcode::servfail, true, c));
  const bool classify = context && context->classify;
  if (hit.kind == Snapshot::Kind::answer)
    rc = {ResponseClass::answer, classify ? fnv1a(q.lname, q.qname_len, fnv_basis ^ q.qtype) : 0};
  else if (hit.kind != Snapshot::Kind::refused)
    rc = {ResponseClass::negative,
          classify ? fnv1a(reinterpret_cast<const uint8_t*>(hit.zone->apex.data()), hit.zone->apex.size()) : 0};
  switch (hit.kind) {
    case Snapshot::Kind::answer: return sent(data_reply(r, pkt, q, *hit.answer, c));
    case Snapshot::Kind::nodata:
      return sent(negative_reply(r, pkt, q, *hit.zone, hit.zone->soa_negative_tail, rcode::noerror, c));
    case Snapshot::Kind::nxdomain:
      return sent(negative_reply(r, pkt, q, *hit.zone,
                                 hit.negative_tail ? *hit.negative_tail : hit.zone->soa_negative_tail, rcode::nxdomain, c));
    case Snapshot::Kind::refused: break;
  }
  // Not in any zone we serve: REFUSED without AA (we are not a resolver).
  return sent(error_reply(r, pkt, q, rcode::refused, true, c));
}

}  // namespace dnsd
