// etcd discovery naming (see etcd_records.hpp and etcd client/pkg/srv/srv.go).
#include "etcd_records.hpp"

namespace dnsd {

std::string srv_owner(const Cluster& cluster, Service service, const std::string& zone) {
  // etcd 3.4 looks up _etcd-server-ssl first and fails bootstrap without it; the plain _etcd-server
  // set is only usable on 3.5+ (etcd PR #11776). One scheme per cluster, never both: each lookup
  // numbers unknown members from "0" and the two sets can fuse.
  const bool tls = service == Service::server ? cluster.peer_tls : cluster.client_tls;
  std::string label = service == Service::server ? "_etcd-server" : "_etcd-client";
  if (tls) label += "-ssl";
  if (!cluster.name.empty()) label += "-" + cluster.name;
  return label + "._tcp." + zone;
}

std::vector<SrvTarget> srv_targets(const Cluster& cluster, Service service) {
  std::vector<SrvTarget> out;
  for (const Member& m : cluster.members) {
    const uint16_t port = service == Service::server ? m.peer_port.value_or(cluster.peer_port)
                                                     : m.client_port.value_or(cluster.client_port);
    out.push_back({cluster.priority, cluster.weight, port, m.host, &m});
  }
  return out;
}

}  // namespace dnsd
