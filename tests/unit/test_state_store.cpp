// SOA serials: stable while a zone's records are, bumped when they change, never backwards across
// restarts (the state store under state_dir).
#include <catch2/catch.hpp>

#include <ctime>

#include "compile.hpp"
#include "temp_dir.hpp"

using namespace dnsd;
using dnsd::test::TempDir;

TEST_CASE("the serial is stable while records are, and bumps when they change", "[compile]") {
  TempDir dir;
  const std::string conf = dir.write("dnsd.yaml", "listen: [\"127.0.0.1:1053\"]\nzones: [\"z.yaml\"]\nstate_dir: state\n");
  const std::string base = "zone: s.example\nsoa: { mname: ns.example.org, rname: h.example.org }\nns: [ns.example.org]\n";
  dir.write("z.yaml", base + "records: |\n  a IN A 192.0.2.1\n");
  auto serial_now = [&] {
    DaemonConfig cfg = load_config(conf);
    StateStore state(cfg.state_dir, false);  // reopened each time, like a restart
    return compile_config(cfg, state).snapshot->zones().front().serial;
  };
  const uint32_t first = serial_now();
  CHECK(first >= uint32_t(std::time(nullptr)) - 5);
  CHECK(serial_now() == first);
  dir.write("z.yaml", base + "records: |\n  a IN A 192.0.2.2\n");
  const uint32_t second = serial_now();
  CHECK(second > first);
  dir.write("z.yaml", base + "records: |\n  a IN A 192.0.2.1\n");
  CHECK(serial_now() > second);  // never backwards, even back to old content
}
