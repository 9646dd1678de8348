// Registered members and opened bootstrap gates: the live state the registration API changes, kept
// durable under state_dir. Control plane: control thread only.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "config.hpp"
#include "result.hpp"

namespace dnsd {

struct Registration {
  std::string zone;     // absolute, lower case
  std::string cluster;  // "" for the unnamed cluster
  std::string member;
  std::string host;     // absolute, spelled as registered
  std::vector<std::string> addresses;
  std::optional<uint16_t> peer_port;
  std::optional<uint16_t> client_port;
  bool operator==(const Registration&) const = default;
};

class Registry {
 public:
  std::vector<Registration> members;                      // in order of first registration
  std::set<std::pair<std::string, std::string>> open_gates;  // (zone, cluster) whose gate opened
  // Records added by DNS UPDATE, by zone (absolute, lower case), as one-line presentation text.
  std::map<std::string, std::vector<std::string>> records;

  Registration* find(const std::string& zone, const std::string& cluster, const std::string& member);

  // Text form: a header, one line per member, open gate or UPDATE record, and a trailer with the count
  // and a checksum, so that a truncated or damaged file is recognised as such.
  std::string serialize() const;
  // Whether every entry can be written and read back as it is: single-token fields of printable
  // characters (no space, control character or NUL), one-line records. A write refuses anything else.
  Result<void> storable() const;

  struct Parsed;
  // Reads a registrations file, keeping every good line: `problems` names each bad line as
  // PATH:LINE, and a missing or wrong end line or checksum; `whole` is true when there are none.
  static Parsed parse(const std::string& text, const std::string& path);

  // Reads <dir>/registrations. A damaged file keeps its good lines (each problem reported); one that
  // is not a registrations file at all, or keeps nothing, gives way to the previous version
  // (<dir>/registrations.prev). A missing file is no problem.
  static Registry load(const std::string& dir, std::vector<std::string>& problems);
  // Durable: temp file, fsync, the current file kept as .prev, rename, fsync of the directory; then
  // read back, so that a 2xx is never sent for a file that would not load.
  Result<void> save(const std::string& dir) const;

  // Appends the registered members to their clusters (clusters with registration: true), marks
  // opened gates and gives each zone its UPDATE records. Registrations for clusters that are gone or
  // closed are skipped and named in `skipped`; entries whose origin() is in `set_aside` are left out.
  void apply(DaemonConfig& config, std::vector<std::string>* skipped = nullptr,
             const std::set<std::string>* set_aside = nullptr) const;

  // Where an entry's records come from, as diagnostics name it (SourceLoc::file): a registered member,
  // or a record added by UPDATE. One entry, one origin.
  static std::string origin(const Registration& member);
  static std::string origin(const std::string& zone, const std::string& record);
  // Whether a diagnostic's file names a registry entry (live state, not the config).
  static bool is_origin(const std::string& file);
};

struct Registry::Parsed {
  Registry registry;
  std::vector<std::string> problems;
  bool whole = false;   // the end line, its count and checksum agree and every line was good
  bool is_registrations = false;  // the header says so
};

}  // namespace dnsd
