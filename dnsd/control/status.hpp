// What dnsd serves, for people and monitors: /v1/zones and /v1/zones/{zone} (zones, serials, clusters,
// members and their health). Read-only; the status page will live here too.
// Control plane: control thread only.
#pragma once

#include <functional>
#include <vector>

#include <string>
#include <string_view>

#include "control_http.hpp"
#include "health.hpp"
#include "zone_state.hpp"

namespace dnsd {

class StatusView {
 public:
  StatusView(const ZoneState& zones, const HealthTable& health, const DriftTable& drift)
      : zones_(zones), health_(health), drift_(drift) {}

  static bool matches(std::string_view path);  // /v1/zones and /v1/zones/...
  // More of a zone's state from another service (NOTIFY targets, a secondary's copy): JSON object
  // members for the zone (as configured), or "" when it has none. Shown in the order added.
  using Details = std::function<std::string(const std::string& zone)>;
  void add_details(Details details) { details_.push_back(std::move(details)); }
  HttpReply handle(const HttpRequest& request) const;

 private:
  const ZoneState& zones_;
  const HealthTable& health_;
  const DriftTable& drift_;
  std::vector<Details> details_;
};

}  // namespace dnsd
