#include <catch2/catch.hpp>

#include "dname.hpp"
#include "packet.hpp"

using namespace dnsd;
using dnsd::test::Bytes;
using dnsd::test::wire_name;

TEST_CASE("parse_dname reads and folds a valid name", "[dname]") {
  const Bytes pkt = wire_name("Etcd-1.LAB.example.com");
  uint8_t lower[max_dname_wire];
  REQUIRE(parse_dname(pkt.data(), pkt.size(), 0, lower) == pkt.size());
  CHECK(std::string(reinterpret_cast<char*>(lower), pkt.size()) ==
        std::string("\x06" "etcd-1" "\x03" "lab" "\x07" "example" "\x03" "com" "\x00", pkt.size()));
}

TEST_CASE("parse_dname folds every byte value at every offset exactly as fold() does", "[dname]") {
  // The fold runs eight bytes at a time: each value must come out right in every lane and in the tail.
  for (size_t shift = 0; shift < 9; ++shift)
    for (int v = 0; v < 256; v += 1) {
      Bytes pkt(1 + shift, 'Q');
      pkt[0] = uint8_t(shift + 1);
      pkt.push_back(uint8_t(v));
      pkt.insert(pkt.end(), {3, 'A', 'z', '@', 0});
      uint8_t lower[max_dname_wire];
      REQUIRE(parse_dname(pkt.data(), pkt.size(), 0, lower) == pkt.size());
      for (size_t i = 0; i < pkt.size(); ++i) {
        INFO("value " << v << " shift " << shift << " byte " << i);
        const bool length_byte = i == 0 || i == shift + 2 || i + 1 == pkt.size();
        REQUIRE(lower[i] == (length_byte ? pkt[i] : fold(pkt[i])));
      }
    }
}

TEST_CASE("parse_dname refuses malformed names", "[dname]") {
  struct Row {
    const char* what;
    Bytes bytes;
  };
  Bytes too_long;
  for (int i = 0; i < 5; ++i) {
    too_long.push_back(63);
    too_long.insert(too_long.end(), 63, 'a');
  }
  too_long.push_back(0);
  const std::vector<Row> rows = {
      {"empty", {}},
      {"truncated label", {5, 'a', 'b'}},
      {"missing root", {1, 'a'}},
      {"compression pointer", {0xC0, 0x0C}},
      {"extended label type 0x40", {0x40, 'a', 0}},
      {"label over 63 (0x80 type)", {0x80, 'a', 0}},
      {"name over 255 bytes", too_long},
  };
  for (const Row& r : rows) {
    INFO(r.what);
    CHECK(parse_dname(r.bytes.data(), r.bytes.size(), 0, nullptr) == 0);
  }
}

TEST_CASE("a name of exactly 255 bytes is accepted", "[dname]") {
  Bytes name;
  for (int i = 0; i < 3; ++i) {
    name.push_back(63);
    name.insert(name.end(), 63, 'a');
  }
  name.push_back(61);
  name.insert(name.end(), 61, 'b');
  name.push_back(0);
  REQUIRE(name.size() == 255);
  CHECK(parse_dname(name.data(), name.size(), 0, nullptr) == 255);
}

TEST_CASE("skip_dname steps over pointers without following them", "[dname]") {
  const Bytes pkt = {3, 'f', 'o', 'o', 0xC0, 0x00, 0xFF};
  CHECK(skip_dname(pkt.data(), pkt.size(), 0) == 6);
  const Bytes cut = {3, 'f', 'o', 'o', 0xC0};
  CHECK(skip_dname(cut.data(), cut.size(), 0) == 0);
  const Bytes root = {0};
  CHECK(skip_dname(root.data(), root.size(), 0) == 1);
}

TEST_CASE("parent_dname drops one label", "[dname]") {
  const Bytes n = wire_name("a.bc");
  const std::string_view v(reinterpret_cast<const char*>(n.data()), n.size());
  CHECK(parent_dname(v) == std::string_view("\x02" "bc" "\x00", 4));
  CHECK(parent_dname(parent_dname(v)) == std::string_view("\x00", 1));
  CHECK(parent_dname(parent_dname(parent_dname(v))).empty());
}
