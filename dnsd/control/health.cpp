// Member health state machine (see health.hpp).
#include "health.hpp"

#include <algorithm>
#include <set>

#include "json.hpp"
#include "names.hpp"

namespace dnsd {

const char* to_string(Health h) noexcept {
  switch (h) {
    case Health::healthy: return "healthy";
    case Health::unhealthy: return "unhealthy";
    case Health::unknown: break;
  }
  return "unknown";
}

bool HealthState::observe(bool ok, uint32_t rise, uint32_t fall) noexcept {
  const Health before = state_;
  if (ok) {
    ++successes_;
    failures_ = 0;
  } else {
    ++failures_;
    successes_ = 0;
  }
  if (state_ == Health::unknown) state_ = ok ? Health::healthy : Health::unhealthy;
  else if (ok && successes_ >= rise) state_ = Health::healthy;
  else if (!ok && failures_ >= fall) state_ = Health::unhealthy;
  return state_ != before;
}

std::string health_key(const std::string& zone, const std::string& cluster, const std::string& member) {
  return zone + "|" + cluster + "|" + member;
}

ProbedCluster probed_cluster(const ZoneConfig& z, const Cluster& c) {
  ProbedCluster p{z.zone, c.name, *c.health, {}, {}, false};
  p.formed = std::string_view(gate_state(c)) != "closed";
  for (const Member& m : c.members) {
    p.members.push_back(m.name);
    p.peer_urls.push_back(ascii_lower(member_url(c.peer_tls, m.host, m.peer_port.value_or(c.peer_port))));
  }
  return p;
}

std::vector<ProbedCluster> probed_clusters(const DaemonConfig& config) {
  std::vector<ProbedCluster> out;
  for (const ZoneConfig& z : config.zones)
    for (const Cluster& c : z.clusters)
      if (c.health) out.push_back(probed_cluster(z, c));
  return out;
}

ClusterDrift compute_drift(const ProbedCluster& c, const std::vector<EtcdMember>& etcd) {
  ClusterDrift d;
  std::set<std::string> listed, served(c.peer_urls.begin(), c.peer_urls.end());
  for (const EtcdMember& m : etcd) {
    bool is_served = false;
    for (const std::string& url : m.peer_urls) {
      listed.insert(ascii_lower(url));
      is_served = is_served || served.count(ascii_lower(url));
    }
    if (!is_served) d.not_served.push_back(m.started() ? m.name : m.peer_urls.empty() ? "ID " + m.id : m.peer_urls.front());
  }
  for (size_t i = 0; i < c.members.size(); ++i)
    if (!listed.count(c.peer_urls[i])) d.not_in_etcd.push_back(c.members[i]);
  std::sort(d.not_served.begin(), d.not_served.end());
  return d;
}

std::string drift_json(const ClusterDrift& d) {
  auto list = [](const std::vector<std::string>& v) {
    std::string out;
    for (const std::string& s : v) out += (out.empty() ? "" : ",") + json_quote(s);
    return "[" + out + "]";
  };
  return "{\"not_in_etcd\":" + list(d.not_in_etcd) + ",\"not_served\":" + list(d.not_served) +
         ",\"checked\":" + std::to_string(d.checked) + ",\"error\":" + json_quote(d.error) + "}";
}

std::string render_health_metrics(const std::vector<ProbedCluster>& clusters, const HealthTable& health,
                                  const DriftTable& drift, size_t in_flight) {
  std::string results, latency_sum, latency_count, last, healthy, drifted;
  for (const ProbedCluster& c : clusters) {
    const std::string cl = "zone=\"" + c.zone + "\",cluster=\"" + c.name + "\"";
    size_t up = 0;
    for (const std::string& member : c.members) {
      auto it = health.find(health_key(c.zone, c.name, member));
      if (it == health.end()) continue;
      const MemberHealth& h = it->second;
      up += h.state.state() == Health::healthy;
      const std::string ml = cl + ",member=\"" + member + "\"";
      results += "dnsd_probe_results_total{" + ml + ",result=\"success\"} " + std::to_string(h.successes) + "\n";
      results += "dnsd_probe_results_total{" + ml + ",result=\"failure\"} " + std::to_string(h.failures) + "\n";
      latency_sum += "dnsd_probe_duration_seconds_sum{" + ml + "} " + std::to_string(h.latency_sum_s) + "\n";
      latency_count += "dnsd_probe_duration_seconds_count{" + ml + "} " + std::to_string(h.successes + h.failures) + "\n";
      last += "dnsd_probe_last_duration_seconds{" + ml + "} " + std::to_string(h.last_latency_s) + "\n";
    }
    healthy += "dnsd_cluster_members_healthy{" + cl + "} " + std::to_string(up) + "\n";
    if (auto d = drift.find(health_key(c.zone, c.name, "")); d != drift.end() && d->second.checked) {
      drifted += "dnsd_cluster_drift_members{" + cl + ",kind=\"not_in_etcd\"} " +
                 std::to_string(d->second.not_in_etcd.size()) + "\n";
      drifted += "dnsd_cluster_drift_members{" + cl + ",kind=\"not_served\"} " +
                 std::to_string(d->second.not_served.size()) + "\n";
    }
  }
  return "# HELP dnsd_probe_results_total Health probe results, by member.\n# TYPE dnsd_probe_results_total counter\n" +
         results +
         "# HELP dnsd_probe_duration_seconds Health probe latency, by member.\n# TYPE dnsd_probe_duration_seconds summary\n" +
         latency_sum + latency_count +
         "# HELP dnsd_probe_last_duration_seconds Latency of the last probe, by member.\n"
         "# TYPE dnsd_probe_last_duration_seconds gauge\n" + last +
         "# HELP dnsd_cluster_members_healthy Members whose probes say healthy, by cluster.\n"
         "# TYPE dnsd_cluster_members_healthy gauge\n" + healthy +
         "# HELP dnsd_cluster_drift_members Members DNS serves that etcd does not list (not_in_etcd), and members "
         "etcd lists that DNS does not serve (not_served), by formed cluster.\n"
         "# TYPE dnsd_cluster_drift_members gauge\n" + drifted +
         "# HELP dnsd_probes_in_flight Health probes waiting for their result.\n# TYPE dnsd_probes_in_flight gauge\n"
         "dnsd_probes_in_flight " + std::to_string(in_flight) + "\n";
}

}  // namespace dnsd
