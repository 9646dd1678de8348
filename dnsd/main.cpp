// dnsd entry point: argument parsing and wiring only. `run` builds the data plane and the control
// services and connects them (docs/ARCHITECTURE.md, "Threads"); `check` validates and prints;
// `register` is the CLI client.
#include <fmt/core.h>
#include <malloc.h>
#include <sys/resource.h>

#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include "compile.hpp"
#include "config.hpp"
#include "control_http.hpp"
#include "control_loop.hpp"
#include "cookie.hpp"
#include "service_manager.hpp"
#include "status_page.hpp"
#include "health_monitor.hpp"
#include "log.hpp"
#include "notify.hpp"
#include "secondary.hpp"
#include "zone_copy.hpp"
#include "register.hpp"
#include "verify.hpp"
#include "registration_api.hpp"
#include "served.hpp"
#include "server.hpp"
#include "status.hpp"
#include "transfer.hpp"
#include "update_service.hpp"
#include "zone_state.hpp"

#ifndef DNSD_VERSION
#define DNSD_VERSION "0.1.0"
#endif

namespace {

struct RunOptions {
  std::string config_path;
  std::vector<std::string> listen;            // --listen: replaces the config's list
  std::optional<std::string> control_listen;  // --control
};

// Each command's help (`dnsd COMMAND --help`); `dnsd --help` prints them all.
const std::vector<std::pair<std::string, std::string>> command_help = {
    {"run", R"(  dnsd run -c CONFIG [--listen ADDR:PORT ...] [--control ADDR:PORT]
      serve the zones of CONFIG in the foreground, logging to stderr;
      --listen replaces the config's listen list, --control its control endpoint
      signals: SIGHUP reloads (a broken config is reported, the old zones keep serving);
               SIGTERM and SIGINT stop
)"},
    {"check", R"(  dnsd check -c CONFIG [--quiet]
      validate CONFIG and its zones and print them as RFC 1035 text (--quiet: print nothing but problems);
      errors as file:line: message on stderr (exit 1), warnings on stderr (exit 0)
)"},
    {"register", R"(  dnsd register --control http[s]://HOST:PORT --token-file FILE --zone ZONE [--cluster NAME]
                [--ca-file F] [--cert-file F --key-file F]
                --member NAME --host HOST [--address ADDR ...] [--peer-port N] [--client-port N]
                [--wait] [--timeout SECONDS] [-o flags|env|envfile|dropin]
                [--join-strategy prepare|add|replace|prune] [--cluster-size N] [--data-dir DIR]
                [--etcd-ca-file F] [--etcd-cert-file F --etcd-key-file F]
      register a member through the control API (retrying while dnsd is unreachable) and print its
      etcd configuration: before the cluster forms, a bootstrap (--wait: until it is complete);
      once formed, a restart or a join through etcd's API behind the quorum guard
)"},
    {"verify", R"(  dnsd verify --server ADDR[:PORT] --domain ZONE [--name CLUSTER] [--etcd-version 3.4|3.5]
              [--expect-size N] [--member NAME --peer-url URL] [-o text|json]
      would etcd bootstrap with --discovery-srv ZONE [--discovery-srv-name CLUSTER] from this server
      (any DNS server)? Exit 0: yes; 1: no (each reason an error: line); 2: usage, or unreachable
)"},
};

std::string full_usage() {
  std::string out = "usage:\n";
  for (const auto& [command, help] : command_help) out += help;
  return out + "  dnsd --version\n  dnsd --help | dnsd COMMAND --help\n";
}

// One line: what is wrong, and where the help is.
int fail_usage(const std::string& message, const std::string& command = "") {
  fmt::print(stderr, "dnsd{}: {} (see: dnsd {}--help)\n", command.empty() ? "" : " " + command, message,
             command.empty() ? "" : command + " ");
  return 2;
}

// `dnsd COMMAND --help` anywhere among the arguments.
bool wants_help(const std::vector<std::string>& args) {
  return std::any_of(args.begin() + 1, args.end(), [](const std::string& a) { return a == "--help" || a == "-h"; });
}

int print_help(const std::string& command) {
  for (const auto& [name, help] : command_help)
    if (name == command) fmt::print(stdout, "usage:\n{}", help);
  return 0;
}

int print_diagnostics(const std::vector<dnsd::Diagnostic>& diags) {
  for (const auto& d : diags) fmt::print(stderr, "{}\n", dnsd::to_string(d));
  return 1;
}

int cmd_check(const std::string& path, bool quiet) {
  try {
    dnsd::DaemonConfig cfg = dnsd::load_config_reporting_all(path);
    for (const auto& w : cfg.warnings) fmt::print(stderr, "{}\n", dnsd::to_string(w));
    // The live state as `run` would load it (read-only, never locked): the same outcome as a start.
    dnsd::StateStore state(cfg.state_dir, true);
    for (const std::string& p : state.load_problems()) fmt::print(stderr, "state: {}\n", p);
    std::vector<std::string> problems;
    const dnsd::Registry registry = dnsd::Registry::load(cfg.state_dir, problems);
    for (const std::string& p : problems) fmt::print(stderr, "registry: {}\n", p);
    // Secondary zones: the copy each one holds (none yet is fine: it is transferred at the start).
    for (auto& [zone, loaded] : dnsd::load_copies(cfg)) {
      if (!loaded.problem.empty()) fmt::print(stderr, "secondary: {}\n", loaded.problem);
      for (dnsd::ZoneConfig& z : cfg.zones)
        if (loaded.copy && dnsd::name_key(z.zone) == zone) z.copy = std::make_shared<const dnsd::ZoneCopy>(std::move(*loaded.copy));
    }
    const dnsd::Served served = dnsd::compile_served(cfg, registry, state);
    for (const auto& w : served.compiled.warnings) fmt::print(stderr, "{}\n", dnsd::to_string(w));
    if (!quiet)
      for (const auto& z : served.compiled.zones) fmt::print(stdout, "{}\n", dnsd::zone_text(z));
    // What `dnsd verify` would find for each cluster if a server answered with these records (etcd
    // 3.4, as Debian ships it): warnings, never errors (the config itself is valid).
    for (const dnsd::ZoneConfig& z : served.config.zones)
      for (const dnsd::Cluster& c : z.clusters) {
        dnsd::VerifyOptions vo;
        vo.domain = z.zone;
        vo.name = c.name;
        if (c.expected_size) vo.expect_size = int(c.expected_size);
        const std::string who = c.name.empty() ? "the unnamed cluster" : "cluster '" + c.name + "'";
        // Targets outside the zone are resolved elsewhere: only `dnsd verify` against the live
        // servers can judge them, so findings that name them are left out here.
        std::vector<std::string> outside;
        for (const dnsd::Member& m : c.members)
          if (!dnsd::name_in_zone(m.host, z.zone)) outside.push_back(dnsd::dotless_name(dnsd::name_key(m.host)));
        if (!outside.empty() && outside.size() == c.members.size()) {
          fmt::print(stderr, "{}\n", dnsd::to_string({c.loc, who + ": every target is outside the zone: check it with dnsd verify against the servers", true}));
          continue;
        }
        auto about_outside = [&](const std::string& finding) {
          return std::any_of(outside.begin(), outside.end(), [&](const std::string& h) { return finding.find(h) != std::string::npos; });
        };
        const dnsd::Discovery d = dnsd::verify_offline(*served.compiled.snapshot, vo);
        for (const std::string& e : d.errors)
          if (!about_outside(e)) fmt::print(stderr, "{}\n", dnsd::to_string({c.loc, who + ": etcd 3.4 would not bootstrap from these records: " + e, true}));
        for (const std::string& w : d.warnings)
          if (!about_outside(w)) fmt::print(stderr, "{}\n", dnsd::to_string({c.loc, who + ": " + w, true}));
      }
    return 0;
  } catch (const dnsd::ConfigError& e) {
    return print_diagnostics(e.diagnostics());
  } catch (const std::exception& e) {
    fmt::print(stderr, "dnsd: {}\n", e.what());
    return 1;
  }
}

// Many clients mean many descriptors: the soft limit (often 1024) is raised to the hard one, so that
// the connection caps, not the descriptor limit, decide who is turned away.
void raise_fd_limit() {
  rlimit lim{};
  if (getrlimit(RLIMIT_NOFILE, &lim) == 0 && lim.rlim_cur < lim.rlim_max) {
    lim.rlim_cur = lim.rlim_max;
    setrlimit(RLIMIT_NOFILE, &lim);
  }
}

// The config file with the command line's overrides. Throws ConfigError or std::runtime_error.
dnsd::DaemonConfig load_run_config(const RunOptions& options, const std::string& cookie_secret) {
  dnsd::DaemonConfig config = dnsd::load_config_reporting_all(options.config_path);
  if (config.cookie_secret.empty()) config.cookie_secret = cookie_secret;
  if (!options.listen.empty()) config.listen = options.listen;
  if (options.control_listen) config.control_listen = options.control_listen;
  for (const std::string& l : config.listen)
    if (!dnsd::parse_host_port(l)) throw std::runtime_error("--listen '" + l + "' must be ADDRESS:PORT or [IPV6]:PORT");
  for (const dnsd::Diagnostic& d : config.warnings) spdlog::warn("config: {}", dnsd::located(d));
  return config;
}

dnsd::ServerOptions server_options(const dnsd::DaemonConfig& config) {
  dnsd::ServerOptions so;
  so.workers = config.workers ? config.workers : dnsd::usable_cpus();
  so.tcp_idle_timeout_ms = config.tcp.idle_timeout_ms;
  so.tcp_message_timeout_ms = config.tcp.message_timeout_ms;
  so.tcp_output_budget = size_t(config.tcp.output_budget_mb) << 20;
  so.tcp_max_connections = config.tcp.max_connections;
  so.tcp_max_per_source = config.tcp.max_connections_per_source;
  for (const std::string& l : config.listen) {
    const dnsd::HostPort hp = *dnsd::parse_host_port(l);
    so.listen.push_back(*dnsd::make_endpoint(hp.address, hp.port));
  }
  return so;
}

std::string read_token(const std::string& path) { return path.empty() ? "" : dnsd::read_token_file(path); }

// The control endpoint's routes, in the order they are matched.
void add_routes(dnsd::ControlHttp& http, const dnsd::ControlLoop& loop, const std::vector<std::function<std::string()>>& metrics,
                dnsd::RegistrationApi& registrations, const dnsd::StatusView& status) {
  using dnsd::HttpReply;
  using dnsd::HttpRequest;
  http.route("/", [](const HttpRequest&) {
    return HttpReply{200, std::string(dnsd::status_page_html()), "text/html; charset=utf-8"};
  });
  http.route("/healthz", [](const HttpRequest&) { return HttpReply{200, "ok\n", "text/plain"}; });
  http.route("/readyz", [&loop](const HttpRequest&) {
    return loop.ready() ? HttpReply{200, "ready\n", "text/plain"} : HttpReply{503, "not ready\n", "text/plain"};
  });
  http.route("/metrics", [&metrics](const HttpRequest&) {
    std::string text;
    for (const auto& source : metrics) text += source();
    return HttpReply{200, std::move(text), "text/plain; version=0.0.4"};
  });
  http.route(&dnsd::RegistrationApi::matches, [&registrations](const HttpRequest& r) { return registrations.handle(r); },
             false);
  http.route(&dnsd::StatusView::matches, [&status](const HttpRequest& r) { return status.handle(r); });
}

// Loading and compiling a config frees about as much as it keeps (the YAML tree, the build's tables).
// glibc gives freed memory at the top of the heap back to the kernel at once, and the next phase
// faults it in again, a page at a time: at 10,000 members that was 2,900 of a start's 6,500 page
// faults, ~2 µs each on a VM (docs/ARCHITECTURE.md, "Start-up"). While a load lasts the heap keeps
// 64 MiB of freed top (M_TOP_PAD: address space, resident only once touched) and takes large blocks
// from itself (M_MMAP_THRESHOLD), so that what one phase frees the next reuses; then the documented
// defaults and malloc_trim(0) give back whatever is free. (Setting them ends glibc's dynamic mmap
// threshold: its documented defaults hold from the first load on.)
class LoadingHeap {
 public:
  LoadingHeap() {
    mallopt(M_TOP_PAD, 64 << 20);
    mallopt(M_MMAP_THRESHOLD, 64 << 20);
  }
  ~LoadingHeap() {
    mallopt(M_TOP_PAD, 128 << 10);
    mallopt(M_MMAP_THRESHOLD, 128 << 10);
    malloc_trim(0);
  }
  LoadingHeap(const LoadingHeap&) = delete;
  LoadingHeap& operator=(const LoadingHeap&) = delete;
};

int cmd_run(const RunOptions& options) {
  dnsd::init_logging();
  raise_fd_limit();
  try {
    const std::string cookie_secret = dnsd::random_cookie_secret();
    std::optional<LoadingHeap> loading(std::in_place);
    dnsd::DaemonConfig loaded = load_run_config(options, cookie_secret);
    dnsd::set_log_level(loaded.log_level);
    spdlog::info("dnsd {} starting: config {}, state_dir {}", DNSD_VERSION, loaded.file, loaded.state_dir);

    // The control thread's services; each runs on the loop's event base (declared first: freed last).
    dnsd::ControlLoop loop;
    dnsd::SnapshotSlot slot;
    dnsd::HealthMonitor health(loop.base());
    dnsd::ZoneState zones(slot, health.table());
    zones.start(std::move(loaded));
    // The daemon's settings from here on: the zone state's config (one copy of every member, not two).
    const dnsd::DaemonConfig& config = zones.config();
    loading.reset();  // what loading and compiling freed (the YAML tree, the build's tables) goes back
    zones.compact_on(loop.base());
    health.on_flips([&zones](const std::string& why, const std::set<std::pair<std::string, std::string>>& clusters) {
      zones.republish(why, clusters);
    });
    zones.on_config([&health](const dnsd::DaemonConfig& c) { health.set_config(c); });

    // The data plane. Every listener is bound before the first query is answered.
    const dnsd::ServerOptions so = server_options(config);
    dnsd::Server server(slot, so);
    if (dnsd::Result<void> bound = server.bind(); !bound) throw std::runtime_error(bound.error().message);
    dnsd::TransferService transfers(zones);
    dnsd::Notifier notifier(loop.base(), zones);
    dnsd::SecondaryService secondaries(loop.base(), zones);
    dnsd::UpdateService updates(loop.base(), server.handoff(), zones, transfers, secondaries);
    dnsd::RegistrationApi registrations(zones);
    registrations.set_token(read_token(config.token_file));
    dnsd::StatusView status(zones, health.table(), health.drift());
    status.add_details([&notifier](const std::string& zone) { return notifier.status_json(zone); });
    status.add_details([&secondaries](const std::string& zone) { return secondaries.status_json(zone); });
    std::optional<dnsd::ControlHttp> http;
    const std::vector<std::function<std::string()>> metrics = {
        [&server] { return dnsd::render_prometheus(server.counters()); }, [&loop] { return loop.metrics(); },
        [&zones] { return zones.metrics(); }, [&health] { return health.metrics(); },
        [&updates] { return updates.metrics(); }, [&transfers] { return transfers.metrics(); },
        [&notifier] { return notifier.metrics(); }, [&secondaries] { return secondaries.metrics(); }, [&http] { return http ? http->metrics() : std::string(); }};
    if (config.control_listen) {
      const dnsd::HostPort hp = *dnsd::parse_host_port(*config.control_listen);
      http.emplace(loop.base(), dnsd::HttpLimits{config.control_max_connections, config.control_max_connections_per_source,
                                                 config.control_request_timeout_ms});
      add_routes(*http, loop, metrics, registrations, status);
      const auto& tls = config.control_tls;
      if (tls) http->enable_tls(tls->cert_file, tls->key_file, tls->client_ca_file);
      if (dnsd::Result<void> bound = http->bind(hp.address, hp.port); !bound) throw std::runtime_error(bound.error().message);
      spdlog::info("control: {} on {}{}", tls ? "https" : "http", *config.control_listen,
                   tls && !tls->client_ca_file.empty() ? " (client certificates required)" : "");
    }

    dnsd::ServiceManager systemd(loop.base());
    auto serving = [&zones] { return "serving " + std::to_string(zones.config().zones.size()) + " zone(s)"; };
    loop.on_reload([&] {
      const LoadingHeap reloading;  // then the new config's YAML tree and build tables go back (see the start)
      dnsd::DaemonConfig next = load_run_config(options, cookie_secret);
      const std::string token = read_token(next.token_file);
      zones.reload(std::move(next));  // publishes, then tells the health monitor
      registrations.set_token(token);
      dnsd::set_log_level(zones.config().log_level);
    });
    // READY=1 again whatever the outcome: a refused reload leaves the old zones serving.
    loop.around_reload([&] { systemd.reloading(); }, [&](bool applied) {
      systemd.ready(serving() + (applied ? "; reloaded" : "; reload refused, the old zones keep serving"));
    });
    loop.install_signals();
    health.set_config(zones.config());
    server.start();
    loop.set_ready(true);
    std::string where;
    for (const dnsd::Endpoint& ep : server.bound()) where += (where.empty() ? "" : ", ") + ep.text;
    spdlog::info("server: answering on {} (udp+tcp) with {} worker(s)", where, so.workers);
    systemd.ready(serving() + " on " + where);
    const int rc = loop.run();
    systemd.stopping();
    server.stop();
    spdlog::info("control: stopped");
    return rc;
  } catch (const dnsd::ConfigError& e) {
    for (const auto& d : e.diagnostics()) spdlog::error("config: {}", dnsd::to_string(d));
  } catch (const std::exception& e) {
    spdlog::error("dnsd: {}", e.what());
  }
  return 1;
}

int cmd_register(const std::vector<std::string>& args) {
  dnsd::RegisterOptions o;
  for (size_t i = 1; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--wait") {
      o.wait = true;
      continue;
    }
    if (i + 1 >= args.size()) return fail_usage("'" + a + "' needs a value", "register");
    const std::string v = args[++i];
    try {
      if (a == "--control") o.control = v;
      else if (a == "--token-file") o.token_file = v;
      else if (a == "--ca-file") o.ca_file = v;
      else if (a == "--cert-file") o.cert_file = v;
      else if (a == "--key-file") o.key_file = v;
      else if (a == "--zone") o.zone = v;
      else if (a == "--cluster") o.cluster = v == "_" ? "" : v;
      else if (a == "--member") o.member = v;
      else if (a == "--host") o.host = v;
      else if (a == "--address") o.addresses.push_back(v);
      else if (a == "--peer-port") o.peer_port = std::stoi(v);
      else if (a == "--client-port") o.client_port = std::stoi(v);
      else if (a == "--timeout") o.timeout_s = std::stod(v);
      else if (a == "-o" || a == "--output") o.output = v;
      else if (a == "--join-strategy") o.join_strategy = v;
      else if (a == "--cluster-size") o.cluster_size = std::stoi(v);
      else if (a == "--data-dir") o.data_dir = v;
      else if (a == "--etcd-ca-file") o.etcd_ca_file = v;
      else if (a == "--etcd-cert-file") o.etcd_cert_file = v;
      else if (a == "--etcd-key-file") o.etcd_key_file = v;
      else return fail_usage("unexpected argument '" + a + "'", "register");
    } catch (const std::exception&) {
      return fail_usage("'" + a + "' needs a number, not '" + v + "'", "register");
    }
  }
  return dnsd::run_register(o);
}

int cmd_verify(const std::vector<std::string>& args) {
  dnsd::VerifyOptions o;
  for (size_t i = 1; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (i + 1 >= args.size()) return fail_usage("'" + a + "' needs a value", "verify");
    const std::string v = args[++i];
    try {
      if (a == "--server") o.server = v;
      else if (a == "--domain") o.domain = v;
      else if (a == "--name") o.name = v;
      else if (a == "--etcd-version") o.version = v;
      else if (a == "--expect-size") o.expect_size = std::stoi(v);
      else if (a == "--member") o.member = v;
      else if (a == "--peer-url") o.peer_url = v;
      else if (a == "-o" || a == "--output") o.output = v;
      else return fail_usage("unexpected argument '" + a + "'", "verify");
    } catch (const std::exception&) {
      return fail_usage("'" + a + "' needs a number, not '" + v + "'", "verify");
    }
  }
  return dnsd::run_verify(o);
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty()) return fail_usage("missing command");
  if (args[0] == "--help" || args[0] == "-h" || args[0] == "help") {
    fmt::print(stdout, "{}", full_usage());
    return 0;
  }
  if (args[0] == "--version" || args[0] == "version") {
    fmt::print(stdout, "dnsd {}\n", DNSD_VERSION);
    return 0;
  }
  const std::string command = args[0];
  if (std::none_of(command_help.begin(), command_help.end(), [&](const auto& c) { return c.first == command; }))
    return fail_usage("unknown command '" + command + "'");
  if (wants_help(args)) return print_help(command);
  if (command == "register") return cmd_register(args);
  if (command == "verify") return cmd_verify(args);
  RunOptions options;
  bool quiet = false;
  for (size_t i = 1; i < args.size(); ++i) {
    const std::string& a = args[i];
    auto value = [&](std::string& out) {
      if (i + 1 >= args.size()) return false;
      out = args[++i];
      return true;
    };
    std::string v;
    const bool takes_value = a == "-c" || a == "--config" || (command == "run" && (a == "--listen" || a == "--control"));
    if (takes_value && !value(v)) return fail_usage("'" + a + "' needs a value", command);
    if (a == "-c" || a == "--config") options.config_path = v;
    else if (command == "run" && a == "--listen") options.listen.push_back(v);
    else if (command == "run" && a == "--control") options.control_listen = v;
    else if (command == "check" && (a == "--quiet" || a == "-q")) quiet = true;
    else return fail_usage("unexpected argument '" + a + "'", command);
  }
  if (options.config_path.empty()) return fail_usage("-c CONFIG is required", command);
  return command == "check" ? cmd_check(options.config_path, quiet) : cmd_run(options);
}
