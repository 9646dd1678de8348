// The control thread's coordinator (see control_loop.hpp).
#include "control_loop.hpp"

#include <csignal>
#include <stdexcept>

#include "config.hpp"
#include "log.hpp"

namespace dnsd {

ControlLoop::ControlLoop() : base_(event_base_new()) {
  if (!base_) throw std::runtime_error("cannot create the control event base");
}

bool ControlLoop::reload() {
  ++reloads_;
  if (reload_begins_) reload_begins_();
  bool applied = false;
  try {
    if (reload_) reload_();
    applied = true;
  } catch (const ConfigError& e) {
    for (const Diagnostic& d : e.diagnostics()) spdlog::error("control: reload failed, keeping the old zones: {}", to_string(d));
  } catch (const std::exception& e) {
    spdlog::error("control: reload failed, keeping the old zones: {}", e.what());
  }
  if (!applied) ++reload_failures_;
  if (reload_ends_) reload_ends_(applied);
  return applied;
}

void ControlLoop::install_signals() {
  for (int sig : {SIGHUP, SIGTERM, SIGINT}) {
    signals_.emplace_back(evsignal_new(base_.get(), sig, &ControlLoop::on_signal, this));
    if (!signals_.back() || event_add(signals_.back().get(), nullptr) != 0)
      throw std::runtime_error("cannot install signal handlers");
  }
  std::signal(SIGPIPE, SIG_IGN);
}

int ControlLoop::run() {
  event_base_loop(base_.get(), EVLOOP_NO_EXIT_ON_EMPTY);
  ready_ = false;
  return 0;
}

void ControlLoop::on_signal(evutil_socket_t sig, short, void* self) noexcept {
  auto* loop = static_cast<ControlLoop*>(self);
  if (sig == SIGHUP) {
    loop->reload();
    return;
  }
  spdlog::info("control: signal {} received, stopping", int(sig));
  event_base_loopbreak(loop->base_.get());
}

std::string ControlLoop::metrics() const {
  return "# HELP dnsd_config_reloads_total Reloads attempted (SIGHUP).\n# TYPE dnsd_config_reloads_total counter\n"
         "dnsd_config_reloads_total " + std::to_string(reloads_) + "\n"
         "# HELP dnsd_config_reload_failures_total Reloads rejected; the old zones kept serving.\n"
         "# TYPE dnsd_config_reload_failures_total counter\n"
         "dnsd_config_reload_failures_total " + std::to_string(reload_failures_) + "\n";
}

}  // namespace dnsd
