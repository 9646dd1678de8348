// Test helper (data plane): a snapshot built by hand, no ldns involved. example. with a.example. A
// 192.0.2.1, y.x.example. TXT (x.example. is an empty non-terminal), big.example. with 20 A records
// and 20 AAAA additionals.
#pragma once

#include <catch2/catch.hpp>

#include <memory>
#include <string>

#include "packet.hpp"
#include "snapshot.hpp"
#include "wire.hpp"

namespace dnsd::test {

inline std::string key(const std::string& text) {
  const Bytes w = wire_name(text);
  return std::string(w.begin(), w.end());
}

inline std::shared_ptr<Snapshot> make_snapshot(uint32_t serial = 7) {
  auto snap = std::make_shared<Snapshot>();
  Zone z;
  z.apex = key("example");
  z.apex_text = "example.";
  z.serial = serial;
  Bytes tail = {0, 6, 0, 1, 0, 0, 0, 30};
  Bytes rdata = {0, 0};  // mname and rname: the root, enough for the data plane
  for (int i = 0; i < 5; ++i) {  // serial (its low byte), refresh, retry, expire, minimum
    push16(rdata, 0);
    push16(rdata, uint16_t(i == 0 ? serial & 0xFF : 1));
  }
  push16(tail, uint16_t(rdata.size()));
  tail.insert(tail.end(), rdata.begin(), rdata.end());
  z.soa_negative_tail = tail;
  const Bytes hinfo = {0xC0, 0x0C, 0, 13, 0, 1, 0, 0, 0, 60, 0, 9, 7, 'R', 'F', 'C', '8', '4', '8', '2', 0};  // RFC 8482
  z.any = Answer(hinfo, hinfo.size(), {}, 1);
  const Zone& zone = snap->add_zone(std::move(z));
  snap->add_node(key("example"), zone);

  Node& a = snap->add_node(key("a.example"), zone);
  const Bytes address = {0xC0, 0x0C, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 192, 0, 2, 1};
  a.rrsets.emplace_back(rr_type::a, Answer(address, address.size(), {}, 1));

  snap->add_node(key("x.example"), zone);
  Node& y = snap->add_node(key("y.x.example"), zone);
  const Bytes txt = {0xC0, 0x0C, 0, 16, 0, 1, 0, 0, 0, 60, 0, 2, 1, 'x'};
  y.rrsets.emplace_back(rr_type::txt, Answer(txt, txt.size(), {}, 1));

  Node& big = snap->add_node(key("big.example"), zone);
  Bytes many;
  for (int i = 0; i < 20; ++i) many.insert(many.end(), {0xC0, 0x0C, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 192, 0, 2, uint8_t(i)});
  const size_t essential = many.size();  // 320 bytes: fits 512 with the question
  std::vector<uint16_t> ends;
  for (int i = 0; i < 20; ++i) {
    many.insert(many.end(), {0xC0, 0x0C, 0, 28, 0, 1, 0, 0, 0, 60, 0, 16});
    many.insert(many.end(), 16, uint8_t(i));
    ends.push_back(uint16_t(many.size()));
  }
  big.rrsets.emplace_back(rr_type::a, Answer(many, essential, ends, 20));
  return snap;
}

}  // namespace dnsd::test

namespace Catch {
template <>
struct StringMaker<dnsd::Snapshot::Kind> {
  static std::string convert(dnsd::Snapshot::Kind k) {
    static const char* const names[] = {"refused", "nxdomain", "nodata", "answer"};
    return names[int(k)];
  }
};
}  // namespace Catch
