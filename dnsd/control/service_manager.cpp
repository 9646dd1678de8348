// systemd notifications (see service_manager.hpp).
#include "service_manager.hpp"

#include <systemd/sd-daemon.h>

#include <cstring>
#include <ctime>
#include <stdexcept>

#include "log.hpp"

namespace dnsd {

ServiceManager::ServiceManager(event_base* base) {
  uint64_t usec = 0;
  if (sd_watchdog_enabled(0, &usec) <= 0 || usec == 0) return;
  watchdog_usec_ = usec;
  watchdog_.reset(event_new(base, -1, EV_PERSIST, &ServiceManager::on_watchdog, this));
  const uint64_t half = usec / 2;
  const timeval every{time_t(half / 1000000), suseconds_t(half % 1000000)};
  if (!watchdog_ || event_add(watchdog_.get(), &every) != 0) throw std::runtime_error("cannot create the watchdog timer");
}

void ServiceManager::send(const std::string& state) {
  // < 0: the socket named in NOTIFY_SOCKET is gone; systemd will notice on its own (a timeout).
  if (const int rc = sd_notify(0, state.c_str()); rc < 0) spdlog::warn("systemd: cannot notify: {}", std::strerror(-rc));
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
