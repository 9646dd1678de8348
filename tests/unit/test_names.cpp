// Domain names on the control plane: spelling, comparison keys, zone membership, Go's host name rule,
// and the wire forms lookups use.
#include <catch2/catch.hpp>

#include <random>
#include <set>

#include "name_set.hpp"
#include "names.hpp"
#include "packet.hpp"

using namespace dnsd;

TEST_CASE("name keys: one trailing dot, lower case, zone membership on label boundaries", "[names]") {
  CHECK(absolute_name("lab.example.com") == "lab.example.com.");
  CHECK(absolute_name("lab.example.com.") == "lab.example.com.");
  CHECK(absolute_name("").empty());
  CHECK(name_key("Etcd-1.LAB.example.com") == "etcd-1.lab.example.com.");
  struct Row {
    const char* name;
    const char* zone;
    bool inside;
  };
  const Row rows[] = {
      {"a.lab.example.com", "lab.example.com.", true},  {"LAB.example.com.", "lab.example.com", true},
      {"xlab.example.com", "lab.example.com", false},   {"example.com", "lab.example.com", false},
      {"a.b.lab.example.com", "Lab.Example.Com", true}, {"lab.example.org", "lab.example.com", false},
  };
  for (const Row& row : rows) {
    INFO(row.name << " in " << row.zone);
    CHECK(name_in_zone(row.name, row.zone) == row.inside);
  }
}

TEST_CASE("Go's host name rule: what one bad SRV target would fail the whole lookup for", "[names]") {
  struct Row {
    std::string name;
    bool valid;
  };
  const std::vector<Row> rows = {
      {"etcd-1.lab.example.com.", true},  {"_etcd-server._tcp.example.com.", true}, {".", true},
      {"10.0.0.9.", false},               {"-a.example.com.", false},               {"a-.example.com.", false},
      {"a..example.com.", false},         {std::string(64, 'a') + ".com.", false},  {std::string(63, 'a') + ".com.", true},
      {"a b.example.com.", false},        {"", false},
  };
  for (const Row& row : rows) {
    INFO(row.name);
    CHECK(go_valid_hostname(row.name) == row.valid);
  }
}

TEST_CASE("the wire form of a name in text, read in one pass, is what ldns reads, case kept or folded", "[names]") {
  // Names of plain labels are read without ldns; this checks them (and the texts sent to ldns: escapes,
  // empty labels) against ldns itself, on random texts around the limits (63-byte labels, 255 bytes).
  const std::string alphabet = "aZ0-..\\";
  for (uint32_t seed = 1; seed <= 5; ++seed) {
    std::mt19937 rng(seed);
    for (int i = 0; i < 4000; ++i) {
      std::string text;
      const size_t labels = rng() % 6;
      for (size_t l = 0; l < labels; ++l) {
        const size_t len = rng() % 4 == 0 ? 55 + rng() % 12 : rng() % 5;  // long ones near 63
        for (size_t k = 0; k < len; ++k) text += rng() % 8 == 0 ? alphabet[rng() % alphabet.size()] : char('a' + rng() % 26 - (rng() % 2 ? 32 : 0));
        if (l + 1 < labels || rng() % 2) text += '.';
      }
      const RdfPtr ldns(ldns_dname_new_frm_str(text.c_str()));
      const std::string expected = ldns ? std::string(rdf_wire(ldns.get())) : std::string();
      INFO("text: '" << text << "'");
      REQUIRE(dname_wire(text) == expected);
      REQUIRE(lower_wire(text) == fold_wire(expected));
    }
  }
}

TEST_CASE("wire forms: plain labels, labels folded but never length bytes", "[names]") {
  using dnsd::test::hex;
  auto bytes = [](const std::string& s) { return hex(reinterpret_cast<const uint8_t*>(s.data()), s.size()); };
  CHECK(bytes(wire_name("hmac-sha256.")) == "0b686d61632d73686132353600");
  CHECK(bytes(wire_name("A.b")) == "0141016200");
  CHECK(bytes(fold_wire(std::string("\x01Z\x02" "AB\x00", 6))) == "017a02616200");
  CHECK(bytes(fold_wire(std::string("\x01Z\x00ZZ", 5))) == "017a005a5a");  // nothing past the root label
  CHECK(bytes(fold_wire(std::string("\x01Z\x41ZZ", 5))) == "017a417a7a");  // 'A' as a length byte: kept
  // Folding the name's bytes at once is folding label by label: random bytes, names or not.
  auto by_label = [](std::string w) {
    for (size_t i = 0; i < w.size() && w[i] != 0; i += size_t(uint8_t(w[i])) + 1)
      for (size_t j = i + 1; j <= i + size_t(uint8_t(w[i])) && j < w.size(); ++j)
        if (w[j] >= 'A' && w[j] <= 'Z') w[j] = char(w[j] + 32);
    return w;
  };
  std::mt19937 rng(7);
  const std::string alphabet = "AZaz09-\x00\x01\x02\x03\x05\x3f\x40\x41\x5a\xc0";
  for (int n = 0; n < 20000; ++n) {
    std::string w;
    for (size_t len = rng() % 40; w.size() < len;) {
      if (rng() % 3 == 0) w += alphabet[rng() % alphabet.size()];
      else {
        const size_t label = rng() % 8;
        w += char(label);
        for (size_t k = 0; k < label; ++k) w += "AbZz-09"[rng() % 7];
      }
    }
    REQUIRE(bytes(fold_wire(w)) == bytes(by_label(w)));
  }
  CHECK(bytes(lower_wire("Etcd.Example.")) == bytes(wire_name("etcd.example.")));
  CHECK(lower_wire("bad..name").empty());
  // Escapes go through ldns; plain names do not, and give the same bytes.
  CHECK(bytes(lower_wire("A\\.B.Example.")) == bytes(std::string("\3a.b\7example\0", 13)));
  CHECK(bytes(lower_wire("\\065b.example")) == bytes(wire_name("ab.example.")));
  CHECK(lower_wire(std::string(64, 'x') + ".example.").empty());           // a label over 63
  CHECK_FALSE(lower_wire(std::string(63, 'x') + ".example.").empty());
  std::string long_name;
  for (int i = 0; i < 5; ++i) long_name += std::string(50, 'y') + ".";
  CHECK(lower_wire(long_name).empty());  // 256 bytes in wire form
  CHECK(lower_wire(long_name.substr(0, 51 * 4) + std::string(49, 'y') + ".").size() == 255);
  CHECK(is_subdomain_or_equal(lower_wire("a.lab.example.com."), lower_wire("lab.example.com.")));
  CHECK_FALSE(is_subdomain_or_equal(lower_wire("alab.example.com."), lower_wire("lab.example.com.")));
  CHECK(is_ip_address("192.0.2.1"));
  CHECK(is_ip_address("2001:db8::1"));
  CHECK_FALSE(is_ip_address("etcd-1.lab.example.com"));
}

TEST_CASE("member URLs: scheme from TLS, host without its dot, IPv6 in brackets") {
  CHECK(member_url(true, "etcd-1.c1.example.com.", 2380) == "https://etcd-1.c1.example.com:2380");
  CHECK(member_url(false, "etcd-1.c1.example.com", 2379) == "http://etcd-1.c1.example.com:2379");
  CHECK(member_url(true, "2001:db8::1", 2380) == "https://[2001:db8::1]:2380");
  CHECK(dotless_name("a.example.") == "a.example");
  CHECK(dotless_name(".") == ".");
  CHECK(dotless_name("") == "");
}

TEST_CASE("a name set holds what a std::set of the same names holds, through growth, erasure and packing", "[names]") {
  for (unsigned seed = 1; seed <= 5; ++seed) {
    INFO("seed " << seed);
    std::mt19937 rng(seed);
    std::set<std::string> want;
    NameSet got;
    // Wire names of 1 to 4 labels from a small alphabet: many repeats, every length byte written.
    auto random_name = [&] {
      std::string n;
      for (int labels = 1 + int(rng() % 4); labels > 0; --labels) {
        const size_t len = 1 + rng() % (seed == 5 ? 63 : 3);
        n.push_back(char(len));
        for (size_t i = 0; i < len; ++i) n.push_back("ab-_"[rng() % 4]);
      }
      return n + std::string(1, '\0');
    };
    for (int step = 0; step < 20000; ++step) {
      const std::string n = random_name();
      // Insert-heavy, then erase-heavy: the table grows, then the buffer fills with erased names.
      const bool add = step < 10000 ? rng() % 3 != 0 : rng() % 3 == 0;
      if (add) CHECK(got.insert(n) == want.insert(n).second);
      else CHECK(got.erase(n) == (want.erase(n) == 1));
      if (step % 1000 == 999) {
        REQUIRE(got.size() == want.size());
        std::set<std::string> listed;
        for (std::string_view name : got) CHECK(listed.emplace(name).second);  // each name once
        CHECK(listed == want);
        for (int probe = 0; probe < 200; ++probe) {
          const std::string p = random_name();
          CHECK(got.contains(p) == (want.count(p) == 1));
        }
      }
    }
    // Equality ignores the order names came in.
    NameSet reversed;
    for (auto it = want.rbegin(); it != want.rend(); ++it) reversed.insert(*it);
    CHECK(reversed == got);
    if (!want.empty()) {
      reversed.erase(*want.begin());
      CHECK_FALSE(reversed == got);
      reversed.insert(std::string(1, '\0'));  // the root: as many names again, not the same ones
      CHECK(reversed.size() == got.size());
      CHECK_FALSE(reversed == got);
    }
  }
  NameSet small{std::string_view("\1a\0", 3)};
  CHECK(small.contains(std::string_view("\1a\0", 3)));
  CHECK_FALSE(small.contains(std::string_view("\1A\0", 3)));  // lower-case wire names: bytes compare
  CHECK_FALSE(small.insert(std::string(256, 'x')));              // not a wire name
}
