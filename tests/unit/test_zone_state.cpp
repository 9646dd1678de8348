// The zone state service: start publishes, a commit is all or nothing and says why it failed
// (rejected: the change cannot be served; io: it could not be written), listeners hear of changes.
#include <catch2/catch.hpp>

#include <filesystem>

#include "temp_dir.hpp"
#include "zone_state.hpp"

using namespace dnsd;
using dnsd::test::TempDir;

namespace {

struct Fixture {
  TempDir dir;
  SnapshotSlot slot;
  HealthTable health;
  ZoneState zones{slot, health};

  Fixture() {
    const std::string conf =
        dir.write("dnsd.yaml", "listen: [\"127.0.0.1:1\"]\nzones: [\"z.yaml\"]\nstate_dir: state\nlog: { level: off }\n");
    dir.write("z.yaml",
              "zone: lab.example.com\nsoa: { mname: ns.example.org, rname: h.example.org }\nns: [ns.example.org]\n"
              "records: |\n  taken IN A 192.0.2.99\nclusters:\n  - name: c1\n    registration: true\n    expected_size: 2\n");
    zones.start(load_config(conf));
  }

  Registry with(const std::string& member, const std::string& host) const {
    Registry next = zones.registry();
    next.members.push_back({"lab.example.com.", "c1", member, host, {"192.0.2.1"}, {}, {}});
    return next;
  }

  uint32_t serial() const { return slot.current()->zones().front().serial; }
};

}  // namespace

TEST_CASE("a commit is durable, published, and tells the listeners", "[zone_state]") {
  Fixture f;
  const uint32_t before = f.serial();
  const uint64_t generation = f.slot.generation();
  size_t heard = 0;
  f.zones.on_config([&](const DaemonConfig& c) { heard = c.zones.at(0).clusters.at(0).members.size(); });
  const Result<void> done = f.zones.commit(f.with("m1", "m1.lab.example.com."));
  REQUIRE(done.ok());
  CHECK(f.slot.generation() == generation + 1);
  CHECK(f.serial() > before);
  CHECK(heard == 1);
  CHECK(f.zones.registry().members.size() == 1);
  std::vector<std::string> problems;
  CHECK(Registry::load(f.dir.path("state"), problems).members.size() == 1);
  CHECK(problems.empty());
  REQUIRE(f.zones.served("lab.example.com.") != nullptr);
  CHECK(f.zones.served("other.example.com.") == nullptr);
}

TEST_CASE("a commit that cannot be served is rejected and changes nothing", "[zone_state]") {
  Fixture f;
  const uint64_t generation = f.slot.generation();
  // The host's A record would be generated twice: by records: and by the registration.
  const Result<void> done = f.zones.commit(f.with("m1", "taken.lab.example.com."));
  REQUIRE_FALSE(done.ok());
  CHECK(done.error().kind == ErrorKind::rejected);
  CHECK_THAT(done.error().message, Catch::Contains("generated twice"));
  CHECK(f.slot.generation() == generation);
  CHECK(f.zones.registry().members.empty());
  CHECK_FALSE(std::filesystem::exists(f.dir.path("state/registrations")));
}

TEST_CASE("a commit that cannot be written is an io error and changes nothing", "[zone_state]") {
  Fixture f;
  const uint64_t generation = f.slot.generation();
  std::filesystem::create_directories(f.dir.path("state/registrations"));  // where the file must go
  const Result<void> done = f.zones.commit(f.with("m1", "m1.lab.example.com."));
  REQUIRE_FALSE(done.ok());
  CHECK(done.error().kind == ErrorKind::io);
  CHECK_THAT(done.error().message, Catch::StartsWith("cannot write the change to disk: ") &&
                                      Catch::Contains("state/registrations"));
  CHECK(f.slot.generation() == generation);
  CHECK(f.zones.registry().members.empty());
}

TEST_CASE("a member's host is checked as a target even while the member is in no SRV set", "[zone_state]") {
  // Unhealthy in a fail-closed cluster whose gate is closed, a member is in no SRV set: its host must
  // still be one etcd can use, or its first good probe (or the gate opening) would leave the zone
  // impossible to compile, and no later change to it could be published.
  TempDir dir;
  SnapshotSlot slot;
  HealthTable health;
  ZoneState zones{slot, health};
  const std::string conf =
      dir.write("dnsd.yaml", "listen: [\"127.0.0.1:1\"]\nzones: [\"z.yaml\"]\nstate_dir: state\nlog: { level: off }\n");
  dir.write("z.yaml",
            "zone: lab.example.com\nsoa: { mname: ns.example.org, rname: h.example.org }\nns: [ns.example.org]\n"
            "records: |\n  taken IN A 192.0.2.99\n  alias IN CNAME taken\n"
            "clusters:\n  - { name: c1, registration: true, expected_size: 3, health: { fail_closed: true } }\n");
  zones.start(load_config(conf));
  MemberHealth& m0 = health[health_key("lab.example.com.", "c1", "m0")];
  m0.state.observe(false, 1, 1);  // probed, and failing
  const Registration cname_host{"lab.example.com.", "c1", "m0", "alias.lab.example.com.", {}, {}, {}};
  const Result<void> refused = zones.change_member({RegistryChange::Kind::put, cname_host});
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.error().kind == ErrorKind::rejected);
  CHECK_THAT(refused.error().message, Catch::Contains("target 'alias.lab.example.com.' is a CNAME"));
  CHECK(zones.registry().members.empty());
  // The same member with a host of its own is taken, and its first good probe is published.
  const Registration own{"lab.example.com.", "c1", "m0", "m0.lab.example.com.", {"192.0.2.10"}, {}, {}};
  REQUIRE(zones.change_member({RegistryChange::Kind::put, own}).ok());
  m0.state.observe(true, 1, 1);
  const uint64_t generation = slot.generation();
  zones.republish("flip", {{"lab.example.com.", "c1"}});
  CHECK(slot.generation() > generation);
}
