// The registration API of the control thread (see control.hpp): members register and deregister
// themselves; a 2xx means the change is on disk and in the published snapshot.
#include <arpa/inet.h>
#include <openssl/crypto.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <sstream>

#include "control.hpp"
#include "log.hpp"

namespace dnsd {

namespace {

constexpr size_t max_body = 4096;

std::vector<std::string> split_path(const std::string& path) {
  std::vector<std::string> parts;
  std::string part;
  std::istringstream in(path);
  while (std::getline(in, part, '/')) parts.push_back(part);
  return parts;
}

bool valid_member_name(const std::string& s) {
  return !s.empty() && s.size() <= 63 && std::all_of(s.begin(), s.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.';
  });
}

bool same_name(std::string a, std::string b) {
  auto low = [](std::string& s) {
    std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  };
  low(a);
  low(b);
  return absolute_name(a) == absolute_name(b);
}

bool inside(const std::string& host, const std::string& zone) {
  const std::string h = zone_key(host), z = zone_key(zone);
  return h == z || (h.size() > z.size() && h.compare(h.size() - z.size(), z.size(), z) == 0 && h[h.size() - z.size() - 1] == '.');
}

std::string member_json(const Member& m, bool registered) {
  std::string addrs;
  for (const auto& a : m.addresses) addrs += (addrs.empty() ? "" : ",") + json_quote(a);
  return "{\"name\":" + json_quote(m.name) + ",\"host\":" + json_quote(m.host) + ",\"addresses\":[" + addrs + "]" +
         (m.peer_port ? ",\"peer_port\":" + std::to_string(*m.peer_port) : "") +
         (m.client_port ? ",\"client_port\":" + std::to_string(*m.client_port) : "") +
         ",\"source\":" + (registered ? "\"registered\"" : "\"static\"") + "}";
}

}  // namespace

std::string Control::read_token(const std::string& path) { return path.empty() ? "" : read_token_file(path); }

void Control::apply_registry(const Registry& registry, DaemonConfig& config) {
  std::vector<std::string> skipped;
  registry.apply(config, &skipped);
  for (const std::string& s : skipped)
    spdlog::warn("registry: keeping but not serving {} (its cluster is gone or has registration off)", s);
}

ApiReply Control::api(const ApiRequest& req) {
  const std::vector<std::string> p = split_path(req.path);  // "", v1, zones, Z, clusters, C[, members, M]
  const bool cluster_path = p.size() == 6 && p[4] == "clusters";
  const bool member_path = p.size() == 8 && p[4] == "clusters" && p[6] == "members";
  if (!cluster_path && !member_path) return api_error(404, "no such path");
  const bool write = member_path && (req.method == "PUT" || req.method == "DELETE");
  if (cluster_path && req.method != "GET" && req.method != "HEAD") return api_error(405, "only GET is allowed here");
  if (member_path && !write) return api_error(405, "only PUT and DELETE are allowed here");

  // Authentication comes before anything else: without a valid token nothing about the body or the
  // names is revealed.
  if (write) {
    if (token_.empty()) return api_error(405, "the write API is off: set control.token_file");
    const std::string expected = "Bearer " + token_;
    if (req.authorization.size() != expected.size() ||
        CRYPTO_memcmp(req.authorization.data(), expected.data(), expected.size()) != 0)
      return api_error(401, "missing or wrong bearer token");
  }
  const std::string zone = zone_key(p[3]);
  const std::string cluster_name = p[5] == "_" ? "" : p[5];
  ZoneConfig* z = nullptr;
  for (ZoneConfig& candidate : config_.zones)
    if (zone_key(candidate.zone) == zone) z = &candidate;
  if (!z) return api_error(404, "no such zone", "zone");
  Cluster* c = nullptr;
  for (Cluster& candidate : z->clusters)
    if (candidate.name == cluster_name) c = &candidate;
  if (!c) return api_error(404, "no such cluster (the unnamed one is _)", "cluster");
  if (cluster_path) return {200, cluster_json(*c, zone)};
  if (!c->registration) return api_error(403, "this cluster does not take registrations (registration: true)", "cluster");
  if (!valid_member_name(p[7])) return api_error(400, "member names are 1-63 letters, digits, '-', '_' or '.'", "member");
  if (req.method == "DELETE") return delete_member(*c, zone, p[7]);
  if (req.body.size() > max_body) return api_error(413, "the body is over 4096 bytes");
  return put_member(*c, zone, p[7], req.body);
}

ApiReply Control::put_member(Cluster& c, const std::string& zone, const std::string& name, const std::string& body) {
  YAML::Node doc;
  try {
    doc = YAML::Load(body);  // JSON is YAML: one parser for both
  } catch (const YAML::Exception&) {
    return api_error(400, "the body is not JSON");
  }
  if (!doc.IsMap()) return api_error(400, "the body must be a JSON object");
  Registration r;
  r.zone = zone;
  r.cluster = c.name;
  r.member = name;
  for (const auto& kv : doc) {
    const std::string key = kv.first.Scalar();
    if (key != "host" && key != "addresses" && key != "peer_port" && key != "client_port")
      return api_error(400, "unknown field", key);
  }
  if (!doc["host"] || !doc["host"].IsScalar()) return api_error(400, "host is required", "host");
  r.host = absolute_name(doc["host"].Scalar());
  if (!go_valid_hostname(r.host)) return api_error(400, "host is not a valid host name", "host");
  if (const YAML::Node a = doc["addresses"]) {
    if (!a.IsSequence()) return api_error(400, "addresses must be a list", "addresses");
    for (const auto& item : a) {
      unsigned char buf[16];
      const std::string s = item.IsScalar() ? item.Scalar() : "";
      if (inet_pton(AF_INET, s.c_str(), buf) != 1 && inet_pton(AF_INET6, s.c_str(), buf) != 1)
        return api_error(400, "'" + s + "' is not an IPv4 or IPv6 address", "addresses");
      r.addresses.push_back(s);
    }
  }
  if (inside(r.host, zone) && r.addresses.empty())
    return api_error(400, "a host inside the zone needs addresses", "addresses");
  for (const char* key : {"peer_port", "client_port"}) {
    const YAML::Node n = doc[key];
    if (!n) continue;
    int v = 0;
    try {
      v = n.as<int>();
    } catch (const YAML::Exception&) {
      v = 0;
    }
    if (v < 1 || v > 65535) return api_error(400, std::string(key) + " must be a port from 1 to 65535", key);
    (std::string(key) == "peer_port" ? r.peer_port : r.client_port) = uint16_t(v);
  }
  for (size_t i = 0; i < c.members.size(); ++i) {
    const Member& m = c.members[i];
    if (m.name == name && i < c.static_members) return api_error(409, "a configured member has this name", "member");
    if (m.name != name && same_name(m.host, r.host)) return api_error(409, "member '" + m.name + "' has this host", "host");
  }
  Registry next = registry_;
  Registration* existing = next.find(zone, c.name, name);
  if (existing && *existing == r) return {200, cluster_json(c, zone)};  // idempotent: already durable
  const int status = existing ? 200 : 201;
  if (existing) *existing = r;  // a changed address replaces the old one in the same snapshot
  else next.members.push_back(r);
  return commit(std::move(next), status, zone, c.name);
}

ApiReply Control::delete_member(Cluster& c, const std::string& zone, const std::string& name) {
  for (size_t i = 0; i < c.static_members; ++i)
    if (c.members[i].name == name) return api_error(409, "a configured member cannot be deleted through the API", "member");
  Registry next = registry_;
  const auto it = std::find_if(next.members.begin(), next.members.end(), [&](const Registration& r) {
    return r.zone == zone && r.cluster == c.name && r.member == name;
  });
  if (it == next.members.end()) return api_error(404, "no such registered member", "member");
  next.members.erase(it);
  return commit(std::move(next), 200, zone, c.name);
}

ApiReply Control::commit(Registry next, int status, std::string zone, std::string cluster) {
  // zone and cluster are copies: the config they were read from is replaced by persist().
  bool disk_error = false;
  if (std::string e = persist(std::move(next), disk_error); !e.empty())
    return api_error(disk_error ? 500 : 400, e);
  spdlog::info("registry: cluster '{}' of {} changed; {} registered member(s) in all", cluster, zone,
               registry_.members.size());
  for (const ZoneConfig& z : config_.zones)
    for (const Cluster& c : z.clusters)
      if (zone_key(z.zone) == zone && c.name == cluster) return {status, cluster_json(c, zone)};
  return {status, "{}\n"};
}

std::string Control::persist(Registry next, bool& disk_error) {
  disk_error = false;
  DaemonConfig candidate = config_;
  next.apply(candidate);
  // The bootstrap gate opens once the cluster is complete and stays open (durably).
  for (const ZoneConfig& z : candidate.zones)
    for (const Cluster& c : z.clusters)
      if (c.expected_size && c.members.size() >= c.expected_size) next.open_gates.emplace(zone_key(z.zone), c.name);
  next.apply(candidate);
  CompiledConfig compiled;
  try {
    compiled = compile_config(candidate, *state_, &health_);
  } catch (const ConfigError& e) {
    return e.diagnostics().empty() ? e.what() : e.diagnostics().front().message;
  }
  try {
    next.save(config_.state_dir);
  } catch (const std::exception& e) {
    spdlog::error("registry: cannot save ({})", e.what());
    disk_error = true;
    return "cannot write the registration to disk";
  }
  publish(std::move(compiled));
  for (const auto& gate : next.open_gates)
    if (!registry_.open_gates.count(gate))
      spdlog::info("registry: the bootstrap gate of cluster '{}' in {} is open", gate.second, gate.first);
  registry_ = std::move(next);
  config_ = std::move(candidate);
  update_probes();
  return "";
}

std::string Control::cluster_json(const Cluster& c, const std::string& zone) const {
  std::string members;
  for (size_t i = 0; i < c.members.size(); ++i)
    members += (members.empty() ? "" : ",") + member_json(c.members[i], i >= c.static_members);
  const bool open = c.gate_open || c.members.size() >= c.expected_size;
  return "{\"zone\":" + json_quote(zone) + ",\"cluster\":" + json_quote(c.name) +
         ",\"peer_tls\":" + (c.peer_tls ? "true" : "false") + ",\"client_tls\":" + (c.client_tls ? "true" : "false") +
         ",\"peer_port\":" + std::to_string(c.peer_port) + ",\"client_port\":" + std::to_string(c.client_port) +
         ",\"registration\":" + (c.registration ? "true" : "false") +
         ",\"expected_size\":" + std::to_string(c.expected_size) +
         ",\"gate\":" + (c.expected_size == 0 ? "\"none\"" : open ? "\"open\"" : "\"closed\"") +
         ",\"members\":[" + members + "]}\n";
}

}  // namespace dnsd
