// etcd naming as code (docs/ARCHITECTURE.md, "etcd naming"): the only place that spells the _etcd-*
// service labels.
// Control plane: used by zone_builder when it turns clusters into records.
#pragma once

#include <string>
#include <vector>

#include "config.hpp"
#include "health.hpp"

namespace dnsd {

enum class Service { server, client };

// The SRV owner for a cluster's service in a zone, e.g. "_etcd-server-ssl-c1._tcp.lab.example.com.".
std::string srv_owner(const Cluster& cluster, Service service, const std::string& zone);
// The same for a given scheme (tls: the -ssl name), whichever the cluster publishes.
std::string srv_owner(const std::string& cluster_name, Service service, bool tls, const std::string& zone);

struct SrvTarget {
  uint16_t priority;
  uint16_t weight;
  uint16_t port;
  const Member* member;  // the target is its host, byte-stable: spelled exactly as configured (etcd
                         // hashes it into member IDs)
};

// The SRV RRset of a service, in configured member order (never rotated: etcd matches the first
// IPv4 address of each target against its own advertise URL). With health probes and a table, the
// client set holds the members not known to be unhealthy; when that leaves none it holds all of them
// (fail-open) unless health.fail_closed. Server sets are never filtered.
std::vector<SrvTarget> srv_targets(const Cluster& cluster, Service service, const std::string& zone,
                                   const HealthTable* health);
// The same into `out` (replacing it), reusing its buffer.
void srv_targets_into(const Cluster& cluster, Service service, const std::string& zone, const HealthTable* health,
                      std::vector<SrvTarget>& out);

// The TTL of a service's SRV set: the zone TTL, capped at the probe interval for health-filtered
// client sets so that caches cannot hide a dead member for long.
uint32_t srv_ttl(const Cluster& cluster, Service service, uint32_t zone_ttl);

}  // namespace dnsd
