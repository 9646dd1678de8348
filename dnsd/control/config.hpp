// The typed daemon and zone configuration, read from YAML through key tables with file:line diagnostics.
// Control plane: called on the control thread at start, on SIGHUP and by `dnsd check`.
#pragma once

#include <algorithm>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "boxed.hpp"
#include "rrl.hpp"

namespace dnsd {

// Where a value or record comes from: a file (or a registry origin, Registry::origin) and a line. The
// name is shared by every copy: a zone of 10,000 members holds tens of thousands of locations, and a
// string each cost ~80 bytes of them (docs/ARCHITECTURE.md, "Start-up"). Names are numbered in a
// table of the process's (a count each, reused once free): 8 bytes a location, where a pointer to a
// counted name made 16 (every record and member has one).
class SourceLoc {
 public:
  SourceLoc() = default;
  SourceLoc(std::string file, int at = 0) : id_(add_name(std::move(file))), line(at) {}
  SourceLoc(const SourceLoc& other) noexcept : id_(other.id_), line(other.line) { hold_name(id_); }
  SourceLoc(SourceLoc&& other) noexcept : id_(std::exchange(other.id_, 0)), line(other.line) {}
  SourceLoc& operator=(SourceLoc other) noexcept {
    std::swap(id_, other.id_);
    line = other.line;
    return *this;
  }
  ~SourceLoc() { release_name(id_); }
  // The same file at another line (the copy shares the name).
  SourceLoc at(int other_line) const {
    SourceLoc out(*this);
    out.line = other_line;
    return out;
  }
  const std::string& file() const noexcept;

 private:
  // The table (config.cpp); id 0 is no file.
  static uint32_t add_name(std::string file);
  static void hold_name(uint32_t id) noexcept;
  static void release_name(uint32_t id) noexcept;
  uint32_t id_ = 0;

 public:
  int line = 0;  // 1-based; 0 = the file as a whole
};

struct Diagnostic {
  SourceLoc loc;
  std::string message;
  bool warning = false;
};
std::string to_string(const Diagnostic& d);  // "file:line: message" (warnings say "warning: ")
std::string located(const Diagnostic& d);    // "file:line: message" alone: for a log line whose level says which

// Thrown by the loaders with every error found (all collected, never just the first).
struct DaemonConfig;

// Every problem found, each once (two records on one line can hit the same rule). `partial` is what
// load_config could read despite them: the zones' own build problems are looked for in it.
class ConfigError : public std::runtime_error {
 public:
  explicit ConfigError(std::vector<Diagnostic> diagnostics, std::shared_ptr<const DaemonConfig> partial = nullptr);
  const std::vector<Diagnostic>& diagnostics() const noexcept { return diagnostics_; }
  const std::shared_ptr<const DaemonConfig>& partial() const noexcept { return partial_; }

 private:
  struct Deduplicated {};
  ConfigError(Deduplicated, std::vector<Diagnostic> once, std::shared_ptr<const DaemonConfig> partial);
  std::vector<Diagnostic> diagnostics_;
  std::shared_ptr<const DaemonConfig> partial_;
};

// A member's addresses (IPv4 and IPv6 text, as configured or registered) in one string, a ','
// between each and the next: an IPv4 address fits in the string's own 15 bytes, where a vector of
// strings took an allocation and 72 bytes a member (10,000 members: 0.4 MB of the config kept). An
// empty address is not held (none is valid: the config and the registration API refuse it).
class AddressList {
 public:
  AddressList() = default;
  AddressList(const std::vector<std::string>& addresses) {  // implicit: a registration's list converts
    for (const std::string& a : addresses) push_back(a);
  }
  AddressList(std::initializer_list<std::string_view> addresses) {
    for (std::string_view a : addresses) push_back(a);
  }
  void push_back(std::string_view address) {
    if (address.empty()) return;
    if (!text_.empty()) text_ += ',';
    text_ += address;
  }
  bool empty() const noexcept { return text_.empty(); }
  size_t size() const noexcept {
    return text_.empty() ? 0 : size_t(std::count(text_.begin(), text_.end(), ',')) + 1;
  }
  std::string_view front() const noexcept { return *begin(); }  // the first address, "" when none
  bool operator==(const AddressList&) const = default;

  class Iterator {
   public:
    explicit Iterator(std::string_view rest) noexcept : rest_(rest) {}
    std::string_view operator*() const noexcept { return rest_.substr(0, rest_.find(',')); }
    Iterator& operator++() noexcept {
      const size_t comma = rest_.find(',');
      rest_ = rest_.substr(comma == std::string_view::npos ? rest_.size() : comma + 1);
      return *this;
    }
    bool operator!=(const Iterator& o) const noexcept { return rest_.data() != o.rest_.data(); }

   private:
    std::string_view rest_;
  };
  Iterator begin() const noexcept { return Iterator(text_); }
  Iterator end() const noexcept { return Iterator(std::string_view(text_).substr(text_.size())); }

 private:
  std::string text_;
};

struct Member {
  std::string name;
  std::string host;  // absolute, with trailing dot, spelled as configured
  AddressList addresses;
  std::optional<uint16_t> peer_port;
  std::optional<uint16_t> client_port;
  SourceLoc loc;
  SourceLoc host_loc;
};

// Per-cluster health probes of the members' client URLs (absent: no probes, every member counts).
struct HealthOptions {
  std::string scheme;  // "http" or "https"; default from client_tls
  std::string path = "/health";
  uint32_t interval_ms = 2000;
  uint32_t timeout_ms = 1000;
  uint32_t rise = 2;
  uint32_t fall = 3;
  std::string ca_file;    // empty: the system's trust store
  std::string cert_file;  // client certificate, for etcd --client-cert-auth
  std::string key_file;
  std::string server_name;  // certificate name to verify; default: the member's host
  bool verify = true;       // false: accept any server certificate (not recommended)
  bool fail_closed = false;
  SourceLoc loc;
};

struct Cluster {
  std::string name;  // empty: no -NAME suffix
  bool peer_tls = true;
  bool client_tls = false;
  uint16_t peer_port = 2380;
  uint16_t client_port = 2379;
  uint16_t priority = 0;
  uint16_t weight = 0;
  bool registration = false;
  uint32_t expected_size = 0;            // bootstrap gate: 0 = none
  uint32_t gate_negative_ttl = 1;        // seconds: NXDOMAIN TTL of the server names while gated
  Boxed<HealthOptions> health;  // on the heap: most clusters have none (boxed.hpp)
  std::vector<Member> members;  // static ones from the file; registered ones appended at run time
  size_t static_members = 0;    // how many of `members` come from the file
  bool gate_open = false;       // run time: the gate opened once (durable, never closes again)
  SourceLoc loc;
};

// The bootstrap gate as the API and the status show it: "none" (no expected_size), "closed" (fewer
// members than expected, never opened) or "open". A cluster has formed unless it is "closed".
const char* gate_state(const Cluster& c) noexcept;

struct Soa {
  std::string mname;
  std::string rname;
  uint32_t refresh = 3600;
  uint32_t retry = 600;
  uint32_t expire = 86400;
  uint32_t minimum = 30;
};

// "127.0.0.1:1053" or "[::1]:1053" -> address and port; nullopt when malformed.
struct ZoneCopy;  // zone_copy.hpp

struct HostPort {
  std::string address;
  uint16_t port = 0;
  bool v6 = false;
};
std::optional<HostPort> parse_host_port(const std::string& text);
// Why parse_host_port refuses `text`, for a diagnostic: "'TEXT': port 99999 is out of range (0-65535)".
std::string host_port_problem(const std::string& text);

// transfer.allow: who may AXFR/IXFR a zone (docs/ARCHITECTURE.md, "Zone transfers"). A rule matches
// when the source is inside `network`/`prefix_len` and the request is signed with `key` (a rule
// without a key: unsigned requests only).
struct TransferRule {
  std::vector<uint8_t> network;  // 4 or 16 address bytes, host bits zero
  unsigned prefix_len = 0;
  std::string key;  // absolute, lower case; empty = unsigned
  SourceLoc loc;
  bool matches(const uint8_t* address, size_t len, const std::string* signed_with) const noexcept;
};

// Another name server: a transfer.notify target (told of every new serial, RFC 1996; NOTIFYs signed
// with `key` when it is set) or one of a secondary zone's primaries (SOA queries and transfers signed
// with `key`; NOTIFYs from it accepted only when signed with it).
struct RemoteServer {
  HostPort address;
  std::string key;
  SourceLoc loc;
};

struct ZoneConfig {
  std::string file;
  std::string zone;  // absolute, with trailing dot
  uint32_t ttl = 30;
  Soa soa;
  std::vector<std::string> ns;
  std::string records;
  int records_first_line = 0;  // file line of the first line of `records:`
  std::vector<Cluster> clusters;
  // update: {keys: [...]}: the TSIG keys whose signed DNS UPDATEs may change the zone (absolute, lower
  // case); empty: UPDATE is refused.
  std::vector<std::string> update_keys;
  SourceLoc update_loc;
  std::vector<TransferRule> transfer_allow;  // empty: every transfer is REFUSED
  std::vector<RemoteServer> notify;
  // reverse_of: a reverse zone (in-addr.arpa, ip6.arpa) that serves a PTR for every member address
  // (configured or registered) of these zones that falls inside it (absolute, lower case).
  std::vector<std::string> reverse_of;
  SourceLoc reverse_loc;
  // A secondary zone: its content is transferred from these (tried in order); it has no soa, ns,
  // records, clusters or update of its own (docs/ARCHITECTURE.md, "Secondary zones").
  std::vector<RemoteServer> primaries;
  bool secondary() const noexcept { return !primaries.empty(); }
  // Run time, secondary zones: the copy last transferred (null: none yet; the zone answers SERVFAIL)
  // and whether it expired (SOA expire passed without a successful check: SERVFAIL too).
  std::shared_ptr<const ZoneCopy> copy;
  bool expired = false;
  // Run time: records added by DNS UPDATE, as presentation text (applied from the registry).
  std::vector<std::string> dynamic_records;
  SourceLoc loc;
};

// tsig_keys in dnsd.yaml (RFC 8945). Key names compare as domain names.
struct TsigKey {
  std::string name;       // absolute, lower case
  std::string algorithm;  // "hmac-sha256" or "hmac-sha512"
  std::string secret;     // the decoded key bytes
  SourceLoc loc;
};

struct TcpOptions {
  uint32_t idle_timeout_ms = 10000;     // RFC 7766 §6.2.3: servers close idle connections
  uint32_t message_timeout_ms = 5000;   // a message's first byte to its last (a trickle cannot hold on)
  uint32_t output_budget_mb = 32;       // per worker: replies queued for clients that do not read
  uint32_t max_connections = 1000;      // per worker
  uint32_t max_connections_per_source = 100;  // per worker and client address
};

struct DaemonConfig {
  std::string file;
  std::vector<std::string> listen;  // "ADDR:PORT", "[V6]:PORT"
  std::vector<std::string> zone_globs;
  std::string state_dir = "/var/lib/dnsd";
  std::optional<std::string> control_listen;
  std::string token_file;  // control.token_file: bearer token of the write API; empty = write API off
  struct ControlTls {
    std::string cert_file;
    std::string key_file;
    std::string client_ca_file;  // set: every client must present a certificate signed by it
  };
  std::optional<ControlTls> control_tls;
  // What clients may hold of the control endpoint (docs/ARCHITECTURE.md, "Limits").
  uint32_t control_max_connections = 512;
  uint32_t control_max_connections_per_source = 16;
  uint32_t control_request_timeout_ms = 10000;  // accept to the end of the request
  std::string log_level = "info";
  unsigned workers = 0;  // 0 = one per core
  TcpOptions tcp;
  RrlOptions rrl;  // rrl: response rate limiting; absent = off
  bool cookies = true;        // cookies.enabled: DNS cookies (RFC 7873) on replies
  std::string cookie_secret;  // cookies.secret, 16 bytes; empty: the daemon picks a random one at start
  std::vector<TsigKey> tsig_keys;
  std::vector<ZoneConfig> zones;
  std::vector<Diagnostic> warnings;

  // The key of tsig_keys with this name (absolute, lower case), or null.
  const TsigKey* find_key(const std::string& name) const noexcept;
};

// Loads conf/dnsd.yaml and every zone file its globs name (relative to the config's directory).
// Throws ConfigError with every problem found; warnings come back in DaemonConfig::warnings.
DaemonConfig load_config(const std::string& path);

// Loads one zone file (exposed for tests).
ZoneConfig load_zone_file(const std::string& path, std::vector<Diagnostic>& diagnostics);

// Durations: an integer with a unit (ms, s, m, h); a bare integer means seconds.
std::optional<uint64_t> parse_duration_ms(const std::string& text);


// The content of a token file with surrounding white space trimmed. Throws std::runtime_error naming
// the file when it cannot be read or holds nothing.
std::string read_token_file(const std::string& path);

// RFC 4648 base64 (white space ignored) -> bytes; nullopt when it is not base64.
std::optional<std::string> decode_base64(const std::string& text);

}  // namespace dnsd
