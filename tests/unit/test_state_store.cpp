// SOA serials: stable while a zone's records are, bumped when they change, never backwards across
// restarts or past the wrap (RFC 1982), kept through a damaged file and a failing disk.
#include <catch2/catch.hpp>

#include <cstring>
#include <ctime>
#include <filesystem>
#include <random>
#include <sstream>

#include "compile.hpp"
#include "state_store.hpp"
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

TEST_CASE("RFC 1982 serial arithmetic: the next serial is always greater, across the wrap", "[state]") {
  CHECK(serial_greater(1, 0));
  CHECK(serial_greater(0, 4294967295u));   // the wrap: 0 follows 2^32 - 1
  CHECK_FALSE(serial_greater(4294967295u, 0));
  CHECK_FALSE(serial_greater(7, 7));
  CHECK_FALSE(serial_greater(0x80000000u, 0));  // exactly half way is undefined: never "greater"
  struct Row {
    uint32_t previous, now, next;
  };
  const Row rows[] = {
      {1700000000, 1800000000, 1800000000},   // the clock is ahead: take it
      {1800000000, 1800000000, 1800000001},   // same second: one more
      {1900000000, 1800000000, 1900000001},   // the serial is ahead of the clock: one more
      {4294967295u, 1800000000, 1800000000},  // after the wrap the clock is ahead again (RFC 1982)
      {4294967295u, 100, 100},
      {2147483648u, 1800000000, 2147483649u},  // the clock is behind (in serial arithmetic): one more
  };
  for (const Row& r : rows) {
    INFO(r.previous << " at " << r.now);
    CHECK(next_serial(r.previous, r.now) == r.next);
    CHECK(serial_greater(next_serial(r.previous, r.now), r.previous));
  }
}

TEST_CASE("a damaged serials file is named and never lowers a serial", "[state]") {
  TempDir dir;
  {
    StateStore state(dir.path("state"), false);
    CHECK(state.serial_for("a.example.", 1, 1800000000) == 1800000000);
    CHECK(state.serial_for("a.example.", 2, 1800000000) == 1800000001);
    CHECK(state.serial_for("b.example.", 1, 1800000000) == 1800000000);  // serials.prev now has a at 1800000001
    CHECK(state.load_problems().empty());
    CHECK(state.write_error().empty());
  }
  const std::string good = dir.read("state/serials");
  REQUIRE(good.rfind("dnsd-serials 1\n", 0) == 0);
  // Bytes lost from the end: the checksum catches it, and the floor stays above every serial seen.
  dir.write("state/serials", good.substr(0, good.size() - 30));
  StateStore damaged(dir.path("state"), false);
  REQUIRE_FALSE(damaged.load_problems().empty());
  CHECK_THAT(damaged.load_problems().front(), Catch::Contains("state/serials"));
  CHECK(damaged.serial_for("a.example.", 2, 1800000000) > 1800000001);  // the same records still bump
  CHECK(damaged.serial_for("b.example.", 1, 1800000000) > 1800000000);
  // An older file without header or trailer (dnsd before this format) still reads.
  dir.write("state/serials", "c.example. 1900000000 5\n");
  StateStore legacy(dir.path("state"), true);
  CHECK(legacy.load_problems().empty());
  CHECK(legacy.serial_for("c.example.", 5, 1800000000) == 1900000000);
}

TEST_CASE("a serial that cannot be written is served from memory, and written once it can", "[state]") {
  TempDir dir;
  StateStore state(dir.path("state"), false);
  // A directory where the temporary file must go: every write fails, nothing else does.
  std::filesystem::create_directories(dir.path("state/serials.tmp"));
  CHECK(state.serial_for("a.example.", 1, 1800000000) == 1800000000);
  CHECK_THAT(state.write_error(), Catch::Contains("serials.tmp"));
  std::filesystem::remove(dir.path("state/serials.tmp"));
  CHECK(state.serial_for("a.example.", 2, 1800000000) == 1800000001);
  CHECK(state.write_error().empty());
  CHECK_THAT(dir.read("state/serials"), Catch::Contains("a.example. 1800000001 2\n"));
}

TEST_CASE("a whole file is read as it is: empty, past 64 KiB, one with no size, one that is missing", "[state]") {
  TempDir dir;
  std::string big;
  for (int i = 0; big.size() < 200000; ++i) big += "line " + std::to_string(i) + "\n";
  std::string text = "left from before";
  REQUIRE_FALSE(read_whole_file(dir.write("big", big), text));
  CHECK(text == big);
  REQUIRE_FALSE(read_whole_file(dir.write("empty", ""), text));
  CHECK(text.empty());
  REQUIRE_FALSE(read_whole_file("/proc/self/status", text));  // st_size 0, yet it has text
  CHECK(text.find("Name:") == 0);
  CHECK(read_whole_file(dir.path("missing"), text) == std::string(std::strerror(ENOENT)));
  CHECK(text.empty());
}

TEST_CASE("Words and next_line read a state file's lines as a stream reads them", "[state]") {
  std::mt19937 rng(7);
  const std::string alphabet = "ab1 \t\r\v\f\n:-";
  for (int round = 0; round < 2000; ++round) {
    std::string text;
    for (size_t n = rng() % 24; n > 0; --n) text += alphabet[rng() % alphabet.size()];
    INFO(text);
    // Lines: what getline gives, and whether a newline ended each.
    std::istringstream lines_in(text);
    std::string want_line;
    size_t pos = 0;
    std::string_view line;
    bool complete = false;
    while (std::getline(lines_in, want_line)) {
      REQUIRE(next_line(text, pos, line, complete));
      CHECK(line == want_line);
      CHECK(complete == !lines_in.eof());
    }
    CHECK_FALSE(next_line(text, pos, line, complete));
    // Words: what >> gives, one word at a time, and what getline leaves after two of them.
    std::istringstream words_in(text);
    Words words(text);
    std::string want, got;
    bool read = true;
    for (int i = 0; i < 2 && read; ++i) {
      read = bool(words_in >> want);
      CHECK(words.next(got) == read);
      if (read) CHECK(got == want);
    }
    if (!read) continue;
    // After words read: the rest as getline takes it (its blanks kept), and whether a word is left.
    std::string want_rest;
    if (!std::getline(words_in, want_rest, '\0')) want_rest.clear();
    CHECK(std::string(words.rest()) == want_rest);
    std::istringstream again(want_rest);
    CHECK(words.at_end() == !(again >> want));
  }
  Words numbers(" 12 x 18446744073709551615 18446744073709551616 -1");
  uint64_t v = 0;
  CHECK(numbers.next(v));
  CHECK(v == 12);
  CHECK_FALSE(numbers.next(v));  // "x": read, not a number
  CHECK(numbers.next(v));
  CHECK(v == UINT64_MAX);
  CHECK_FALSE(numbers.next(v));  // past 64 bits
  CHECK_FALSE(numbers.next(v));  // signed
  CHECK_FALSE(numbers.next(v));  // none left
  CHECK(Words("a   b c ").rest_after_blanks() == "a   b c ");
}
