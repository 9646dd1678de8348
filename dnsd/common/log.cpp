// Logging set-up (see log.hpp).
#include "log.hpp"

#include <spdlog/sinks/stdout_sinks.h>

namespace dnsd {

void init_logging() {
  auto logger = spdlog::stderr_logger_mt("dnsd");
  logger->set_pattern("%Y-%m-%dT%H:%M:%S.%e %l %v");
  spdlog::set_default_logger(logger);
  spdlog::flush_on(spdlog::level::info);
}

bool set_log_level(const std::string& level) {
  const auto parsed = spdlog::level::from_str(level);
  if (parsed == spdlog::level::off && level != "off") return false;
  spdlog::set_level(parsed);
  return true;
}

bool LogBudget::allow() {
  const std::time_t now = std::time(nullptr);
  if (now != second_) {
    if (suppressed_)
      spdlog::warn("{}: {} refusals not logged (at most {} lines a second)", what_, suppressed_, per_second_);
    second_ = now;
    used_ = suppressed_ = 0;
  }
  if (used_ < per_second_) return ++used_, true;
  ++suppressed_;
  return false;
}

}  // namespace dnsd
