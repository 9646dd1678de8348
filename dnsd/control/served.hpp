// What is served: the config merged with the live state (registrations, opened gates, UPDATE records).
// Live state never stops a start or a reload: an entry the config now conflicts with (a host that
// `records:` took, a record a new child zone covers, a member that would push an answer over 64 KiB)
// is set aside, named in one warning, and kept on disk; the config's own errors still fail.
// Control plane: the zone state at start and on SIGHUP, and `dnsd check` (read-only), so that both
// report the same outcome.
#pragma once

#include <set>
#include <string>

#include "compile.hpp"
#include "config.hpp"
#include "registry.hpp"

namespace dnsd {

struct Served {
  DaemonConfig config;             // the config with the registry applied, minus what was set aside
  CompiledConfig compiled;         // its warnings include one per entry set aside
  std::set<std::string> set_aside;  // Registry::origin() of each entry left out
};

// Compiles `config` with `registry`. Throws ConfigError when the config itself (without the live
// state) does not compile, std::runtime_error when the serials cannot be kept.
Served compile_served(DaemonConfig config, const Registry& registry, StateStore& state,
                      const HealthTable* health = nullptr);

}  // namespace dnsd
