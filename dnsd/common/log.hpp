// Logging: spdlog to stderr, one logger for the whole process. Called from main and the control
// thread; never from the per-packet path.
#pragma once

#include <spdlog/spdlog.h>

#include <string>

namespace dnsd {

void init_logging();
// Applies an spdlog level name (trace ... off); returns false for an unknown name.
bool set_log_level(const std::string& level);

}  // namespace dnsd
