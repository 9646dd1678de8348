// The health service (see health_monitor.hpp).
#include "health_monitor.hpp"

#include <algorithm>

#include "hash.hpp"
#include "log.hpp"
#include "names.hpp"

namespace dnsd {

HealthMonitor::HealthMonitor(event_base* base)
    : prober_(std::make_unique<Prober>(base, [this](const std::string& key, const ProbeResult& r, void*& handle) { on_probe(key, r, &handle); })) {
  republish_event_.reset(evtimer_new(
      base, [](evutil_socket_t, short, void* self) { static_cast<HealthMonitor*>(self)->republish_now(); }, this));
  if (!republish_event_) throw std::runtime_error("cannot create the republish timer");
  drift_timer_.reset(event_new(
      base, -1, EV_PERSIST, [](evutil_socket_t, short, void* self) { static_cast<HealthMonitor*>(self)->check_drift(); },
      this));
  const timeval second{1, 0};
  if (!drift_timer_ || event_add(drift_timer_.get(), &second) != 0) throw std::runtime_error("cannot create the drift timer");
}

namespace {

ProbeSpec probe_spec(const ZoneConfig& z, const Cluster& c, const Member& m) {
  ProbeSpec s;
  s.key = health_key(z.zone, c.name, m.name);
  s.host = dotless_name(m.host);
  s.address = m.addresses.front();
  s.port = m.client_port.value_or(c.client_port);
  s.options = *c.health;
  return s;
}

// Everything of a probed cluster the monitor and its probes depend on: a cluster with the same one
// needs nothing done when the config changes elsewhere.
uint64_t cluster_fingerprint(const ZoneConfig& z, const Cluster& c) {
  uint64_t h = fnv_basis;
  auto add = [&h](std::string_view text) {
    h = fnv1a(reinterpret_cast<const uint8_t*>(text.data()), text.size(), h);
    h = fnv1a(reinterpret_cast<const uint8_t*>("|"), 1, h);  // "ab","c" is not "a","bc"
  };
  auto number = [&add](uint64_t v) { add(std::to_string(v)); };
  const HealthOptions& o = *c.health;
  add(z.zone);
  add(c.name);
  add(o.scheme);
  add(o.path);
  for (uint64_t v : {uint64_t(o.interval_ms), uint64_t(o.timeout_ms), uint64_t(o.rise), uint64_t(o.fall), uint64_t(o.verify),
                     uint64_t(o.fail_closed), uint64_t(c.peer_tls), uint64_t(c.client_port), uint64_t(c.peer_port)})
    number(v);
  for (const std::string* text : {&o.ca_file, &o.cert_file, &o.key_file, &o.server_name}) add(*text);
  add(gate_state(c));
  for (const Member& m : c.members) {
    add(m.name);
    add(m.host);
    add(m.addresses.front());
    number(m.client_port.value_or(0) + 65536u * m.peer_port.value_or(0));
  }
  return h;
}

}  // namespace

void HealthMonitor::set_config(const DaemonConfig& config) {
  // The usual change (a registration, a reload that touches a few clusters) keeps the probed clusters
  // and their order: only the clusters whose fingerprint changed are done again.
  std::vector<std::pair<const ZoneConfig*, const Cluster*>> probed;
  for (const ZoneConfig& z : config.zones)
    for (const Cluster& c : z.clusters)
      if (c.health) probed.emplace_back(&z, &c);
  bool same = probed.size() == clusters_.size() && fingerprints_.size() == clusters_.size();
  for (size_t i = 0; same && i < probed.size(); ++i)
    same = clusters_[i].zone == probed[i].first->zone && clusters_[i].name == probed[i].second->name;
  if (!same) return set_config_whole(config);
  std::vector<size_t> changed;
  std::vector<uint64_t> prints;
  for (size_t i = 0; i < probed.size(); ++i) {
    const uint64_t print = cluster_fingerprint(*probed[i].first, *probed[i].second);
    if (print != fingerprints_[i]) {
      changed.push_back(i);
      prints.push_back(print);
    }
  }
  // The probes first: they may throw (a TLS file), and then nothing has changed.
  std::vector<ProbedCluster> next;
  std::vector<std::string> removed;
  std::vector<ProbeSpec> specs;
  for (size_t i : changed) {
    const auto [z, c] = probed[i];
    next.push_back(probed_cluster(*z, *c));
    const std::set<std::string> now(next.back().members.begin(), next.back().members.end());
    for (const std::string& m : clusters_[i].members)
      if (!now.count(m)) removed.push_back(health_key(z->zone, c->name, m));
    for (const Member& m : c->members) specs.push_back(probe_spec(*z, *c, m));
  }
  prober_->update_targets(removed, std::move(specs));
  bool dropped = false;
  for (const std::string& key : removed) {
    member_cluster_.erase(key);
    dropped = health_.erase(key) > 0 || dropped;
  }
  for (size_t n = 0; n < changed.size(); ++n) {
    const size_t i = changed[n];
    ProbedCluster& cluster = clusters_[i];  // replaced in place: member_cluster_ points at it
    cluster = std::move(next[n]);
    fingerprints_[i] = prints[n];
    for (const std::string& m : cluster.members) member_cluster_.try_emplace(health_key(cluster.zone, cluster.name, m), Probed{&cluster});
    if (!cluster.formed) drift_.erase(health_key(cluster.zone, cluster.name, ""));
  }
  if (dropped) {
    everything_ = true;
    schedule_republish("probed members removed");
  }
}

void HealthMonitor::set_config_whole(const DaemonConfig& config) {
  std::vector<ProbeSpec> specs;
  HealthTable kept;
  for (const ZoneConfig& z : config.zones)
    for (const Cluster& c : z.clusters) {
      if (!c.health) continue;
      for (const Member& m : c.members) {
        ProbeSpec s = probe_spec(z, c, m);
        if (auto it = health_.find(s.key); it != health_.end()) kept.insert(*it);
        specs.push_back(std::move(s));
      }
    }
  prober_->set_targets(std::move(specs));
  clusters_ = probed_clusters(config);
  fingerprints_.clear();
  for (const ZoneConfig& z : config.zones)
    for (const Cluster& c : z.clusters)
      if (c.health) fingerprints_.push_back(cluster_fingerprint(z, c));
  // Entries of members still probed stay where they are (kept targets point at them), now pointing at
  // the new clusters, their health entries looked up afresh (health_ is replaced below); the rest go.
  for (auto& [key, probed] : member_cluster_) probed = {};
  for (const ProbedCluster& c : clusters_)
    for (const std::string& m : c.members) member_cluster_[health_key(c.zone, c.name, m)] = {&c};
  std::erase_if(member_cluster_, [](const auto& entry) { return entry.second.cluster == nullptr; });
  // Clusters that left (or are no longer formed) are forgotten; set_targets() dropped the reads in flight.
  DriftTable drift;
  std::unordered_map<std::string, DriftCheck> checks;
  for (const ProbedCluster& c : clusters_) {
    const std::string key = health_key(c.zone, c.name, "");
    if (auto it = drift_.find(key); c.formed && it != drift_.end()) drift.insert(*it);
    if (auto it = drift_checks_.find(key); it != drift_checks_.end()) checks[key].due = it->second.due;
  }
  drift_ = std::move(drift);
  drift_checks_ = std::move(checks);
  const bool dropped = kept.size() != health_.size();
  health_ = std::move(kept);
  if (dropped) {
    everything_ = true;
    schedule_republish("probed members removed");
  }
}

void HealthMonitor::on_probe(const std::string& key, const ProbeResult& r, void** handle) {
  // The member's entry is looked up once per probe target, then kept in its handle: hashing and
  // comparing the key was a sixteenth of each http probe's cost at 10,000 members.
  auto* probed = handle ? static_cast<Probed*>(*handle) : nullptr;
  if (!probed) {
    const auto found = member_cluster_.find(key);
    if (found == member_cluster_.end()) return;  // a member the config no longer has
    probed = &found->second;
    if (handle) *handle = probed;
  }
  const ProbedCluster* cluster = probed->cluster;
  if (!probed->health) probed->health = &health_[key];
  MemberHealth& h = *probed->health;
  h.last_probe = std::time(nullptr);
  h.last_latency_s = r.latency_s;
  h.latency_sum_s += r.latency_s;
  (r.ok ? h.successes : h.failures) += 1;
  if (!r.ok) h.last_error = r.error;
  const Health before = h.state.state();
  if (!h.state.observe(r.ok, cluster->options.rise, cluster->options.fall)) return;
  // One line per flip, with the reason; the client SRV sets change in the same publish.
  spdlog::info("health: {} is now {} (was {}{}{})", key, to_string(h.state.state()), to_string(before),
               r.ok ? "" : ": ", r.error);
  // Unknown members are served like healthy ones: only a change to or from unhealthy alters records.
  if ((before == Health::unhealthy) == (h.state.state() == Health::unhealthy)) return;
  flipped_.emplace(cluster->zone, cluster->name);
  schedule_republish("health flips");
  const bool any = std::any_of(cluster->members.begin(), cluster->members.end(), [&](const std::string& m) {
    auto it = health_.find(health_key(cluster->zone, cluster->name, m));
    return it == health_.end() || it->second.state.state() != Health::unhealthy;
  });
  if (!any)
    spdlog::warn("health: no healthy member in cluster '{}' of {}: {}", cluster->name, cluster->zone,
                 cluster->options.fail_closed ? "client records withdrawn (fail_closed)"
                                              : "serving all members (fail-open)");
}

void HealthMonitor::schedule_republish(const std::string& why) {
  if (republish_pending_) return;
  republish_pending_ = true;
  republish_why_ = why;
  first_flip_ = std::chrono::steady_clock::now();
  // Compile work stays at most a third of the control thread however large the zones are.
  const auto wait = std::max(std::chrono::steady_clock::duration::zero(), next_publish_ - first_flip_);
  const auto us = std::chrono::duration_cast<std::chrono::microseconds>(wait).count();
  const timeval tv{long(us / 1000000), long(us % 1000000)};
  evtimer_add(republish_event_.get(), &tv);
}

void HealthMonitor::republish_now() noexcept {
  republish_pending_ = false;
  if (!republish_) return;
  const auto compile_start = std::chrono::steady_clock::now();
  std::set<std::pair<std::string, std::string>> clusters;
  if (!everything_) clusters.swap(flipped_);
  flipped_.clear();
  everything_ = false;
  try {
    republish_(republish_why_, clusters);
  } catch (const std::exception& e) {
    spdlog::error("health: cannot publish after {} ({})", republish_why_, e.what());
  }
  const auto published = std::chrono::steady_clock::now();
  last_publish_s_ = std::chrono::duration<double>(published - first_flip_).count();
  next_publish_ = published + 2 * (published - compile_start);
}

void HealthMonitor::check_drift() noexcept {
  const auto now = std::chrono::steady_clock::now();
  for (const ProbedCluster& c : clusters_) {
    const std::string key = health_key(c.zone, c.name, "");
    DriftCheck& check = drift_checks_[key];
    if (!c.formed || check.in_flight || now < check.due) continue;
    // A healthy member's list: a partitioned one serves a stale local view.
    const auto healthy = std::find_if(c.members.begin(), c.members.end(), [&](const std::string& m) {
      auto it = health_.find(health_key(c.zone, c.name, m));
      return it != health_.end() && it->second.state.state() == Health::healthy;
    });
    if (healthy == c.members.end()) continue;
    check.due = now + std::chrono::milliseconds(std::max<uint32_t>(c.options.interval_ms, 1000));
    check.in_flight = true;
    try {
      prober_->fetch(health_key(c.zone, c.name, *healthy), "/v3/cluster/member/list", "{}",
                     [this, key](int status, const std::string& body, const std::string& error) {
                       drift_checks_[key].in_flight = false;
                       on_member_list(key, status, body, error);
                     });
    } catch (const std::exception& e) {
      check.in_flight = false;
      spdlog::error("drift: cannot ask for the member list of {}: {}", key, e.what());
    }
  }
}

void HealthMonitor::on_member_list(const std::string& key, int status, const std::string& body, const std::string& error) {
  const auto c = std::find_if(clusters_.begin(), clusters_.end(),
                              [&](const ProbedCluster& p) { return health_key(p.zone, p.name, "") == key; });
  if (c == clusters_.end()) return;
  ClusterDrift& d = drift_[key];
  ClusterDrift next;
  try {
    if (status != 200) throw std::runtime_error(status ? "HTTP status " + std::to_string(status) : error);
    next = compute_drift(*c, parse_etcd_members(body));
  } catch (const std::exception& e) {
    if (d.error.empty()) spdlog::warn("drift: cannot read etcd's member list of cluster '{}' of {}: {}", c->name, c->zone, e.what());
    d.error = e.what();
    return;
  }
  next.checked = std::time(nullptr);
  // One line per change: the first check logs only a drift, later ones every change.
  const bool changed = d.checked ? !d.same_lists(next) : !(next.not_in_etcd.empty() && next.not_served.empty());
  if (changed) {
    auto names = [](const std::vector<std::string>& v) {
      std::string out;
      for (const std::string& s : v) out += (out.empty() ? "" : ", ") + s;
      return out.empty() ? std::string("none") : out;
    };
    if (next.not_in_etcd.empty() && next.not_served.empty())
      spdlog::info("drift: cluster '{}' of {}: DNS serves what etcd lists again", c->name, c->zone);
    else
      spdlog::warn("drift: cluster '{}' of {}: served but not in etcd's member list: {}; in etcd but not served: {}",
                   c->name, c->zone, names(next.not_in_etcd), names(next.not_served));
  }
  d = std::move(next);
}

std::string HealthMonitor::metrics() const {
  return "# HELP dnsd_snapshot_publish_seconds Time from a probe result to its snapshot being published (last flip).\n"
         "# TYPE dnsd_snapshot_publish_seconds gauge\n"
         "dnsd_snapshot_publish_seconds " + std::to_string(last_publish_s_) + "\n" +
         "# HELP dnsd_probes_batched 1 when probe replies are polled in batches (1,000 probes a second or more).\n"
         "# TYPE dnsd_probes_batched gauge\n"
         "dnsd_probes_batched " + (prober_->batched() ? "1" : "0") + "\n" +
         render_health_metrics(clusters_, health_, drift_, prober_->in_flight());
}

}  // namespace dnsd
