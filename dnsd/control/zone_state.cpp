// The zone state service (see zone_state.hpp).
#include "zone_state.hpp"

#include <algorithm>
#include <tuple>

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
  for (const Diagnostic& d : compiled.warnings) spdlog::warn("config: {}", located(d));
}

// Logs the registrations no cluster takes any more (kept on disk, not served).
void log_unplaced(const Registry& registry, const DaemonConfig& config) {
  DaemonConfig copy = config;
  std::vector<std::string> skipped;
  registry.apply(copy, &skipped);
  for (const std::string& s : skipped)
    spdlog::warn("registry: keeping but not serving {} (its cluster is gone or has registration off)", s);
}

// The entries of `next` that differ from `before` (added or changed): a commit serves them or fails.
std::set<std::string> changed_origins(const Registry& before, const Registry& next) {
  std::set<std::string> out;
  std::map<std::tuple<std::string_view, std::string_view, std::string_view>, const Registration*> was;
  for (const Registration& b : before.members) was.emplace(std::tie(b.zone, b.cluster, b.member), &b);
  for (const Registration& r : next.members) {
    const auto old = was.find(std::tie(r.zone, r.cluster, r.member));
    if (old == was.end() || !(*old->second == r)) out.insert(Registry::origin(r));
  }
  for (const auto& [zone, texts] : next.records) {
    const auto old = before.records.find(zone);
    for (const std::string& text : texts)
      if (old == before.records.end() || std::find(old->second.begin(), old->second.end(), text) == old->second.end())
        out.insert(Registry::origin(zone, text));
  }
  return out;
}

}  // namespace

ZoneState::ZoneState(SnapshotSlot& slot, const HealthTable& health) : slot_(slot), health_(health) {}

void ZoneState::start(DaemonConfig config) {
  state_ = std::make_unique<StateStore>(config.state_dir, false);  // creates the directory
  state_lock_ = lock_state_dir(config.state_dir);
  for (const std::string& p : state_->load_problems()) spdlog::error("state: {}", p);
  // Registrations are loaded before the first answer: acknowledged members are served from the start.
  std::vector<std::string> problems, cut_short;
  registry_ = Registry::load(config.state_dir, problems, &cut_short, &log_lines_);
  for (const std::string& p : problems) spdlog::error("registry: {}", p);
  for (const std::string& p : cut_short) spdlog::warn("registry: {}", p);
  if (log_lines_ > 0) {  // compacted at start: the log begins empty
    if (Result<void> saved = registry_.save(config.state_dir); saved) log_lines_ = 0;
    else spdlog::error("registry: cannot compact the change log ({})", saved.error().message);
  }
  log_unplaced(registry_, config);
  // Secondary zones serve their last copy from the first answer, even while every primary is down;
  // one whose last check is older than its SOA expire answers SERVFAIL until a check succeeds.
  const std::time_t now = std::time(nullptr);
  for (auto& [zone, loaded] : load_copies(config)) {
    if (!loaded.problem.empty()) spdlog::error("secondary: {}", loaded.problem);
    if (!loaded.copy) continue;
    Held& held = copies_[zone];
    held.copy = std::make_shared<const ZoneCopy>(std::move(*loaded.copy));
    held.checked = loaded.checked;
    held.expired = loaded.checked && now - loaded.checked > std::time_t(held.copy->expire());
    spdlog::info("secondary: {} serial {} from {} (last checked {} s ago){}", zone, held.copy->serial(),
                 copy_path(config.state_dir, zone), loaded.checked ? now - loaded.checked : -1,
                 held.expired ? ": expired, SERVFAIL until a primary answers" : "");
  }
  apply_copies(config);
  Served served = compile_served(config, registry_, *state_, &health_);
  log_warnings(served.compiled);
  spdlog::info("control: loaded {} zone(s): {}", served.compiled.zones.size(), zone_list(served.compiled));
  publish(std::move(served.compiled));
  config_ = std::move(served.config);
  set_aside_ = std::move(served.set_aside);
}

void ZoneState::reload(DaemonConfig file_config) {
  log_unplaced(registry_, file_config);
  apply_copies(file_config);
  Served served = compile_served(file_config, registry_, *state_, &health_);
  DaemonConfig next = std::move(served.config);
  log_warnings(served.compiled);
  spdlog::info("control: reloaded {} zone(s): {}", served.compiled.zones.size(), zone_list(served.compiled));
  publish(std::move(served.compiled));
  set_aside_ = std::move(served.set_aside);
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

Result<void> ZoneState::commit(Registry next) { return commit(std::move(next), nullptr); }

Result<void> ZoneState::change_member(const RegistryChange& change) {
  Registry next = registry_;
  change.apply(next);
  return commit(std::move(next), &change);
}

Result<void> ZoneState::commit(Registry next, const RegistryChange* logged) {
  // What was set aside stays aside, unless this change touches it: then it is served, or the change fails.
  std::set<std::string> aside = set_aside_;
  for (const std::string& origin : changed_origins(registry_, next)) aside.erase(origin);
  DaemonConfig candidate = config_;
  next.apply(candidate, nullptr, &aside);
  // The bootstrap gate opens once the cluster is complete and stays open (durably).
  for (const ZoneConfig& z : candidate.zones)
    for (const Cluster& c : z.clusters)
      if (c.expected_size && c.members.size() >= c.expected_size) next.open_gates.emplace(name_key(z.zone), c.name);
  next.apply(candidate, nullptr, &aside);
  CompiledConfig compiled;
  try {
    compiled = compile_config(candidate, *state_, &health_);
  } catch (const ConfigError& e) {
    return rejected(e.diagnostics().empty() ? e.what() : e.diagnostics().front().message);
  }
  // A logged change is one appended line (with the gates it opened); anything else, or a log as long
  // as the registry, rewrites the whole file.
  std::vector<RegistryChange> lines;
  if (logged) {
    lines.push_back(*logged);
    for (const auto& [zone, cluster] : next.open_gates)
      if (!registry_.open_gates.count({zone, cluster}))
        lines.push_back({RegistryChange::Kind::gate, Registration{zone, cluster, {}, {}, {}, {}, {}}});
  }
  const bool compact = !logged || log_lines_ + lines.size() > std::max<size_t>(1024, next.members.size() + next.open_gates.size());
  if (Result<void> saved = compact ? next.save(config_.state_dir) : Registry::append(config_.state_dir, lines); !saved) {
    if (saved.error().kind == ErrorKind::rejected) return saved;
    spdlog::error("registry: cannot save ({})", saved.error().message);
    return Error{saved.error().kind, "cannot write the change to disk: " + saved.error().message};
  }
  log_lines_ = compact ? 0 : log_lines_ + lines.size();
  publish(std::move(compiled));
  registry_ = std::move(next);
  config_ = std::move(candidate);
  set_aside_ = std::move(aside);
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
  report_state_writes();
  spdlog::debug("control: published after {}: {}", why, zones);
}

void ZoneState::apply_copies(DaemonConfig& config) const {
  for (ZoneConfig& z : config.zones) {
    const auto held = copies_.find(name_key(z.zone));
    z.copy = z.secondary() && held != copies_.end() ? held->second.copy : nullptr;
    z.expired = z.copy && held->second.expired;
  }
}

Result<void> ZoneState::publish_secondary(DaemonConfig candidate) {
  apply_copies(candidate);
  CompiledConfig compiled;
  try {
    compiled = compile_config(candidate, *state_, &health_);
  } catch (const ConfigError& e) {
    return rejected(e.diagnostics().empty() ? e.what() : to_string(e.diagnostics().front()));
  }
  publish(std::move(compiled));
  config_ = std::move(candidate);
  return {};
}

Result<void> ZoneState::set_copy(const std::string& zone, std::shared_ptr<const ZoneCopy> copy, std::time_t checked) {
  const Held before = copies_[zone];
  copies_[zone] = {copy, checked, false};
  if (Result<void> done = publish_secondary(config_); !done) {
    copies_[zone] = before;
    return done;
  }
  return save_copy(config_.state_dir, zone, *copy, checked);
}

void ZoneState::set_expired(const std::string& zone, bool expired) {
  const auto held = copies_.find(zone);
  if (held == copies_.end() || held->second.expired == expired) return;
  held->second.expired = expired;
  if (Result<void> done = publish_secondary(config_); !done) spdlog::error("secondary: {}: {}", zone, done.error().message);
}

Result<void> ZoneState::record_check(const std::string& zone, std::time_t checked) {
  copies_[zone].checked = checked;
  return save_check_time(config_.state_dir, zone, checked);
}

std::shared_ptr<const ZoneCopy> ZoneState::copy(const std::string& zone) const {
  const auto held = copies_.find(zone);
  return held == copies_.end() ? nullptr : held->second.copy;
}

std::time_t ZoneState::last_check(const std::string& zone) const {
  const auto held = copies_.find(zone);
  return held == copies_.end() ? 0 : held->second.checked;
}

bool ZoneState::expired(const std::string& zone) const {
  const auto held = copies_.find(zone);
  return held != copies_.end() && held->second.expired;
}

const ZoneRecords* ZoneState::served(const std::string& zone) const {
  for (const ZoneRecords& zr : served_)
    if (name_key(zr.apex) == zone) return &zr;
  return nullptr;
}

const ZoneConfig* ZoneState::zone_config(std::string_view lower_wire) const {
  for (const ZoneConfig& z : config_.zones)
    if (wire_name(name_key(z.zone)) == lower_wire) return &z;
  return nullptr;
}

void ZoneState::on_publish(PublishListener listener) {
  if (!served_.empty()) listener(served_);
  publish_listeners_.push_back(std::move(listener));
}

void ZoneState::publish(CompiledConfig compiled) {
  slot_.publish(compiled.snapshot);
  published_at_ = std::time(nullptr);
  served_ = std::move(compiled.zones);
  report_state_writes();
  for (const PublishListener& listener : publish_listeners_) {
    try {
      listener(served_);
    } catch (const std::exception& e) {
      spdlog::error("control: after publishing: {}", e.what());
    }
  }
}

void ZoneState::report_state_writes() {
  // Serving never waits for the disk: a serial that could not be written is served from memory and
  // written at the next change. Said once when it starts failing, once when it works again.
  if (state_->write_error() != state_write_error_) {
    if (state_->write_error().empty()) spdlog::info("state: serials written again");
    else spdlog::error("state: cannot write serials, serving them from memory until a write works ({})", state_->write_error());
    state_write_error_ = state_->write_error();
  }
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
