// Incremental publishing (cluster_patch.hpp, update_patch.hpp): for random sequences of
// registrations, removals, health flips and UPDATEs, every answer of the patched snapshot equals a whole compile's, and most changes are
// in fact patched (a test that only ever fell back to the whole compile would prove nothing); the
// IXFR journal's change after each patch, taken from the patch alone, equals a whole-zone comparison.
#include <catch2/catch.hpp>

#include <random>

#include "patch_check.hpp"

using namespace dnsd;

TEST_CASE("a patched snapshot answers exactly as a whole compile, for random changes", "[patch]") {
  size_t update_patches = 0;
  for (uint32_t seed : {1u, 2u, 3u, 4u}) {
    test::PatchCheck check(seed % 2 == 0);  // two seeds with UPDATE keys, two without
    std::mt19937 rng(seed);
    const std::string at_start = check.compare();
    INFO("seed " << seed);
    REQUIRE(at_start.empty());
    for (int i = 0; i < 120; ++i) {
      const std::string did = check.step(rng(), rng(), rng(), rng());
      const std::string diff = check.compare();
      if (!diff.empty()) {
        std::string steps;
        for (const std::string& s : check.log()) steps += s + "\n";
        FAIL("step " << i << " (" << did << "): " << diff << "\nsteps:\n" << steps);
      }
    }
    const std::string metrics = check.zones().metrics();
    INFO(metrics);
    // Most changes were patches; some (hosts the config or UPDATE holds, refusals) went the whole way.
    const auto count = [&](const std::string& how) {
      const std::string key = "dnsd_publishes_total{how=\"" + how + "\"} ";
      return std::stoul(metrics.substr(metrics.find(key) + key.size()));
    };
    CHECK(count("patch") > 40);
    CHECK(count("whole") > 5);
    // Journal changes came from patches' deltas (those that changed the zone with transfers' records).
    CHECK(check.journal_patched_changes() >= 5);
    update_patches += check.update_patches();
  }
  // UPDATEs at names of their own were patched too (22 of about 80 with these seeds).
  CHECK(update_patches >= 15);
}
