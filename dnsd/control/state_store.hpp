// Durable live state under state_dir: for now the SOA serial and record digest of every zone.
// Control plane: control thread only. Writes are write-temp, fsync, rename, fsync-dir.
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "result.hpp"

namespace dnsd {

class StateStore {
 public:
  // Opens (and creates) dir. read_only: never writes (for `dnsd check`). Throws std::runtime_error
  // naming the path when the directory cannot be created or the state file cannot be read.
  StateStore(std::string dir, bool read_only);

  // The serial a zone must carry: unchanged while its records are; otherwise max(previous + 1, now)
  // (docs/ARCHITECTURE.md, "State"), persisted before it is returned so it never goes backwards across restarts.
  uint32_t serial_for(const std::string& zone, uint64_t digest, uint32_t now);

  const std::string& dir() const noexcept { return dir_; }

  // Deferred mode: serial_for() changes only memory and flush() writes. Health flips publish first
  // and persist right after, so that answers change within a millisecond of the probe result (an
  // fsync alone takes about that long); a crash in between loses at most that one bump, and the
  // serial after a restart is still max(persisted + 1, now).
  void set_deferred(bool deferred) noexcept { deferred_ = deferred; }
  void flush();

 private:
  struct Entry {
    uint32_t serial = 0;
    uint64_t digest = 0;
  };
  void save() const;

  std::string dir_;
  bool read_only_;
  bool deferred_ = false;
  bool dirty_ = false;
  std::map<std::string, Entry> serials_;
};

// Writes `content` to `path` atomically and durably: temp file, fsync, rename, fsync of the directory.
// With keep_previous, the file being replaced stays available under that name (a hard link). An io
// error names the path and the system's reason.
Result<void> write_file_durably(const std::string& path, const std::string& content, const std::string& keep_previous = "");

}  // namespace dnsd
