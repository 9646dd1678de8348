// Joining a formed cluster: plan_join's decisions and the quorum guard (docs/ARCHITECTURE.md, "Life
// after bootstrap"). The same cases against real etcd are e2e.life_* (tests/e2e/life.py).
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "etcd_gateway.hpp"
#include "join.hpp"
#include "json.hpp"

using namespace dnsd;

namespace {

const std::string self_url = "https://new.c.example:2380";

ObservedMember member(const std::string& name, EtcdHealth health, const std::string& id = "") {
  ObservedMember m;
  m.member.id = id.empty() ? std::to_string(std::hash<std::string>{}(name) % 100000) : id;
  if (health != EtcdHealth::unstarted) m.member.name = name;
  m.member.peer_urls = {"https://" + name + ".c.example:2380"};
  m.health = health;
  m.label = name;
  if (health == EtcdHealth::down) m.why = "connection refused";
  return m;
}

JoinInput cluster(JoinStrategy s, std::vector<ObservedMember> members, size_t limit = 3) {
  JoinInput in;
  in.strategy = s;
  in.limit = limit;
  in.peer_url = self_url;
  in.data_dir_given = true;
  in.members = std::move(members);
  return in;
}

constexpr auto ok = EtcdHealth::healthy;
constexpr auto down = EtcdHealth::down;

std::vector<std::string> removed(const JoinPlan& p) {
  std::vector<std::string> out;
  for (const auto& m : p.remove) out.push_back(m.label);
  return out;
}

}  // namespace

TEST_CASE("the quorum guard needs a majority of the members after the change") {
  CHECK(quorum_allows(2, 3));
  CHECK_FALSE(quorum_allows(1, 3));
  CHECK_FALSE(quorum_allows(1, 2));  // growing one to two: the new one failing would stop the cluster
  CHECK(quorum_allows(2, 2));
  CHECK(quorum_allows(3, 4));
  CHECK_FALSE(quorum_allows(2, 4));
  CHECK(quorum_allows(1, 1));
  CHECK_FALSE(quorum_allows(0, 1));
}

TEST_CASE("replace removes the one dead member of a full cluster, then adds") {
  const JoinPlan p = plan_join(cluster(JoinStrategy::replace, {member("a", ok), member("b", ok), member("c", down)}));
  REQUIRE(p.kind == JoinPlan::Kind::change);
  CHECK(removed(p) == std::vector<std::string>{"c"});
  CHECK(p.add);
  CHECK(p.message.find("removing c (connection refused), then adding " + self_url) != std::string::npos);
}

TEST_CASE("replace refuses with two of three down: the quorum guard names who is healthy and who is not") {
  // Two down of three: no removal can be made safe; replace says prune, and prune hits the guard.
  const auto members = std::vector<ObservedMember>{member("a", ok), member("b", down), member("c", down)};
  const JoinPlan r = plan_join(cluster(JoinStrategy::replace, members));
  CHECK(r.kind == JoinPlan::Kind::refuse);
  CHECK(r.message.find("2 members are down") != std::string::npos);
  const JoinPlan p = plan_join(cluster(JoinStrategy::prune, members));
  REQUIRE(p.kind == JoinPlan::Kind::refuse);
  CHECK(p.message == "quorum guard: 1 healthy of 2 after the change, 2 needed (healthy: a; unhealthy: "
                     "b (connection refused), c (connection refused))");
}

TEST_CASE("replace on a full, healthy cluster is refused as full, below the limit it only adds") {
  const auto full = std::vector<ObservedMember>{member("a", ok), member("b", ok), member("c", ok)};
  const JoinPlan p = plan_join(cluster(JoinStrategy::replace, full));
  CHECK(p.kind == JoinPlan::Kind::refuse);
  CHECK(p.message.find("cluster full: 3 of 3 members") != std::string::npos);
  const JoinPlan grow = plan_join(cluster(JoinStrategy::replace, full, 5));
  REQUIRE(grow.kind == JoinPlan::Kind::change);
  CHECK(grow.remove.empty());
  CHECK(grow.add);
  CHECK(plan_join(cluster(JoinStrategy::replace, full, 0)).kind == JoinPlan::Kind::change);  // no limit
}

TEST_CASE("replace removes a dead member below the limit too: it would block the add") {
  const JoinPlan p = plan_join(cluster(JoinStrategy::replace, {member("a", ok), member("b", ok), member("c", down)}, 5));
  REQUIRE(p.kind == JoinPlan::Kind::change);
  CHECK(removed(p) == std::vector<std::string>{"c"});
}

TEST_CASE("add never removes: full, or a member down, is a refusal naming it") {
  const JoinPlan full = plan_join(cluster(JoinStrategy::add, {member("a", ok), member("b", ok), member("c", ok)}));
  CHECK(full.kind == JoinPlan::Kind::refuse);
  CHECK(full.message.find("cluster full") != std::string::npos);
  const JoinPlan dead = plan_join(cluster(JoinStrategy::add, {member("a", ok), member("b", ok), member("c", down)}, 5));
  CHECK(dead.kind == JoinPlan::Kind::refuse);
  CHECK(dead.message.find("c (connection refused)") != std::string::npos);
  CHECK(dead.message.find("replace") != std::string::npos);
  const JoinPlan grow = plan_join(cluster(JoinStrategy::add, {member("a", ok), member("b", ok), member("c", ok)}, 4));
  REQUIRE(grow.kind == JoinPlan::Kind::change);
  CHECK(grow.remove.empty());
}

TEST_CASE("prune removes every dead member, behind the guard") {
  const JoinPlan p = plan_join(cluster(JoinStrategy::prune, {member("a", ok), member("b", ok), member("c", ok),
                                                              member("d", down), member("e", down)}, 5));
  REQUIRE(p.kind == JoinPlan::Kind::change);
  CHECK(removed(p) == std::vector<std::string>{"d", "e"});
  CHECK(p.message.find("(4 members after the change)") != std::string::npos);
}

TEST_CASE("a member up without quorum is not removed and not counted healthy") {
  const JoinPlan p = plan_join(cluster(JoinStrategy::prune, {member("a", EtcdHealth::no_quorum), member("b", down),
                                                              member("c", down)}));
  REQUIRE(p.kind == JoinPlan::Kind::refuse);
  CHECK(p.message.rfind("quorum guard: 0 healthy of 2", 0) == 0);
}

TEST_CASE("prepare finds the member an admin added, and changes nothing") {
  ObservedMember added = member("new", EtcdHealth::unstarted);
  added.member.peer_urls = {self_url};
  const JoinPlan p = plan_join(cluster(JoinStrategy::prepare, {member("a", ok), member("b", ok), added}));
  CHECK(p.kind == JoinPlan::Kind::prepared);
  const JoinPlan missing = plan_join(cluster(JoinStrategy::prepare, {member("a", ok), member("b", ok)}));
  CHECK(missing.kind == JoinPlan::Kind::refuse);
  CHECK(missing.message.find("etcdctl member add NAME --peer-urls=" + self_url) != std::string::npos);
}

TEST_CASE("someone else's join in progress (an added, unstarted member) stops a second join") {
  const JoinPlan p = plan_join(cluster(JoinStrategy::replace, {member("a", ok), member("b", ok),
                                                                member("other", EtcdHealth::unstarted, "77")}, 5));
  CHECK(p.kind == JoinPlan::Kind::refuse);
  CHECK(p.message.find("etcdctl member remove 77") != std::string::npos);
}

TEST_CASE("a restart, lost data, and a WAL of a removed member") {
  ObservedMember self = member("new", ok);
  self.member.peer_urls = {self_url};
  JoinInput restart = cluster(JoinStrategy::replace, {member("a", ok), member("b", ok), self});
  restart.has_wal = true;
  CHECK(plan_join(restart).kind == JoinPlan::Kind::restart);

  restart.data_dir_given = false;  // cannot tell a restart from lost data without it
  CHECK(plan_join(restart).kind == JoinPlan::Kind::refuse);

  self.health = down;
  JoinInput lost = cluster(JoinStrategy::add, {member("a", ok), member("b", ok), self});  // any strategy
  const JoinPlan p = plan_join(lost);
  REQUIRE(p.kind == JoinPlan::Kind::change);
  CHECK(removed(p) == std::vector<std::string>{"new"});
  CHECK(p.add);

  JoinInput running = lost;
  running.members[2].health = ok;  // it answers, yet its data dir is empty: the wrong --data-dir
  CHECK(plan_join(running).kind == JoinPlan::Kind::refuse);

  JoinInput removed_member = cluster(JoinStrategy::replace, {member("a", ok), member("b", ok)});
  removed_member.has_wal = true;
  const JoinPlan r = plan_join(removed_member);
  CHECK(r.kind == JoinPlan::Kind::refuse);
  CHECK(r.message.find("removed from the cluster; clear the data dir") != std::string::npos);
}

TEST_CASE("the gateway's member list: IDs as decimal strings, unstarted members without a name") {
  const auto ms = parse_etcd_members(
      R"({"header":{"cluster_id":"1"},"members":[{"ID":"3319814642761637952","name":"a","peerURLs":["http://a:2380"],)"
      R"("clientURLs":["http://a:2379"]},{"ID":"9890174779499908574","peerURLs":["http://b:2380"]}]})");
  REQUIRE(ms.size() == 2);
  CHECK(ms[0].id == "3319814642761637952");
  CHECK(ms[0].started());
  CHECK(ms[0].client_urls == std::vector<std::string>{"http://a:2379"});
  CHECK_FALSE(ms[1].started());
  CHECK(ms[1].peer_urls == std::vector<std::string>{"http://b:2380"});
  CHECK_THROWS(parse_etcd_members(R"({"error":"etcdserver: unhealthy cluster","code":14})"));
  CHECK_THROWS(parse_etcd_members("not json ["));
}

TEST_CASE("replies' fields: strings, integers and booleans, each missing or wrong one named") {
  const YamlNode r = read_json(R"({"gate":"closed","expected_size":3,"peer_tls":true,"port":"x","big":99999999999999999999,)"
                               R"("members":[{"name":"m1"}]})",
                               "dnsd's cluster");
  CHECK(json_string(r, "gate", "c") == "closed");
  CHECK(json_integer(r, "expected_size", "c") == 3);
  CHECK(json_bool(r, "peer_tls", "c"));
  CHECK(json_string(r["members"][size_t(0)], "name", "c") == "m1");
  CHECK_THROWS_WITH(json_string(r, "client_tls", "c"), "c: no client_tls in the reply");
  CHECK_THROWS_WITH(json_string(r, "members", "c"), "c: no members in the reply");  // not a scalar
  CHECK_THROWS_WITH(json_integer(r, "port", "c"), "c: port in the reply is not an integer");
  CHECK_THROWS_WITH(json_integer(r, "big", "c"), "c: big in the reply is not an integer");
  CHECK_THROWS_WITH(json_bool(r, "gate", "c"), "c: gate in the reply is not true or false");
  CHECK_THROWS_WITH(json_string(YamlNode(), "gate", "c"), "c: no gate in the reply");
  CHECK_THROWS_WITH(read_json("{\"a\": [", "lease grant"), "lease grant: the reply is not JSON");
}
