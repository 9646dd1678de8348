// The config merged with the live state (see served.hpp).
#include "served.hpp"

#include <algorithm>
#include <optional>

namespace dnsd {

namespace {

// The registry's gates alone: what is left when every entry is set aside.
Registry gates_of(const Registry& registry) {
  Registry out;
  out.open_gates = registry.open_gates;
  return out;
}

std::set<std::string> every_origin(const Registry& registry) {
  std::set<std::string> out;
  for (const Registration& r : registry.members) out.insert(Registry::origin(r));
  for (const auto& [zone, texts] : registry.records)
    for (const std::string& text : texts) out.insert(Registry::origin(zone, text));
  return out;
}

Diagnostic set_aside_note(const std::string& origin, const std::string& why) {
  return {{origin, 0}, "set aside, not served (kept on disk): " + why, true};
}

// One compile of the config with the registry, minus `aside`, applied in place: apply() first takes
// away what an earlier apply added, so that every attempt works on the one config (a copy of a zone
// of 10,000 members each was a tenth of the start).
struct Attempt {
  std::optional<CompiledConfig> compiled;
  std::optional<ConfigError> error;
};

Attempt attempt(DaemonConfig& config, const Registry& registry, const std::set<std::string>& aside,
                StateStore& state, const HealthTable* health) {
  Attempt a;
  registry.apply(config, &aside);
  try {
    a.compiled = compile_config(config, state, health);
  } catch (const ConfigError& e) {
    a.error = e;
  }
  return a;
}

// The latest registrations of the cluster `origin` belongs to, newest first, not yet aside.
std::vector<std::string> latest_of_cluster(const Registry& registry, const std::string& origin,
                                           const std::set<std::string>& aside, size_t count) {
  std::vector<std::string> out;
  const auto named = std::find_if(registry.members.begin(), registry.members.end(),
                                  [&](const Registration& r) { return Registry::origin(r) == origin; });
  if (named == registry.members.end()) return out;
  for (auto it = registry.members.rbegin(); it != registry.members.rend() && out.size() < count; ++it)
    if (it->zone == named->zone && it->cluster == named->cluster && !aside.count(Registry::origin(*it)))
      out.push_back(Registry::origin(*it));
  return out;
}

}  // namespace

Served compile_served(DaemonConfig config, const Registry& registry, StateStore& state, const HealthTable* health) {
  Served out;
  std::map<std::string, std::string> why;  // origin set aside -> the error that named it
  size_t streak = 0;                       // rounds in a row that named one registration alone
  std::vector<std::string> batch;          // what the last doubling round set aside, newest first
  for (;;) {
    Attempt a = attempt(config, registry, out.set_aside, state, health);
    if (a.compiled) {
      // A doubling round may have set aside more than needed: give back the oldest of its batch
      // while the zone still compiles (bisection: a few compiles more).
      size_t lo = 0, hi = batch.size();  // lo: restoring lo works; hi: restoring hi may not
      std::optional<Attempt> best;
      while (hi > lo + 1) {
        const size_t mid = (lo + hi) / 2;
        std::set<std::string> trial = out.set_aside;
        for (size_t i = 0; i < mid; ++i) trial.erase(batch[batch.size() - 1 - i]);  // the oldest first
        Attempt t = attempt(config, registry, trial, state, health);
        if (t.compiled) {
          lo = mid;
          best = std::move(t);
        } else {
          hi = mid;
        }
      }
      if (best) {
        for (size_t i = 0; i < lo; ++i) {
          out.set_aside.erase(batch[batch.size() - 1 - i]);
          why.erase(batch[batch.size() - 1 - i]);
        }
        a = std::move(*best);
      }
      if (batch.size() > 1) registry.apply(config, &out.set_aside);  // the kept attempt's (trials applied others)
      out.config = std::move(config);
      out.compiled = std::move(*a.compiled);
      break;
    }
    std::vector<std::string> named;
    for (const Diagnostic& d : a.error->diagnostics())
      if (Registry::is_origin(d.loc.file()) && out.set_aside.insert(d.loc.file()).second) {
        why[d.loc.file()] = d.message;
        named.push_back(d.loc.file());
      }
    // An answer too big names its last registration only: one compile per member would take minutes
    // for a cluster far over the limit, so each such round in a row sets aside twice as many of that
    // cluster's latest registrations (and what was too many is given back above).
    streak = named.size() == 1 ? streak + 1 : 0;
    batch.clear();
    if (streak > 1) {
      batch = latest_of_cluster(registry, named[0], out.set_aside, (size_t(1) << std::min<size_t>(streak - 1, 20)) - 1);
      for (const std::string& origin : batch) {
        out.set_aside.insert(origin);
        why[origin] = why[named[0]];
      }
      batch.insert(batch.begin(), named[0]);
    }
    if (!named.empty()) continue;
    // The errors name no entry: either the config is wrong by itself (throws here, as it should), or
    // the conflict involves live state in a way no error attributes; then the config wins whole.
    gates_of(registry).apply(config);
    out.compiled = compile_config(config, state, health);
    out.config = std::move(config);
    const std::string reason = a.error->diagnostics().empty() ? std::string(a.error->what())
                                                              : to_string(a.error->diagnostics().front());
    for (const std::string& origin : every_origin(registry))
      if (out.set_aside.insert(origin).second) why[origin] = "the zone does not compile with it (" + reason + ")";
    break;
  }
  for (const auto& [origin, message] : why) out.compiled.warnings.push_back(set_aside_note(origin, message));
  return out;
}

}  // namespace dnsd
