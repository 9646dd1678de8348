// Writing DNS messages (see packer.hpp).
#include "packer.hpp"

#include <openssl/rand.h>

#include <algorithm>
#include <stdexcept>

#include "hash.hpp"
#include "names.hpp"
#include "wire.hpp"

namespace dnsd {

namespace {

uint8_t ascii_lower(uint8_t c) noexcept { return c >= 'A' && c <= 'Z' ? uint8_t(c + ('a' - 'A')) : c; }

}  // namespace

uint16_t random_message_id() {
  uint16_t id = 0;
  if (RAND_bytes(reinterpret_cast<unsigned char*>(&id), sizeof id) != 1) throw std::runtime_error("RAND_bytes failed");
  return id;
}

bool compressible_rdata(ldns_rr_type t) {
  return t == LDNS_RR_TYPE_NS || t == LDNS_RR_TYPE_CNAME || t == LDNS_RR_TYPE_SOA || t == LDNS_RR_TYPE_PTR ||
         t == LDNS_RR_TYPE_MX;
}

std::vector<uint8_t> empty_reply(const std::vector<uint8_t>& request, const QueryView& q, uint8_t rcode, bool opt) {
  std::vector<uint8_t> r;
  r.reserve(header_size + q.question_len + 11);  // one allocation (and no g++ 12 -Warray-bounds false positive)
  r.resize(header_size);
  put16(r.data(), q.id);
  r[2] = uint8_t(0x80 | (q.opcode << 3) | (q.opcode == 0 && q.rd ? 0x01 : 0));
  r[3] = rcode & 0x0F;
  if (q.has_question) {
    put16(r.data() + 4, 1);
    r.insert(r.end(), request.begin() + header_size, request.begin() + long(header_size + q.question_len));
  }
  if (opt) {
    const uint8_t rr[11] = {0, 0, 41, uint8_t(our_edns_payload >> 8), uint8_t(our_edns_payload), 0, 0, 0, 0, 0, 0};
    r.insert(r.end(), rr, rr + sizeof rr);
    put16(r.data() + 10, 1);
  }
  return r;
}

Packer::Packer(std::string_view qname, uint16_t qtype, uint16_t qclass) { reset(qname, qtype, qclass); }

void Packer::reset(std::string_view qname, uint16_t qtype, uint16_t qclass) {
  buf_.reserve(512);  // most answers fit: no growth step by step
  buf_.assign(header_size, 0);
  // A table grown for a large answer is let go; a small one is cleared.
  if (targets_.size() > 256) targets_.clear();
  else if (target_count_ != 0) std::fill(targets_.begin(), targets_.end(), Target{});
  target_count_ = 0;
  body_start_ = qname_len_ = 0;
  // The question's suffixes become targets when another name is first written in full: most
  // answers (an address set) have none, their owner being a pointer to the question.
  const auto* q = reinterpret_cast<const uint8_t*>(qname.data());
  size_t starts[max_labels], end = 0;
  label_starts(q, qname.size(), starts, end);
  raw(q, end + 1);
  qname_len_ = end + 1;
  question_targets_ = false;
  u16(qtype);
  u16(qclass);
  put16(buf_.data() + 4, 1);
  body_start_ = buf_.size();
}

Packer::Packer() : buf_(header_size), body_start_(header_size) {}

void Packer::rr(const Rr& rr, uint32_t ttl) {
  name(reinterpret_cast<const uint8_t*>(rr.owner().data()), rr.owner().size(), true);
  const ldns_rr_type type = rr.type();
  // Type, class, TTL and a place for the rdata length, in one step.
  const size_t fixed_at = buf_.size();
  buf_.resize(fixed_at + 10);
  put16(buf_.data() + fixed_at, uint16_t(type));
  put16(buf_.data() + fixed_at + 2, uint16_t(rr.rr_class()));
  put32(buf_.data() + fixed_at + 4, ttl);
  const size_t rdlen_at = fixed_at + 8;
  // The names in the rdata of the types that have them where they are: written through name(), so
  // that they are compression targets, and compressed themselves for the RFC 1035 types.
  const std::span<const uint8_t> rdata = rr.rdata();
  size_t at = 0;
  const auto field_name = [&] {
    const std::string_view n = rr.rdata_name(at);
    if (n.empty()) return false;
    name(reinterpret_cast<const uint8_t*>(n.data()), n.size(), compressible_rdata(type));
    at += n.size();
    return true;
  };
  const auto fixed = [&](size_t n) {
    n = std::min(n, rdata.size() - at);
    raw(rdata.data() + at, n);
    at += n;
  };
  switch (type) {
    case LDNS_RR_TYPE_NS: case LDNS_RR_TYPE_CNAME: case LDNS_RR_TYPE_PTR: case LDNS_RR_TYPE_DNAME:
    case LDNS_RR_TYPE_MB: case LDNS_RR_TYPE_MD: case LDNS_RR_TYPE_MF: case LDNS_RR_TYPE_MG: case LDNS_RR_TYPE_MR:
      field_name();
      break;
    case LDNS_RR_TYPE_MX: case LDNS_RR_TYPE_AFSDB: case LDNS_RR_TYPE_RT: case LDNS_RR_TYPE_KX:
      fixed(2);
      field_name();
      break;
    case LDNS_RR_TYPE_SRV:
      fixed(6);
      field_name();
      break;
    case LDNS_RR_TYPE_SOA: case LDNS_RR_TYPE_MINFO: case LDNS_RR_TYPE_RP:
      if (field_name()) field_name();
      break;
    default:
      break;
  }
  fixed(rdata.size() - at);  // the rest as it is
  const size_t rdlen = buf_.size() - rdlen_at - 2;
  if (rdlen > 65535) throw std::runtime_error("record data over 64 KiB");
  put16(buf_.data() + rdlen_at, uint16_t(rdlen));
}

void Packer::hinfo(uint32_t ttl) {
  name(buf_.data() + header_size, body_start_ - header_size - 4, true);
  u16(rr_type::hinfo);
  u16(class_in);
  u32(ttl);
  const uint8_t rdata[] = {0, 9, 7, 'R', 'F', 'C', '8', '4', '8', '2', 0};
  raw(rdata, sizeof rdata);
}

void Packer::truncate(size_t size) {
  if (size >= buf_.size()) return;
  buf_.resize(size);
  // (A target left behind would be harmless as long as a hit is checked against the bytes at its
  // offset, but it could then match bytes inside later rdata: they go.)
  std::vector<Target> kept;
  for (const Target& t : targets_)
    if (t.offset != 0 && t.offset < size) kept.push_back(t);
  std::fill(targets_.begin(), targets_.end(), Target{});
  target_count_ = 0;
  for (const Target& t : kept) add_target(t.hash, t.offset);
}

void Packer::u16(uint16_t v) {
  buf_.push_back(uint8_t(v >> 8));
  buf_.push_back(uint8_t(v));
}

void Packer::u32(uint32_t v) {
  u16(uint16_t(v >> 16));
  u16(uint16_t(v));
}

size_t Packer::label_starts(const uint8_t* wire, size_t len, size_t (&starts)[max_labels], size_t& end) {
  size_t count = 0;
  end = 0;
  while (end < len && wire[end] != 0 && count < max_labels) {
    if (wire[end] > 63) throw std::runtime_error("not a wire name");
    starts[count++] = end;
    end += size_t(wire[end]) + 1;
  }
  if (end >= len || wire[end] != 0 || end + 1 > 255) throw std::runtime_error("not a wire name");
  return count;
}

void Packer::suffix_hashes(const uint8_t* wire, const size_t* starts, size_t count, size_t end, uint8_t* lower,
                           uint64_t* hashes) noexcept {
  for (size_t i = 0; i <= end; ++i) lower[i] = ascii_lower(wire[i]);
  uint64_t h = fnv_basis;
  for (size_t k = count; k-- > 0;) hashes[k] = h = fnv1a(lower + starts[k], size_t(lower[starts[k]]) + 1, h);
}

void Packer::add_question_targets() {
  question_targets_ = true;
  if (qname_len_ == 0) return;
  const uint8_t* q = buf_.data() + header_size;
  size_t starts[max_labels], end = 0;
  const size_t count = label_starts(q, qname_len_, starts, end);
  uint8_t lower[256];
  uint64_t hashes[max_labels];
  suffix_hashes(q, starts, count, end, lower, hashes);
  for (size_t k = 0; k < count; ++k) add_target(hashes[k], uint16_t(header_size + starts[k]));
}

void Packer::name(const uint8_t* wire, size_t len, bool compress) {
  // The question's name again (an answer's owner): a pointer to it, as the table would give.
  if (compress && len == qname_len_ &&
      std::equal(wire, wire + len, buf_.data() + header_size, [](uint8_t a, uint8_t b) { return ascii_lower(a) == ascii_lower(b); })) {
    u16(uint16_t(0xC000 | header_size));
    return;
  }
  // Where each label starts: a wire name whole within `len`, or it is not written.
  size_t starts[max_labels], end = 0;
  const size_t count = label_starts(wire, len, starts, end);
  if (!question_targets_) add_question_targets();
  uint8_t lower[256];
  uint64_t hashes[max_labels];
  suffix_hashes(wire, starts, count, end, lower, hashes);
  for (size_t k = 0; k < count; ++k) {
    const size_t i = starts[k];
    if (compress) {
      if (const uint16_t found = find_target(hashes[k], [&](uint16_t at) { return name_at(at, lower + i); }); found != 0) {
        u16(uint16_t(0xC000 | found));
        return;
      }
      if (buf_.size() < 0x3FFF) add_target(hashes[k], uint16_t(buf_.size()));
    } else if (buf_.size() < 0x3FFF && find_target(hashes[k], [](uint16_t) { return true; }) == 0) {
      // Written in full (an SRV target): a new suffix becomes a target. A suffix whose 64-bit hash is
      // there already is taken to be there (not compared: a collision would cost compression alone).
      add_target(hashes[k], uint16_t(buf_.size()));
    }
    raw(wire + i, size_t(wire[i]) + 1);
  }
  buf_.push_back(0);
}

void Packer::add_target(uint64_t hash, uint16_t offset) {
  if ((target_count_ + 1) * 2 > targets_.size()) {
    std::vector<Target> old(std::max<size_t>(64, targets_.size() * 2));
    old.swap(targets_);
    target_count_ = 0;
    for (const Target& t : old)
      if (t.offset != 0) add_target(t.hash, t.offset);
  }
  const size_t mask = targets_.size() - 1;
  size_t at = size_t(hash) & mask;
  while (targets_[at].offset != 0) at = (at + 1) & mask;
  targets_[at] = {hash, offset};
  ++target_count_;
}

bool Packer::name_at(size_t offset, const uint8_t* lower) const noexcept {
  for (int hops = 0; offset < buf_.size();) {
    const uint8_t c = buf_[offset];
    if ((c & 0xC0) == 0xC0) {
      if (offset + 1 >= buf_.size() || ++hops > 127) return false;
      offset = (size_t(c & 0x3F) << 8) | buf_[offset + 1];
      continue;
    }
    if (c != *lower) return false;
    if (c == 0) return true;
    if (offset + 1 + c > buf_.size()) return false;
    for (size_t j = 1; j <= c; ++j)
      if (ascii_lower(buf_[offset + j]) != lower[j]) return false;
    offset += size_t(c) + 1;
    lower += size_t(c) + 1;
  }
  return false;
}

}  // namespace dnsd
