// The registration API of the control endpoint: members register and deregister themselves under
// /v1/zones/{zone}/clusters/{cluster}[/members/{member}]; GET shows a cluster and its gate. A 2xx to a
// write means the change is on disk and in the published snapshot (ZoneState::change_member).
// Control plane: control thread only.
#pragma once

#include <string>
#include <string_view>

#include "control_http.hpp"
#include "zone_state.hpp"

namespace dnsd {

class RegistrationApi {
 public:
  explicit RegistrationApi(ZoneState& zones) : zones_(zones) {}

  // The bearer token of writes (control.token_file's content, trimmed); empty: the write API is off.
  void set_token(std::string token) { token_ = std::move(token); }
  // Whether a path belongs to this API (the router's matcher).
  static bool matches(std::string_view path);
  // One request. Authentication comes first: a write without the token is 401 whatever its body.
  HttpReply handle(const HttpRequest& request);

 private:
  HttpReply put_member(const Cluster& cluster, const std::string& zone, const std::string& member, const std::string& body,
                       const std::string& peer);
  HttpReply delete_member(const Cluster& cluster, const std::string& zone, const std::string& member, const std::string& peer);
  // `what` says what changed ("g1-4 registered"), `peer` who asked: both go into the log line.
  HttpReply commit(const RegistryChange& change, int status, std::string zone, std::string cluster, const std::string& what,
                   const std::string& peer);

  ZoneState& zones_;
  std::string token_;
};

// The JSON view of a cluster: settings, gate and members (static and registered).
std::string cluster_json(const Cluster& cluster, const std::string& zone);

}  // namespace dnsd
