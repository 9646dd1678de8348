// Registered members and opened bootstrap gates: the live state the registration API changes, kept
// durable under state_dir. Control plane: control thread only.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "config.hpp"
#include "result.hpp"
#include "slot_index.hpp"

namespace dnsd {

class Words;  // state_store.hpp

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

struct RegistryChange;

// The registered members in order of first registration, with an index by (zone, cluster, member):
// finding one costs the same at 10 or 10,000 members (a registration looks its member up twice; a
// scan of every entry was an eighth of a registration's cost at 10,000). The index is a SlotIndex
// (16 bytes an entry, no key copies). Entries are read in place and changed through the methods
// below, which keep the index. A copy indexes itself when first searched (a registry copied to be
// saved whole is never searched), and so does this one after an erase (entries after it move).
class Registrations {
 public:
  Registrations() = default;
  Registrations(std::initializer_list<Registration> entries);
  Registrations(const Registrations& other) : all_(other.all_), stale_(true) {}
  Registrations& operator=(const Registrations& other);
  Registrations(Registrations&&) noexcept = default;
  Registrations& operator=(Registrations&&) noexcept = default;

  using const_iterator = std::vector<Registration>::const_iterator;
  const_iterator begin() const noexcept { return all_.begin(); }
  const_iterator end() const noexcept { return all_.end(); }
  auto rbegin() const noexcept { return all_.rbegin(); }
  auto rend() const noexcept { return all_.rend(); }
  size_t size() const noexcept { return all_.size(); }
  bool empty() const noexcept { return all_.empty(); }
  const Registration& operator[](size_t i) const noexcept { return all_[i]; }
  bool operator==(const Registrations& other) const { return all_ == other.all_; }
  bool operator==(const std::vector<Registration>& other) const { return all_ == other; }

  void push_back(Registration entry);
  // Entry i becomes `entry` (for the same member: a registration again).
  void replace(size_t i, Registration entry);
  void erase(size_t i);
  void clear() noexcept;
  // The member's entry (the first, should there be two), or null.
  const Registration* find(std::string_view zone, std::string_view cluster, std::string_view member) const;

 private:
  static uint64_t hash(std::string_view zone, std::string_view cluster, std::string_view member) noexcept;
  uint64_t hash_of(size_t i) const noexcept { return hash(all_[i].zone, all_[i].cluster, all_[i].member); }
  std::vector<Registration> all_;
  mutable SlotIndex index_;     // entries by hash(); equal members: the first is found first
  mutable bool stale_ = false;  // index_ is built again before the next find
};

class Registry {
 public:
  Registrations members;                                  // in order of first registration
  std::set<std::pair<std::string, std::string>> open_gates;  // (zone, cluster) whose gate opened
  // Records added by DNS UPDATE, by zone (absolute, lower case), as one-line presentation text.
  std::map<std::string, std::vector<std::string>> records;

  const Registration* find(const std::string& zone, const std::string& cluster, const std::string& member) const {
    return members.find(zone, cluster, member);
  }

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

  // Reads <dir>/registrations, then replays the change log (<dir>/registrations.log) on it. A damaged
  // file keeps its good lines (each problem reported); one that is not a registrations file at all,
  // or keeps nothing, gives way to the previous version (<dir>/registrations.prev). A damaged log
  // line is named and skipped; a last line cut short (a crash mid-write: never acknowledged) is
  // dropped with a warning in `cut_short`. Missing files are no problem. `log_lines` (optional): how
  // many changes the log held.
  static Registry load(const std::string& dir, std::vector<std::string>& problems,
                       std::vector<std::string>* cut_short = nullptr, size_t* log_lines = nullptr);
  // The whole registry, durably: temp file, fsync, the current file kept as .prev, rename, fsync of
  // the directory; read back, so that a 2xx is never sent for a file that would not load; then the
  // change log is emptied (it is in the file now). Called to compact the log.
  Result<void> save(const std::string& dir) const;
 private:
  static Registry load_file(const std::string& dir, std::vector<std::string>& problems);
 public:
  // Appends changes to the log in one write and fdatasync (creating it with an fsync of the
  // directory): what a registration costs on disk, whatever the number of members. A failed write is
  // cut off again, so the log never keeps a partial line that later lines would follow.
  static Result<void> append(const std::string& dir, const std::vector<RegistryChange>& changes);

  // Appends the registered members to their clusters (clusters with registration: true), marks
  // opened gates and gives each zone its UPDATE records. Registrations for clusters that are gone or
  // closed are skipped (unplaced() names them); entries whose origin() is in `set_aside` are left out.
  void apply(DaemonConfig& config, const std::set<std::string>* set_aside = nullptr) const;
  // The registrations apply() skips, as "ZONE CLUSTER MEMBER" (an unnamed cluster is "_").
  std::vector<std::string> unplaced(const DaemonConfig& config) const;

  // A registered member as its cluster serves it (what apply appends).
  static Member member_of(const Registration& registered);
  // Where an entry's records come from, as diagnostics name it (SourceLoc::file): a registered member,
  // or a record added by UPDATE. One entry, one origin.
  static std::string origin(const Registration& member);
  static std::string origin(const std::string& zone, const std::string& record);
  // Whether a diagnostic's file names a registry entry (live state, not the config).
  static bool is_origin(const std::string& file);
  // Whether it names a record added by DNS UPDATE (origin(zone, record)).
  static bool is_update_origin(const std::string& file);
};

// One change as the log keeps it (docs/ARCHITECTURE.md, "State"): a member put (added or replaced)
// or removed, or a gate opened. Each is idempotent, so replaying a log over a file that already holds
// it (a crash between compacting and emptying the log) changes nothing.
struct RegistryChange {
  enum class Kind { put, remove, gate, records };
  Kind kind = Kind::put;
  Registration member;  // put: the entry; remove: zone, cluster, member; gate: zone, cluster; records: zone
  std::vector<std::string> records = {};  // records: the zone's UPDATE records from now on (none: it has none)

  // The log line, with its own checksum, newline included.
  std::string line() const;
  // Reads a line (without its newline); an error names what is wrong.
  static Result<RegistryChange> parse(const std::string& line);
  void apply(Registry& registry) const;

 private:
  static Result<RegistryChange> parse_records(Words& f);
};

struct Registry::Parsed {
  Registry registry;
  std::vector<std::string> problems;
  bool whole = false;   // the end line, its count and checksum agree and every line was good
  bool is_registrations = false;  // the header says so
};

}  // namespace dnsd
