// Durable live state under state_dir: for now the SOA serial and record digest of every zone.
// Control plane: control thread only. Writes are write-temp, fsync, rename, fsync-dir.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "raii.hpp"
#include "result.hpp"

namespace dnsd {

// RFC 1982 serial arithmetic: whether a is greater than b (a - b, mod 2^32, is between 1 and 2^31 - 1).
bool serial_greater(uint32_t a, uint32_t b) noexcept;
// The serial after `previous` for a change made at `now` (UNIX seconds): now when that is greater in
// serial arithmetic, else previous + 1 (mod 2^32). Never equal to previous, never behind it.
uint32_t next_serial(uint32_t previous, uint32_t now) noexcept;

class StateStore {
 public:
  // Opens (and creates) dir. read_only: never writes (for `dnsd check`). Throws std::runtime_error
  // naming the path when the directory cannot be created. A damaged `serials` file is not fatal: the
  // previous copy (`serials.prev`) and what is left of it give each zone a floor its next serial
  // stays above, and load_problems() names the damage.
  StateStore(std::string dir, bool read_only);

  // The serial a zone must carry: unchanged while its records are; otherwise next_serial(previous,
  // now) (docs/ARCHITECTURE.md, "State"), written before it is returned so that it never goes
  // backwards across restarts. Serving never depends on writing: when the write fails, the serial is
  // kept in memory, write_error() says why, and every later change or flush() tries again.
  uint32_t serial_for(const std::string& zone, uint64_t digest, uint32_t now);

  const std::string& dir() const noexcept { return dir_; }
  const std::vector<std::string>& load_problems() const noexcept { return load_problems_; }
  const std::string& write_error() const noexcept { return write_error_; }  // "" when the last write worked

  // Deferred mode: serial_for() changes only memory and flush() writes. Health flips publish first
  // and persist right after, so that answers change within a millisecond of the probe result (an
  // fsync alone takes about that long); a crash in between loses at most that one bump, and the
  // serial after a restart is still max(persisted + 1, now).
  void set_deferred(bool deferred) noexcept { deferred_ = deferred; }
  void flush();

  struct Entry {
    uint32_t serial = 0;
    uint64_t digest = 0;
  };
  struct Parsed {
    std::map<std::string, Entry> serials;
    std::vector<std::string> problems;  // empty: whole
  };
  // Reads a serials file (this format or the older one without header and trailer); damage is named
  // in `problems`, never thrown. Exposed for the fuzz target.
  static Parsed parse(const std::string& text, const std::string& path);

 private:
  void save();

  std::string dir_;
  bool read_only_;
  bool deferred_ = false;
  bool dirty_ = false;
  std::map<std::string, Entry> serials_;
  std::vector<std::string> load_problems_;
  std::optional<uint32_t> damage_floor_;  // after a damaged load: the highest serial left
  std::string write_error_;
};

// Locks state_dir for this process (an exclusive flock on DIR/lock, which holds our pid): a second
// dnsd on the same directory would overwrite the registry and serials under the first one. Throws
// std::runtime_error naming the directory (and the holder's pid) when another process holds it. The
// lock lasts as long as the returned descriptor (the kernel drops it when the process dies).
Fd lock_state_dir(const std::string& dir);

// Writes `content` to `path` atomically and durably: temp file, fsync, rename, fsync of the directory.
// With keep_previous, the file being replaced stays available under that name (a hard link). An io
// error names the path and the system's reason.
Result<void> write_file_durably(const std::string& path, const std::string& content, const std::string& keep_previous = "");
// errno after a failed call on `path` as an Error: no_space for ENOSPC and EDQUOT, io otherwise.
Error sys_error(const std::string& what, const std::string& path);
// All of `content` to `fd` (a file at `path`, named in the error), through short writes and EINTR.
Result<void> write_all(int fd, std::string_view content, const std::string& path);
// fsync of a directory ("" is the current one): a file created or renamed in it is durable.
Result<void> sync_directory(const std::string& dir);
// The words of a line of a state file, read as `stream >> word` reads them (blanks between them:
// space, tab, CR, LF, VT, FF), without a stream: a stream's first use sets up the C++ locale, 0.4 MB
// resident for the process's life (docs/ARCHITECTURE.md, "Start-up").
class Words {
 public:
  explicit Words(std::string_view line) noexcept : rest_(line) {}
  // The next word into `out`; false (out unchanged) when there is none.
  bool next(std::string& out);
  // The next word as an unsigned decimal number; false when there is none or it is not one (the
  // word is read either way).
  bool next(uint64_t& out);
  bool at_end() const noexcept;  // no word left
  // What follows the words read (getline's rest: its blanks kept), and the same without them.
  std::string_view rest() const noexcept { return rest_; }
  std::string_view rest_after_blanks() const noexcept;

 private:
  std::string_view next_word() noexcept;  // "" when there is none
  std::string_view rest_;
};

// The next line of `text` from `pos` (which moves past it) without its newline; `complete` says
// whether a newline ended it (a last line without one was cut short). False at the end.
bool next_line(std::string_view text, size_t& pos, std::string_view& line, bool& complete) noexcept;

// Reads all of `path` into `text` (replacing it), through short reads and EINTR. Returns nullopt once
// read, else why not in the system's words (strerror): callers add the path as their messages need.
[[nodiscard]] std::optional<std::string> read_whole_file(const std::string& path, std::string& text);

}  // namespace dnsd
