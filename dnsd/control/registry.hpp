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

  // Text form: a header, one line per member or open gate, and a trailer with the count and a
  // checksum, so that a truncated or damaged file is recognised as such.
  std::string serialize() const;
  // Throws std::runtime_error("PATH:LINE: what is wrong").
  static Registry parse(const std::string& text, const std::string& path);

  // Reads <dir>/registrations; when it is damaged, reports why in `problems` and falls back to the
  // previous version (<dir>/registrations.prev); with neither, starts empty. A missing file is no problem.
  static Registry load(const std::string& dir, std::vector<std::string>& problems);
  // Durable: temp file, fsync, the current file kept as .prev, rename, fsync of the directory.
  Result<void> save(const std::string& dir) const;

  // Appends the registered members to their clusters (clusters with registration: true), marks
  // opened gates and gives each zone its UPDATE records. Registrations for clusters that are gone or closed are skipped and named in `skipped`.
  void apply(DaemonConfig& config, std::vector<std::string>* skipped = nullptr) const;
};

}  // namespace dnsd
