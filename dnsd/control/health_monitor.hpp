// The health service of the control thread: probes the members of every cluster with a health:
// block, keeps their states (rise/fall), and asks for a republish when a flip changes what the client
// SRV sets hold, coalesced and paced. Control plane: control thread only (its event base).
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "config.hpp"
#include "health.hpp"
#include "prober.hpp"
#include "raii.hpp"

namespace dnsd {

class HealthMonitor {
 public:
  // clusters: the (zone, cluster) pairs whose members flipped; empty when more changed (members left).
  using Republish = std::function<void(const std::string& why, const std::set<std::pair<std::string, std::string>>& clusters)>;

  explicit HealthMonitor(event_base* base);
  HealthMonitor(const HealthMonitor&) = delete;
  HealthMonitor& operator=(const HealthMonitor&) = delete;

  // The states zones are compiled with (filtering the client SRV sets). Lives as long as the monitor.
  const HealthTable& table() const noexcept { return health_; }
  // DNS against etcd's member list, for formed clusters (read from a healthy member every probe
  // interval, at most once a second). Lives as long as the monitor.
  const DriftTable& drift() const noexcept { return drift_; }
  // Who recompiles and publishes when flips change records (the zone state).
  void on_flips(Republish republish) { republish_ = std::move(republish); }
  // The probed members of `config` become the targets; known states are kept, members that left are
  // forgotten. Throws std::runtime_error naming a TLS file that cannot be loaded.
  void set_config(const DaemonConfig& config);
  std::string metrics() const;
  // One probe result for a member (health_key); the prober calls it, and tests do. `handle`, when
  // given, is the probe target's (Prober::OnResult): the member's entry is kept there after the first
  // lookup, and stays valid for as long as the prober keeps the target.
  void on_probe(const std::string& key, const ProbeResult& result, void** handle = nullptr);

 private:
  // set_config() when the probed clusters are not the same ones in the same order: everything afresh.
  void set_config_whole(const DaemonConfig& config);
  // At once, unless the last publish was so recent that compiling again would crowd out the probes.
  void schedule_republish(const std::string& why);
  void republish_now() noexcept;
  // Asks a healthy member of every formed cluster that is due for etcd's member list.
  void check_drift() noexcept;
  void on_member_list(const std::string& cluster_key, int status, const std::string& body, const std::string& error);

  HealthTable health_;
  std::vector<ProbedCluster> clusters_;
  std::vector<uint64_t> fingerprints_;  // of each of clusters_ as configured (cluster_fingerprint)
  struct Probed {
    const ProbedCluster* cluster = nullptr;
    MemberHealth* health = nullptr;  // its entry in health_, once it has one (map nodes stay put)
  };
  // health_key -> its cluster and entry. An entry stays put while its member is probed: the prober's
  // targets point at it (on_probe's handle).
  std::unordered_map<std::string, Probed> member_cluster_;
  Republish republish_;
  std::unique_ptr<Prober> prober_;
  DriftTable drift_;
  // When each formed cluster's member list is next due, and whether a read of it is in flight.
  struct DriftCheck {
    std::chrono::steady_clock::time_point due;
    bool in_flight = false;
  };
  std::unordered_map<std::string, DriftCheck> drift_checks_;  // by cluster key
  EventPtr drift_timer_;
  // Flips are coalesced: every result handled before the timer fires goes into one publish (at
  // start-up thousands of members flip within moments of each other).
  EventPtr republish_event_;
  bool republish_pending_ = false;
  std::string republish_why_;
  std::set<std::pair<std::string, std::string>> flipped_;  // since the last publish
  bool everything_ = false;  // members left: the whole compile
  std::chrono::steady_clock::time_point first_flip_;
  std::chrono::steady_clock::time_point next_publish_;  // earliest next health-driven compile
  double last_publish_s_ = 0;  // from the first flip of a batch to its snapshot being published
};

}  // namespace dnsd
