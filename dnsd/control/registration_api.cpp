// The registration API (see registration_api.hpp).
#include "registration_api.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <algorithm>
#include <optional>
#include <set>

#include "etcd_records.hpp"
#include "json.hpp"
#include "log.hpp"
#include "names.hpp"
#include "yaml_doc.hpp"

namespace dnsd {

namespace {

constexpr size_t max_body = 4096;

std::vector<std::string> split_path(const std::string& path) {
  std::vector<std::string> parts;  // as getline(stream, part, '/') splits it: no part after a last '/'
  for (size_t from = 0; from < path.size();) {
    const size_t slash = std::min(path.find('/', from), path.size());
    parts.push_back(path.substr(from, slash - from));
    from = slash + 1;
  }
  return parts;
}

// 1-63 letters, digits, '-', '_' or '.', starting with a letter or digit ("." and ".." are paths, not names).
bool valid_member_name(const std::string& s) {
  return !s.empty() && s.size() <= 63 && std::isalnum(static_cast<unsigned char>(s[0])) &&
         std::all_of(s.begin(), s.end(), [](char c) {
           return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.';
         });
}

// A port as JSON writes one: decimal digits only (a YAML reader would also take 0x950 or 0o17), 1 to 65535.
std::optional<uint16_t> json_port(const YamlNode& n) {
  const std::string& s = n.scalar();
  if (s.empty() || s.size() > 5 || !std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; }))
    return std::nullopt;
  const int v = std::stoi(s);
  return v >= 1 && v <= 65535 ? std::optional<uint16_t>(uint16_t(v)) : std::nullopt;
}

// Compares a secret in constant time whatever the lengths: both sides hashed first.
bool same_secret(const std::string& a, const std::string& b) {
  unsigned char da[EVP_MAX_MD_SIZE], db[EVP_MAX_MD_SIZE];
  unsigned int la = 0, lb = 0;
  if (EVP_Digest(a.data(), a.size(), da, &la, EVP_sha256(), nullptr) != 1 ||
      EVP_Digest(b.data(), b.size(), db, &lb, EVP_sha256(), nullptr) != 1 || la != lb)
    return false;
  return CRYPTO_memcmp(da, db, la) == 0;
}

std::string member_json(const Member& m, bool registered) {
  std::string addrs;
  for (const auto& a : m.addresses) addrs += (addrs.empty() ? "" : ",") + json_quote(a);
  return "{\"name\":" + json_quote(m.name) + ",\"host\":" + json_quote(m.host) + ",\"addresses\":[" + addrs + "]" +
         (m.peer_port ? ",\"peer_port\":" + std::to_string(*m.peer_port) : "") +
         (m.client_port ? ",\"client_port\":" + std::to_string(*m.client_port) : "") +
         ",\"source\":" + (registered ? "\"registered\"" : "\"static\"") + "}";
}

const Cluster* find_cluster(const DaemonConfig& config, const std::string& zone, const std::string& cluster) {
  for (const ZoneConfig& z : config.zones)
    if (name_key(z.zone) == zone)
      for (const Cluster& c : z.clusters)
        if (c.name == cluster) return &c;
  return nullptr;
}

}  // namespace

std::string cluster_json(const Cluster& c, const std::string& zone) {
  std::string members;
  for (size_t i = 0; i < c.members.size(); ++i)
    members += (members.empty() ? "" : ",") + member_json(c.members[i], i >= c.static_members);
  return "{\"zone\":" + json_quote(zone) + ",\"cluster\":" + json_quote(c.name) +
         ",\"peer_tls\":" + (c.peer_tls ? "true" : "false") + ",\"client_tls\":" + (c.client_tls ? "true" : "false") +
         ",\"peer_port\":" + std::to_string(c.peer_port) + ",\"client_port\":" + std::to_string(c.client_port) +
         ",\"registration\":" + (c.registration ? "true" : "false") +
         ",\"expected_size\":" + std::to_string(c.expected_size) +
         ",\"gate\":" + json_quote(gate_state(c)) +
         ",\"members\":[" + members + "]}\n";
}

bool RegistrationApi::matches(std::string_view path) {
  return path.rfind("/v1/zones/", 0) == 0 && path.find("/clusters/") != std::string_view::npos;
}

HttpReply RegistrationApi::handle(const HttpRequest& req) {
  const std::vector<std::string> p = split_path(req.path);  // "", v1, zones, Z, clusters, C[, members, M]
  const bool cluster_path = p.size() == 6 && p[4] == "clusters";
  const bool member_path = p.size() == 8 && p[4] == "clusters" && p[6] == "members";
  if (!cluster_path && !member_path) return http_error(404, "no such path");
  const bool write = member_path && (req.method == "PUT" || req.method == "DELETE");
  if (cluster_path && req.method != "GET" && req.method != "HEAD") return http_error(405, "only GET is allowed here");
  if (member_path && !write) return http_error(405, "only PUT and DELETE are allowed here");

  // Authentication comes before anything else: without a valid token nothing about the body or the
  // names is revealed.
  if (write) {
    if (token_.empty()) return http_error(405, "the write API is off: set control.token_file");
    if (!same_secret(req.authorization, "Bearer " + token_)) return http_error(401, "missing or wrong bearer token");
  }
  const std::string zone = name_key(p[3]);
  const std::string cluster_name = p[5] == "_" ? "" : p[5];
  const DaemonConfig& config = zones_.config();
  if (std::none_of(config.zones.begin(), config.zones.end(), [&](const ZoneConfig& z) { return name_key(z.zone) == zone; }))
    return http_error(404, "no such zone", "zone");
  const Cluster* c = find_cluster(config, zone, cluster_name);
  if (!c) return http_error(404, "no such cluster (the unnamed one is _)", "cluster");
  if (cluster_path) return {200, cluster_json(*c, zone)};
  if (!c->registration) return http_error(403, "this cluster does not take registrations (registration: true)", "cluster");
  if (!valid_member_name(p[7]))
    return http_error(400, "member names are 1-63 letters, digits, '-', '_' or '.', starting with a letter or digit", "member");
  if (req.method == "DELETE") return delete_member(*c, zone, p[7], req.peer);
  if (req.body.size() > max_body) return http_error(413, "the body is over 4096 bytes");
  return put_member(*c, zone, p[7], req.body, req.peer);
}

HttpReply RegistrationApi::put_member(const Cluster& c, const std::string& zone, const std::string& name,
                                      const std::string& body, const std::string& peer) {
  // JSON is YAML: read as the config files are (yaml_doc).
  std::string syntax_error;
  int error_line = 0;
  const YamlNode doc = read_yaml(body, syntax_error, error_line);
  if (!syntax_error.empty()) return http_error(400, "the body is not JSON");
  if (!doc.is_map()) return http_error(400, "the body must be a JSON object");
  Registration r;
  r.zone = zone;
  r.cluster = c.name;
  r.member = name;
  std::set<std::string> seen;
  for (size_t i = 0; i < doc.size(); ++i) {
    const std::string& key = doc.key_at(i).scalar();
    if (key != "host" && key != "addresses" && key != "peer_port" && key != "client_port")
      return http_error(400, "unknown field", key);
    if (!seen.insert(key).second) return http_error(400, "the field is given twice", key);
  }
  if (!doc["host"].is_scalar()) return http_error(400, "host is required", "host");
  r.host = absolute_name(doc["host"].scalar());
  if (!go_valid_hostname(r.host)) return http_error(400, "host is not a valid host name", "host");
  // The apex and the service names are the config's; a member there would break the zone or etcd.
  if (name_key(r.host) == zone) return http_error(400, "host is the zone apex", "host");
  for (Service svc : {Service::server, Service::client})
    for (bool tls : {true, false})
      if (name_in_zone(r.host, zone) && name_in_zone(srv_owner(c.name, svc, tls, zone), r.host))
        return http_error(400, "host is (or is above) one of the cluster's SRV names", "host");
  if (const YamlNode a = doc["addresses"]) {
    if (!a.is_sequence()) return http_error(400, "addresses must be a list", "addresses");
    for (const YamlNode item : a) {
      const std::string& s = item.scalar();
      if (!is_ip_address(s)) return http_error(400, "'" + s + "' is not an IPv4 or IPv6 address", "addresses");
      r.addresses.push_back(s);
    }
  }
  if (name_in_zone(r.host, zone) && r.addresses.empty())
    return http_error(400, "a host inside the zone needs addresses", "addresses");
  for (const char* key : {"peer_port", "client_port"}) {
    const YamlNode n = doc[key];
    if (!n) continue;
    const std::optional<uint16_t> port = json_port(n);
    if (!port) return http_error(400, std::string(key) + " must be a port from 1 to 65535", key);
    (std::string(key) == "peer_port" ? r.peer_port : r.client_port) = *port;
  }
  for (size_t i = 0; i < c.members.size(); ++i) {
    const Member& m = c.members[i];
    if (m.name == name && i < c.static_members) return http_error(409, "a configured member has this name", "member");
    if (m.name != name && name_key(m.host) == name_key(r.host))
      return http_error(409, "member '" + m.name + "' has this host", "host");
  }
  const Registration* existing = zones_.registry().find(zone, c.name, name);
  if (existing && *existing == r) return {200, cluster_json(c, zone)};  // idempotent: already durable
  const int status = existing ? 200 : 201;
  // A changed address replaces the old one in the same snapshot.
  return commit({RegistryChange::Kind::put, r}, status, zone, c.name,
                "member '" + name + "' " + (existing ? "changed" : "registered"), peer);
}

HttpReply RegistrationApi::delete_member(const Cluster& c, const std::string& zone, const std::string& name,
                                         const std::string& peer) {
  for (size_t i = 0; i < c.static_members; ++i)
    if (c.members[i].name == name) return http_error(409, "a configured member cannot be deleted through the API", "member");
  if (!zones_.registry().find(zone, c.name, name)) return http_error(404, "no such registered member", "member");
  return commit({RegistryChange::Kind::remove, Registration{zone, c.name, name, {}, {}, {}, {}}}, 200, zone, c.name,
                "member '" + name + "' deleted", peer);
}

HttpReply RegistrationApi::commit(const RegistryChange& change, int status, std::string zone, std::string cluster,
                                  const std::string& what, const std::string& peer) {
  // zone and cluster are copies: the config they were read from is replaced by change_member().
  const auto gates_before = zones_.registry().open_gates;
  if (Result<void> done = zones_.change_member(change); !done) {
    // 400: the change cannot be served; 507: the disk is full; 503: another write failure (retry).
    const ErrorKind kind = done.error().kind;
    return http_error(kind == ErrorKind::rejected ? 400 : kind == ErrorKind::no_space ? 507 : 503, done.error().message);
  }
  spdlog::info("registry: {} in cluster '{}' of {} by {}; {} registered member(s) in all", what, cluster, zone,
               peer.empty() ? "the API" : peer, zones_.registry().members.size());
  // After the line of the change that completed it.
  for (const auto& gate : zones_.registry().open_gates)
    if (!gates_before.count(gate))
      spdlog::info("registry: the bootstrap gate of cluster '{}' in {} is open", gate.second, gate.first);
  const Cluster* c = find_cluster(zones_.config(), zone, cluster);
  return {status, c ? cluster_json(*c, zone) : "{}\n"};
}

}  // namespace dnsd
