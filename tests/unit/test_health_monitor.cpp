// The health monitor: probe results move a member through rise and fall as its cluster says, a flip
// that changes the client set asks for one republish, and members that leave the config are forgotten.
#include <catch2/catch.hpp>

#include <set>

#include "health_monitor.hpp"
#include "raii.hpp"

using namespace dnsd;

namespace {

DaemonConfig probed_config(uint32_t rise, uint32_t fall) {
  DaemonConfig cfg;
  ZoneConfig z;
  z.zone = "lab.example.com.";
  Cluster c;
  c.name = "c1";
  c.health = HealthOptions{};
  c.health->scheme = "http";
  c.health->rise = rise;
  c.health->fall = fall;
  for (const char* n : {"a", "b"})
    c.members.push_back({n, std::string(n) + ".lab.example.com.", {"192.0.2.1"}, {}, {}, {}, {}});
  z.clusters.push_back(c);
  cfg.zones.push_back(z);
  return cfg;
}

}  // namespace

TEST_CASE("health monitor: fall failures in a row make a member unhealthy, rise successes healthy again", "[health]") {
  const EventBasePtr base(event_base_new());
  HealthMonitor monitor(base.get());
  std::vector<std::string> republished;
  std::set<std::pair<std::string, std::string>> flipped;
  monitor.on_flips([&](const std::string& why, const std::set<std::pair<std::string, std::string>>& clusters) {
    republished.push_back(why);
    flipped = clusters;
  });
  monitor.set_config(probed_config(2, 3));
  const std::string a = health_key("lab.example.com.", "c1", "a");
  auto state = [&] { return to_string(monitor.table().at(a).state.state()); };
  auto result = [&](bool ok) { monitor.on_probe(a, {ok, 0.001, ok ? "" : "HTTP status 503"}); };

  result(true);  // the first result decides
  CHECK(state() == std::string("healthy"));
  result(false);
  result(false);
  CHECK(state() == std::string("healthy"));  // two of three
  result(false);
  CHECK(state() == std::string("unhealthy"));
  result(true);
  CHECK(state() == std::string("unhealthy"));  // one of two
  result(true);
  CHECK(state() == std::string("healthy"));
  CHECK(monitor.table().at(a).last_error == "HTTP status 503");

  // Flips that change the client set were coalesced into one republish, done on the event loop.
  CHECK(republished.empty());
  event_base_loop(base.get(), EVLOOP_NONBLOCK);
  CHECK(republished == std::vector<std::string>{"health flips"});
  // Named by cluster, so that only its names are compiled again.
  CHECK(flipped == std::set<std::pair<std::string, std::string>>{{"lab.example.com.", "c1"}});

  // Results for members the config no longer has are ignored; the table forgets them.
  DaemonConfig fewer = probed_config(2, 3);
  fewer.zones[0].clusters[0].members.resize(1);
  monitor.set_config(fewer);
  monitor.on_probe(health_key("lab.example.com.", "c1", "gone"), {false, 0, "x"});
  CHECK(monitor.table().count(health_key("lab.example.com.", "c1", "gone")) == 0);
}

TEST_CASE("health monitor: a config change is applied cluster by cluster, the rest kept as it was", "[health]") {
  const EventBasePtr base(event_base_new());
  HealthMonitor monitor(base.get());
  monitor.on_flips([](const std::string&, const std::set<std::pair<std::string, std::string>>&) {});
  DaemonConfig cfg = probed_config(1, 1);
  Cluster c2 = cfg.zones[0].clusters[0];
  c2.name = "c2";
  cfg.zones[0].clusters.push_back(c2);
  monitor.set_config(cfg);
  auto key = [](const char* cluster, const char* member) { return health_key("lab.example.com.", cluster, member); };
  auto state = [&](const std::string& k) {
    const auto it = monitor.table().find(k);
    return it == monitor.table().end() ? std::string("none") : std::string(to_string(it->second.state.state()));
  };
  // c1/a's results come as the prober gives them, with its target's handle (kept by the prober through
  // every change below: c1/a is probed alike throughout): the member's entry, found once.
  void* c1a = nullptr;
  for (const char* c : {"c1", "c2"})
    for (const char* m : {"a", "b"}) monitor.on_probe(key(c, m), {false, 0.001, "down"}, c == std::string("c1") && m == std::string("a") ? &c1a : nullptr);
  CHECK(state(key("c1", "a")) == "unhealthy");
  CHECK(c1a != nullptr);

  // A registration in c2: b leaves, d joins. c1 is untouched; c2's a keeps its state.
  DaemonConfig next = cfg;
  auto& members = next.zones[0].clusters[1].members;
  members.erase(members.begin() + 1);
  members.push_back({"d", "d.lab.example.com.", {"192.0.2.4"}, {}, {}, {}, {}});
  monitor.set_config(next);
  CHECK(state(key("c1", "a")) == "unhealthy");
  CHECK(state(key("c1", "b")) == "unhealthy");
  CHECK(state(key("c2", "a")) == "unhealthy");
  CHECK(state(key("c2", "b")) == "none");  // forgotten, and its results ignored
  monitor.on_probe(key("c2", "b"), {true, 0.001, ""});
  CHECK(state(key("c2", "b")) == "none");
  monitor.on_probe(key("c2", "d"), {true, 0.001, ""});  // the newcomer is probed and counted
  CHECK(state(key("c2", "d")) == "healthy");

  // c1's options change (rise 2): its members keep their states, and the new rise applies.
  next.zones[0].clusters[0].health->rise = 2;
  monitor.set_config(next);
  monitor.on_probe(key("c1", "a"), {true, 0.001, ""}, &c1a);
  CHECK(state(key("c1", "a")) == "unhealthy");
  monitor.on_probe(key("c1", "a"), {true, 0.001, ""}, &c1a);
  CHECK(state(key("c1", "a")) == "healthy");

  // A cluster removed: everything afresh, and its members forgotten.
  next.zones[0].clusters.pop_back();
  monitor.set_config(next);
  CHECK(state(key("c2", "d")) == "none");
  CHECK(state(key("c1", "a")) == "healthy");
  // Through the handle kept since the start: still c1/a's entry, now in the new cluster table (under
  // ASan a handle left on the old one would be a use after free) with c1's options (fall 1).
  const void* before = c1a;
  monitor.on_probe(key("c1", "a"), {false, 0.001, "down"}, &c1a);
  CHECK(c1a == before);
  CHECK(state(key("c1", "a")) == "unhealthy");
  CHECK(monitor.table().at(key("c1", "a")).last_error == "down");
}
