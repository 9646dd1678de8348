// Member health with hysteresis: what a probe result does to a member's state, and the table the
// control thread keeps of every probed member. Control plane: control thread only.
#pragma once

#include <cstdint>
#include <ctime>
#include <map>
#include <string>
#include <vector>

#include "config.hpp"
#include "etcd_members.hpp"

namespace dnsd {

enum class Health { unknown, healthy, unhealthy };
const char* to_string(Health h) noexcept;

// Unknown until the first result, which decides directly; afterwards `rise` successes in a row make
// a member healthy and `fall` failures in a row make it unhealthy.
class HealthState {
 public:
  // Records one probe result. Returns true when the state changed.
  bool observe(bool ok, uint32_t rise, uint32_t fall) noexcept;
  Health state() const noexcept { return state_; }

 private:
  Health state_ = Health::unknown;
  uint32_t successes_ = 0;  // in a row
  uint32_t failures_ = 0;   // in a row
};

struct MemberHealth {
  HealthState state;
  uint64_t successes = 0;  // totals, for /metrics
  uint64_t failures = 0;
  double last_latency_s = 0;
  double latency_sum_s = 0;
  std::time_t last_probe = 0;
  std::string last_error;
};

// Keyed by health_key(zone, cluster, member).
using HealthTable = std::map<std::string, MemberHealth>;
std::string health_key(const std::string& zone, const std::string& cluster, const std::string& member);

// A cluster whose members are probed (it has a health: block), as the health monitor keeps it: the
// config is replaced on every registration, so the monitor holds what it needs by value.
struct ProbedCluster {
  std::string zone;
  std::string name;
  HealthOptions options;
  std::vector<std::string> members;  // names, in config order
  std::vector<std::string> peer_urls;  // each member's, as etcd lists it (scheme://host:port)
  bool formed = false;                 // its gate is open (or it has none): etcd is asked for drift
};

// DNS against etcd for one formed, probed cluster (docs/ARCHITECTURE.md, "Life after bootstrap"):
// the members DNS serves that etcd's member list lacks, and the ones etcd lists that DNS does not serve.
struct ClusterDrift {
  std::vector<std::string> not_in_etcd;  // served members' names
  std::vector<std::string> not_served;   // etcd's names (the peer URL for one not started yet)
  std::time_t checked = 0;               // the last member list read; 0: never
  std::string error;                     // why the last read failed; "" when it did not
  bool same_lists(const ClusterDrift& o) const { return not_in_etcd == o.not_in_etcd && not_served == o.not_served; }
};
// Keyed by health_key(zone, cluster, "").
using DriftTable = std::map<std::string, ClusterDrift>;

// Compares the served members of `c` with etcd's member list (peer URLs, case-insensitive).
ClusterDrift compute_drift(const ProbedCluster& c, const std::vector<EtcdMember>& etcd);
std::string drift_json(const ClusterDrift& d);
// The clusters with health: in config order, and one of them (c.health set).
std::vector<ProbedCluster> probed_clusters(const DaemonConfig& config);
ProbedCluster probed_cluster(const ZoneConfig& z, const Cluster& c);

// Prometheus text for the probes: results and latency by member, healthy members per cluster.
std::string render_health_metrics(const std::vector<ProbedCluster>& clusters, const HealthTable& health,
                                  const DriftTable& drift, size_t in_flight);

}  // namespace dnsd
