// The zone state service (see zone_state.hpp).
#include "zone_state.hpp"

#include <algorithm>
#include <tuple>

#include "log.hpp"
#include "names.hpp"
#include "update_patch.hpp"

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
  for (const std::string& s : registry.unplaced(config))
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

// StateStore's deferred mode for a scope: serials change in memory only until end() or the scope's
// end, on every way out of it (a refused patch, an exception).
class DeferSerialWrites {
 public:
  explicit DeferSerialWrites(StateStore& state) : state_(&state) { state_->set_deferred(true); }
  ~DeferSerialWrites() { end(); }
  DeferSerialWrites(const DeferSerialWrites&) = delete;
  DeferSerialWrites& operator=(const DeferSerialWrites&) = delete;
  void end() noexcept {
    if (state_) state_->set_deferred(false);
    state_ = nullptr;
  }

 private:
  StateStore* state_;
};

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
  Served served = compile_served(std::move(config), registry_, *state_, &health_);
  log_warnings(served.compiled);
  spdlog::info("control: loaded {} zone(s): {}", served.compiled.zones.size(), zone_list(served.compiled));
  publish(std::move(served.compiled));
  config_ = std::move(served.config);
  set_aside_ = std::move(served.set_aside);
}

void ZoneState::reload(DaemonConfig file_config) {
  log_unplaced(registry_, file_config);
  apply_copies(file_config);
  Served served = compile_served(std::move(file_config), registry_, *state_, &health_);
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
  if (std::optional<Result<void>> done = change_member_patched(change)) return std::move(*done);
  Registry next = registry_;
  change.apply(next);
  return commit(std::move(next), &change);
}

std::optional<Result<void>> ZoneState::change_member_patched(const RegistryChange& change) {
  if (!set_aside_.empty() || change.kind == RegistryChange::Kind::gate) return std::nullopt;
  const Registration& key = change.member;
  const auto found = locate(key.zone, key.cluster, true);
  if (!found) return std::nullopt;
  const auto [zone, cluster] = *found;
  // Every other cluster's gate is as a whole commit leaves it (one it would open sends it the whole way).
  if (!gates_settled(&config_.zones[zone].clusters[cluster])) return std::nullopt;
  // The cluster as Registry::apply would build it after the change: configured members, then the
  // registered ones in registry order, as the served cluster holds them (a replaced one where it
  // was, a new one last, a removed one gone).
  Cluster next = config_.zones[zone].clusters[cluster];
  const auto registered = std::find_if(next.members.begin() + long(next.static_members), next.members.end(),
                                       [&](const Member& m) { return m.name == key.member; });
  if (change.kind == RegistryChange::Kind::remove) {
    if (registered != next.members.end()) next.members.erase(registered);
  } else if (registered != next.members.end()) {
    *registered = Registry::member_of(key);
  } else {
    next.members.push_back(Registry::member_of(key));
  }
  std::vector<RegistryChange> lines{change};
  if (next.expected_size && !next.gate_open && next.members.size() >= next.expected_size) {
    next.gate_open = true;  // the bootstrap gate opens once the cluster is complete (durably)
    lines.push_back({RegistryChange::Kind::gate, Registration{key.zone, key.cluster, {}, {}, {}, {}, {}}});
  }
  DeferSerialWrites deferred(*state_);
  std::optional<ClusterPatch> patch =
      prepare_patch(config_, zone, {{cluster, &next}}, served_[zone], index_of(zone), slot_.current(), &health_, *state_);
  if (!patch) return std::nullopt;
  if (Result<void> saved = save_registry(lines, nullptr); !saved) return saved;
  config_.zones[zone].clusters[cluster] = std::move(next);
  std::optional<RecordDelta> delta = apply_patch(*patch, served_[zone], *indexes_[zone]);
  deferred.end();
  return publish_patch(zone, std::move(delta), patch->snapshot);
}

Result<void> ZoneState::publish_patch(size_t zone, std::optional<RecordDelta> delta, const std::shared_ptr<const Snapshot>& snapshot) {
  Deltas deltas(served_.size());
  deltas[zone] = std::move(delta);
  publish_snapshot(snapshot, deltas);
  state_->flush();
  report_state_writes();
  notify();
  after_patch(*snapshot);
  return Result<void>();
}

bool ZoneState::gates_settled(const Cluster* except) const {
  for (const ZoneConfig& zc : config_.zones)
    for (const Cluster& c : zc.clusters)
      if (&c != except && c.expected_size && !c.gate_open && c.members.size() >= c.expected_size) return false;
  return true;
}

Result<void> ZoneState::set_update_records(const std::string& zone, std::vector<std::string> records) {
  // Written as one line of the change log: the zone's records, not the whole registry.
  const RegistryChange change{RegistryChange::Kind::records, Registration{zone, {}, {}, {}, {}, {}, {}}, std::move(records)};
  if (std::optional<Result<void>> done = update_records_patched(change)) return std::move(*done);
  Registry next = registry_;
  change.apply(next);
  return commit(std::move(next), &change);
}

std::optional<Result<void>> ZoneState::update_records_patched(const RegistryChange& change) {
  const std::string& zone = change.member.zone;
  const std::vector<std::string>& records = change.records;
  if (!set_aside_.empty() || !gates_settled()) return std::nullopt;
  const std::optional<size_t> at = zone_at(zone);
  if (!at) return std::nullopt;
  const size_t z = *at;
  DeferSerialWrites deferred(*state_);
  std::optional<UpdatePatch> patch = prepare_update_patch(config_, z, records, served_[z], index_of(z), slot_.current(), *state_);
  if (!patch) return std::nullopt;
  if (Result<void> saved = save_registry({change}, nullptr); !saved) return saved;
  config_.zones[z].dynamic_records = records;
  std::optional<RecordDelta> delta = apply_update_patch(*patch, served_[z], *indexes_[z]);
  deferred.end();
  return publish_patch(z, std::move(delta), patch->snapshot);
}

Result<void> ZoneState::save_registry(const std::vector<RegistryChange>& lines, Registry* next) {
  // Logged changes are their lines appended; anything else (no lines), or a log as long as the
  // registry, rewrites the whole file.
  // A records line (an UPDATE) weighs as much as the records it holds: the log stays within about
  // the size of the registry.
  size_t weight = 0, entries = registry_.members.size() + registry_.open_gates.size();
  for (const RegistryChange& line : lines) weight += line.kind == RegistryChange::Kind::records ? 1 + line.records.size() : 1;
  for (const auto& [zone, texts] : registry_.records) entries += texts.size();
  const bool compact = lines.empty() || log_lines_ + weight > std::max<size_t>(1024, entries);
  std::optional<Registry> whole;
  if (compact && !next) {
    whole = registry_;
    for (const RegistryChange& line : lines) line.apply(*whole);
    next = &*whole;
  }
  if (Result<void> saved = compact ? next->save(config_.state_dir) : Registry::append(config_.state_dir, lines); !saved) {
    if (saved.error().kind == ErrorKind::rejected) return saved;
    spdlog::error("registry: cannot save ({})", saved.error().message);
    return Error{saved.error().kind, "cannot write the change to disk: " + saved.error().message};
  }
  log_lines_ = compact ? 0 : log_lines_ + weight;
  if (next) registry_ = std::move(*next);
  else
    for (const RegistryChange& line : lines) line.apply(registry_);
  return {};
}

Result<void> ZoneState::commit(Registry next, const RegistryChange* logged) {
  // What was set aside stays aside, unless this change touches it: then it is served, or the change fails.
  std::set<std::string> aside = set_aside_;
  for (const std::string& origin : changed_origins(registry_, next)) aside.erase(origin);
  DaemonConfig candidate = config_;
  next.apply(candidate, &aside);
  // The bootstrap gate opens once the cluster is complete and stays open (durably).
  for (const ZoneConfig& z : candidate.zones)
    for (const Cluster& c : z.clusters)
      if (c.expected_size && c.members.size() >= c.expected_size) next.open_gates.emplace(name_key(z.zone), c.name);
  next.apply(candidate, &aside);
  CompiledConfig compiled;
  try {
    compiled = compile_config(candidate, *state_, &health_);
  } catch (const ConfigError& e) {
    return rejected(e.diagnostics().empty() ? e.what() : e.diagnostics().front().message);
  }
  // A logged change is one appended line, with the gates it opened.
  std::vector<RegistryChange> lines;
  if (logged) {
    lines.push_back(*logged);
    for (const auto& [zone, cluster] : next.open_gates)
      if (!registry_.open_gates.count({zone, cluster}))
        lines.push_back({RegistryChange::Kind::gate, Registration{zone, cluster, {}, {}, {}, {}, {}}});
  }
  if (Result<void> saved = save_registry(lines, &next); !saved) return saved;
  publish(std::move(compiled));
  config_ = std::move(candidate);
  set_aside_ = std::move(aside);
  notify();
  return {};
}

void ZoneState::republish(const std::string& why, const std::set<std::pair<std::string, std::string>>& clusters) {
  if (!clusters.empty() && republish_patched(clusters)) {
    spdlog::debug("control: patched {} cluster(s) after {}", clusters.size(), why);
    return;
  }
  // The serial is written right after the answers change, not before: a flip is visible within a
  // millisecond of its probe result (an fsync alone takes about that long).
  CompiledConfig compiled;
  {
    DeferSerialWrites deferred(*state_);
    compiled = compile_config(config_, *state_, &health_);
  }
  const std::string zones = zone_list(compiled);
  publish(std::move(compiled));
  state_->flush();
  report_state_writes();
  spdlog::debug("control: published after {}: {}", why, zones);
}

bool ZoneState::republish_patched(const std::set<std::pair<std::string, std::string>>& clusters) {
  if (!set_aside_.empty()) return false;
  std::map<size_t, std::vector<std::pair<size_t, const Cluster*>>> by_zone;
  for (const auto& [zone, name] : clusters) {
    const auto found = locate(zone, name, false);
    if (!found) return false;
    by_zone[found->first].emplace_back(found->second, &config_.zones[found->first].clusters[found->second]);
  }
  // One patch per zone, each derived from the one before; published together.
  DeferSerialWrites deferred(*state_);
  std::vector<ClusterPatch> patches;
  std::shared_ptr<const Snapshot> from = slot_.current();
  for (const auto& [zone, changed] : by_zone) {
    std::optional<ClusterPatch> patch = prepare_patch(config_, zone, changed, served_[zone], index_of(zone), from, &health_, *state_);
    if (!patch) return false;
    from = patch->snapshot;
    patches.push_back(std::move(*patch));
  }
  Deltas deltas(served_.size());
  for (ClusterPatch& patch : patches) deltas[patch.zone] = apply_patch(patch, served_[patch.zone], *indexes_[patch.zone]);
  publish_snapshot(from, deltas);
  deferred.end();
  state_->flush();
  report_state_writes();
  after_patch(*from);
  return true;
}

std::optional<size_t> ZoneState::zone_at(const std::string& zone) const {
  const std::string key = name_key(zone);
  for (size_t z = 0; z < config_.zones.size() && z < served_.size(); ++z)
    if (name_key(config_.zones[z].zone) == key) return z;
  return std::nullopt;
}

std::optional<std::pair<size_t, size_t>> ZoneState::locate(const std::string& zone, const std::string& cluster,
                                                           bool registering) const {
  const std::optional<size_t> z = zone_at(zone);
  if (!z) return std::nullopt;
  const std::vector<Cluster>& cs = config_.zones[*z].clusters;
  for (size_t c = cs.size(); c-- > 0;)  // the last of equal names, as Registry::apply takes it
    if (cs[c].name == cluster && (cs[c].registration || !registering)) return std::make_pair(*z, c);
  return std::nullopt;
}

ZoneIndex& ZoneState::index_of(size_t zone) {
  if (indexes_.size() != served_.size()) indexes_.assign(served_.size(), std::nullopt);
  if (!indexes_[zone]) indexes_[zone] = index_zone(config_, zone, served_[zone]);
  return *indexes_[zone];
}

void ZoneState::after_patch(const Snapshot& published) {
  ++patches_;
  const bool due = published.overlay_size() > std::max<size_t>(1024, published.node_count() / 8);
  if (!compaction_timer_) {
    if (due) compact();
    return;
  }
  if (compaction_pending_) return;  // due, and compiled half a second from when it became so
  // Due: soon. Otherwise once the changes pause for 5 s (each patch pushes it back), so that answers
  // come from a full snapshot again (one hash lookup, not two).
  compaction_pending_ = due;
  const timeval wait = due ? timeval{0, 500000} : timeval{5, 0};
  evtimer_add(compaction_timer_.get(), &wait);
}

void ZoneState::compact_on(event_base* base) {
  compaction_timer_.reset(evtimer_new(
      base,
      [](evutil_socket_t, short, void* self) {
        try {
          static_cast<ZoneState*>(self)->compact();
        } catch (const std::exception& e) {
          spdlog::error("control: cannot compile the zones whole again ({})", e.what());
        }
      },
      this));
  if (!compaction_timer_) throw std::runtime_error("cannot create the compaction timer");
}

void ZoneState::compact() {
  compaction_pending_ = false;
  if (const auto snap = slot_.current(); snap && snap->overlay_size() > 0) republish("compaction");
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
  if (!served_.empty()) listener(served_, {});
  publish_listeners_.push_back(std::move(listener));
}

void ZoneState::publish(CompiledConfig compiled) {
  // The IXFR journal's change for each zone with transfers: the zone as served until now against the
  // whole compile's (the journal keeps no copy of the zone; a patch brings its own delta).
  Deltas deltas(compiled.zones.size());
  for (size_t i = 0; i < compiled.zones.size(); ++i)
    if (const ZoneRecords* was = compiled.zones[i].transfers ? served(name_key(compiled.zones[i].apex)) : nullptr)
      deltas[i] = zone_delta(*was, compiled.zones[i]);
  served_ = std::move(compiled.zones);
  indexes_.assign(served_.size(), std::nullopt);
  ++whole_;
  publish_snapshot(std::move(compiled.snapshot), deltas);
}

void ZoneState::publish_snapshot(std::shared_ptr<const Snapshot> snapshot, const Deltas& deltas) {
  slot_.publish(std::move(snapshot));
  published_at_ = std::time(nullptr);
  report_state_writes();
  for (const PublishListener& listener : publish_listeners_) {
    try {
      listener(served_, deltas);
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
  out += "# HELP dnsd_publishes_total Snapshots published, by how: a whole compile, or a patch of the clusters a change touched.\n"
         "# TYPE dnsd_publishes_total counter\n";
  out += "dnsd_publishes_total{how=\"whole\"} " + std::to_string(whole_) + "\n";
  out += "dnsd_publishes_total{how=\"patch\"} " + std::to_string(patches_) + "\n";
  out += "# HELP dnsd_snapshot_overlay_names Names the serving snapshot holds apart from its base (patched since the last whole compile).\n"
         "# TYPE dnsd_snapshot_overlay_names gauge\n";
  const auto current = slot_.current();
  out += "dnsd_snapshot_overlay_names " + std::to_string(current ? current->overlay_size() : 0) + "\n";
  out += "# HELP dnsd_zone_serial SOA serial served, by zone.\n# TYPE dnsd_zone_serial gauge\n";
  if (auto snap = slot_.current())
    for (const Zone& z : snap->zones()) out += "dnsd_zone_serial{zone=\"" + z.apex_text + "\"} " + std::to_string(z.serial) + "\n";
  return out;
}

}  // namespace dnsd
