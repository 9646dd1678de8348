// The zone state service (see zone_state.hpp).
#include "zone_state.hpp"

#include "log.hpp"
#include "names.hpp"

namespace dnsd {

namespace {

std::string zone_list(const CompiledConfig& compiled) {
  std::string out;
  for (const Zone& z : compiled.snapshot->zones())
    out += (out.empty() ? "" : ", ") + z.apex_text + " serial " + std::to_string(z.serial);
  return out;
}

void log_warnings(const CompiledConfig& compiled) {
  for (const Diagnostic& d : compiled.warnings) spdlog::warn("config: {}", to_string(d));
}

// Appends registered members to `config` and logs the registrations it cannot place.
void apply_registry(const Registry& registry, DaemonConfig& config) {
  std::vector<std::string> skipped;
  registry.apply(config, &skipped);
  for (const std::string& s : skipped)
    spdlog::warn("registry: keeping but not serving {} (its cluster is gone or has registration off)", s);
}

}  // namespace

ZoneState::ZoneState(SnapshotSlot& slot, const HealthTable& health) : slot_(slot), health_(health) {}

void ZoneState::start(DaemonConfig config) {
  state_ = std::make_unique<StateStore>(config.state_dir, false);
  // Registrations are loaded before the first answer: acknowledged members are served from the start.
  std::vector<std::string> problems;
  registry_ = Registry::load(config.state_dir, problems);
  for (const std::string& p : problems) spdlog::error("registry: {}", p);
  apply_registry(registry_, config);
  CompiledConfig compiled = compile_config(config, *state_, &health_);
  log_warnings(compiled);
  spdlog::info("control: loaded {} zone(s): {}", compiled.zones.size(), zone_list(compiled));
  publish(std::move(compiled));
  config_ = std::move(config);
}

void ZoneState::reload(DaemonConfig next) {
  apply_registry(registry_, next);
  CompiledConfig compiled = compile_config(next, *state_, &health_);
  log_warnings(compiled);
  spdlog::info("control: reloaded {} zone(s): {}", compiled.zones.size(), zone_list(compiled));
  publish(std::move(compiled));
  if (next.listen != config_.listen || next.control_listen != config_.control_listen ||
      next.workers != config_.workers || next.state_dir != config_.state_dir)
    spdlog::warn("control: listen, control, workers and state_dir changes take effect at the next restart");
  next.listen = config_.listen;
  next.control_listen = config_.control_listen;
  next.workers = config_.workers;
  next.state_dir = config_.state_dir;
  config_ = std::move(next);
  notify();
}

Result<void> ZoneState::commit(Registry next) {
  DaemonConfig candidate = config_;
  next.apply(candidate);
  // The bootstrap gate opens once the cluster is complete and stays open (durably).
  for (const ZoneConfig& z : candidate.zones)
    for (const Cluster& c : z.clusters)
      if (c.expected_size && c.members.size() >= c.expected_size) next.open_gates.emplace(name_key(z.zone), c.name);
  next.apply(candidate);
  CompiledConfig compiled;
  try {
    compiled = compile_config(candidate, *state_, &health_);
  } catch (const ConfigError& e) {
    return rejected(e.diagnostics().empty() ? e.what() : e.diagnostics().front().message);
  }
  if (Result<void> saved = next.save(config_.state_dir); !saved) {
    spdlog::error("registry: cannot save ({})", saved.error().message);
    return io_error("cannot write the registration to disk");
  }
  publish(std::move(compiled));
  for (const auto& gate : next.open_gates)
    if (!registry_.open_gates.count(gate))
      spdlog::info("registry: the bootstrap gate of cluster '{}' in {} is open", gate.second, gate.first);
  registry_ = std::move(next);
  config_ = std::move(candidate);
  notify();
  return {};
}

void ZoneState::republish(const std::string& why) {
  // The serial is written right after the answers change, not before: a flip is visible within a
  // millisecond of its probe result (an fsync alone takes about that long).
  state_->set_deferred(true);
  CompiledConfig compiled;
  try {
    compiled = compile_config(config_, *state_, &health_);
  } catch (...) {
    state_->set_deferred(false);
    throw;
  }
  state_->set_deferred(false);
  const std::string zones = zone_list(compiled);
  publish(std::move(compiled));
  state_->flush();
  spdlog::debug("control: published after {}: {}", why, zones);
}

const ZoneRecords* ZoneState::served(const std::string& zone) const {
  for (const ZoneRecords& zr : served_)
    if (name_key(zr.apex) == zone) return &zr;
  return nullptr;
}

void ZoneState::publish(CompiledConfig compiled) {
  slot_.publish(compiled.snapshot);
  published_at_ = std::time(nullptr);
  served_ = std::move(compiled.zones);
}

void ZoneState::notify() {
  for (const ConfigListener& listener : listeners_) {
    try {
      listener(config_);
    } catch (const std::exception& e) {
      spdlog::error("control: after the config changed: {}", e.what());
    }
  }
}

std::string ZoneState::metrics() const {
  std::string out = "# HELP dnsd_snapshot_age_seconds Seconds since the serving snapshot was published.\n"
                    "# TYPE dnsd_snapshot_age_seconds gauge\n";
  out += "dnsd_snapshot_age_seconds " + std::to_string(std::time(nullptr) - published_at_) + "\n";
  out += "# HELP dnsd_zone_serial SOA serial served, by zone.\n# TYPE dnsd_zone_serial gauge\n";
  if (auto snap = slot_.current())
    for (const Zone& z : snap->zones()) out += "dnsd_zone_serial{zone=\"" + z.apex_text + "\"} " + std::to_string(z.serial) + "\n";
  return out;
}

}  // namespace dnsd
