// The snapshot: lookups (answer, NODATA, empty non-terminal, NXDOMAIN, REFUSED) and the slot that
// publishes it while workers read. Data plane only.
#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <map>
#include <random>
#include <set>
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

TEST_CASE("SnapshotSlot: readers see whole snapshots, never an older one, and end on the last", "[snapshot]") {
  SnapshotSlot slot;
  slot.publish(make_snapshot(1));
  constexpr uint32_t last = 1999;
  std::atomic<bool> done{false};
  std::atomic<uint64_t> checks{0};
  std::atomic<uint64_t> bad{0}, backwards{0};
  std::atomic<uint32_t> final_serial{0};
  std::thread reader([&] {
    uint64_t gen = 0;
    std::shared_ptr<const Snapshot> cur;
    uint32_t seen = 0;
    const Bytes q = make_query("nope.example", rr_type::a);
    Bytes reply(512);
    Counters c;
    for (;;) {
      const bool finishing = done.load();  // read before the generation: the last publish is then seen
      if (slot.generation() != gen) {
        gen = slot.generation();
        cur = slot.current();
      }
      const uint32_t serial = cur->zones().front().serial;
      if (serial < seen) backwards.fetch_add(1);
      seen = serial;
      // The serial inside the negative answer must match the zone the snapshot says it holds.
      const Processed p = query_process(cur.get(), q.data(), q.size(), reply.data(), reply.size(), Transport::udp, c);
      if (p.verdict != Verdict::reply || p.size < 17 || reply[p.size - 17] != uint8_t(serial)) bad.fetch_add(1);
      checks.fetch_add(1);
      if (finishing) break;
    }
    final_serial = seen;
  });
  for (uint32_t i = 2; i <= last; ++i) {
    slot.publish(make_snapshot(i));
    if (i % 100 == 0) std::this_thread::yield();
  }
  while (checks.load() < 10000) std::this_thread::yield();
  done = true;
  reader.join();
  CHECK(bad.load() == 0);
  CHECK(backwards.load() == 0);
  CHECK(final_serial.load() == last);  // a publish that replaced nothing would leave an old one
  CHECK(slot.generation() == last);
  CHECK(slot.current()->zones().front().serial == last);
}

TEST_CASE("an answer holds its body and additional ends in one piece, copied and compared whole", "[snapshot]") {
  const Bytes body = {0xC0, 0x0C, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 192, 0, 2, 1, 7};  // an odd length
  const std::vector<uint16_t> ends = {16, 17};
  const Answer a(body, 12, ends, 1);
  CHECK(Bytes(a.body().begin(), a.body().end()) == body);
  CHECK(std::vector<uint16_t>(a.additional_ends().begin(), a.additional_ends().end()) == ends);
  CHECK(a.essential() == 12);
  CHECK(a.ancount() == 1);
  Answer copy = a;
  CHECK(copy == a);
  CHECK(copy.body().data() != a.body().data());
  CHECK_FALSE(Answer(body, 12, ends, 2) == a);
  CHECK_FALSE(Answer(body, 16, ends, 1) == a);
  CHECK_FALSE(Answer(body, 12, {ends.data(), 1}, 1) == a);
  Bytes other(body.begin(), body.end() - 1);
  other.push_back(8);
  CHECK_FALSE(Answer(other, 12, ends, 1) == a);
  CHECK_FALSE(Answer({body.data(), body.size() - 1}, 12, ends, 1) == a);
  Answer assigned(Bytes{1, 2, 3}, 3, {}, 1);
  assigned = Answer(a);
  CHECK(assigned == a);
  Answer moved = std::move(copy);
  CHECK(moved == a);
  CHECK(copy.body().empty());  // a moved-from answer is empty, as a default one
  CHECK(copy.essential() == 0);
  CHECK(copy == Answer());
  copy = std::move(assigned);
  CHECK(copy == a);
  CHECK(assigned == Answer());  // and so is one moved from by assignment
  copy = Answer();
  CHECK(copy.body().empty());
  CHECK(copy.additional_ends().empty());
  CHECK(copy.ancount() == 0);
  CHECK(Answer(copy) == Answer());
  CHECK(a.body().size() == body.size());  // the source is untouched
  // Sizes are 16-bit: a body of 64 KiB - 1 holds, one of 64 KiB is refused.
  const Bytes largest(65535, 7);
  const Answer big(largest, 65535, {}, 1);
  CHECK(big.body().size() == 65535);
  CHECK(big.essential() == 65535);
  CHECK(big.body()[65534] == 7);
  CHECK_THROWS_AS(Answer(Bytes(65536, 7), 12, {}, 1), std::length_error);
}

TEST_CASE("the node table: every name added is found as the node added, through growth, and no other", "[snapshot]") {
  Snapshot snap;
  Zone z;
  z.apex = key("example");
  const Zone& zone = snap.add_zone(std::move(z));
  std::vector<std::string> names;
  std::vector<Node*> added;
  for (int i = 0; i < 5000; ++i) {
    names.push_back(key("n" + std::to_string(i) + (i % 7 ? ".example" : ".deeper.example")));
    Node& node = snap.add_node(names.back(), zone);
    node.gate_ttl = uint32_t(i);  // tells the nodes apart
    added.push_back(&node);
  }
  CHECK(&snap.add_node(names[42], zone) == added[42]);  // a name added again is the same node
  CHECK(snap.node_count() == 5000);
  for (size_t i = 0; i < names.size(); ++i) {
    INFO(i);
    const Node* found = snap.find_node(names[i]);
    REQUIRE(found == added[i]);  // references from add_node stay valid as the table grows
    CHECK(found->gate_ttl == i);
    CHECK(snap.lookup(names[i], 1).kind == Snapshot::Kind::nodata);
  }
  for (int i = 5000; i < 6000; ++i) {
    CHECK(snap.find_node(key("n" + std::to_string(i) + ".example")) == nullptr);
    CHECK(snap.lookup(key("n" + std::to_string(i) + ".example"), 1).kind == Snapshot::Kind::nxdomain);
  }
  CHECK(snap.find_node(key("N1.example")) == nullptr);  // lower-case wire names: bytes compare
  std::vector<std::string> listed = snap.names();
  std::sort(listed.begin(), listed.end());
  std::sort(names.begin(), names.end());
  CHECK(listed == names);
}

TEST_CASE("derived snapshots: each answers with its base and every change made along the chain, whatever shares what", "[snapshot]") {
  // A chain of derived snapshots, each setting or dropping a few of 300 names (set again, dropped,
  // set after a drop), long enough that each one's own entries are merged into shared ones many
  // times; every snapshot of the chain is kept and checked against the model of its own moment.
  std::shared_ptr<const Snapshot> base;
  {
    auto full = std::make_shared<Snapshot>();
    Zone z;
    z.apex = key("example");
    const Zone& zone = full->add_zone(std::move(z));
    full->add_node(key("example"), zone);
    for (int i = 0; i < 150; ++i) full->add_node(key("n" + std::to_string(i) + ".example"), zone).gate_ttl = 100000 + uint32_t(i);
    base = full;
  }
  std::map<std::string, uint32_t> model;  // name -> gate_ttl of its node (a dropped name is absent)
  model[key("example")] = 0;
  for (int i = 0; i < 150; ++i) model[key("n" + std::to_string(i) + ".example")] = 100000 + uint32_t(i);
  std::mt19937 rng(5);
  std::vector<std::pair<std::shared_ptr<const Snapshot>, std::map<std::string, uint32_t>>> chain;
  std::vector<size_t> chain_touched;
  std::set<std::string> touched;  // every name set or dropped since the base
  std::shared_ptr<const Snapshot> last = base;
  for (int step = 1; step <= 600; ++step) {
    auto next = Snapshot::derive(last);
    for (int k = 0, changes = 1 + int(rng() % 4); k < changes; ++k) {
      const std::string name = key("n" + std::to_string(rng() % 300) + ".example");
      touched.insert(name);
      if (rng() % 3 == 0) {
        next->drop_node(name);
        model.erase(name);
      } else {
        Node node;
        node.gate_ttl = uint32_t(step * 10 + k);
        next->set_node(name, node);
        model[name] = node.gate_ttl;
      }
    }
    last = next;
    if (step % 40 == 0 || step > 590) {
      chain.emplace_back(next, model);
      chain_touched.push_back(touched.size());
    }
  }
  for (size_t c = 0; c < chain.size(); ++c) {
    INFO("snapshot " << c);
    const Snapshot& snap = *chain[c].first;
    const auto& want = chain[c].second;
    for (int i = 0; i < 300; ++i) {
      const std::string name = key("n" + std::to_string(i) + ".example");
      const Node* node = snap.node(name);
      const auto it = want.find(name);
      REQUIRE((node != nullptr) == (it != want.end()));
      if (node) REQUIRE(node->gate_ttl == it->second);
      REQUIRE(snap.lookup(name, 1).kind == (node ? Snapshot::Kind::nodata : Snapshot::Kind::nxdomain));
    }
    std::vector<std::string> listed = snap.names(), expected;
    for (const auto& [name, ttl] : want) expected.push_back(name);
    std::sort(listed.begin(), listed.end());
    REQUIRE(listed == expected);
    // The overlay counts each name set or dropped since the base once.
    CHECK(snap.overlay_size() == chain_touched[c]);
  }
}

TEST_CASE("a node's answers: the first inline, more beside it, copies their own, found by type", "[snapshot]") {
  const auto answer = [](uint8_t b) {
    const std::vector<uint8_t> body{b, b};
    return Answer(body, body.size(), {}, 1);
  };
  Node n;
  CHECK(n.rrsets.empty());
  CHECK(n.find(1) == nullptr);
  n.rrsets.emplace_back(1, answer(1));
  n.rrsets.emplace_back(28, answer(28));
  n.rrsets.emplace_back(16, answer(16));
  REQUIRE(n.rrsets.size() == 3);
  std::vector<uint16_t> types;
  for (const auto& [type, a] : n.rrsets) {
    types.push_back(type);
    CHECK(a.body()[0] == uint8_t(type));
  }
  CHECK(types == std::vector<uint16_t>{1, 28, 16});
  Node copy = n;
  copy.rrsets[2].second = answer(99);
  REQUIRE(n.find(16) != nullptr);
  CHECK(n.find(16)->body()[0] == 16);  // the copy's change is its own
  CHECK(copy.find(16)->body()[0] == 99);
  CHECK(copy.find(28)->body()[0] == 28);
  CHECK(copy.find(15) == nullptr);
}
