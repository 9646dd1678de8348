// Zones and health as JSON (see status.hpp).
#include "status.hpp"

#include "json.hpp"
#include "names.hpp"

namespace dnsd {

namespace {

std::string member_json(const Member& m, const Cluster& c, const std::string& zone, const HealthTable& health,
                        size_t& healthy) {
  auto it = health.find(health_key(zone, c.name, m.name));
  const MemberHealth* h = it == health.end() ? nullptr : &it->second;
  const Health state = h ? h->state.state() : Health::unknown;
  healthy += state == Health::healthy;
  return "{\"name\":" + json_quote(m.name) + ",\"host\":" + json_quote(m.host) +
         ",\"health\":" + json_quote(c.health ? to_string(state) : "not probed") +
         ",\"last_probe\":" + std::to_string(h ? h->last_probe : 0) +
         ",\"last_error\":" + json_quote(h ? h->last_error : "") + "}";
}

}  // namespace

bool StatusView::matches(std::string_view path) { return path == "/v1/zones" || path.rfind("/v1/zones/", 0) == 0; }

HttpReply StatusView::handle(const HttpRequest& request) const {
  const std::string wanted = request.path == "/v1/zones" ? "" : request.path.substr(10);
  if (request.path != "/v1/zones" && wanted.empty()) return http_error(404, "no such zone");
  const auto snap = zones_.snapshot();
  std::string zones;
  bool found = false;
  for (const ZoneConfig& z : zones_.config().zones) {
    if (!wanted.empty() && name_key(wanted) != name_key(z.zone)) continue;
    found = true;
    uint32_t serial = 0;
    if (snap)
      for (const Zone& sz : snap->zones())
        if (name_key(sz.apex_text) == name_key(z.zone)) serial = sz.serial;
    std::string clusters;
    for (const Cluster& c : z.clusters) {
      std::string members;
      size_t healthy = 0;
      for (const Member& m : c.members)
        members += std::string(members.empty() ? "" : ",") + member_json(m, c, z.zone, health_, healthy);
      const auto drift = drift_.find(health_key(z.zone, c.name, ""));
      // The unnamed cluster is "_", as in the registration API's paths.
      clusters += std::string(clusters.empty() ? "" : ",") + "{\"name\":" + json_quote(c.name.empty() ? "_" : c.name) +
                  ",\"probed\":" + (c.health ? "true" : "false") + ",\"healthy\":" + std::to_string(healthy) +
                  ",\"expected_size\":" + std::to_string(c.expected_size) + ",\"gate\":" + json_quote(gate_state(c)) +
                  ",\"members\":[" + members + "]" +
                  (drift != drift_.end() ? ",\"drift\":" + drift_json(drift->second) : "") + "}";
    }
    std::string more;
    for (const Details& details : details_)
      if (std::string d = details(z.zone); !d.empty()) more += "," + d;
    zones += std::string(zones.empty() ? "" : ",") + "{\"zone\":" + json_quote(z.zone) +
             ",\"serial\":" + std::to_string(serial) + ",\"clusters\":[" + clusters + "]" + more + "}";
  }
  if (wanted.empty()) return {200, "{\"zones\":[" + zones + "]}\n"};
  if (!found) return http_error(404, "no such zone");
  return {200, zones + "\n"};
}

}  // namespace dnsd
