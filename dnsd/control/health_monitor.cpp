// The health service (see health_monitor.hpp).
#include "health_monitor.hpp"

#include <algorithm>

#include "log.hpp"
#include "names.hpp"

namespace dnsd {

HealthMonitor::HealthMonitor(event_base* base)
    : prober_(std::make_unique<Prober>(base, [this](const std::string& key, const ProbeResult& r) { on_probe(key, r); })) {
  republish_event_.reset(evtimer_new(
      base, [](evutil_socket_t, short, void* self) { static_cast<HealthMonitor*>(self)->republish_now(); }, this));
  if (!republish_event_) throw std::runtime_error("cannot create the republish timer");
}

void HealthMonitor::set_config(const DaemonConfig& config) {
  std::vector<ProbeSpec> specs;
  HealthTable kept;
  for (const ZoneConfig& z : config.zones)
    for (const Cluster& c : z.clusters) {
      if (!c.health) continue;
      for (const Member& m : c.members) {
        ProbeSpec s;
        s.key = health_key(z.zone, c.name, m.name);
        s.host = m.host.substr(0, m.host.size() - 1);  // without the trailing dot
        s.address = m.addresses.empty() ? "" : m.addresses.front();
        s.port = m.client_port.value_or(c.client_port);
        s.options = *c.health;
        if (auto it = health_.find(s.key); it != health_.end()) kept.insert(*it);
        specs.push_back(std::move(s));
      }
    }
  prober_->set_targets(std::move(specs));
  clusters_ = probed_clusters(config);
  member_cluster_.clear();
  for (const ProbedCluster& c : clusters_)
    for (const std::string& m : c.members) member_cluster_[health_key(c.zone, c.name, m)] = &c;
  const bool dropped = kept.size() != health_.size();
  health_ = std::move(kept);
  if (dropped) schedule_republish("probed members removed");
}

void HealthMonitor::on_probe(const std::string& key, const ProbeResult& r) {
  const auto found = member_cluster_.find(key);
  if (found == member_cluster_.end()) return;  // a member the config no longer has
  const ProbedCluster* cluster = found->second;
  MemberHealth& h = health_[key];
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
  try {
    republish_(republish_why_);
  } catch (const std::exception& e) {
    spdlog::error("health: cannot publish after {} ({})", republish_why_, e.what());
  }
  const auto published = std::chrono::steady_clock::now();
  last_publish_s_ = std::chrono::duration<double>(published - first_flip_).count();
  next_publish_ = published + 2 * (published - compile_start);
}

std::string HealthMonitor::metrics() const {
  return "# HELP dnsd_snapshot_publish_seconds Time from a probe result to its snapshot being published (last flip).\n"
         "# TYPE dnsd_snapshot_publish_seconds gauge\n"
         "dnsd_snapshot_publish_seconds " + std::to_string(last_publish_s_) + "\n" +
         render_health_metrics(clusters_, health_, prober_->in_flight());
}

}  // namespace dnsd
