// Durable state (see state_store.hpp). File: <state_dir>/serials, one "zone serial digest" a line.
#include "state_store.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "raii.hpp"

namespace dnsd {

namespace {
Error sys_error(const std::string& what, const std::string& path) {
  return io_error(path + ": " + what + ": " + std::strerror(errno));
}
}  // namespace

Result<void> write_file_durably(const std::string& path, const std::string& content, const std::string& keep_previous) {
  const std::string tmp = path + ".tmp";
  {
    Fd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
    if (!fd) return sys_error("cannot create", tmp);
    for (size_t done = 0; done < content.size();) {
      const ssize_t n = ::write(fd.get(), content.data() + done, content.size() - done);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return sys_error("cannot write", tmp);
      done += size_t(n);
    }
    if (::fsync(fd.get()) != 0) return sys_error("cannot fsync", tmp);
  }
  if (!keep_previous.empty() && ::access(path.c_str(), F_OK) == 0) {
    ::unlink(keep_previous.c_str());
    if (::link(path.c_str(), keep_previous.c_str()) != 0)
      return sys_error("cannot keep the previous version as " + keep_previous, path);
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) return sys_error("cannot rename to " + path, tmp);
  const std::string dir = std::filesystem::path(path).parent_path().string();
  Fd dfd(::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!dfd || ::fsync(dfd.get()) != 0) return sys_error("cannot fsync directory", dir);
  return {};
}

StateStore::StateStore(std::string dir, bool read_only) : dir_(std::move(dir)), read_only_(read_only) {
  std::error_code ec;
  if (!read_only_ && !std::filesystem::create_directories(dir_, ec) && ec)
    throw std::runtime_error(dir_ + ": cannot create state directory: " + ec.message());
  const std::string path = dir_ + "/serials";
  std::ifstream in(path);
  if (!in) {
    if (std::filesystem::exists(path)) throw std::runtime_error(path + ": cannot read");
    return;
  }
  std::string line;
  int line_no = 0;
  while (std::getline(in, line)) {
    ++line_no;
    std::istringstream fields(line);
    std::string zone;
    Entry e;
    if (!(fields >> zone >> e.serial >> e.digest)) {
      // A damaged line loses only that zone's history: the serial restarts from the clock.
      continue;
    }
    serials_[zone] = e;
  }
}

uint32_t StateStore::serial_for(const std::string& zone, uint64_t digest, uint32_t now) {
  auto it = serials_.find(zone);
  if (it != serials_.end() && it->second.digest == digest) return it->second.serial;
  const uint64_t previous = it == serials_.end() ? 0 : it->second.serial;
  const uint32_t serial = uint32_t(std::max<uint64_t>(previous + 1, now));
  if (read_only_) return serial;
  serials_[zone] = {serial, digest};
  if (deferred_) dirty_ = true;
  else save();
  return serial;
}

void StateStore::flush() {
  if (!dirty_ || read_only_) return;
  save();
  dirty_ = false;
}

void StateStore::save() const {
  std::string out;
  for (const auto& [zone, e] : serials_)
    out += zone + " " + std::to_string(e.serial) + " " + std::to_string(e.digest) + "\n";
  // Start-up and compile paths treat a serial that cannot be kept as fatal for that change.
  if (Result<void> written = write_file_durably(dir_ + "/serials", out); !written)
    throw std::runtime_error(written.error().message);
}

}  // namespace dnsd
