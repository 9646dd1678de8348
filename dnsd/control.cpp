// The control thread (see control.hpp).
#include "control.hpp"

#include <openssl/rand.h>

#include <csignal>

#include "log.hpp"

namespace dnsd {

namespace {

void log_warnings(const DaemonConfig& cfg) {
  for (const Diagnostic& d : cfg.warnings) spdlog::warn("config: {}", to_string(d));
}

std::string zone_list(const CompiledConfig& compiled) {
  std::string out;
  for (const Zone& z : compiled.snapshot->zones())
    out += (out.empty() ? "" : ", ") + z.apex_text + " serial " + std::to_string(z.serial);
  return out;
}

}  // namespace

Control::Control(RunOptions options) : options_(std::move(options)), base_(event_base_new()) {
  if (!base_) throw std::runtime_error("cannot create the control event base");
}

Control::~Control() {
  if (server_) server_->stop();
}

void Control::start() {
  config_ = load_config(options_.config_path);
  // One random cookie secret for the life of the process unless the config names one (servers that
  // share an address must share it).
  random_cookie_secret_.resize(16);
  if (RAND_bytes(reinterpret_cast<unsigned char*>(random_cookie_secret_.data()), 16) != 1)
    throw std::runtime_error("cannot draw a random cookie secret");
  if (config_.cookie_secret.empty()) config_.cookie_secret = random_cookie_secret_;
  if (!options_.listen.empty()) config_.listen = options_.listen;
  if (options_.control_listen) config_.control_listen = options_.control_listen;
  for (const std::string& l : config_.listen)
    if (!parse_host_port(l)) throw std::runtime_error("--listen '" + l + "' must be ADDRESS:PORT or [IPV6]:PORT");
  set_log_level(config_.log_level);
  log_warnings(config_);

  state_ = std::make_unique<StateStore>(config_.state_dir, false);
  token_ = read_token(config_.token_file);
  // Registrations are loaded before the first answer: acknowledged members are served from the start.
  std::vector<std::string> problems;
  registry_ = Registry::load(config_.state_dir, problems);
  for (const std::string& p : problems) spdlog::error("registry: {}", p);
  apply_registry(registry_, config_);
  CompiledConfig compiled = compile_config(config_, *state_, &health_);
  for (const Diagnostic& d : compiled.warnings) spdlog::warn("config: {}", to_string(d));
  spdlog::info("control: loaded {} zone(s): {}", compiled.zones.size(), zone_list(compiled));
  publish(std::move(compiled));

  // Every listener is bound before the first query is answered (DESIGN §3).
  ServerOptions so;
  so.workers = config_.workers ? config_.workers : usable_cpus();
  so.tcp_idle_timeout_ms = config_.tcp.idle_timeout_ms;
  so.tcp_max_connections = config_.tcp.max_connections;
  so.tcp_max_per_source = config_.tcp.max_connections_per_source;
  for (const std::string& l : config_.listen) {
    const HostPort hp = *parse_host_port(l);
    Endpoint ep;
    make_endpoint(hp.address, hp.port, ep);
    so.listen.push_back(ep);
  }
  server_ = std::make_unique<Server>(slot_, so);
  if (std::string e = server_->bind(); !e.empty()) throw std::runtime_error(e);
  handoff_event_.reset(event_new(
      base_.get(), server_->handoff().fd(), EV_READ | EV_PERSIST,
      [](evutil_socket_t, short, void* self) { static_cast<Control*>(self)->on_handoff(); }, this));
  if (!handoff_event_ || event_add(handoff_event_.get(), nullptr) != 0)
    throw std::runtime_error("cannot register the handoff mailbox");

  if (config_.control_listen) {
    const HostPort hp = *parse_host_port(*config_.control_listen);
    http_ = std::make_unique<ControlHttp>(base_.get(),
                                          ControlHttp::Handlers{[this] { return ready_; }, [this] { return metrics(); },
                                                                [this](const std::string& z) { return zones_json(z); },
                                                                [this](const ApiRequest& r) { return api(r); }});
    if (config_.control_tls)
      http_->enable_tls(config_.control_tls->cert_file, config_.control_tls->key_file, config_.control_tls->client_ca_file);
    if (std::string e = http_->bind(hp.address, hp.port); !e.empty()) throw std::runtime_error(e);
    spdlog::info("control: {} on {}{}", config_.control_tls ? "https" : "http", *config_.control_listen,
                 config_.control_tls && !config_.control_tls->client_ca_file.empty() ? " (client certificates required)" : "");
  }
  for (int sig : {SIGHUP, SIGTERM, SIGINT}) {
    signals_.emplace_back(evsignal_new(base_.get(), sig, &Control::on_signal, this));
    if (!signals_.back() || event_add(signals_.back().get(), nullptr) != 0)
      throw std::runtime_error("cannot install signal handlers");
  }
  std::signal(SIGPIPE, SIG_IGN);

  republish_event_.reset(evtimer_new(
      base_.get(), [](evutil_socket_t, short, void* self) { static_cast<Control*>(self)->republish("health flips"); }, this));
  prober_ = std::make_unique<Prober>(base_.get(), [this](const std::string& key, const ProbeResult& r) { on_probe(key, r); });
  update_probes();
  server_->start();
  ready_ = true;
  std::string where;
  for (const Endpoint& ep : server_->bound()) where += (where.empty() ? "" : ", ") + ep.text;
  spdlog::info("server: answering on {} (udp+tcp) with {} worker(s)", where, so.workers);
}

int Control::run() {
  event_base_loop(base_.get(), EVLOOP_NO_EXIT_ON_EMPTY);
  ready_ = false;
  server_->stop();
  spdlog::info("control: stopped");
  return 0;
}

bool Control::reload() {
  ++reloads_;
  try {
    DaemonConfig next = load_config(options_.config_path);
    if (next.cookie_secret.empty()) next.cookie_secret = random_cookie_secret_;
    if (!options_.listen.empty()) next.listen = options_.listen;
    if (options_.control_listen) next.control_listen = options_.control_listen;
    log_warnings(next);
    const std::string token = read_token(next.token_file);
    apply_registry(registry_, next);
    CompiledConfig compiled = compile_config(next, *state_, &health_);
    token_ = token;
    for (const Diagnostic& d : compiled.warnings) spdlog::warn("config: {}", to_string(d));
    spdlog::info("control: reloaded {} zone(s): {}", compiled.zones.size(), zone_list(compiled));
    publish(std::move(compiled));
    if (next.listen != config_.listen || next.control_listen != config_.control_listen ||
        next.workers != config_.workers || next.state_dir != config_.state_dir)
      spdlog::warn("control: listen, control, workers and state_dir changes take effect at the next restart");
    set_log_level(next.log_level);
    next.listen = config_.listen;
    next.control_listen = config_.control_listen;
    next.workers = config_.workers;
    next.state_dir = config_.state_dir;
    config_ = std::move(next);
    update_probes();
    return true;
  } catch (const ConfigError& e) {
    ++reload_failures_;
    for (const Diagnostic& d : e.diagnostics()) spdlog::error("control: reload failed, keeping the old zones: {}", to_string(d));
  } catch (const std::exception& e) {
    ++reload_failures_;
    spdlog::error("control: reload failed, keeping the old zones: {}", e.what());
  }
  return false;
}

void Control::update_probes() {
  std::vector<ProbeSpec> specs;
  HealthTable kept;
  for (const ZoneConfig& z : config_.zones)
    for (const Cluster& c : z.clusters) {
      if (!c.health) continue;
      for (const Member& m : c.members) {
        ProbeSpec s;
        s.key = health_key(z.zone, c.name, m.name);
        s.host = m.host.substr(0, m.host.size() - 1);  // without the trailing dot
        s.address = m.addresses.empty() ? "" : m.addresses.front();
        s.port = m.client_port.value_or(c.client_port);
        s.options = *c.health;
        if (auto it = health_.find(s.key); it != health_.end()) kept.insert(*it);
        specs.push_back(std::move(s));
      }
    }
  const bool dropped = kept.size() != health_.size();
  health_ = std::move(kept);
  prober_->set_targets(std::move(specs));
  if (dropped) republish("probed members removed");
}

void Control::on_probe(const std::string& key, const ProbeResult& r) {
  auto [it, fresh] = health_.try_emplace(key);
  MemberHealth& h = it->second;
  h.last_probe = std::time(nullptr);
  h.last_latency_s = r.latency_s;
  h.latency_sum_s += r.latency_s;
  (r.ok ? h.successes : h.failures) += 1;
  if (!r.ok) h.last_error = r.error;
  const ZoneConfig* zone = nullptr;
  const Cluster* cluster = nullptr;
  for (const ZoneConfig& z : config_.zones)
    for (const Cluster& c : z.clusters)
      if (c.health && key.rfind(health_key(z.zone, c.name, ""), 0) == 0) zone = &z, cluster = &c;
  if (!cluster) return;
  const Health before = h.state.state();
  if (!h.state.observe(r.ok, cluster->health->rise, cluster->health->fall)) return;
  // One line per flip, with the reason; the client SRV sets change in the same publish.
  spdlog::info("health: {} is now {} (was {}{}{})", key, to_string(h.state.state()), to_string(before),
               r.ok ? "" : ": ", r.error);
  // Unknown members are served like healthy ones: only a change to or from unhealthy alters records.
  if ((before == Health::unhealthy) == (h.state.state() == Health::unhealthy)) return;
  if (!republish_pending_) {
    republish_pending_ = true;
    first_flip_ = std::chrono::steady_clock::now();
    // At once, unless the last publish was so recent that compiling again would crowd out the probes:
    // compile work stays at most a third of the control thread however large the zones are.
    const auto wait = std::max(std::chrono::steady_clock::duration::zero(), next_publish_ - first_flip_);
    const auto us = std::chrono::duration_cast<std::chrono::microseconds>(wait).count();
    const timeval tv{long(us / 1000000), long(us % 1000000)};
    evtimer_add(republish_event_.get(), &tv);
  }
  bool any = false;
  for (const Member& m : cluster->members) {
    auto it = health_.find(health_key(zone->zone, cluster->name, m.name));
    any = any || it == health_.end() || it->second.state.state() != Health::unhealthy;
  }
  if (!any)
    spdlog::warn("health: no healthy member in cluster '{}' of {}: {}", cluster->name, zone->zone,
                 cluster->health->fail_closed ? "client records withdrawn (fail_closed)" : "serving all members (fail-open)");
}

void Control::republish(const std::string& why) {
  try {
    const auto start = republish_pending_ ? first_flip_ : std::chrono::steady_clock::now();
    republish_pending_ = false;
    const auto compile_start = std::chrono::steady_clock::now();
    state_->set_deferred(true);
    CompiledConfig compiled = compile_config(config_, *state_, &health_);
    state_->set_deferred(false);
    const std::string zones = zone_list(compiled);
    publish(std::move(compiled));
    const auto published = std::chrono::steady_clock::now();
    last_publish_s_ = std::chrono::duration<double>(published - start).count();
    next_publish_ = published + 2 * (published - compile_start);
    state_->flush();  // the new serial on disk right after it is served
    spdlog::debug("control: published after {}: {}", why, zones);
  } catch (const std::exception& e) {
    state_->set_deferred(false);
    spdlog::error("control: cannot publish after {} ({})", why, e.what());
  }
}

void Control::publish(CompiledConfig compiled) {
  slot_.publish(compiled.snapshot);
  published_at_ = std::time(nullptr);
  served_ = std::move(compiled.zones);
}

void Control::on_signal(evutil_socket_t sig, short, void* self) noexcept {
  auto* c = static_cast<Control*>(self);
  if (sig == SIGHUP) {
    c->reload();
    return;
  }
  spdlog::info("control: signal {} received, stopping", int(sig));
  event_base_loopbreak(c->base_.get());
}

std::optional<std::string> Control::zones_json(const std::string& wanted) const {
  auto lower = [](std::string s) {
    for (char& c : s) c = char(std::tolower(static_cast<unsigned char>(c)));
    return absolute_name(s);
  };
  const auto snap = slot_.current();
  std::string zones;
  bool found = false;
  for (const ZoneConfig& z : config_.zones) {
    if (!wanted.empty() && lower(wanted) != lower(z.zone)) continue;
    found = true;
    uint32_t serial = 0;
    if (snap)
      for (const Zone& sz : snap->zones())
        if (lower(sz.apex_text) == lower(z.zone)) serial = sz.serial;
    std::string clusters;
    for (const Cluster& c : z.clusters) {
      std::string members;
      size_t healthy = 0;
      for (const Member& m : c.members) {
        auto it = health_.find(health_key(z.zone, c.name, m.name));
        const MemberHealth* h = it == health_.end() ? nullptr : &it->second;
        const Health state = h ? h->state.state() : Health::unknown;
        healthy += state == Health::healthy;
        members += std::string(members.empty() ? "" : ",") + "{\"name\":" + json_quote(m.name) +
                   ",\"host\":" + json_quote(m.host) + ",\"health\":" + json_quote(c.health ? to_string(state) : "not probed") +
                   ",\"last_probe\":" + std::to_string(h ? h->last_probe : 0) +
                   ",\"last_error\":" + json_quote(h ? h->last_error : "") + "}";
      }
      clusters += std::string(clusters.empty() ? "" : ",") + "{\"name\":" + json_quote(c.name) +
                  ",\"probed\":" + (c.health ? "true" : "false") + ",\"healthy\":" + std::to_string(healthy) +
                  ",\"members\":[" + members + "]}";
    }
    zones += std::string(zones.empty() ? "" : ",") + "{\"zone\":" + json_quote(z.zone) +
             ",\"serial\":" + std::to_string(serial) + ",\"clusters\":[" + clusters + "]}";
  }
  if (!wanted.empty()) return found ? std::optional<std::string>(zones + "\n") : std::nullopt;
  return "{\"zones\":[" + zones + "]}\n";
}

std::string Control::metrics() const {
  std::string out = render_prometheus(server_->counters());
  out += "# HELP dnsd_config_reloads_total Reloads attempted (SIGHUP).\n# TYPE dnsd_config_reloads_total counter\n";
  out += "dnsd_config_reloads_total " + std::to_string(reloads_) + "\n";
  out += "# HELP dnsd_config_reload_failures_total Reloads rejected; the old zones kept serving.\n"
         "# TYPE dnsd_config_reload_failures_total counter\n";
  out += "dnsd_config_reload_failures_total " + std::to_string(reload_failures_) + "\n";
  out += "# HELP dnsd_snapshot_age_seconds Seconds since the serving snapshot was published.\n"
         "# TYPE dnsd_snapshot_age_seconds gauge\n";
  out += "dnsd_snapshot_age_seconds " + std::to_string(std::time(nullptr) - published_at_) + "\n";
  out += "# HELP dnsd_snapshot_publish_seconds Time from a probe result to its snapshot being published (last flip).\n"
         "# TYPE dnsd_snapshot_publish_seconds gauge\n";
  out += "dnsd_snapshot_publish_seconds " + std::to_string(last_publish_s_) + "\n";
  out += "# HELP dnsd_zone_serial SOA serial served, by zone.\n# TYPE dnsd_zone_serial gauge\n";
  if (auto snap = slot_.current())
    for (const Zone& z : snap->zones()) out += "dnsd_zone_serial{zone=\"" + z.apex_text + "\"} " + std::to_string(z.serial) + "\n";
  out += "# HELP dnsd_updates_total DNS UPDATE messages answered, by rcode.\n# TYPE dnsd_updates_total counter\n";
  for (const auto& [rc, n] : update_results_) out += "dnsd_updates_total{rcode=\"" + rc + "\"} " + std::to_string(n) + "\n";
  out += "# HELP dnsd_tsig_failures_total Signed messages rejected (BADKEY, BADSIG, BADTIME, BADTRUNC).\n"
         "# TYPE dnsd_tsig_failures_total counter\n";
  out += "dnsd_tsig_failures_total " + std::to_string(tsig_failures_) + "\n";
  out += render_health_metrics(config_, health_, prober_ ? prober_->in_flight() : 0);
  return out;
}

}  // namespace dnsd
