// YAML -> typed config (see config.hpp). Pass 1 (shape) walks key tables: unknown keys, missing
// required keys and wrong types. Pass 2 (meaning) checks values against each other. Every problem is
// collected with its file:line; loaders throw once at the end.
#include "config.hpp"

#include <arpa/inet.h>
#include <glob.h>
#include <openssl/evp.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <charconv>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <map>
#include <set>

namespace dnsd {

std::string to_string(const Diagnostic& d) {
  std::string out = d.loc.file;
  if (d.loc.line > 0) out += ":" + std::to_string(d.loc.line);
  out += d.warning ? ": warning: " : ": ";
  return out + d.message;
}

namespace {
std::string join_messages(const std::vector<Diagnostic>& diagnostics) {
  std::string out;
  for (const auto& d : diagnostics) out += (out.empty() ? "" : "\n") + to_string(d);
  return out;
}
}  // namespace

ConfigError::ConfigError(std::vector<Diagnostic> diagnostics)
    : std::runtime_error(join_messages(diagnostics)), diagnostics_(std::move(diagnostics)) {}

std::optional<uint64_t> parse_duration_ms(const std::string& text) {
  uint64_t value = 0;
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (ec != std::errc() || ptr == text.data()) return std::nullopt;
  const std::string unit(ptr, end);
  static const std::map<std::string, uint64_t> scale = {{"", 1000}, {"ms", 1}, {"s", 1000}, {"m", 60000}, {"h", 3600000}};
  auto it = scale.find(unit);
  if (it == scale.end() || value > UINT64_MAX / it->second) return std::nullopt;
  return value * it->second;
}

std::optional<HostPort> parse_host_port(const std::string& text) {
  HostPort hp;
  std::string port;
  if (!text.empty() && text[0] == '[') {
    const auto close = text.find(']');
    if (close == std::string::npos || close + 1 >= text.size() || text[close + 1] != ':') return std::nullopt;
    hp.address = text.substr(1, close - 1);
    port = text.substr(close + 2);
    hp.v6 = true;
  } else {
    const auto colon = text.rfind(':');
    if (colon == std::string::npos || text.find(':') != colon) return std::nullopt;
    hp.address = text.substr(0, colon);
    port = text.substr(colon + 1);
  }
  unsigned char buf[16];
  if (inet_pton(hp.v6 ? AF_INET6 : AF_INET, hp.address.c_str(), buf) != 1) return std::nullopt;
  unsigned value = 0;
  auto [ptr, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (ec != std::errc() || ptr != port.data() + port.size() || port.empty() || value > 65535) return std::nullopt;
  hp.port = uint16_t(value);
  return hp;
}

std::string read_token_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error(path + ": cannot read the token file");
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string t = ss.str();
  const auto first = t.find_first_not_of(" \t\r\n");
  if (first == std::string::npos) throw std::runtime_error(path + ": the token file is empty");
  return t.substr(first, t.find_last_not_of(" \t\r\n") - first + 1);
}

std::optional<std::string> decode_base64(const std::string& text) {
  std::string in;
  for (char c : text)
    if (!std::isspace(static_cast<unsigned char>(c))) in += c;
  if (in.empty() || in.size() % 4 != 0) return std::nullopt;
  const size_t pad = in.size() - std::min(in.find('='), in.size());
  if (pad > 2 || in.find_first_not_of("=", in.size() - pad) != std::string::npos) return std::nullopt;
  std::string out(in.size() / 4 * 3, '\0');
  // EVP_DecodeBlock rejects characters outside the alphabet and counts padding as zero bytes.
  const int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(in.data()), int(in.size()));
  if (n < 0 || size_t(n) < pad) return std::nullopt;
  out.resize(size_t(n) - pad);
  return out;
}

std::string absolute_name(const std::string& name) {
  if (name.empty() || name.back() == '.') return name;
  return name + ".";
}

bool go_valid_hostname(const std::string& s) {
  if (s == ".") return true;
  const size_t l = s.size();
  if (l == 0 || l > 254 || (l == 254 && s[l - 1] != '.')) return false;
  char last = '.';
  bool non_numeric = false;
  size_t part = 0;
  for (char c : s) {
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_') {
      non_numeric = true;
      ++part;
    } else if (c >= '0' && c <= '9') {
      ++part;
    } else if (c == '-') {
      if (last == '.') return false;  // a label may not start with '-'
      non_numeric = true;
      ++part;
    } else if (c == '.') {
      if (last == '.' || last == '-') return false;
      if (part > 63 || part == 0) return false;
      part = 0;
    } else {
      return false;
    }
    last = c;
  }
  if (last == '-' || part > 63) return false;
  return non_numeric;  // all-numeric names such as 10.0.0.9 are rejected
}

namespace {

// One key of a mapping: its name and whether it must be present.
struct Key {
  const char* name;
  bool required;
};

// Reads one YAML file: typed getters that report problems with file:line and return nullopt.
class Reader {
 public:
  Reader(std::string file, std::vector<Diagnostic>& diagnostics) : file_(std::move(file)), diags_(diagnostics) {}

  SourceLoc loc(const YAML::Node& n) const { return {file_, n.Mark().line >= 0 ? n.Mark().line + 1 : 0}; }
  const std::string& file() const { return file_; }
  void error(const SourceLoc& at, std::string message) { diags_.push_back({at, std::move(message), false}); }
  void error(const YAML::Node& n, std::string message) { error(loc(n), std::move(message)); }
  void warn(const SourceLoc& at, std::string message) { diags_.push_back({at, std::move(message), true}); }

  // Pass 1: the mapping holds only the table's keys and every required one. Returns false when `map`
  // is not a mapping at all.
  bool check_keys(const YAML::Node& map, const std::string& what, std::initializer_list<Key> keys) {
    if (!map.IsMap()) {
      error(map, what + " must be a mapping");
      return false;
    }
    for (const auto& kv : map) {
      const std::string key = kv.first.Scalar();
      if (std::none_of(keys.begin(), keys.end(), [&](const Key& k) { return key == k.name; }))
        error(kv.first, "unknown key '" + key + "' in " + what);
    }
    for (const Key& k : keys)
      if (k.required && !map[k.name]) error(map, "missing required key '" + std::string(k.name) + "' in " + what);
    return true;
  }

  std::optional<std::string> string(const YAML::Node& map, const char* key) {
    const YAML::Node n = map[key];
    if (!n) return std::nullopt;
    if (!n.IsScalar()) {
      error(n, std::string(key) + " must be a string");
      return std::nullopt;
    }
    return n.Scalar();
  }

  std::optional<uint64_t> integer(const YAML::Node& map, const char* key, uint64_t min, uint64_t max) {
    const YAML::Node n = map[key];
    if (!n) return std::nullopt;
    uint64_t value = 0;
    const std::string& s = n.Scalar();
    auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
    if (!n.IsScalar() || s.empty() || ec != std::errc() || ptr != s.data() + s.size() || value < min || value > max) {
      error(n, std::string(key) + " must be an integer from " + std::to_string(min) + " to " + std::to_string(max) +
                   (n.IsScalar() ? ", not '" + s + "'" : ""));
      return std::nullopt;
    }
    return value;
  }

  std::optional<uint16_t> port(const YAML::Node& map, const char* key) {
    auto v = integer(map, key, 1, 65535);
    return v ? std::optional<uint16_t>(uint16_t(*v)) : std::nullopt;
  }

  std::optional<bool> boolean(const YAML::Node& map, const char* key) {
    const YAML::Node n = map[key];
    if (!n) return std::nullopt;
    const std::string& s = n.Scalar();
    if (n.IsScalar() && (s == "true" || s == "false")) return s == "true";
    error(n, std::string(key) + " must be true or false");
    return std::nullopt;
  }

  // A sequence of strings; a lone string is accepted as a one-element list.
  std::optional<std::vector<std::string>> strings(const YAML::Node& map, const char* key) {
    const YAML::Node n = map[key];
    if (!n) return std::nullopt;
    std::vector<std::string> out;
    if (n.IsScalar()) return std::vector<std::string>{n.Scalar()};
    if (!n.IsSequence()) {
      error(n, std::string(key) + " must be a list of strings");
      return std::nullopt;
    }
    for (const auto& item : n) {
      if (!item.IsScalar()) {
        error(item, std::string(key) + " entries must be strings");
        continue;
      }
      out.push_back(item.Scalar());
    }
    return out;
  }

  // A domain name that must be usable as an absolute host name.
  std::optional<std::string> domain(const YAML::Node& map, const char* key) {
    auto s = string(map, key);
    if (!s) return std::nullopt;
    const std::string name = absolute_name(*s);
    if (!go_valid_hostname(name)) {
      error(map[key], std::string(key) + " '" + *s + "' is not a valid host name");
      return std::nullopt;
    }
    return name;
  }

 private:
  std::string file_;
  std::vector<Diagnostic>& diags_;
};

YAML::Node load_yaml(const std::string& path, std::vector<Diagnostic>& diags) {
  std::error_code ec;
  if (std::filesystem::exists(path, ec) && !std::filesystem::is_regular_file(path, ec)) {
    diags.push_back({{path, 0}, "not a regular file (a zones pattern that matches a directory?)", false});
    return {};
  }
  try {
    return YAML::LoadFile(path);
  } catch (const YAML::BadFile&) {
    diags.push_back({{path, 0}, "cannot read file", false});
  } catch (const YAML::ParserException& e) {
    diags.push_back({{path, e.mark.line + 1}, "YAML syntax error: " + e.msg, false});
  } catch (const std::exception& e) {  // a read error under the parser (ios_base::failure)
    diags.push_back({{path, 0}, std::string("cannot read file: ") + e.what(), false});
  }
  return {};
}

Member read_member(Reader& r, const YAML::Node& node) {
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
  m.addresses = r.strings(node, "addresses").value_or(std::vector<std::string>{});
  for (size_t i = 0; i < m.addresses.size(); ++i) {
    unsigned char buf[16];
    const std::string& a = m.addresses[i];
    if (inet_pton(AF_INET, a.c_str(), buf) != 1 && inet_pton(AF_INET6, a.c_str(), buf) != 1)
      r.error(node["addresses"].IsSequence() ? node["addresses"][i] : node["addresses"],
              "address '" + a + "' is not an IPv4 or IPv6 address");
  }
  m.peer_port = r.port(node, "peer_port");
  m.client_port = r.port(node, "client_port");
  return m;
}

HealthOptions read_health(Reader& r, const YAML::Node& node, bool client_tls, const std::string& base_dir) {
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
  auto duration = [&](const char* key, uint32_t& out) {
    auto s = r.string(node, key);
    if (!s) return;
    auto ms = parse_duration_ms(*s);
    if (!ms || *ms < 10 || *ms > 3600000) r.error(node[key], std::string(key) + " must be a duration from 10ms to 1h, like 2s");
    else out = uint32_t(*ms);
  };
  duration("interval", h.interval_ms);
  duration("timeout", h.timeout_ms);
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

Cluster read_cluster(Reader& r, const YAML::Node& node) {
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
  if (auto s = r.string(node, "gate_negative_ttl")) {
    auto ms = parse_duration_ms(*s);
    if (!ms || *ms < 1000 || *ms > 3600000) r.error(node["gate_negative_ttl"], "gate_negative_ttl must be a duration from 1s to 1h");
    else c.gate_negative_ttl = uint32_t(*ms / 1000);
  }
  if (const YAML::Node health = node["health"])
    c.health = read_health(r, health, c.client_tls, std::filesystem::absolute(r.file()).parent_path().string());
  const YAML::Node members = node["members"];
  if (members && !members.IsSequence() && !(members.IsNull()))
    r.error(members, "members must be a list");
  else if (members && members.IsSequence())
    for (const auto& m : members) c.members.push_back(read_member(r, m));
  c.static_members = c.members.size();
  if (c.members.empty() && !c.registration)
    r.error(node, "cluster '" + c.name + "' has no members (an empty cluster needs registration: true)");

  // Pass 2 within the cluster: unique member names and SRV targets; etcd fails with "duplicate url"
  // when two SRV records carry the same target and port.
  std::set<std::string> names, targets;
  for (const Member& m : c.members) {
    if (!m.name.empty() && !names.insert(m.name).second) r.error(m.loc, "duplicate member name '" + m.name + "'");
    std::string lower = m.host;
    std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char ch) { return std::tolower(ch); });
    if (!m.host.empty() && !targets.insert(lower + ":" + std::to_string(m.peer_port.value_or(c.peer_port))).second)
      r.error(m.host_loc, "duplicate SRV target '" + m.host + "' (etcd fails with \"duplicate url\")");
    bool v4 = false, v6 = false;
    for (const auto& a : m.addresses) (a.find(':') == std::string::npos ? v4 : v6) = true;
    if (v4 && v6)
      r.warn(m.loc, "member '" + m.name + "' has both A and AAAA: etcd matches its own peer URL against the first IPv4 address, so advertise the host name");
  }
  // etcd 3.4 (Debian 12) fails bootstrap without _etcd-server-ssl records and drops plain ones.
  if (!c.peer_tls)
    r.warn(c.loc, (c.name.empty() ? std::string("the unnamed cluster") : "cluster '" + c.name + "'") + " publishes clear-text peers (_etcd-server): etcd 3.4 cannot bootstrap from them, only 3.5+ can (use peer_tls: true with --peer-auto-tls)");
  return c;
}

// TSIG key names compare as domain names: trailing dot optional, case-insensitive.
std::string key_name(const std::string& name) {
  std::string out = absolute_name(name);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char ch) { return std::tolower(ch); });
  return out;
}

// tsig_keys: [{name, algorithm, secret | secret_file}]. A secret file holds the base64 secret, or is a
// BIND key file (tsig-keygen's output) whose `secret "...";` is used.
std::vector<TsigKey> read_tsig_keys(Reader& r, const YAML::Node& list, const std::filesystem::path& dir) {
  std::vector<TsigKey> keys;
  if (!list.IsSequence()) {
    r.error(list, "tsig_keys must be a list");
    return keys;
  }
  std::set<std::string> names;
  for (const auto& node : list) {
    TsigKey k;
    k.loc = r.loc(node);
    if (!r.check_keys(node, "tsig key", {{"name", true}, {"algorithm", true}, {"secret", false}, {"secret_file", false}}))
      continue;
    const std::string name = r.string(node, "name").value_or("");
    k.name = key_name(name);
    if (!name.empty() && !go_valid_hostname(k.name)) r.error(node["name"], "tsig key name '" + name + "' is not a valid domain name");
    if (!k.name.empty() && !names.insert(k.name).second) r.error(node["name"], "duplicate tsig key '" + name + "'");
    k.algorithm = r.string(node, "algorithm").value_or("");
    if (node["algorithm"] && k.algorithm != "hmac-sha256" && k.algorithm != "hmac-sha512")
      r.error(node["algorithm"], "algorithm must be hmac-sha256 or hmac-sha512, not '" + k.algorithm + "'");
    std::string text;
    const YAML::Node at = node["secret"] ? node["secret"] : node["secret_file"];
    if (node["secret"] && node["secret_file"]) {
      r.error(node, "tsig key '" + name + "' has both secret and secret_file");
      continue;
    } else if (node["secret"]) {
      text = r.string(node, "secret").value_or("");
    } else if (auto f = r.string(node, "secret_file")) {
      const std::string path = (dir / *f).lexically_normal().string();
      std::ifstream in(path);
      if (!in) {
        r.error(at, "secret_file '" + path + "' cannot be read");
        continue;
      }
      std::stringstream ss;
      ss << in.rdbuf();
      text = ss.str();
      if (const auto pos = text.find("secret \""); pos != std::string::npos)
        text = text.substr(pos + 8, text.find('"', pos + 8) - pos - 8);
    } else {
      r.error(node, "tsig key '" + name + "' needs secret or secret_file");
      continue;
    }
    auto secret = decode_base64(text);
    if (!secret || secret->empty()) r.error(at, "the secret of tsig key '" + name + "' is not base64");
    else k.secret = std::move(*secret);
    keys.push_back(std::move(k));
  }
  return keys;
}

}  // namespace

ZoneConfig load_zone_file(const std::string& path, std::vector<Diagnostic>& diags) {
  ZoneConfig z;
  z.file = path;
  z.loc = {path, 0};
  const YAML::Node root = load_yaml(path, diags);
  if (!root) return z;
  Reader r(path, diags);
  if (!r.check_keys(root, "zone file", {{"zone", true}, {"ttl", false}, {"soa", true}, {"ns", true},
                                         {"records", false}, {"clusters", false}, {"update", false}}))
    return z;
  z.zone = r.domain(root, "zone").value_or("");
  z.ttl = uint32_t(r.integer(root, "ttl", 0, 2147483647).value_or(30));
  if (const YAML::Node soa = root["soa"];
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
        r.error(root["ns"].IsSequence() ? root["ns"][i] : root["ns"], "ns '" + (*ns)[i] + "' is not a valid host name");
      z.ns.push_back(name);
    }
  }
  if (const YAML::Node records = root["records"]) {
    if (!records.IsScalar()) {
      r.error(records, "records must be a block of RFC 1035 text (records: |)");
    } else {
      z.records = records.Scalar();
      // A block scalar's mark is its indicator line; its text starts on the next line.
      const bool block = records.Scalar().find('\n') != std::string::npos;
      z.records_first_line = records.Mark().line + 1 + (block ? 1 : 0);
    }
  }
  if (const YAML::Node clusters = root["clusters"]) {
    if (!clusters.IsSequence())
      r.error(clusters, "clusters must be a list");
    else
      for (const auto& c : clusters) z.clusters.push_back(read_cluster(r, c));
  }
  if (const YAML::Node update = root["update"]; update && r.check_keys(update, "update", {{"keys", true}})) {
    z.update_loc = r.loc(update["keys"] ? update["keys"] : update);
    for (const std::string& k : r.strings(update, "keys").value_or(std::vector<std::string>{})) z.update_keys.push_back(key_name(k));
  }
  // Two clusters with one name would generate the same SRV names.
  std::set<std::string> cluster_names;
  for (const Cluster& c : z.clusters)
    if (!cluster_names.insert(c.name).second)
      r.error(c.loc, c.name.empty() ? "a second unnamed cluster in the zone" : "duplicate cluster name '" + c.name + "'");
  return z;
}

DaemonConfig load_config(const std::string& path) {
  std::vector<Diagnostic> diags;
  DaemonConfig cfg;
  cfg.file = path;
  const YAML::Node root = load_yaml(path, diags);
  Reader r(path, diags);
  if (root && r.check_keys(root, "daemon config", {{"listen", true}, {"zones", true}, {"state_dir", false},
                                                    {"control", false}, {"log", false}, {"workers", false},
                                                    {"tcp", false}, {"tsig_keys", false}, {"rrl", false},
                                                    {"cookies", false}})) {
    const std::filesystem::path dir = std::filesystem::absolute(path).parent_path();
    cfg.listen = r.strings(root, "listen").value_or(std::vector<std::string>{});
    for (size_t i = 0; i < cfg.listen.size(); ++i)
      if (!parse_host_port(cfg.listen[i]))
        r.error(root["listen"].IsSequence() ? root["listen"][i] : root["listen"],
                "listen '" + cfg.listen[i] + "' must be ADDRESS:PORT or [IPV6]:PORT");
    if (root["listen"] && cfg.listen.empty()) r.error(root["listen"], "listen must name at least one address");
    cfg.zone_globs = r.strings(root, "zones").value_or(std::vector<std::string>{});
    if (auto s = r.string(root, "state_dir")) cfg.state_dir = (dir / *s).lexically_normal().string();
    if (const YAML::Node control = root["control"];
        control && r.check_keys(control, "control", {{"listen", true}, {"token_file", false}, {"tls", false}})) {
      if (const YAML::Node tls = control["tls"];
          tls && r.check_keys(tls, "control tls", {{"cert_file", true}, {"key_file", true}, {"client_ca_file", false}})) {
        DaemonConfig::ControlTls t;
        auto file = [&](const char* key, std::string& out) {
          auto v = r.string(tls, key);
          if (!v) return;
          out = (dir / *v).lexically_normal().string();
          if (!std::filesystem::exists(out)) r.error(tls[key], std::string(key) + " '" + out + "' does not exist");
        };
        file("cert_file", t.cert_file);
        file("key_file", t.key_file);
        file("client_ca_file", t.client_ca_file);
        cfg.control_tls = t;
      }
      cfg.control_listen = r.string(control, "listen");
      if (auto t = r.string(control, "token_file")) {
        cfg.token_file = (dir / *t).lexically_normal().string();
        if (!std::filesystem::exists(cfg.token_file))
          r.error(control["token_file"], "token_file '" + cfg.token_file + "' does not exist");
      }
      if (cfg.control_listen && !parse_host_port(*cfg.control_listen))
        r.error(control["listen"], "control listen '" + *cfg.control_listen + "' must be ADDRESS:PORT or [IPV6]:PORT");
    }
    if (const YAML::Node log = root["log"]; log && r.check_keys(log, "log", {{"level", false}})) {
      cfg.log_level = r.string(log, "level").value_or("info");
      static const std::set<std::string> levels = {"trace", "debug", "info", "warn", "error", "critical", "off"};
      if (!levels.count(cfg.log_level)) r.error(log["level"], "log level '" + cfg.log_level + "' is not one of trace, debug, info, warn, error, critical, off");
    }
    if (const YAML::Node workers = root["workers"]; workers && workers.Scalar() != "auto")
      cfg.workers = unsigned(r.integer(root, "workers", 1, 256).value_or(0));
    if (const YAML::Node tcp = root["tcp"];
        tcp && r.check_keys(tcp, "tcp", {{"idle_timeout", false}, {"max_connections", false},
                                        {"max_connections_per_source", false}})) {
      if (auto s = r.string(tcp, "idle_timeout")) {
        auto ms = parse_duration_ms(*s);
        if (!ms || *ms == 0 || *ms > 3600000) r.error(tcp["idle_timeout"], "idle_timeout must be a duration from 1ms to 1h, like 10s");
        else cfg.tcp.idle_timeout_ms = uint32_t(*ms);
      }
      cfg.tcp.max_connections = uint32_t(r.integer(tcp, "max_connections", 1, 1000000).value_or(cfg.tcp.max_connections));
      cfg.tcp.max_connections_per_source =
          uint32_t(r.integer(tcp, "max_connections_per_source", 1, 1000000).value_or(cfg.tcp.max_connections_per_source));
    }
    if (const YAML::Node rrl = root["rrl"];
        rrl && r.check_keys(rrl, "rrl", {{"responses_per_second", true}, {"slip", false}, {"ipv4_prefix", false},
                                        {"ipv6_prefix", false}})) {
      cfg.rrl.rate = uint32_t(r.integer(rrl, "responses_per_second", 1, 1000000).value_or(0));
      cfg.rrl.slip = uint32_t(r.integer(rrl, "slip", 0, 100).value_or(cfg.rrl.slip));
      cfg.rrl.ipv4_prefix = uint8_t(r.integer(rrl, "ipv4_prefix", 8, 32).value_or(cfg.rrl.ipv4_prefix));
      cfg.rrl.ipv6_prefix = uint8_t(r.integer(rrl, "ipv6_prefix", 16, 128).value_or(cfg.rrl.ipv6_prefix));
    }
    if (const YAML::Node cookies = root["cookies"];
        cookies && r.check_keys(cookies, "cookies", {{"enabled", false}, {"secret", false}})) {
      cfg.cookies = r.boolean(cookies, "enabled").value_or(true);
      if (auto s = r.string(cookies, "secret")) {
        std::string bytes;
        for (size_t i = 0; i + 1 < s->size() && s->size() == 32; i += 2)
          if (std::isxdigit(static_cast<unsigned char>((*s)[i])) && std::isxdigit(static_cast<unsigned char>((*s)[i + 1])))
            bytes += char(std::stoi(s->substr(i, 2), nullptr, 16));
        if (bytes.size() != 16) r.error(cookies["secret"], "cookies secret must be 32 hex digits (128 bits)");
        else cfg.cookie_secret = bytes;
      }
    }
    if (const YAML::Node keys = root["tsig_keys"]) cfg.tsig_keys = read_tsig_keys(r, keys, dir);
    for (const std::string& pattern : cfg.zone_globs) {
      const std::string full = (dir / pattern).lexically_normal().string();
      glob_t g{};
      const int rc = glob(full.c_str(), GLOB_ERR, nullptr, &g);
      if (rc != 0 || g.gl_pathc == 0) r.error(root["zones"], "zones pattern '" + pattern + "' matches no file");
      for (size_t i = 0; rc == 0 && i < g.gl_pathc; ++i) cfg.zones.push_back(load_zone_file(g.gl_pathv[i], diags));
      globfree(&g);
    }
    // One daemon, one owner per zone: a zone loaded twice would answer from whichever came last.
    std::map<std::string, std::string> seen;
    for (const ZoneConfig& z : cfg.zones) {
      std::string lower = z.zone;
      std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char ch) { return std::tolower(ch); });
      if (!lower.empty() && !seen.emplace(lower, z.file).second)
        diags.push_back({{z.file, 0}, "zone '" + z.zone + "' is also defined in " + seen[lower], false});
      for (const std::string& k : z.update_keys)
        if (std::none_of(cfg.tsig_keys.begin(), cfg.tsig_keys.end(), [&](const TsigKey& t) { return t.name == k; }))
          diags.push_back({z.update_loc, "update key '" + k + "' is not in tsig_keys of " + path, false});
    }
  }
  std::vector<Diagnostic> errors;
  for (auto& d : diags) (d.warning ? cfg.warnings : errors).push_back(d);
  if (!errors.empty()) throw ConfigError(std::move(errors));
  return cfg;
}

}  // namespace dnsd
