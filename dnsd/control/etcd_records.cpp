// etcd discovery naming (see etcd_records.hpp and etcd client/pkg/srv/srv.go).
#include "etcd_records.hpp"

#include <algorithm>

namespace dnsd {

std::string srv_owner(const Cluster& cluster, Service service, const std::string& zone) {
  // etcd 3.4 looks up _etcd-server-ssl first and fails bootstrap without it; the plain _etcd-server
  // set is only usable on 3.5+ (etcd PR #11776). One scheme per cluster, never both: each lookup
  // numbers unknown members from "0" and the two sets can fuse.
  return srv_owner(cluster.name, service, service == Service::server ? cluster.peer_tls : cluster.client_tls, zone);
}

std::string srv_owner(const std::string& cluster_name, Service service, bool tls, const std::string& zone) {
  std::string owner;
  owner.reserve(sizeof "_etcd-server-ssl-._tcp." + cluster_name.size() + zone.size());  // one allocation
  owner += service == Service::server ? "_etcd-server" : "_etcd-client";
  if (tls) owner += "-ssl";
  if (!cluster_name.empty()) {
    owner += '-';
    owner += cluster_name;
  }
  owner += "._tcp.";
  owner += zone;
  return owner;
}

std::vector<SrvTarget> srv_targets(const Cluster& cluster, Service service, const std::string& zone,
                                   const HealthTable* health) {
  std::vector<SrvTarget> out;
  srv_targets_into(cluster, service, zone, health, out);
  return out;
}

void srv_targets_into(const Cluster& cluster, Service service, const std::string& zone, const HealthTable* health,
                      std::vector<SrvTarget>& out) {
  out.clear();
  for (const Member& m : cluster.members) {
    const uint16_t port = service == Service::server ? m.peer_port.value_or(cluster.peer_port)
                                                     : m.client_port.value_or(cluster.client_port);
    out.push_back({cluster.priority, cluster.weight, port, &m});
  }
  // Server sets are membership, never health: during bootstrap no member is healthy yet, and a
  // partial set splits the cluster (a member alone forms a cluster of one).
  if (service == Service::server || !health || !cluster.health) return;
  size_t kept = 0;  // the healthy ones moved to the front, in order (none moved while none is kept)
  for (const SrvTarget& t : out) {
    auto it = health->find(health_key(zone, cluster.name, t.member->name));
    if (it == health->end() || it->second.state.state() != Health::unhealthy) out[kept++] = t;
  }
  if (kept == 0 && !cluster.health->fail_closed) return;  // fail-open: better stale than empty
  out.resize(kept);
}

uint32_t srv_ttl(const Cluster& cluster, Service service, uint32_t zone_ttl) {
  if (service == Service::server || !cluster.health) return zone_ttl;
  return std::max<uint32_t>(1, std::min<uint32_t>(zone_ttl, cluster.health->interval_ms / 1000));
}

}  // namespace dnsd
