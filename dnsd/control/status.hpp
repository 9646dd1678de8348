// What dnsd serves, for people and monitors: /v1/zones and /v1/zones/{zone} (zones, serials, clusters,
// members and their health). Read-only; the status page will live here too.
// Control plane: control thread only.
#pragma once

#include <string>
#include <string_view>

#include "control_http.hpp"
#include "health.hpp"
#include "zone_state.hpp"

namespace dnsd {

class StatusView {
 public:
  StatusView(const ZoneState& zones, const HealthTable& health) : zones_(zones), health_(health) {}

  static bool matches(std::string_view path);  // /v1/zones and /v1/zones/...
  HttpReply handle(const HttpRequest& request) const;

 private:
  const ZoneState& zones_;
  const HealthTable& health_;
};

}  // namespace dnsd
