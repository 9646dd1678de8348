// systemd notifications (see service_manager.hpp).
#include "service_manager.hpp"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <optional>
#include <stdexcept>

#include "log.hpp"
#include "raii.hpp"

namespace dnsd {

namespace {

// A whole decimal number in an environment variable, or nullopt.
std::optional<uint64_t> env_number(const char* name) {
  const char* text = std::getenv(name);
  if (!text || !*text) return std::nullopt;
  uint64_t v = 0;
  const char* end = text + std::strlen(text);
  const auto [at, ec] = std::from_chars(text, end, v);
  if (ec != std::errc() || at != end) return std::nullopt;
  return v;
}

// sd_watchdog_enabled(3): WATCHDOG_USEC, unless WATCHDOG_PID names another process; 0 when off.
uint64_t watchdog_from_env() {
  if (std::getenv("WATCHDOG_PID")) {
    const std::optional<uint64_t> pid = env_number("WATCHDOG_PID");
    if (!pid || *pid != uint64_t(getpid())) return 0;
  }
  return env_number("WATCHDOG_USEC").value_or(0);
}

}  // namespace

int notify_service_manager(const std::string& state) {
  const char* socket_name = std::getenv("NOTIFY_SOCKET");
  if (!socket_name || !*socket_name) return 0;
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  const size_t len = std::strlen(socket_name);
  if ((socket_name[0] != '/' && socket_name[0] != '@') || len >= sizeof addr.sun_path) return -EAFNOSUPPORT;
  std::memcpy(addr.sun_path, socket_name, len);
  if (addr.sun_path[0] == '@') addr.sun_path[0] = '\0';  // an abstract name: exactly len bytes
  const Fd fd(socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (!fd) return -errno;
  if (sendto(fd.get(), state.data(), state.size(), MSG_NOSIGNAL, reinterpret_cast<const sockaddr*>(&addr),
             socklen_t(offsetof(sockaddr_un, sun_path) + len)) < 0)
    return -errno;
  return 1;
}

ServiceManager::ServiceManager(event_base* base) {
  const uint64_t usec = watchdog_from_env();
  if (usec == 0) return;
  watchdog_usec_ = usec;
  watchdog_.reset(event_new(base, -1, EV_PERSIST, &ServiceManager::on_watchdog, this));
  const uint64_t half = usec / 2;
  const timeval every{time_t(half / 1000000), suseconds_t(half % 1000000)};
  if (!watchdog_ || event_add(watchdog_.get(), &every) != 0) throw std::runtime_error("cannot create the watchdog timer");
}

void ServiceManager::send(const std::string& state) {
  // < 0: the socket named in NOTIFY_SOCKET is gone; systemd will notice on its own (a timeout).
  if (const int rc = notify_service_manager(state); rc < 0) spdlog::warn("systemd: cannot notify: {}", std::strerror(-rc));
}

void ServiceManager::ready(const std::string& status) { send("READY=1\nSTATUS=" + status); }

void ServiceManager::reloading() {
  timespec now{};
  clock_gettime(CLOCK_MONOTONIC, &now);
  const uint64_t usec = uint64_t(now.tv_sec) * 1000000 + uint64_t(now.tv_nsec) / 1000;
  send("RELOADING=1\nMONOTONIC_USEC=" + std::to_string(usec) + "\nSTATUS=reloading");
}

void ServiceManager::stopping() { send("STOPPING=1\nSTATUS=stopping"); }

void ServiceManager::status(const std::string& status) { send("STATUS=" + status); }

void ServiceManager::on_watchdog(evutil_socket_t, short, void* self) noexcept {
  static_cast<ServiceManager*>(self)->send("WATCHDOG=1");
}

}  // namespace dnsd
