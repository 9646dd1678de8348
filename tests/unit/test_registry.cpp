// The registry file: what registrations and UPDATE records look like on disk, the checksum that
// catches damage, the fallback to the previous version.
#include <catch2/catch.hpp>

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
