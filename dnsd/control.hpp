// The control thread: loads the config, compiles and publishes snapshots, reloads on SIGHUP, stops
// on SIGTERM/SIGINT, serves the control endpoint. Runs on the main thread's event base.
#pragma once

#include <chrono>
#include <ctime>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "compile.hpp"
#include "config.hpp"
#include "control_http.hpp"
#include "health.hpp"
#include "prober.hpp"
#include "registry.hpp"
#include "raii.hpp"
#include "server.hpp"
#include "snapshot.hpp"
#include "state_store.hpp"
#include "tsig.hpp"
#include "wire.hpp"

namespace dnsd {

struct RunOptions {
  std::string config_path;
  std::vector<std::string> listen;            // --listen: replaces the config's list
  std::optional<std::string> control_listen;  // --control
};

class Control {
 public:
  explicit Control(RunOptions options);
  ~Control();

  // Start-up: load and compile the config, publish it, bind every listener (DNS and control) and
  // start the workers. Throws ConfigError or std::runtime_error; nothing is left running then.
  void start();
  // Runs until SIGTERM or SIGINT. Returns the process exit code.
  int run();
  // SIGHUP: all-or-nothing reload. Returns false (old snapshot kept) when the new config fails.
  bool reload();
  // One request of the registration API (control_registration.cpp): /v1/zones/{zone}/clusters/{cluster}
  // [/members/{m}]. Called by the control endpoint, and by the control-API fuzz target.
  ApiReply api(const ApiRequest& request);

 private:
  static void on_signal(evutil_socket_t sig, short, void* self) noexcept;
  std::string metrics() const;
  // Recompiles the current config with the current health and publishes it (health flips).
  void republish(const std::string& why);
  void on_probe(const std::string& key, const ProbeResult& result);
  // Points the prober at the members of every cluster with a health: block; keeps known states.
  void update_probes();
  // JSON for /v1/zones (zone empty) or /v1/zones/{zone}; nullopt when the zone is unknown.
  std::optional<std::string> zones_json(const std::string& zone) const;

  ApiReply put_member(Cluster& cluster, const std::string& zone, const std::string& member, const std::string& body);
  ApiReply delete_member(Cluster& cluster, const std::string& zone, const std::string& member);
  std::string cluster_json(const Cluster& cluster, const std::string& zone) const;
  ApiReply commit(Registry next, int status, std::string zone, std::string cluster);
  // Makes `next` the registry: compile with it, write it durably, publish, then keep it. A 2xx (or a
  // NOERROR to UPDATE) is sent only after this returns "": the change is on disk and visible to the
  // next query. Otherwise returns what failed and keeps the old state; disk_error: the write failed.
  std::string persist(Registry next, bool& disk_error);
  // Publishes a compiled config and keeps its zone records (what UPDATE prerequisites are checked against).
  void publish(CompiledConfig compiled);

  // DNS UPDATE and TSIG-signed messages handed over by the workers (control_update.cpp).
  void on_handoff();
  std::vector<uint8_t> dns_message(const std::vector<uint8_t>& message, Transport transport);
  uint8_t update(const std::vector<uint8_t>& message, const QueryView& q, const TsigKey* key);
  // Appends registered members to `config` and logs the registrations it cannot place.
  static void apply_registry(const Registry& registry, DaemonConfig& config);
  static std::string read_token(const std::string& path);

  RunOptions options_;
  DaemonConfig config_;
  std::unique_ptr<StateStore> state_;
  SnapshotSlot slot_;
  EventBasePtr base_;
  std::unique_ptr<Server> server_;
  std::unique_ptr<ControlHttp> http_;
  std::vector<EventPtr> signals_;
  HealthTable health_;
  Registry registry_;
  std::vector<ZoneRecords> served_;  // the zones of the published snapshot
  EventPtr handoff_event_;
  Counters control_counters_;  // queries answered here (signed ones)
  std::map<std::string, uint64_t> update_results_;  // by rcode name
  uint64_t tsig_failures_ = 0;
  std::string token_;  // control.token_file's content, trimmed; empty: the write API is off
  std::string random_cookie_secret_;  // used when the config names no cookies.secret
  std::unique_ptr<Prober> prober_;
  bool ready_ = false;
  uint64_t reloads_ = 0;
  uint64_t reload_failures_ = 0;
  std::time_t published_at_ = 0;
  double last_publish_s_ = 0;  // from the first probe result of a batch to its snapshot being published
  // Health flips are coalesced: every result handled in one turn of the event loop goes into one
  // publish (at start-up thousands of members flip within moments of each other).
  EventPtr republish_event_;
  bool republish_pending_ = false;
  std::chrono::steady_clock::time_point first_flip_;
  std::chrono::steady_clock::time_point next_publish_;  // earliest next health-driven compile
};

}  // namespace dnsd
