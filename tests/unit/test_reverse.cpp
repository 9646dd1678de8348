// Reverse zones (reverse_of): a PTR for every member address of the forward zones, configured or
// registered, in the same snapshot; records: wins over a generated PTR (docs/ARCHITECTURE.md, "Reverse
// zones").
#include <catch2/catch.hpp>

#include "compiled_zone.hpp"
#include "temp_dir.hpp"
#include "zone_state.hpp"

using namespace dnsd;
using namespace dnsd::test;

namespace {

const std::string forward =
    "zone: lab.example.com\nsoa: { mname: ns.example.org, rname: h.example.org }\nns: [ns.example.org]\n"
    "clusters:\n  - name: c1\n    registration: true\n    members:\n"
    "      - { name: m1, host: etcd-1.lab.example.com, addresses: [192.0.2.21, \"2001:db8::21\"] }\n"
    "      - { name: m2, host: etcd-2.lab.example.com, addresses: [198.51.100.2] }\n";

std::string reverse(const std::string& zone, const std::string& records = "") {
  return "zone: " + zone + "\nsoa: { mname: ns.example.org, rname: h.example.org }\nns: [ns.example.org]\n" +
         "reverse_of: [lab.example.com]\n" + (records.empty() ? "" : "records: |\n  " + records + "\n");
}

struct Fixture {
  TempDir dir;
  SnapshotSlot slot;
  HealthTable health;
  ZoneState zones{slot, health};

  explicit Fixture(const std::string& reverse_yaml) {
    const std::string conf = dir.write(
        "dnsd.yaml", "listen: [\"127.0.0.1:1\"]\nzones: [\"zones/*.yaml\"]\nstate_dir: state\nlog: { level: off }\n");
    dir.write("zones/a.yaml", forward);
    dir.write("zones/b.yaml", reverse_yaml);
    dir.write("zones/c.yaml", reverse("8.b.d.0.1.0.0.2.ip6.arpa"));
    zones.start(load_config(conf));
  }

  std::string ptr(const std::string& name) const {
    const Bytes r = Exchange(slot.current().get(), make_query(name, rr_type::ptr, 1, {}), Transport::udp).reply;
    ldns_pkt* p = nullptr;
    if (r.empty() || ldns_wire2pkt(&p, r.data(), r.size()) != LDNS_STATUS_OK) return "?";
    const PktPtr pkt(p);
    return section_text(ldns_pkt_answer(pkt.get()));
  }
};

}  // namespace

TEST_CASE("reverse_of: a PTR for each member address inside the reverse zone", "[reverse]") {
  Fixture f(reverse("2.0.192.in-addr.arpa"));
  CHECK(f.ptr("21.2.0.192.in-addr.arpa.") == "21.2.0.192.in-addr.arpa.\t30\tIN\tPTR\tetcd-1.lab.example.com.\n");
  CHECK(f.ptr("1.2.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa.").find("PTR\tetcd-1.lab.example.com.") !=
        std::string::npos);
  CHECK(f.ptr("2.100.51.198.in-addr.arpa.") == "");  // outside every reverse zone: not served
}

TEST_CASE("reverse_of: a registration's PTR is in the same snapshot as its records", "[reverse]") {
  Fixture f(reverse("2.0.192.in-addr.arpa"));
  Registry next = f.zones.registry();
  next.members.push_back({"lab.example.com.", "c1", "m3", "etcd-3.lab.example.com.", {"192.0.2.23"}, {}, {}});
  REQUIRE(f.zones.commit(std::move(next)).ok());
  CHECK(f.ptr("23.2.0.192.in-addr.arpa.") == "23.2.0.192.in-addr.arpa.\t30\tIN\tPTR\tetcd-3.lab.example.com.\n");
}

TEST_CASE("reverse_of: records: wins, as an error for a configured member and a warning for a registered one", "[reverse]") {
  TempDir dir;
  const std::string conf =
      dir.write("dnsd.yaml", "listen: [\"127.0.0.1:1\"]\nzones: [\"zones/*.yaml\"]\nstate_dir: state\n");
  dir.write("zones/a.yaml", forward);
  dir.write("zones/b.yaml", reverse("2.0.192.in-addr.arpa", "21 IN PTR other.example.org."));
  DaemonConfig cfg = load_config(conf);
  StateStore state(cfg.state_dir, false);
  try {
    compile_config(cfg, state);
    FAIL("a configured member's PTR beside the same name in records: compiled");
  } catch (const ConfigError& e) {
    CHECK_THAT(std::string(e.what()), Catch::Contains("the PTR for 192.0.2.21 (member 'm1') is also in records:"));
  }
  for (ZoneConfig& z : cfg.zones)
    for (Cluster& c : z.clusters) c.static_members = 0;  // as if both had registered
  const CompiledConfig compiled = compile_config(cfg, state);
  REQUIRE(compiled.warnings.size() == 1);
  CHECK_THAT(to_string(compiled.warnings[0]), Catch::Contains("the config's record is served"));
}

TEST_CASE("reverse_of: only in a reverse zone, and only of zones served here", "[reverse][config]") {
  for (const auto& [zone, list, expect] :
       {std::tuple<std::string, std::string, std::string>{"lab2.example.com", "[lab.example.com]", "reverse_of is for reverse zones"},
        {"2.0.192.in-addr.arpa", "[nowhere.example.com]", "reverse_of zone 'nowhere.example.com.' is not served here"}}) {
    TempDir dir;
    const std::string conf = dir.write("dnsd.yaml", "listen: [\"127.0.0.1:1\"]\nzones: [\"zones/*.yaml\"]\nstate_dir: state\n");
    dir.write("zones/a.yaml", forward);
    dir.write("zones/b.yaml", "zone: " + zone + "\nsoa: { mname: ns.example.org, rname: h.example.org }\nns: [ns.example.org]\n"
                              "reverse_of: " + list + "\n");
    try {
      load_config(conf);
      FAIL("accepted: " + zone);
    } catch (const ConfigError& e) {
      CHECK_THAT(std::string(e.what()), Catch::Contains(expect));
    }
  }
}
