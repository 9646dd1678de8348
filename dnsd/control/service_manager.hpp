// systemd's notification protocol for Type=notify (sd_notify(3), written here: libsystemd and the
// six libraries it loads held 1 MB of dnsd's memory for one datagram): READY=1 once
// every listener is bound and the zones are published, RELOADING=1 with MONOTONIC_USEC around each
// SIGHUP reload and READY=1 after it, STATUS= lines, STOPPING=1, and WATCHDOG=1 from the control
// thread's loop every half WatchdogSec when the unit sets it (a control thread that hangs stops the
// pings and systemd restarts dnsd). Without NOTIFY_SOCKET every call does nothing. Control thread only.
#pragma once

#include <event2/event.h>

#include <cstdint>
#include <string>

#include "raii.hpp"

namespace dnsd {

// sd_notify(3): `state` in one datagram to the AF_UNIX socket NOTIFY_SOCKET names (a path, or after
// '@' an abstract name). 0 without NOTIFY_SOCKET, 1 once sent, -errno when it cannot be sent.
int notify_service_manager(const std::string& state);

class ServiceManager {
 public:
  explicit ServiceManager(event_base* base);
  ServiceManager(const ServiceManager&) = delete;
  ServiceManager& operator=(const ServiceManager&) = delete;

  void ready(const std::string& status);
  void reloading();
  void stopping();
  void status(const std::string& status);
  uint64_t watchdog_usec() const noexcept { return watchdog_usec_; }

 private:
  static void on_watchdog(evutil_socket_t, short, void* self) noexcept;
  void send(const std::string& state);

  uint64_t watchdog_usec_ = 0;  // 0: no watchdog
  EventPtr watchdog_;
};

}  // namespace dnsd
