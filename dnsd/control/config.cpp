// YAML -> typed config (see config.hpp). Pass 1 (shape) walks key tables: unknown keys, missing
// required keys and wrong types. Pass 2 (meaning) checks values against each other. Every problem is
// collected with its file:line; loaders throw once at the end.
#include "config.hpp"

#include <arpa/inet.h>
#include <glob.h>
#include <openssl/evp.h>

#include <algorithm>
#include <atomic>
#include <bit>
#include <charconv>
#include <filesystem>
#include <map>
#include <mutex>
#include <set>

#include "config_reader.hpp"
#include "endpoint.hpp"
#include "names.hpp"
#include "state_store.hpp"

namespace dnsd {

std::string located(const Diagnostic& d) {
  std::string out = d.loc.file();
  if (d.loc.line > 0) out += ":" + std::to_string(d.loc.line);
  return out + ": " + d.message;
}

std::string to_string(const Diagnostic& d) {
  if (!d.warning) return located(d);
  Diagnostic shown = d;
  shown.message = "warning: " + d.message;
  return located(shown);
}

namespace {
std::string join_messages(const std::vector<Diagnostic>& diagnostics) {
  std::string out;
  for (const auto& d : diagnostics) out += (out.empty() ? "" : "\n") + to_string(d);
  return out;
}
}  // namespace

namespace {
std::vector<Diagnostic> each_once(std::vector<Diagnostic> in) {
  std::vector<Diagnostic> out;
  std::set<std::string> seen;
  for (Diagnostic& d : in)
    if (seen.insert(to_string(d)).second) out.push_back(std::move(d));
  return out;
}
}  // namespace

namespace {

// SourceLoc's names: numbered entries in chunks that never move (a name is read without a lock while
// another is added), chunk k holding 256 << k of them, a count each; a free entry's number is reused.
// Made once and never freed: a location in a static object may outlive any other static.
class SourceNames {
 public:
  uint32_t add(std::string file) {
    std::lock_guard lock(mutex_);
    uint32_t id;
    if (!free_.empty()) {
      id = free_.back();
      free_.pop_back();
    } else {
      id = next_;
      const uint32_t k = place(id).first;
      if (k >= max_chunks) throw std::length_error("too many source file names");
      if (!chunks_[k].load(std::memory_order_relaxed)) chunks_[k].store(new Entry[size_t(first_chunk) << k], std::memory_order_release);
      ++next_;
    }
    Entry& e = entry(id);
    e.text = std::move(file);
    e.refs.store(1, std::memory_order_relaxed);
    return id;
  }
  void hold(uint32_t id) noexcept { entry(id).refs.fetch_add(1, std::memory_order_relaxed); }
  void release(uint32_t id) noexcept {
    Entry& e = entry(id);
    if (e.refs.fetch_sub(1, std::memory_order_acq_rel) != 1) return;
    std::lock_guard lock(mutex_);
    std::string().swap(e.text);
    free_.push_back(id);
  }
  const std::string& name(uint32_t id) noexcept { return entry(id).text; }

 private:
  struct Entry {
    std::atomic<uint32_t> refs{0};
    std::string text;
  };
  static constexpr uint32_t first_chunk = 256, max_chunks = 24;
  // The chunk of an id, and where in it.
  static std::pair<uint32_t, uint32_t> place(uint32_t id) noexcept {
    const uint32_t k = uint32_t(std::bit_width(id / first_chunk + 1)) - 1;
    return {k, id - first_chunk * ((1u << k) - 1)};
  }
  Entry& entry(uint32_t id) noexcept {
    const auto [k, at] = place(id);
    return chunks_[k].load(std::memory_order_acquire)[at];
  }

  std::mutex mutex_;
  uint32_t next_ = 1;  // 0 is no file
  std::vector<uint32_t> free_;
  std::atomic<Entry*> chunks_[max_chunks] = {};
};

SourceNames& source_names() {
  static SourceNames* names = new SourceNames;  // never freed (above)
  return *names;
}

}  // namespace

uint32_t SourceLoc::add_name(std::string file) { return source_names().add(std::move(file)); }

void SourceLoc::hold_name(uint32_t id) noexcept {
  if (id) source_names().hold(id);
}

void SourceLoc::release_name(uint32_t id) noexcept {
  if (id) source_names().release(id);
}

const std::string& SourceLoc::file() const noexcept {
  static const std::string none;
  return id_ ? source_names().name(id_) : none;
}

ConfigError::ConfigError(std::vector<Diagnostic> diagnostics, std::shared_ptr<const DaemonConfig> partial)
    : ConfigError(Deduplicated{}, each_once(std::move(diagnostics)), std::move(partial)) {}

ConfigError::ConfigError(Deduplicated, std::vector<Diagnostic> once, std::shared_ptr<const DaemonConfig> partial)
    : std::runtime_error(join_messages(once)), diagnostics_(std::move(once)), partial_(std::move(partial)) {}

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

namespace {

// parse_host_port's work; `problem` says why it failed.
std::optional<HostPort> read_host_port(const std::string& text, std::string& problem) {
  HostPort hp;
  std::string port;
  const std::string form = "'" + text + "' must be ADDRESS:PORT or [IPV6]:PORT";
  if (!text.empty() && text[0] == '[') {
    const auto close = text.find(']');
    if (close == std::string::npos || close + 1 >= text.size() || text[close + 1] != ':') return problem = form, std::nullopt;
    hp.address = text.substr(1, close - 1);
    port = text.substr(close + 2);
    hp.v6 = true;
  } else {
    const auto colon = text.rfind(':');
    if (colon == std::string::npos) return problem = form, std::nullopt;
    if (text.find(':') != colon) return problem = form + " (an IPv6 address goes in brackets: [::1]:53)", std::nullopt;
    hp.address = text.substr(0, colon);
    port = text.substr(colon + 1);
  }
  unsigned char buf[16];
  if (inet_pton(hp.v6 ? AF_INET6 : AF_INET, hp.address.c_str(), buf) != 1)
    return problem = "'" + text + "': '" + hp.address + "' is not an IPv" + (hp.v6 ? "6" : "4") + " address", std::nullopt;
  unsigned long value = 0;
  auto [ptr, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (port.empty() || ec == std::errc::invalid_argument || ptr != port.data() + port.size())
    return problem = "'" + text + "': the port '" + port + "' is not a number", std::nullopt;
  if (ec != std::errc() || value > 65535)
    return problem = "'" + text + "': port " + port + " is out of range (0-65535)", std::nullopt;
  hp.port = uint16_t(value);
  return hp;
}

}  // namespace

std::optional<HostPort> parse_host_port(const std::string& text) {
  std::string problem;
  return read_host_port(text, problem);
}

std::string host_port_problem(const std::string& text) {
  std::string problem;
  read_host_port(text, problem);
  return problem;
}

const TsigKey* DaemonConfig::find_key(const std::string& name) const noexcept {
  for (const TsigKey& k : tsig_keys)
    if (k.name == name) return &k;
  return nullptr;
}

bool TransferRule::matches(const uint8_t* address, size_t len, const std::string* signed_with) const noexcept {
  if (len != network.size()) return false;
  for (size_t i = 0; i < len; ++i)
    if ((address[i] & prefix_byte_mask(prefix_len, i)) != network[i]) return false;
  return key.empty() ? signed_with == nullptr : signed_with && *signed_with == key;
}

std::string read_token_file(const std::string& path) {
  std::string t;
  if (read_whole_file(path, t)) throw std::runtime_error(path + ": cannot read the token file");
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

namespace {

// tsig_keys: [{name, algorithm, secret | secret_file}]. A secret file holds the base64 secret, or is a
// BIND key file (tsig-keygen's output) whose `secret "...";` is used.
std::vector<TsigKey> read_tsig_keys(ConfigReader& r, const YamlNode& list, const std::filesystem::path& dir) {
  std::vector<TsigKey> keys;
  if (!list.is_sequence()) {
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
    k.name = name_key(name);
    if (!name.empty() && !go_valid_hostname(k.name)) r.error(node["name"], "tsig key name '" + name + "' is not a valid domain name");
    if (!k.name.empty() && !names.insert(k.name).second) r.error(node["name"], "duplicate tsig key '" + name + "'");
    k.algorithm = r.string(node, "algorithm").value_or("");
    if (node["algorithm"] && k.algorithm != "hmac-sha256" && k.algorithm != "hmac-sha512")
      r.error(node["algorithm"], "algorithm must be hmac-sha256 or hmac-sha512, not '" + k.algorithm + "'");
    std::string text;
    const YamlNode at = node["secret"] ? node["secret"] : node["secret_file"];
    if (node["secret"] && node["secret_file"]) {
      r.error(node, "tsig key '" + name + "' has both secret and secret_file");
      continue;
    } else if (node["secret"]) {
      text = r.string(node, "secret").value_or("");
    } else if (auto f = r.string(node, "secret_file")) {
      const std::string path = (dir / *f).lexically_normal().string();
      if (read_whole_file(path, text)) {
        r.error(at, "secret_file '" + path + "' cannot be read");
        continue;
      }
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

DaemonConfig load_config(const std::string& given_path) {
  // Absolute, like the zone files' paths, so every diagnostic names a file the same way.
  const std::string path = std::filesystem::absolute(given_path).lexically_normal().string();
  std::vector<Diagnostic> diags;
  DaemonConfig cfg;
  cfg.file = path;
  const YamlNode root = load_yaml(path, diags);
  const bool loaded = diags.empty();  // a file that cannot be read or parsed has nothing more to say
  ConfigReader r(path, diags);
  if (loaded && root && r.check_keys(root, "daemon config", {{"listen", true}, {"zones", true}, {"state_dir", false},
                                                    {"control", false}, {"log", false}, {"workers", false},
                                                    {"tcp", false}, {"tsig_keys", false}, {"rrl", false},
                                                    {"cookies", false}})) {
    const std::filesystem::path dir = std::filesystem::absolute(path).parent_path();
    cfg.listen = r.strings(root, "listen").value_or(std::vector<std::string>{});
    for (size_t i = 0; i < cfg.listen.size(); ++i)
      if (!parse_host_port(cfg.listen[i]))
        r.error(root["listen"].is_sequence() ? root["listen"][i] : root["listen"],
                "listen " + host_port_problem(cfg.listen[i]));
    if (root["listen"] && cfg.listen.empty()) r.error(root["listen"], "listen must name at least one address");
    cfg.zone_globs = r.strings(root, "zones").value_or(std::vector<std::string>{});
    if (auto s = r.string(root, "state_dir")) cfg.state_dir = (dir / *s).lexically_normal().string();
    if (const YamlNode control = root["control"];
        control && r.check_keys(control, "control", {{"listen", true}, {"token_file", false}, {"tls", false},
                                                     {"max_connections", false}, {"max_connections_per_source", false},
                                                     {"request_timeout", false}})) {
      cfg.control_max_connections =
          uint32_t(r.integer(control, "max_connections", 1, 100000).value_or(cfg.control_max_connections));
      cfg.control_max_connections_per_source = uint32_t(
          r.integer(control, "max_connections_per_source", 1, 100000).value_or(cfg.control_max_connections_per_source));
      cfg.control_request_timeout_ms = r.duration_ms(control, "request_timeout", 100, 300000, "from 100ms to 5m, like 10s")
                                           .value_or(cfg.control_request_timeout_ms);
      if (const YamlNode tls = control["tls"];
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
        r.error(control["listen"], "control listen " + host_port_problem(*cfg.control_listen));
    }
    if (const YamlNode log = root["log"]; log && r.check_keys(log, "log", {{"level", false}})) {
      cfg.log_level = r.string(log, "level").value_or("info");
      static const std::set<std::string> levels = {"trace", "debug", "info", "warn", "error", "critical", "off"};
      if (!levels.count(cfg.log_level)) r.error(log["level"], "log level '" + cfg.log_level + "' is not one of trace, debug, info, warn, error, critical, off");
    }
    if (const YamlNode workers = root["workers"]; workers && workers.scalar() != "auto")
      cfg.workers = unsigned(r.integer(root, "workers", 1, 256, "or auto (one per usable core)").value_or(0));
    if (const YamlNode tcp = root["tcp"];
        tcp && r.check_keys(tcp, "tcp", {{"idle_timeout", false}, {"message_timeout", false}, {"max_connections", false},
                                        {"max_connections_per_source", false}, {"output_budget_mb", false}})) {
      cfg.tcp.message_timeout_ms =
          r.duration_ms(tcp, "message_timeout", 100, 120000, "from 100ms to 2m, like 5s").value_or(cfg.tcp.message_timeout_ms);
      cfg.tcp.output_budget_mb = uint32_t(r.integer(tcp, "output_budget_mb", 1, 4096).value_or(cfg.tcp.output_budget_mb));
      cfg.tcp.idle_timeout_ms =
          r.duration_ms(tcp, "idle_timeout", 1, 3600000, "from 1ms to 1h, like 10s").value_or(cfg.tcp.idle_timeout_ms);
      cfg.tcp.max_connections = uint32_t(r.integer(tcp, "max_connections", 1, 1000000).value_or(cfg.tcp.max_connections));
      cfg.tcp.max_connections_per_source =
          uint32_t(r.integer(tcp, "max_connections_per_source", 1, 1000000).value_or(cfg.tcp.max_connections_per_source));
    }
    if (const YamlNode rrl = root["rrl"];
        rrl && r.check_keys(rrl, "rrl", {{"responses_per_second", true}, {"slip", false}, {"ipv4_prefix", false},
                                        {"ipv6_prefix", false}})) {
      cfg.rrl.rate = uint32_t(r.integer(rrl, "responses_per_second", 1, 1000000).value_or(0));
      cfg.rrl.slip = uint32_t(r.integer(rrl, "slip", 0, 100).value_or(cfg.rrl.slip));
      cfg.rrl.ipv4_prefix = uint8_t(r.integer(rrl, "ipv4_prefix", 8, 32).value_or(cfg.rrl.ipv4_prefix));
      cfg.rrl.ipv6_prefix = uint8_t(r.integer(rrl, "ipv6_prefix", 16, 128).value_or(cfg.rrl.ipv6_prefix));
    }
    if (const YamlNode cookies = root["cookies"];
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
    if (const YamlNode keys = root["tsig_keys"]) cfg.tsig_keys = read_tsig_keys(r, keys, dir);
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
      const std::string lower = name_key(z.zone);
      if (!z.zone.empty() && !seen.emplace(lower, z.file).second)
        diags.push_back({{z.file, 0}, "zone '" + z.zone + "' is also defined in " + seen[lower], false});
      for (const std::string& k : z.update_keys)
        if (!cfg.find_key(k)) diags.push_back({z.update_loc, "update key '" + k + "' is not in tsig_keys of " + path, false});
      auto known = [&](const std::string& k) { return k.empty() || cfg.find_key(k); };  // empty: unsigned
      for (const TransferRule& rule : z.transfer_allow)
        if (!known(rule.key)) diags.push_back({rule.loc, "transfer key '" + rule.key + "' is not in tsig_keys of " + path, false});
      for (const RemoteServer& t : z.notify)
        if (!known(t.key)) diags.push_back({t.loc, "notify key '" + t.key + "' is not in tsig_keys of " + path, false});
      for (const std::string& forward : z.reverse_of)
        if (std::none_of(cfg.zones.begin(), cfg.zones.end(), [&](const ZoneConfig& o) { return name_key(o.zone) == forward; }))
          diags.push_back({z.reverse_loc, "reverse_of zone '" + forward + "' is not served here", false});
      for (const RemoteServer& p : z.primaries)
        if (!known(p.key)) diags.push_back({p.loc, "primary key '" + p.key + "' is not in tsig_keys of " + path, false});
    }
  }
  std::vector<Diagnostic> errors;
  for (auto& d : diags) (d.warning ? cfg.warnings : errors).push_back(d);
  if (!errors.empty()) throw ConfigError(std::move(errors), std::make_shared<const DaemonConfig>(std::move(cfg)));
  return cfg;
}

const char* gate_state(const Cluster& c) noexcept {
  if (c.expected_size == 0) return "none";
  return c.gate_open || c.members.size() >= c.expected_size ? "open" : "closed";
}

}  // namespace dnsd
