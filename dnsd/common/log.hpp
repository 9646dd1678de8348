// Logging: spdlog to stderr, one logger for the whole process. Called from main and the control
// thread; never from the per-packet path.
#pragma once

#include <spdlog/spdlog.h>

#include <ctime>
#include <string>

namespace dnsd {

void init_logging();
// Applies an spdlog level name (trace ... off); returns false for an unknown name.
bool set_log_level(const std::string& level);

// Refusals are logged, but a flood of hostile messages must not become a flood of log lines: at most
// `per_second` lines a second, and once a second a count of what was left out (the metrics count
// everything). One per kind of message; control thread only.
class LogBudget {
 public:
  LogBudget(const char* what, int per_second) : what_(what), per_second_(per_second) {}
  bool allow();

 private:
  const char* what_;  // "update", "transfer": names the summary line
  int per_second_;
  std::time_t second_ = 0;
  int used_ = 0, suppressed_ = 0;
};

}  // namespace dnsd
