// Durable state (see state_store.hpp). Files: <state_dir>/serials, one "zone serial digest" a line;
// <state_dir>/lock, the pid of the dnsd holding the directory.
#include "state_store.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <charconv>
#include <cstring>
#include <filesystem>
#include <stdexcept>

#include "hash.hpp"
#include "raii.hpp"

namespace dnsd {

Error sys_error(const std::string& what, const std::string& path) {
  const int err = errno;
  return {err == ENOSPC || err == EDQUOT ? ErrorKind::no_space : ErrorKind::io,
          path + ": " + what + ": " + std::strerror(err)};
}

namespace {
bool blank(char c) noexcept { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'; }
}  // namespace

std::string_view Words::rest_after_blanks() const noexcept {
  size_t i = 0;
  while (i < rest_.size() && blank(rest_[i])) ++i;
  return rest_.substr(i);
}

bool Words::at_end() const noexcept { return rest_after_blanks().empty(); }

std::string_view Words::next_word() noexcept {
  const std::string_view from = rest_after_blanks();
  size_t n = 0;
  while (n < from.size() && !blank(from[n])) ++n;
  rest_ = from.substr(n);
  return from.substr(0, n);
}

bool Words::next(std::string& out) {
  const std::string_view word = next_word();
  if (word.empty()) return false;
  out.assign(word);
  return true;
}

bool Words::next(uint64_t& out) {
  const std::string_view word = next_word();
  if (word.empty()) return false;
  uint64_t v = 0;
  const auto [end, ec] = std::from_chars(word.data(), word.data() + word.size(), v);
  if (ec != std::errc() || end != word.data() + word.size()) return false;
  out = v;
  return true;
}

bool next_line(std::string_view text, size_t& pos, std::string_view& line, bool& complete) noexcept {
  if (pos >= text.size()) return false;
  const size_t nl = text.find('\n', pos);
  complete = nl != std::string_view::npos;
  const size_t end = complete ? nl : text.size();
  line = text.substr(pos, end - pos);
  pos = complete ? nl + 1 : text.size();
  return true;
}

std::optional<std::string> read_whole_file(const std::string& path, std::string& text) {
  text.clear();
  const Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return std::string(std::strerror(errno));
  // Read straight into the string, sized once from the file's size (a 1 MB zone file grown by
  // doubling touched 2 MB, 460 page faults; a 64 KiB buffer on the stack stayed resident): one byte
  // more than the size, so that the first read() finds the end. A file that grows, or has no size
  // (a pipe), gets more room as it comes.
  struct stat st;
  const bool sized = ::fstat(fd.get(), &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0;
  text.resize(sized ? size_t(st.st_size) + 1 : 65536);
  size_t have = 0;
  for (;;) {
    if (have == text.size()) text.resize(text.size() * 2);
    const ssize_t n = ::read(fd.get(), text.data() + have, text.size() - have);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      text.clear();
      return std::string(std::strerror(errno));
    }
    if (n == 0) break;
    have += size_t(n);
  }
  text.resize(have);
  return std::nullopt;
}

Result<void> write_all(int fd, std::string_view content, const std::string& path) {
  for (size_t done = 0; done < content.size();) {
    const ssize_t n = ::write(fd, content.data() + done, content.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return sys_error("cannot write", path);
    done += size_t(n);
  }
  return {};
}

Result<void> sync_directory(const std::string& dir) {
  Fd dfd(::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!dfd || ::fsync(dfd.get()) != 0) return sys_error("cannot fsync directory", dir);
  return {};
}

Result<void> write_file_durably(const std::string& path, const std::string& content, const std::string& keep_previous) {
  const std::string tmp = path + ".tmp";
  // A failed write leaves nothing behind: a half-written temporary file would keep a full disk full.
  struct RemoveTemp {
    const std::string& tmp;
    bool armed = true;
    ~RemoveTemp() {
      if (armed) ::unlink(tmp.c_str());
    }
  } remove_temp{tmp};
  {
    Fd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
    if (!fd) return sys_error("cannot create", tmp);
    if (Result<void> written = write_all(fd.get(), content, tmp); !written) return written;
    if (::fsync(fd.get()) != 0) return sys_error("cannot fsync", tmp);
  }
  if (!keep_previous.empty() && ::access(path.c_str(), F_OK) == 0) {
    ::unlink(keep_previous.c_str());
    if (::link(path.c_str(), keep_previous.c_str()) != 0)
      return sys_error("cannot keep the previous version as " + keep_previous, path);
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) return sys_error("cannot rename to " + path, tmp);
  remove_temp.armed = false;
  return sync_directory(std::filesystem::path(path).parent_path().string());
}

bool serial_greater(uint32_t a, uint32_t b) noexcept {
  const uint32_t d = a - b;  // mod 2^32
  return d != 0 && d < 0x80000000u;
}

uint32_t next_serial(uint32_t previous, uint32_t now) noexcept {
  return serial_greater(now, previous) ? now : previous + 1;
}

namespace {
constexpr const char* serials_header = "dnsd-serials 1";
}  // namespace

// File: a header, "ZONE SERIAL DIGEST" lines, and "end COUNT CHECKSUM" (FNV-1a 64 of what precedes it).
// Files written before the header existed hold the lines alone.

StateStore::Parsed StateStore::parse(const std::string& text, const std::string& path) {
  Parsed out;
  std::string_view line;
  int line_no = 0;
  size_t pos = 0;
  bool complete = false, headed = false, ended = false;
  auto problem = [&](const std::string& what) { out.problems.push_back(path + ":" + std::to_string(line_no) + ": " + what); };
  while (next_line(text, pos, line, complete)) {
    ++line_no;
    const size_t start = size_t(line.data() - text.data());
    if (line_no == 1 && line == serials_header) {
      headed = true;
      continue;
    }
    Words fields(line);
    std::string zone;
    uint64_t serial = 0, digest = 0;
    if (headed && line.rfind("end ", 0) == 0) {
      Words end(line.substr(4));
      uint64_t count = 0;
      std::string sum;
      if (!end.next(count) || !end.next(sum) || count != out.serials.size() ||
          sum != fnv1a_hex(std::string_view(text).substr(0, start)) || !complete)
        problem("damaged end line");
      ended = true;
      continue;
    }
    if (ended || !fields.next(zone) || !fields.next(serial) || !fields.next(digest) || !fields.at_end() || serial > UINT32_MAX) {
      problem("damaged line");
      continue;
    }
    out.serials[zone] = {uint32_t(serial), digest};
  }
  if (headed && !ended) out.problems.push_back(path + ": truncated: no end line");
  return out;
}

Fd lock_state_dir(const std::string& dir) {
  const std::string path = dir + "/lock";
  Fd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644));
  if (!fd) throw std::runtime_error(path + ": cannot open: " + std::strerror(errno));
  if (::flock(fd.get(), LOCK_EX | LOCK_NB) != 0) {
    const int err = errno;
    char pid[32] = {};
    const ssize_t n = ::pread(fd.get(), pid, sizeof pid - 1, 0);
    std::string holder = n > 0 ? std::string(pid, size_t(n)) : "";
    while (!holder.empty() && (holder.back() == '\n' || holder.back() == ' ')) holder.pop_back();
    if (err == EWOULDBLOCK)
      throw std::runtime_error("state_dir " + dir + " is in use by another dnsd" + (holder.empty() ? "" : " (pid " + holder + ")") +
                               ": two instances cannot share one (give each its own state_dir)");
    throw std::runtime_error(path + ": cannot lock: " + std::strerror(err));
  }
  const std::string pid = std::to_string(::getpid()) + "\n";
  if (::ftruncate(fd.get(), 0) != 0 || ::pwrite(fd.get(), pid.data(), pid.size(), 0) != ssize_t(pid.size()))
    throw std::runtime_error(path + ": cannot write: " + std::strerror(errno));
  return fd;
}

StateStore::StateStore(std::string dir, bool read_only) : dir_(std::move(dir)), read_only_(read_only) {
  std::error_code ec;
  if (!read_only_ && !std::filesystem::create_directories(dir_, ec) && ec)
    throw std::runtime_error(dir_ + ": cannot create state directory: " + ec.message());
  const std::string path = dir_ + "/serials";
  if (!std::filesystem::exists(path)) return;
  std::string text;
  const std::optional<std::string> unread = read_whole_file(path, text);
  Parsed current = !unread ? parse(text, path) : Parsed{{}, {path + ": cannot read: " + *unread}};
  serials_ = current.serials;
  if (current.problems.empty()) return;
  // Damaged: what is left of it, the previous copy, and a bump beyond both for every zone (the lost
  // write may have bumped any of them once more). Never backwards.
  load_problems_ = current.problems;
  std::string prev_text;
  const bool prev_read = !read_whole_file(path + ".prev", prev_text);
  const Parsed prev = prev_read ? parse(prev_text, path + ".prev") : Parsed{};
  for (const auto& [zone, e] : prev.serials) {
    auto [it, fresh] = serials_.try_emplace(zone, e);
    if (!fresh && serial_greater(e.serial, it->second.serial)) it->second.serial = e.serial;
  }
  for (auto& [zone, e] : serials_) {
    e.serial += 1;  // a floor above the lost write's bump
    e.digest = 0;   // and a bump at the first compile
    if (!damage_floor_ || serial_greater(e.serial, *damage_floor_)) damage_floor_ = e.serial;
  }
  load_problems_.push_back("serials are kept above " + std::string(prev_read ? "this file and " + path + ".prev" : "what is left of it") +
                           "; a zone whose line was lost starts above the highest serial left");
}

uint32_t StateStore::serial_for(const std::string& zone, uint64_t digest, uint32_t now) {
  auto it = serials_.find(zone);
  if (it != serials_.end() && it->second.digest == digest) return it->second.serial;
  // A zone without history starts from the clock; after damage, above every serial that was left.
  const uint32_t serial = it != serials_.end() ? next_serial(it->second.serial, now)
                          : damage_floor_      ? next_serial(*damage_floor_, now)
                                               : now;
  if (read_only_) return serial;
  serials_[zone] = {serial, digest};
  dirty_ = true;
  if (!deferred_) flush();
  return serial;
}

void StateStore::flush() {
  if (!dirty_ || read_only_) return;
  save();
}

void StateStore::save() {
  std::string out = std::string(serials_header) + "\n";
  for (const auto& [zone, e] : serials_)
    out += zone + " " + std::to_string(e.serial) + " " + std::to_string(e.digest) + "\n";
  out += "end " + std::to_string(serials_.size()) + " " + fnv1a_hex(out) + "\n";
  const std::string path = dir_ + "/serials";
  if (Result<void> written = write_file_durably(path, out, path + ".prev"); !written) {
    write_error_ = written.error().message;  // kept in memory; the next change or flush tries again
    return;
  }
  write_error_.clear();
  dirty_ = false;
}

}  // namespace dnsd
