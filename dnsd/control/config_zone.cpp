// The zone files (see config.hpp): zone, soa, ns, records, clusters with their members and health
// probes, update keys, transfer rules. Pass 1 (shape) through ConfigReader's key tables; pass 2 (meaning) within a
// cluster and a zone. Control plane: control thread and `dnsd check`.
#include <arpa/inet.h>

#include <algorithm>
#include <charconv>
#include <filesystem>
#include <set>

#include "config_reader.hpp"
#include "endpoint.hpp"
#include "names.hpp"

namespace dnsd {

namespace {

Member read_member(ConfigReader& r, const YamlNode& node) {
  Member m;
  m.loc = r.loc(node);
  if (!r.check_keys(node, "member", {{"name", true}, {"host", true}, {"addresses", false}, {"peer_port", false},
                                      {"client_port", false}}))
    return m;
  m.name = r.string(node, "name").value_or("");
  if (auto host = r.string(node, "host")) {
    m.host = absolute_name(*host);
    m.host_loc = r.loc(node["host"]);
    // Go rejects the whole SRV answer when one target is not a valid host name (all-numeric,
    // leading or trailing '-', labels over 63, names over 253).
    if (!go_valid_hostname(m.host)) r.error(node["host"], "host '" + *host + "' is not a valid host name (Go's resolver would reject the whole SRV answer)");
  }
  const std::vector<std::string> addresses = r.strings(node, "addresses").value_or(std::vector<std::string>{});
  for (size_t i = 0; i < addresses.size(); ++i) {
    const std::string& a = addresses[i];
    if (!is_ip_address(a))
      r.error(node["addresses"].is_sequence() ? node["addresses"][i] : node["addresses"],
              "address '" + a + "' is not an IPv4 or IPv6 address");
  }
  m.addresses = addresses;
  m.peer_port = r.port(node, "peer_port");
  m.client_port = r.port(node, "client_port");
  return m;
}

HealthOptions read_health(ConfigReader& r, const YamlNode& node, bool client_tls, const std::string& base_dir) {
  HealthOptions h;
  h.loc = r.loc(node);
  h.scheme = client_tls ? "https" : "http";
  if (!r.check_keys(node, "health", {{"scheme", false}, {"path", false}, {"interval", false}, {"timeout", false},
                                      {"rise", false}, {"fall", false}, {"ca_file", false}, {"cert_file", false},
                                      {"key_file", false}, {"server_name", false}, {"verify", false},
                                      {"fail_closed", false}}))
    return h;
  if (auto s = r.string(node, "scheme")) {
    if (*s != "http" && *s != "https") r.error(node["scheme"], "scheme must be http or https, not '" + *s + "'");
    else h.scheme = *s;
  }
  h.path = r.string(node, "path").value_or(h.path);
  if (h.path.empty() || h.path[0] != '/' || h.path.find_first_of(" \r\n") != std::string::npos)
    r.error(node["path"], "path must start with '/' and hold no spaces");
  h.interval_ms = r.duration_ms(node, "interval", 10, 3600000, "from 10ms to 1h, like 2s").value_or(h.interval_ms);
  h.timeout_ms = r.duration_ms(node, "timeout", 10, 3600000, "from 10ms to 1h, like 2s").value_or(h.timeout_ms);
  h.rise = uint32_t(r.integer(node, "rise", 1, 100).value_or(h.rise));
  h.fall = uint32_t(r.integer(node, "fall", 1, 100).value_or(h.fall));
  auto file = [&](const char* key, std::string& out) {
    auto s = r.string(node, key);
    if (!s) return;
    out = (std::filesystem::path(base_dir) / *s).lexically_normal().string();
    if (!std::filesystem::exists(out)) r.error(node[key], std::string(key) + " '" + out + "' does not exist");
  };
  file("ca_file", h.ca_file);
  file("cert_file", h.cert_file);
  file("key_file", h.key_file);
  if (h.cert_file.empty() != h.key_file.empty()) r.error(node, "cert_file and key_file go together");
  h.server_name = r.string(node, "server_name").value_or("");
  h.verify = r.boolean(node, "verify").value_or(true);
  h.fail_closed = r.boolean(node, "fail_closed").value_or(false);
  if (h.timeout_ms > h.interval_ms) r.error(node, "timeout must not exceed interval");
  if (h.scheme == "http" && (!h.ca_file.empty() || !h.cert_file.empty()))
    r.warn(h.loc, "ca_file, cert_file and key_file are unused with scheme http");
  return h;
}

// "192.0.2.0/24", "2001:db8::/32", or an address alone (/32, /128).
std::optional<TransferRule> parse_prefix(const std::string& text) {
  const size_t slash = text.find('/');
  const std::string address = text.substr(0, slash);
  if (address.find('\0') != std::string::npos) return std::nullopt;
  TransferRule rule;
  uint8_t buf[16];
  if (inet_pton(AF_INET, address.c_str(), buf) == 1) rule.network.assign(buf, buf + 4);
  else if (inet_pton(AF_INET6, address.c_str(), buf) == 1) rule.network.assign(buf, buf + 16);
  else return std::nullopt;
  rule.prefix_len = unsigned(rule.network.size() * 8);
  if (slash != std::string::npos) {
    const std::string len = text.substr(slash + 1);
    unsigned v = 0;
    auto [end, ec] = std::from_chars(len.data(), len.data() + len.size(), v);
    if (len.empty() || ec != std::errc() || end != len.data() + len.size() || v > rule.prefix_len) return std::nullopt;
    rule.prefix_len = v;
  }
  for (size_t i = 0; i < rule.network.size(); ++i)
    if (rule.network[i] & ~prefix_byte_mask(rule.prefix_len, i)) return std::nullopt;  // host bits set: a typo, as BIND says
  return rule;
}

// A transfer.notify target or a primary: {address: ADDRESS[:PORT] | "[V6]:PORT", key?}, port 53 by default.
std::optional<RemoteServer> read_remote(ConfigReader& r, const YamlNode& item, const std::string& what) {
  if (!r.check_keys(item, what + " entry", {{"address", true}, {"key", false}})) return std::nullopt;
  const std::string address = r.string(item, "address").value_or("");
  const std::optional<std::string> named = r.domain(item, "key");
  std::optional<HostPort> target = parse_host_port(address);
  if (!target && parse_prefix(address) && address.find('/') == std::string::npos)
    target = HostPort{address, 53, address.find(':') != std::string::npos};
  if (!target || target->port == 0) {
    r.error(item["address"], what + " address '" + address + "' is not ADDRESS, ADDRESS:PORT or [IPV6]:PORT");
    return std::nullopt;
  }
  return RemoteServer{*target, named ? name_key(*named) : "", r.loc(item)};
}

void read_transfer(ConfigReader& r, const YamlNode& node, ZoneConfig& z) {
  if (!r.check_keys(node, "transfer", {{"allow", false}, {"notify", false}})) return;
  for (const char* list : {"allow", "notify"}) {
    const YamlNode items = node[list];
    if (!items) continue;
    if (!items.is_sequence()) {
      r.error(items, std::string("transfer.") + list + " must be a list");
      continue;
    }
    for (const YamlNode& item : items) {
      if (std::string(list) == "allow") {
        if (!r.check_keys(item, "transfer.allow entry", {{"address", true}, {"key", false}})) continue;
        const std::string address = r.string(item, "address").value_or("");
        const std::optional<std::string> named = r.domain(item, "key");
        std::optional<TransferRule> rule = parse_prefix(address);
        if (!rule) {
          r.error(item["address"], "transfer.allow address '" + address + "' is not an address or ADDRESS/PREFIX (with the host bits zero)");
          continue;
        }
        rule->key = named ? name_key(*named) : "";
        rule->loc = r.loc(item);
        z.transfer_allow.push_back(std::move(*rule));
      } else {
        if (std::optional<RemoteServer> target = read_remote(r, item, "transfer.notify")) z.notify.push_back(std::move(*target));
      }
    }
  }
}

Cluster read_cluster(ConfigReader& r, const YamlNode& node) {
  Cluster c;
  c.loc = r.loc(node);
  if (!r.check_keys(node, "cluster", {{"name", false}, {"peer_tls", false}, {"client_tls", false},
                                       {"peer_port", false}, {"client_port", false}, {"priority", false},
                                       {"weight", false}, {"registration", false}, {"health", false},
                                       {"expected_size", false}, {"gate_negative_ttl", false}, {"members", false}}))
    return c;
  c.name = r.string(node, "name").value_or("");
  // The name becomes part of a label: _etcd-server-ssl-NAME.
  if (!c.name.empty() && (c.name.size() > 40 || !go_valid_hostname(c.name + ".") ||
                          c.name.find('.') != std::string::npos))
    r.error(node["name"], "cluster name '" + c.name + "' must be one short label of letters, digits and '-'");
  c.peer_tls = r.boolean(node, "peer_tls").value_or(true);
  c.client_tls = r.boolean(node, "client_tls").value_or(false);
  c.peer_port = r.port(node, "peer_port").value_or(2380);
  c.client_port = r.port(node, "client_port").value_or(2379);
  c.priority = uint16_t(r.integer(node, "priority", 0, 65535).value_or(0));
  c.weight = uint16_t(r.integer(node, "weight", 0, 65535).value_or(0));
  c.registration = r.boolean(node, "registration").value_or(false);
  c.expected_size = uint32_t(r.integer(node, "expected_size", 1, 1000).value_or(0));
  if (auto ms = r.duration_ms(node, "gate_negative_ttl", 1000, 3600000, "from 1s to 1h")) c.gate_negative_ttl = *ms / 1000;
  if (const YamlNode health = node["health"])
    c.health = read_health(r, health, c.client_tls, std::filesystem::absolute(r.file()).parent_path().string());
  const YamlNode members = node["members"];
  if (members && !members.is_sequence() && !(members.is_null()))
    r.error(members, "members must be a list");
  else if (members && members.is_sequence()) {
    c.members.reserve(members.size());  // sized once: the config is kept (growth left a third unused)
    for (const auto& m : members) c.members.push_back(read_member(r, m));
  }
  c.static_members = c.members.size();
  if (c.members.empty() && !c.registration)
    r.error(node, "cluster '" + c.name + "' has no members (an empty cluster needs registration: true)");

  // Pass 2 within the cluster: unique member names and SRV targets; etcd fails with "duplicate url"
  // when two SRV records carry the same target and port.
  std::set<std::string> names, targets;
  for (const Member& m : c.members) {
    if (!m.name.empty() && !names.insert(m.name).second) r.error(m.loc, "duplicate member name '" + m.name + "'");
    if (!m.host.empty() && !targets.insert(name_key(m.host) + ":" + std::to_string(m.peer_port.value_or(c.peer_port))).second)
      r.error(m.host_loc, "duplicate SRV target '" + m.host + "' (etcd fails with \"duplicate url\")");
    bool v4 = false, v6 = false;
    for (std::string_view a : m.addresses) (a.find(':') == std::string_view::npos ? v4 : v6) = true;
    if (v4 && v6)
      r.warn(m.loc, "member '" + m.name + "' has both A and AAAA: etcd matches its own peer URL against the first IPv4 address, so advertise the host name");
  }
  // etcd 3.4 (Debian 12) fails bootstrap without _etcd-server-ssl records and drops plain ones.
  if (!c.peer_tls)
    r.warn(c.loc, (c.name.empty() ? std::string("the unnamed cluster") : "cluster '" + c.name + "'") + " publishes clear-text peers (_etcd-server): etcd 3.4 cannot bootstrap from them, only 3.5+ can (use peer_tls: true with --peer-auto-tls)");
  return c;
}

}  // namespace

ZoneConfig load_zone_file(const std::string& path, std::vector<Diagnostic>& diags) {
  ZoneConfig z;
  z.file = path;
  z.loc = {path, 0};
  const YamlNode root = load_yaml(path, diags);
  if (!root) return z;
  ConfigReader r(path, diags);
  // A secondary zone's content comes from its primaries: it has no data keys of its own.
  if (root.is_map() && root["primaries"]) {
    if (!r.check_keys(root, "secondary zone file (primaries:)", {{"zone", true}, {"primaries", true}, {"transfer", false}}))
      return z;
    z.zone = r.domain(root, "zone").value_or("");
    const YamlNode primaries = root["primaries"];
    if (!primaries.is_sequence() || primaries.size() == 0) r.error(primaries, "primaries must be a list of at least one server");
    else
      for (const YamlNode& item : primaries)
        if (std::optional<RemoteServer> p = read_remote(r, item, "primaries")) z.primaries.push_back(std::move(*p));
    if (const YamlNode transfer = root["transfer"]) read_transfer(r, transfer, z);
    return z;
  }
  if (!r.check_keys(root, "zone file", {{"zone", true}, {"ttl", false}, {"soa", true}, {"ns", true},
                                         {"records", false}, {"clusters", false}, {"update", false},
                                         {"transfer", false}, {"reverse_of", false}}))
    return z;
  z.zone = r.domain(root, "zone").value_or("");
  z.ttl = uint32_t(r.integer(root, "ttl", 0, 2147483647).value_or(30));
  if (const YamlNode soa = root["soa"];
      soa && r.check_keys(soa, "soa", {{"mname", true}, {"rname", true}, {"refresh", false}, {"retry", false},
                                       {"expire", false}, {"minimum", false}})) {
    z.soa.mname = r.domain(soa, "mname").value_or("");
    z.soa.rname = r.domain(soa, "rname").value_or("");
    z.soa.refresh = uint32_t(r.integer(soa, "refresh", 0, 2147483647).value_or(z.soa.refresh));
    z.soa.retry = uint32_t(r.integer(soa, "retry", 0, 2147483647).value_or(z.soa.retry));
    z.soa.expire = uint32_t(r.integer(soa, "expire", 0, 2147483647).value_or(z.soa.expire));
    z.soa.minimum = uint32_t(r.integer(soa, "minimum", 0, 2147483647).value_or(z.soa.minimum));
  }
  if (auto ns = r.strings(root, "ns")) {
    if (ns->empty()) r.error(root["ns"], "ns must name at least one name server");
    for (size_t i = 0; i < ns->size(); ++i) {
      const std::string name = absolute_name((*ns)[i]);
      if (!go_valid_hostname(name))
        r.error(root["ns"].is_sequence() ? root["ns"][i] : root["ns"], "ns '" + (*ns)[i] + "' is not a valid host name");
      z.ns.push_back(name);
    }
  }
  if (const YamlNode records = root["records"]) {
    if (!records.is_scalar()) {
      r.error(records, "records must be a block of RFC 1035 text (records: |)");
    } else {
      z.records = records.scalar();
      // A block scalar's mark is its indicator line; its text starts on the next line.
      const bool block = records.scalar().find('\n') != std::string::npos;
      z.records_first_line = records.line() + (block ? 1 : 0);
    }
  }
  if (const YamlNode clusters = root["clusters"]) {
    if (!clusters.is_sequence())
      r.error(clusters, "clusters must be a list");
    else {
      z.clusters.reserve(clusters.size());
      for (const auto& c : clusters) z.clusters.push_back(read_cluster(r, c));
    }
  }
  if (const YamlNode update = root["update"]; update && r.check_keys(update, "update", {{"keys", true}})) {
    z.update_loc = r.loc(update["keys"] ? update["keys"] : update);
    for (const std::string& k : r.strings(update, "keys").value_or(std::vector<std::string>{})) z.update_keys.push_back(name_key(k));
  }
  if (const YamlNode transfer = root["transfer"]) read_transfer(r, transfer, z);
  if (const YamlNode reverse = root["reverse_of"]) {
    z.reverse_loc = r.loc(reverse);
    for (const std::string& zone : r.strings(root, "reverse_of").value_or(std::vector<std::string>{})) z.reverse_of.push_back(name_key(zone));
    const std::string self = name_key(z.zone);
    auto ends_with = [&](const std::string& suffix) {
      return self.size() >= suffix.size() && self.compare(self.size() - suffix.size(), suffix.size(), suffix) == 0;
    };
    if (!z.zone.empty() && !ends_with("in-addr.arpa.") && !ends_with("ip6.arpa."))
      r.error(reverse, "reverse_of is for reverse zones (under in-addr.arpa or ip6.arpa), not " + z.zone);
  }
  // Two clusters with one name would generate the same SRV names.
  std::set<std::string> cluster_names;
  for (const Cluster& c : z.clusters)
    if (!cluster_names.insert(c.name).second)
      r.error(c.loc, c.name.empty() ? "a second unnamed cluster in the zone" : "duplicate cluster name '" + c.name + "'");
  return z;
}

}  // namespace dnsd
