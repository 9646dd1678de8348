// dnsd entry point: argument parsing and wiring only. `run` serves, `check` validates and prints.
#include <cstring>
#include <iostream>
#include <string>
#include <vector>

#include "compile.hpp"
#include "config.hpp"
#include "control.hpp"
#include "log.hpp"
#include "register.hpp"

#ifndef DNSD_VERSION
#define DNSD_VERSION "0.1.0"
#endif

namespace {

const char* usage = R"(usage:
  dnsd run -c CONFIG [--listen ADDR:PORT ...] [--control ADDR:PORT]
      serve the zones of CONFIG in the foreground, logging to stderr;
      --listen replaces the config's listen list, --control its control endpoint
  dnsd check -c CONFIG
      validate CONFIG and its zones and print them as RFC 1035 text;
      errors as file:line: message on stderr (exit 1), warnings on stderr (exit 0)
  dnsd register --control http[s]://HOST:PORT --token-file FILE --zone ZONE [--cluster NAME]
                [--ca-file F] [--cert-file F --key-file F]
                --member NAME --host HOST [--address ADDR ...] [--peer-port N] [--client-port N]
                [--wait] [--timeout SECONDS] [-o flags|env|dropin]
      register a member through the control API (retrying while dnsd is unreachable), with --wait
      until its cluster is complete, then print the member's etcd configuration
  dnsd --version
  dnsd --help

signals: SIGHUP reloads (a broken config is reported, the old zones keep serving);
         SIGTERM and SIGINT stop.
)";

int fail_usage(const std::string& message) {
  std::cerr << "dnsd: " << message << "\n" << usage;
  return 2;
}

int print_diagnostics(const std::vector<dnsd::Diagnostic>& diags) {
  for (const auto& d : diags) std::cerr << dnsd::to_string(d) << "\n";
  return 1;
}

int cmd_check(const std::string& path) {
  try {
    dnsd::DaemonConfig cfg = dnsd::load_config(path);
    for (const auto& w : cfg.warnings) std::cerr << dnsd::to_string(w) << "\n";
    dnsd::StateStore state(cfg.state_dir, true);
    const dnsd::CompiledConfig compiled = dnsd::compile_config(cfg, state);
    for (const auto& z : compiled.zones) std::cout << dnsd::zone_text(z) << "\n";
    return 0;
  } catch (const dnsd::ConfigError& e) {
    return print_diagnostics(e.diagnostics());
  } catch (const std::exception& e) {
    std::cerr << "dnsd: " << e.what() << "\n";
    return 1;
  }
}

int cmd_run(const dnsd::RunOptions& options) {
  dnsd::init_logging();
  try {
    dnsd::Control control(options);
    control.start();
    return control.run();
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
    if (i + 1 >= args.size()) return fail_usage("'" + a + "' needs a value");
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
      else return fail_usage("unexpected argument '" + a + "'");
    } catch (const std::exception&) {
      return fail_usage("'" + a + "' needs a number, not '" + v + "'");
    }
  }
  return dnsd::run_register(o);
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty()) return fail_usage("missing command");
  if (args[0] == "--help" || args[0] == "-h" || args[0] == "help") {
    std::cout << usage;
    return 0;
  }
  if (args[0] == "--version" || args[0] == "version") {
    std::cout << "dnsd " << DNSD_VERSION << "\n";
    return 0;
  }
  const std::string command = args[0];
  if (command == "register") return cmd_register(args);
  if (command != "run" && command != "check") return fail_usage("unknown command '" + command + "'");
  dnsd::RunOptions options;
  for (size_t i = 1; i < args.size(); ++i) {
    const std::string& a = args[i];
    auto value = [&](std::string& out) {
      if (i + 1 >= args.size()) return false;
      out = args[++i];
      return true;
    };
    std::string v;
    if ((a == "-c" || a == "--config") && value(v)) options.config_path = v;
    else if (command == "run" && a == "--listen" && value(v)) options.listen.push_back(v);
    else if (command == "run" && a == "--control" && value(v)) options.control_listen = v;
    else return fail_usage("unexpected argument '" + a + "'");
  }
  if (options.config_path.empty()) return fail_usage("-c CONFIG is required");
  return command == "check" ? cmd_check(options.config_path) : cmd_run(options);
}
