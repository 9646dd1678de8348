// The registry file: what registrations and UPDATE records look like on disk, the checksum that
// catches damage, the fallback to the previous version.
#include <catch2/catch.hpp>
#include <random>

#include "registry.hpp"
#include "temp_dir.hpp"

using namespace dnsd;
using dnsd::test::TempDir;

TEST_CASE("UPDATE records round-trip through the registry file, and damage is caught by the checksum", "[registry]") {
  Registry reg;
  reg.records["lab.example.com."] = {"web.lab.example.com.\t60\tIN\tTXT\t\"two words\"", "web.lab.example.com.\t60\tIN\tA\t192.0.2.80"};
  const Registry::Parsed back = Registry::parse(reg.serialize(), "registrations");
  CHECK(back.whole);
  CHECK(back.problems.empty());
  CHECK(back.registry.records == reg.records);
  std::string damaged = reg.serialize();
  damaged.replace(damaged.find("192.0.2.80"), 10, "192.0.2.81");
  const Registry::Parsed changed = Registry::parse(damaged, "registrations");
  CHECK_FALSE(changed.whole);
  REQUIRE(changed.problems.size() == 1);
  CHECK_THAT(changed.problems[0], Catch::Contains("registrations:4: checksum mismatch"));
}

TEST_CASE("members and gates round-trip, a damaged file keeps its good lines, a foreign one the previous file", "[registry]") {
  TempDir dir;
  Registry one;
  one.members.push_back({"lab.example.com.", "c1", "m1", "m1.lab.example.com.", {"192.0.2.1"}, 2380, {}});
  one.members.push_back({"lab.example.com.", "", "m2", "m2.example.org.", {}, {}, 12379});
  one.open_gates.emplace("lab.example.com.", "c1");
  REQUIRE(one.save(dir.path()).ok());
  Registry two = one;
  two.members.push_back({"lab.example.com.", "c1", "m3", "m3.lab.example.com.", {"2001:db8::3", "192.0.2.3"}, {}, {}});
  REQUIRE(two.save(dir.path()).ok());  // `one` is kept as registrations.prev
  std::vector<std::string> problems;
  const Registry loaded = Registry::load(dir.path(), problems);
  CHECK(problems.empty());
  CHECK(loaded.members == two.members);
  CHECK(loaded.open_gates == two.open_gates);

  // A damaged file keeps its good lines (they are newer than the previous file), naming each problem.
  const std::string written = dir.read("registrations");
  dir.write("registrations", written + "member trailing junk\n");
  problems.clear();
  const Registry kept = Registry::load(dir.path(), problems);
  CHECK(kept.members == two.members);
  REQUIRE(problems.size() == 2);
  CHECK_THAT(problems[0], Catch::Contains("registrations:7: data after the end line"));
  CHECK_THAT(problems[1], Catch::Contains("kept the 4 good entries of"));

  // One good line among bad ones is kept too; every bad one is named.
  std::string mixed = written;
  mixed.replace(mixed.find("member lab.example.com. _ m2"), 4, "xxxxxx");
  dir.write("registrations", mixed);
  problems.clear();
  const Registry partial = Registry::load(dir.path(), problems);
  CHECK(partial.members.size() == 2);
  CHECK_THAT(problems[0], Catch::Contains("registrations:3: unknown record 'xxxxxxer'"));

  // A file that is not a registrations file at all gives way to the previous one.
  dir.write("registrations", "garbage\n");
  problems.clear();
  const Registry fallback = Registry::load(dir.path(), problems);
  CHECK(fallback.members == one.members);
  REQUIRE(problems.size() == 2);
  CHECK_THAT(problems[0], Catch::Contains("not a dnsd registrations file"));
  CHECK_THAT(problems[1], Catch::Contains("using the previous registrations from"));
}

TEST_CASE("the change log: appended changes load over the file, damage is named, a cut-short line dropped", "[registry]") {
  TempDir dir;
  Registry base;
  base.members.push_back({"lab.example.com.", "c1", "m1", "m1.lab.example.com.", {"192.0.2.1"}, {}, {}});
  REQUIRE(base.save(dir.path()).ok());
  const Registration m2{"lab.example.com.", "c1", "m2", "m2.lab.example.com.", {"192.0.2.2", "2001:db8::2"}, 2380, 2379};
  const Registration m1b{"lab.example.com.", "c1", "m1", "m1.lab.example.com.", {"192.0.2.11"}, {}, {}};
  const Registration gone{"lab.example.com.", "", "m3", "m3.example.org.", {}, {}, {}};
  using K = RegistryChange::Kind;
  REQUIRE(Registry::append(dir.path(), {{K::put, m2}, {K::gate, {"lab.example.com.", "c1", {}, {}, {}, {}, {}}}}).ok());
  REQUIRE(Registry::append(dir.path(), {{K::put, gone}}).ok());
  REQUIRE(Registry::append(dir.path(), {{K::put, m1b}}).ok());  // replaces m1 where it stands
  REQUIRE(Registry::append(dir.path(), {{K::remove, {"lab.example.com.", "", "m3", {}, {}, {}, {}}}}).ok());
  std::vector<std::string> problems, cut;
  size_t lines = 0;
  Registry loaded = Registry::load(dir.path(), problems, &cut, &lines);
  CHECK(problems.empty());
  CHECK(cut.empty());
  CHECK(lines == 5);
  CHECK(loaded.members == std::vector<Registration>{m1b, m2});
  CHECK(loaded.open_gates.count({"lab.example.com.", "c1"}) == 1);

  // Compaction: the whole registry in the file, the log emptied; replaying the old log over the new
  // file (a crash between the two) changes nothing.
  const std::string log = dir.read("registrations.log");
  REQUIRE(loaded.save(dir.path()).ok());
  CHECK(dir.read("registrations.log").empty());
  dir.write("registrations.log", log);
  problems.clear();
  CHECK(Registry::load(dir.path(), problems).members == loaded.members);
  CHECK(problems.empty());

  // A damaged line is named and skipped, the rest applied; a last line without its newline (a crash
  // mid-write, never acknowledged) is dropped with a warning of its own.
  std::string damaged = log;
  damaged.replace(damaged.find("192.0.2.11"), 10, "192.0.2.12");
  const RegistryChange m4{K::put, {"lab.example.com.", "c1", "m4", "m4.lab.example.com.", {"192.0.2.4"}, {}, {}}};
  damaged += m4.line();
  damaged += RegistryChange{K::put, {"lab.example.com.", "c1", "m5", "m5.lab.example.com.", {"192.0.2.5"}, {}, {}}}.line().substr(0, 20);
  REQUIRE(base.save(dir.path()).ok());
  dir.write("registrations.log", damaged);
  problems.clear();
  cut.clear();
  const Registry partial = Registry::load(dir.path(), problems, &cut, &lines);
  REQUIRE(problems.size() == 1);
  CHECK_THAT(problems[0], Catch::Contains("registrations.log:4: checksum mismatch"));
  REQUIRE(cut.size() == 1);
  CHECK_THAT(cut[0], Catch::Contains("registrations.log:7: the last change was cut short"));
  CHECK(partial.members == std::vector<Registration>{base.members[0], m2, m4.member});
  CHECK(lines == 5);

  // What cannot be stored is refused before anything is written.
  const Registration spaced{"lab.example.com.", "c1", "bad name", "m6.lab.example.com.", {}, {}, {}};
  CHECK(Registry::append(dir.path(), {{K::put, spaced}}).error().kind == ErrorKind::rejected);
  CHECK(dir.read("registrations.log") == damaged);
}

TEST_CASE("the change log: an UPDATE's records line replaces the zone's records, and damage is refused", "[registry]") {
  TempDir dir;
  Registry base;
  base.records["lab.example.com."] = {"old.lab.example.com.\t60\tIN\tTXT\t\"x\""};
  REQUIRE(base.save(dir.path()).ok());
  using K = RegistryChange::Kind;
  const std::vector<std::string> texts{"a.lab.example.com.\t60\tIN\tTXT\t\"two words: 1:2\"", "b.lab.example.com.\t120\tIN\tA\t192.0.2.1"};
  const RegistryChange set{K::records, {"lab.example.com.", {}, {}, {}, {}, {}, {}}, texts};
  const RegistryChange other{K::records, {"other.example.", {}, {}, {}, {}, {}, {}}, {"o.other.example.\t60\tIN\tA\t192.0.2.2"}};
  const RegistryChange cleared{K::records, {"other.example.", {}, {}, {}, {}, {}, {}}, {}};
  REQUIRE(Registry::append(dir.path(), {set, other}).ok());
  REQUIRE(Registry::append(dir.path(), {cleared}).ok());
  std::vector<std::string> problems;
  const Registry loaded = Registry::load(dir.path(), problems);
  CHECK(problems.empty());
  CHECK(loaded.records.at("lab.example.com.") == texts);
  CHECK(loaded.records.count("other.example.") == 0);
  // The line reads back as written; lengths that do not fit, a missing one, text past the count
  // and a record that is not one line are each refused by name.
  const std::string line = set.line();
  const Result<RegistryChange> back = RegistryChange::parse(line.substr(0, line.rfind(' ')));
  REQUIRE(back.ok());
  CHECK(back.value().records == texts);
  for (const auto& [bad, why] : std::vector<std::pair<std::string, std::string>>{
           {"records lab.example.com. 1 99:a.lab.example.com.\t60\tIN\tA\t192.0.2.1", "cut short"},
           {"records lab.example.com. 2 5:a.b.c", "has no length"},
           {"records lab.example.com. 1 x:abc", "has no length"},
           {"records lab.example.com. 1 3:abc extra", "more than its count"},
           {"records lab.example.com. 1 3:\x01" "bc", "not one record"},
           {"records lab.example.com.", "a zone and a count"}}) {
    const Result<RegistryChange> r = RegistryChange::parse(bad);
    INFO(bad);
    REQUIRE_FALSE(r.ok());
    CHECK_THAT(r.error().message, Catch::Contains(why));
  }
  // What cannot be stored is refused before anything is written.
  const std::string log = dir.read("registrations.log");
  CHECK(Registry::append(dir.path(), {{K::records, {"lab.example.com.", {}, {}, {}, {}, {}, {}}, {"two\nlines"}}}).error().kind ==
        ErrorKind::rejected);
  CHECK(dir.read("registrations.log") == log);
}

TEST_CASE("apply places registrations in the clusters that take them, and unplaced names the others", "[registry]") {
  DaemonConfig config;
  ZoneConfig& z = config.zones.emplace_back();
  z.zone = "Lab.Example.com.";
  Cluster& open = z.clusters.emplace_back();
  open.name = "c1";
  open.registration = true;
  Cluster& closed = z.clusters.emplace_back();
  closed.name = "c2";  // registration off
  Registry reg;
  reg.members.push_back({"lab.example.com.", "c1", "m1", "m1.lab.example.com.", {"192.0.2.1"}, {}, {}});
  reg.members.push_back({"lab.example.com.", "c2", "m2", "m2.lab.example.com.", {"192.0.2.2"}, {}, {}});
  reg.members.push_back({"lab.example.com.", "", "m3", "m3.lab.example.com.", {"192.0.2.3"}, {}, {}});
  reg.members.push_back({"other.example.", "c1", "m4", "m4.other.example.", {"192.0.2.4"}, {}, {}});
  CHECK(reg.unplaced(config) == std::vector<std::string>{"lab.example.com. c2 m2", "lab.example.com. _ m3", "other.example. c1 m4"});
  reg.apply(config);
  REQUIRE(config.zones[0].clusters[0].members.size() == 1);
  CHECK(config.zones[0].clusters[0].members[0].name == "m1");
  CHECK(config.zones[0].clusters[1].members.empty());
  reg.apply(config);  // applying twice does not duplicate
  CHECK(config.zones[0].clusters[0].members.size() == 1);
}

TEST_CASE("a member is found through the index as a scan of the entries finds it, through every kind of change", "[registry]") {
  // Random puts, re-registrations, removals, clears and copies, each followed by lookups of present,
  // absent and removed members, against a plain vector searched from the front.
  std::mt19937 rng(11);
  auto pick = [&](size_t n) { return size_t(rng() % n); };
  const std::vector<std::string> zones = {"lab.example.com.", "other.example."}, clusters = {"", "c1", "c2"};
  auto random_key = [&] {
    return Registration{zones[pick(2)], clusters[pick(3)], "m" + std::to_string(pick(40)), "h.", {}, {}, {}};
  };
  Registry reg;
  std::vector<Registration> model;
  auto scan = [&](const Registration& k) -> const Registration* {
    for (const Registration& r : model)
      if (r.zone == k.zone && r.cluster == k.cluster && r.member == k.member) return &r;
    return nullptr;
  };
  for (int step = 0; step < 4000; ++step) {
    Registration r = random_key();
    r.host = "h" + std::to_string(step) + ".";
    const int op = int(pick(20));
    if (op < 12) {  // a registration: RegistryChange::apply puts it in place or at the end
      RegistryChange{RegistryChange::Kind::put, r}.apply(reg);
      if (Registration* found = const_cast<Registration*>(scan(r))) *found = r;
      else model.push_back(r);
    } else if (op < 17) {
      RegistryChange{RegistryChange::Kind::remove, r}.apply(reg);
      if (const Registration* found = scan(r)) model.erase(model.begin() + (found - model.data()));
    } else if (op < 18) {
      reg.members.push_back(r);  // a second entry for a member (a file may hold one): the first is found
      model.push_back(r);
    } else if (op < 19) {
      Registry copy = reg;  // copies index themselves when searched
      reg = copy;
    } else if (pick(20) == 0) {
      reg.members.clear();
      model.clear();
    }
    REQUIRE(reg.members == model);
    for (int q = 0; q < 4; ++q) {
      const Registration k = q == 0 ? r : random_key();
      const Registration* want = scan(k);
      const Registration* got = reg.find(k.zone, k.cluster, k.member);
      REQUIRE((got == nullptr) == (want == nullptr));
      if (got) REQUIRE(size_t(got - &reg.members[0]) == size_t(want - model.data()));
    }
  }
}
