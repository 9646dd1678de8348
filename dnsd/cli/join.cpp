// Joining a formed cluster (see join.hpp).
#include "join.hpp"

#include <algorithm>

namespace dnsd {

namespace {

std::string describe(const ObservedMember& m) {
  return m.health == EtcdHealth::healthy ? m.label : m.label + " (" + (m.why.empty() ? to_string(m.health) : m.why) + ")";
}

std::string names(const std::vector<const ObservedMember*>& ms) {
  std::string out;
  for (const ObservedMember* m : ms) out += (out.empty() ? "" : ", ") + describe(*m);
  return out.empty() ? "none" : out;
}

JoinPlan refuse(std::string why) {
  JoinPlan p;
  p.message = std::move(why);
  return p;
}

}  // namespace

bool parse_join_strategy(const std::string& s, JoinStrategy& out) {
  if (s == "prepare") out = JoinStrategy::prepare;
  else if (s == "add") out = JoinStrategy::add;
  else if (s == "replace") out = JoinStrategy::replace;
  else if (s == "prune") out = JoinStrategy::prune;
  else return false;
  return true;
}

bool quorum_allows(size_t healthy, size_t total) noexcept { return healthy >= total / 2 + 1; }

JoinPlan plan_join(const JoinInput& in) {
  std::vector<const ObservedMember*> healthy, unhealthy, dead, unstarted;
  const ObservedMember* self = nullptr;
  for (const ObservedMember& m : in.members) {
    (m.health == EtcdHealth::healthy ? healthy : unhealthy).push_back(&m);
    if (m.health == EtcdHealth::down) dead.push_back(&m);
    for (const std::string& url : m.member.peer_urls)
      if (same_url(url, in.peer_url)) self = &m;
    if (!m.member.started() && self != &m) unstarted.push_back(&m);
  }
  const size_t n = in.members.size();
  auto guard = [&](JoinPlan plan) {
    const size_t total = n - plan.remove.size() + (plan.add ? 1 : 0);
    size_t h = healthy.size();
    for (const ObservedMember& r : plan.remove) h -= r.health == EtcdHealth::healthy;
    if (!quorum_allows(h, total))
      return refuse("quorum guard: " + std::to_string(h) + " healthy of " + std::to_string(total) +
                    " after the change, " + std::to_string(total / 2 + 1) + " needed (healthy: " + names(healthy) +
                    "; unhealthy: " + names(unhealthy) + ")");
    plan.kind = JoinPlan::Kind::change;
    for (const ObservedMember& r : plan.remove) plan.message += "removing " + describe(r) + ", then ";
    plan.message += "adding " + in.peer_url + " (" + std::to_string(total) + " members after the change)";
    return plan;
  };
  const std::string wal = "the data dir holds a WAL";

  if (self && self->member.started()) {
    if (!in.data_dir_given)
      return refuse("etcd lists " + in.peer_url + " as member " + self->label +
                    ": pass --data-dir so that a restart can be told from a member that lost its data");
    if (in.has_wal) {
      JoinPlan p;
      p.kind = JoinPlan::Kind::restart;
      p.message = "a restart: etcd lists " + self->label + " and " + wal + "; nothing changed";
      return p;
    }
    if (self->health == EtcdHealth::healthy)
      return refuse(self->label + " answers at its client URL, but --data-dir holds no WAL: is --data-dir right?");
    // Restarting it with an empty data dir would panic etcd (tocommit out of range): remove, re-add.
    JoinPlan p;
    p.remove.push_back(*self);
    p.add = true;
    return guard(std::move(p));
  }
  if (self) {
    if (in.has_wal)
      return refuse(wal + ", but etcd lists " + in.peer_url +
                    " as added and not started (another member's data?): clear the data dir to join as the added member");
    JoinPlan p;
    p.kind = JoinPlan::Kind::prepared;
    p.message = "etcd lists " + in.peer_url + " as added, not started (ID " + self->member.id + "); nothing changed";
    return p;
  }
  if (in.has_wal)
    return refuse(wal + ", but etcd does not list " + in.peer_url +
                  ": this member was removed from the cluster; clear the data dir to join again");
  if (in.strategy == JoinStrategy::prepare)
    return refuse("join strategy prepare: etcd lists no member with peer URL " + in.peer_url +
                  "; run `etcdctl member add NAME --peer-urls=" + in.peer_url + "` first");
  if (!unstarted.empty())
    return refuse("member " + unstarted.front()->label + " was added and has not started (a join in progress; etcd " +
                  "refuses another add until it starts): wait for it, or remove it with `etcdctl member remove " +
                  unstarted.front()->member.id + "`");
  const bool full = in.limit != 0 && n >= in.limit;
  const std::string full_text = "cluster full: " + std::to_string(n) + " of " + std::to_string(in.limit) +
                                " members (--cluster-size sets the limit)";
  JoinPlan p;
  p.add = true;
  switch (in.strategy) {
    case JoinStrategy::add:
      if (full) return refuse(full_text);
      if (!dead.empty())
        return refuse("etcd refuses to add a member while one is down: " + names(dead) +
                      "; --join-strategy replace removes it first");
      break;
    case JoinStrategy::replace:
      if (dead.empty()) {
        if (full) return refuse(full_text + ", and every member is up");
      } else if (dead.size() > 1) {
        return refuse(std::to_string(dead.size()) + " members are down (" + names(dead) +
                      "): replace removes one, and etcd refuses the add while another is down; "
                      "--join-strategy prune removes them all");
      } else {
        p.remove.push_back(*dead.front());
      }
      break;
    case JoinStrategy::prune:
      for (const ObservedMember* d : dead) p.remove.push_back(*d);
      if (in.limit != 0 && n - dead.size() >= in.limit) return refuse(full_text + ", and every member is up");
      break;
    case JoinStrategy::prepare:
      break;  // handled above
  }
  return guard(std::move(p));
}

}  // namespace dnsd
