// The control thread's coordinator: its event base, the signals (SIGHUP reloads, SIGTERM and SIGINT
// stop), readiness, and the reload counters. What a reload does is wired in by main; the services
// (zone state, health, registrations, UPDATE, the HTTP routes) run on this base. Short by design: a
// new service plugs into the zone state's listeners and the router, not into this class.
// Control plane: the main thread, which becomes the control thread in run().
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "raii.hpp"

namespace dnsd {

class ControlLoop {
 public:
  ControlLoop();  // throws std::runtime_error when libevent cannot make a base
  ControlLoop(const ControlLoop&) = delete;
  ControlLoop& operator=(const ControlLoop&) = delete;

  event_base* base() const noexcept { return base_.get(); }
  // What SIGHUP does. It throws ConfigError or another exception to refuse the new config: that is
  // logged and counted, and whatever it had not yet replaced keeps serving.
  void on_reload(std::function<void()> reload) { reload_ = std::move(reload); }
  // Told before each reload, and after it whether it was applied (systemd's RELOADING and READY).
  void around_reload(std::function<void()> begins, std::function<void(bool applied)> ends) {
    reload_begins_ = std::move(begins);
    reload_ends_ = std::move(ends);
  }
  // Runs the reload now (SIGHUP calls this). Returns false when it was refused.
  bool reload();
  // SIGHUP, SIGTERM and SIGINT from now on; SIGPIPE ignored (a client gone mid-reply is an error, not death).
  void install_signals();
  // Serves until SIGTERM or SIGINT; returns the process exit code.
  int run();

  bool ready() const noexcept { return ready_; }
  void set_ready(bool ready) noexcept { ready_ = ready; }
  std::string metrics() const;

 private:
  static void on_signal(evutil_socket_t sig, short, void* self) noexcept;

  EventBasePtr base_;
  std::vector<EventPtr> signals_;
  std::function<void()> reload_;
  std::function<void()> reload_begins_;
  std::function<void(bool applied)> reload_ends_;
  bool ready_ = false;
  uint64_t reloads_ = 0;
  uint64_t reload_failures_ = 0;
};

}  // namespace dnsd
