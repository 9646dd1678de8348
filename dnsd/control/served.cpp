// The config merged with the live state (see served.hpp).
#include "served.hpp"

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

}  // namespace

Served compile_served(const DaemonConfig& config, const Registry& registry, StateStore& state,
                      const HealthTable* health) {
  Served out;
  std::vector<Diagnostic> notes;
  // Each round sets aside at least one more entry named by an error, so this ends.
  for (;;) {
    out.config = config;
    registry.apply(out.config, nullptr, &out.set_aside);
    try {
      out.compiled = compile_config(out.config, state, health);
      break;
    } catch (const ConfigError& e) {
      bool named = false;
      for (const Diagnostic& d : e.diagnostics())
        if (Registry::is_origin(d.loc.file) && out.set_aside.insert(d.loc.file).second) {
          notes.push_back({d.loc, "set aside, not served (kept on disk): " + d.message, true});
          named = true;
        }
      if (named) continue;
      // The errors name no entry: either the config is wrong by itself (throws here, as it should), or
      // the conflict involves live state in a way no error attributes; then the config wins whole.
      out.config = config;
      gates_of(registry).apply(out.config);
      out.compiled = compile_config(out.config, state, health);
      for (const std::string& origin : every_origin(registry))
        if (out.set_aside.insert(origin).second)
          notes.push_back({{origin, 0}, "set aside, not served (kept on disk): the zone does not compile with it ("
                                            + (e.diagnostics().empty() ? std::string(e.what()) : to_string(e.diagnostics().front())) + ")",
                           true});
      break;
    }
  }
  out.compiled.warnings.insert(out.compiled.warnings.end(), notes.begin(), notes.end());
  return out;
}

}  // namespace dnsd
