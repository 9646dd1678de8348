// Test helpers: build raw DNS messages byte by byte (no ldns, so data-plane tests link without it).
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "wire.hpp"

namespace dnsd::test {

using Bytes = std::vector<uint8_t>;

inline void push16(Bytes& b, uint16_t v) {
  b.push_back(uint8_t(v >> 8));
  b.push_back(uint8_t(v));
}

// "a.B.example." -> wire labels.
inline Bytes wire_name(const std::string& text) {
  Bytes out;
  size_t start = 0;
  while (start < text.size()) {
    size_t dot = text.find('.', start);
    if (dot == std::string::npos) dot = text.size();
    out.push_back(uint8_t(dot - start));
    out.insert(out.end(), text.begin() + long(start), text.begin() + long(dot));
    start = dot + 1;
  }
  out.push_back(0);
  return out;
}

struct QueryOptions {
  uint16_t id = 0x1234;
  uint8_t flags2 = 0x01;  // RD
  uint8_t flags3 = 0x00;
  uint16_t qdcount = 1;
  bool edns = false;
  uint16_t edns_size = 1232;
  uint8_t edns_version = 0;
  bool edns_do = false;
  int opt_count = 1;
};

// A query for (name, type, class); optional OPT records at the end.
inline Bytes make_query(const std::string& name, uint16_t type, uint16_t klass = 1, QueryOptions o = {}) {
  Bytes b;
  push16(b, o.id);
  b.push_back(o.flags2);
  b.push_back(o.flags3);
  push16(b, o.qdcount);
  push16(b, 0);
  push16(b, 0);
  push16(b, o.edns ? uint16_t(o.opt_count) : 0);
  const Bytes n = wire_name(name);
  b.insert(b.end(), n.begin(), n.end());
  push16(b, type);
  push16(b, klass);
  for (int i = 0; o.edns && i < o.opt_count; ++i) {
    b.push_back(0);
    push16(b, 41);
    push16(b, o.edns_size);
    b.push_back(0);
    b.push_back(o.edns_version);
    push16(b, o.edns_do ? 0x8000 : 0);
    push16(b, 0);
  }
  return b;
}

inline uint16_t rd16(const Bytes& b, size_t off) { return uint16_t(b.at(off) << 8 | b.at(off + 1)); }

// Names and hex for what checks compare, so that a failing check says "REFUSED" or "0xabcd" (Catch
// prints a uint8_t as a character and other integers as bare decimals).
inline std::string rcode_text(unsigned rc) {
  const char* name = rc < 16 ? dnsd::rcode_name(rc) : nullptr;
  return name ? name : "RCODE" + std::to_string(rc);
}
inline std::string type_name(uint16_t t) {
  switch (t) {
    case 1: return "A";
    case 2: return "NS";
    case 5: return "CNAME";
    case 6: return "SOA";
    case 13: return "HINFO";
    case 16: return "TXT";
    case 28: return "AAAA";
    case 33: return "SRV";
    case 41: return "OPT";
    case 250: return "TSIG";
    default: return "TYPE" + std::to_string(t);
  }
}
inline std::string hex(const uint8_t* p, size_t n) {
  static const char digits[] = "0123456789abcdef";
  std::string out;
  for (size_t i = 0; i < n; ++i) out += {digits[p[i] >> 4], digits[p[i] & 15]};
  return out;
}
// Bytes [off, off + n) as hex; throws std::out_of_range past the end.
inline std::string hex(const Bytes& b, size_t off, size_t n) {
  if (off + n > b.size()) throw std::out_of_range("hex: " + std::to_string(off + n) + " past " + std::to_string(b.size()));
  return hex(b.data() + off, n);
}
inline std::string hex16(uint16_t v) {
  const uint8_t bytes[2] = {uint8_t(v >> 8), uint8_t(v)};
  return "0x" + hex(bytes, 2);
}

inline std::string rcode_of(const Bytes& b) { return rcode_text(b.at(3) & 0x0F); }
inline bool aa_of(const Bytes& b) { return b.at(2) & 0x04; }
inline bool tc_of(const Bytes& b) { return b.at(2) & 0x02; }

}  // namespace dnsd::test
