// Live state never stops a start or a reload: what the config now conflicts with is set aside, named
// once, and the rest served; the config's own errors still fail.
#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>

#include "served.hpp"
#include "temp_dir.hpp"

using namespace dnsd;
using dnsd::test::TempDir;

namespace {

const std::string zone_head =
    "zone: lab.example.com\nsoa: { mname: ns.example.org, rname: h.example.org }\nns: [ns.example.org]\n";

struct Fixture {
  TempDir dir;
  std::string conf = dir.write("dnsd.yaml", "listen: [\"127.0.0.1:1\"]\nzones: [\"zones/*.yaml\"]\nstate_dir: state\n");
  Registry registry;

  Served serve(const std::string& zone_yaml, const std::string& child_yaml = "") {
    dir.write("zones/lab.yaml", zone_head + zone_yaml);
    if (!child_yaml.empty()) dir.write("zones/child.yaml", child_yaml);
    const DaemonConfig cfg = load_config(conf);
    StateStore state(cfg.state_dir, true);
    return compile_served(cfg, registry, state);
  }

  void member(const std::string& name, const std::string& host, const std::string& address) {
    registry.members.push_back({"lab.example.com.", "r1", name, host, {address}, {}, {}});
  }
};

const std::string r1 = "clusters:\n  - name: r1\n    registration: true\n";

std::string warnings(const Served& s) {
  std::string out;
  for (const Diagnostic& d : s.compiled.warnings) out += to_string(d) + "\n";
  return out;
}

size_t members_served(const Served& s) { return s.config.zones.at(0).clusters.at(0).members.size(); }

// The most registered members of r1 (hosts ending in host_tail) whose answers fit 64 KiB, found by
// bisection (each probe one compile of the zone, nothing set aside).
size_t most_that_fit(Fixture& f, const std::string& host_tail) {
  auto fit = [&](size_t count) {
    Registry registry;
    for (size_t i = 0; i < count; ++i) {
      const std::string name = "m" + std::to_string(i);
      registry.members.push_back({"lab.example.com.", "r1", name, name + host_tail, {"192.0.2.1"}, {}, {}});
    }
    f.dir.write("zones/lab.yaml", zone_head + r1);
    DaemonConfig cfg = load_config(f.conf);
    registry.apply(cfg);
    StateStore state(cfg.state_dir, true);
    try {
      (void)compile_config(cfg, state);
      return true;
    } catch (const ConfigError&) {
      return false;
    }
  };
  size_t fits = 0, too_many = 3000;
  REQUIRE_FALSE(fit(too_many));
  while (too_many - fits > 1) {
    const size_t mid = (fits + too_many) / 2;
    (fit(mid) ? fits : too_many) = mid;
  }
  return fits;
}

}  // namespace

TEST_CASE("a records: entry that takes a registered host sets that registration aside", "[served]") {
  Fixture f;
  f.member("m1", "m1.lab.example.com.", "192.0.2.1");
  f.member("m2", "m2.lab.example.com.", "192.0.2.2");
  const Served before = f.serve(r1);
  CHECK(before.set_aside.empty());
  CHECK(members_served(before) == 2);

  const Served after = f.serve("records: |\n  m1 IN A 192.0.2.99\n" + r1);
  CHECK(after.set_aside == std::set<std::string>{"registered member m1 (cluster r1 of lab.example.com.)"});
  CHECK(members_served(after) == 1);
  CHECK_THAT(warnings(after), Catch::Contains("registered member m1 (cluster r1 of lab.example.com.): warning: set aside, "
                                              "not served (kept on disk): 'm1.lab.example.com. A' is generated twice"));
  const std::string text = zone_text(after.compiled.zones.at(0));
  CHECK_THAT(text, Catch::Contains("192.0.2.99") && !Catch::Contains("192.0.2.1\n") && Catch::Contains("192.0.2.2"));
}

TEST_CASE("a new child zone over an UPDATE record sets the record aside", "[served]") {
  Fixture f;
  f.registry.records["lab.example.com."] = {"www.sub.lab.example.com. 60 IN A 192.0.2.80",
                                            "web.lab.example.com. 60 IN A 192.0.2.81"};
  const Served s = f.serve("", "zone: sub.lab.example.com\nsoa: { mname: ns.example.org, rname: h.example.org }\n"
                               "ns: [ns.example.org]\n");
  CHECK(s.set_aside == std::set<std::string>{"UPDATE record 'www.sub.lab.example.com. 60 IN A 192.0.2.80' of lab.example.com."});
  CHECK_THAT(warnings(s), Catch::Contains("record is inside zone sub.lab.example.com."));
  const auto lab = std::find_if(s.compiled.zones.begin(), s.compiled.zones.end(),
                                [](const ZoneRecords& z) { return z.apex == "lab.example.com."; });
  REQUIRE(lab != s.compiled.zones.end());
  CHECK_THAT(zone_text(*lab), Catch::Contains("192.0.2.81"));
}

TEST_CASE("a static member that pushes registered ones over 64 KiB sets the last registered aside", "[served]") {
  Fixture f;
  // Each SRV target ~70 bytes with its name uncompressed: 900 of them fill a 64 KiB answer.
  const std::string host_tail = ".a-rather-long-label-to-fill-the-answer-quickly.lab.example.com.";
  const size_t fits = most_that_fit(f, host_tail);
  f.registry.members.clear();
  for (size_t i = 0; i < fits; ++i) {
    const std::string name = "m" + std::to_string(i);
    f.member(name, name + host_tail, "192.0.2.1");
  }
  const size_t n = fits;
  const Served s = f.serve(r1 + "    members: [{ name: static, host: static" + host_tail + ", addresses: [192.0.2.9] }]\n");
  REQUIRE_FALSE(s.set_aside.empty());
  CHECK(s.set_aside.size() <= 2);  // the last registered ones, not all of them
  CHECK(s.set_aside.count("registered member m" + std::to_string(n - 1) + " (cluster r1 of lab.example.com.)") == 1);
  CHECK_THAT(warnings(s), Catch::Contains("cannot be served: answer over 64 KiB"));
}

TEST_CASE("a cluster far over 64 KiB is cut back in a few compiles, not one per member", "[served]") {
  Fixture f;
  const std::string host_tail = ".a-rather-long-label-to-fill-the-answer-quickly.lab.example.com.";
  for (int i = 0; i < 3000; ++i) {
    const std::string name = "m" + std::to_string(i);
    f.member(name, name + host_tail, "192.0.2.1");
  }
  const auto start = std::chrono::steady_clock::now();
  const Served s = f.serve(r1);
  const double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  INFO(s.set_aside.size() << " set aside in " << took << " s");
  // Exactly what had to go: the last doubling round gave back what fits.
  const size_t fits = most_that_fit(f, host_tail);
  CHECK(members_served(s) == fits);
  CHECK(s.set_aside.size() == 3000 - fits);
}

TEST_CASE("the config's own errors still fail, live state or not", "[served]") {
  Fixture f;
  f.member("m1", "m1.lab.example.com.", "192.0.2.1");
  CHECK_THROWS_AS(f.serve("records: |\n  bad IN A not-an-address\n" + r1), ConfigError);
}
