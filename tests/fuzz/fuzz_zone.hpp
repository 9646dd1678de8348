// Fuzz helper: the compiled etcd zone the message targets answer from (built once per process).
#pragma once

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "compile.hpp"

inline const dnsd::CompiledConfig& fuzz_zone() {
  static const dnsd::CompiledConfig compiled = [] {
    const auto dir = std::filesystem::temp_directory_path() / ("dnsd-fuzz-" + std::to_string(getpid()));
    std::filesystem::create_directories(dir / "zones");
    std::ofstream(dir / "dnsd.yaml") << "listen: [\"127.0.0.1:1\"]\nzones: [\"zones/*.yaml\"]\nstate_dir: state\n";
    std::string zone =
        "zone: lab.example.com\nsoa: { mname: ns1.lab.example.com, rname: h.lab.example.com }\n"
        "ns: [ns1.lab.example.com, ns2.example.org]\nrecords: |\n  ns1 IN A 192.0.2.53\n  www IN CNAME ns1\n"
        "  @ IN MX 10 ns1\nclusters:\n  - name: c1\n    members:\n";
    for (int i = 0; i < 30; ++i)  // enough members for truncation paths
      zone += "      - { name: m" + std::to_string(i) + ", host: etcd-" + std::to_string(i) +
              ".c1.lab.example.com, addresses: [192.0.2." + std::to_string(i + 1) + "] }\n";
    std::ofstream(dir / "zones" / "lab.yaml") << zone;
    dnsd::DaemonConfig cfg = dnsd::load_config((dir / "dnsd.yaml").string());
    cfg.cookie_secret = "0123456789abcdef";  // server cookies on: their path is fuzzed too
    dnsd::StateStore state(cfg.state_dir, true);
    auto out = dnsd::compile_config(cfg, state);
    std::filesystem::remove_all(dir);
    return out;
  }();
  return compiled;
}
