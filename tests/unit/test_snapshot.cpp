// The snapshot: lookups (answer, NODATA, empty non-terminal, NXDOMAIN, REFUSED) and the slot that
// publishes it while workers read. Data plane only.
#include <catch2/catch.hpp>

#include <atomic>
#include <thread>

#include "exchange.hpp"
#include "snapshot_fixture.hpp"

using namespace dnsd;
using namespace dnsd::test;

TEST_CASE("lookup: answers, NODATA at a name or an empty non-terminal, NXDOMAIN inside, REFUSED outside", "[snapshot]") {
  const auto snap = make_snapshot();
  struct Row {
    const char* name;
    uint16_t type;
    Snapshot::Kind kind;
  };
  const Row rows[] = {
      {"a.example", rr_type::a, Snapshot::Kind::answer},    {"a.example", rr_type::aaaa, Snapshot::Kind::nodata},
      {"a.example", rr_type::any, Snapshot::Kind::answer},  {"x.example", rr_type::a, Snapshot::Kind::nodata},
      {"x.example", rr_type::any, Snapshot::Kind::nodata},  {"nope.example", rr_type::a, Snapshot::Kind::nxdomain},
      {"b.a.example", rr_type::a, Snapshot::Kind::nxdomain}, {"example.org", rr_type::a, Snapshot::Kind::refused},
  };
  for (const Row& row : rows) {
    INFO(row.name << " " << type_name(row.type));
    const Snapshot::Hit hit = snap->lookup(key(row.name), row.type);
    CHECK(hit.kind == row.kind);
    CHECK((hit.zone != nullptr) == (row.kind != Snapshot::Kind::refused));
    CHECK((hit.answer != nullptr) == (row.kind == Snapshot::Kind::answer));
  }
}

TEST_CASE("SnapshotSlot: readers always see a whole snapshot while a writer swaps", "[snapshot]") {
  SnapshotSlot slot;
  slot.publish(make_snapshot(1));
  std::atomic<bool> done{false};
  std::atomic<uint64_t> checks{0};
  std::atomic<uint64_t> bad{0};
  std::thread reader([&] {
    uint64_t gen = 0;
    std::shared_ptr<const Snapshot> cur;
    const Bytes q = make_query("nope.example", rr_type::a);
    Bytes reply(512);
    Counters c;
    while (!done.load()) {
      if (slot.generation() != gen) {
        gen = slot.generation();
        cur = slot.current();
      }
      // The serial inside the negative answer must match the zone the snapshot says it holds.
      const Processed p = query_process(cur.get(), q.data(), q.size(), reply.data(), reply.size(), Transport::udp, c);
      if (p.verdict != Verdict::reply || p.size < 17 || reply[p.size - 17] != uint8_t(cur->zones().front().serial))
        bad.fetch_add(1);
      checks.fetch_add(1);
    }
  });
  for (uint32_t i = 2; i < 2000; ++i) slot.publish(make_snapshot(i));
  while (checks.load() < 10000) std::this_thread::yield();
  done = true;
  reader.join();
  CHECK(bad.load() == 0);
  CHECK(slot.generation() == 1999);
}
