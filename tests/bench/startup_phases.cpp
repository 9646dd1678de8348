// Where start-up time goes, phase by phase, without the daemon around it: reading the YAML into a
// node tree, reading the config (which reads the YAML again), and compiling every zone; then what the
// health monitor does with the config again after a change (a registration: every probed member's
// target compared, none touched). Used by startup_profile.sh. Usage: bench_startup_phases DNSD_YAML ZONE_YAML [ROUNDS]
#include <malloc.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <set>

#include "compile.hpp"
#include "health_monitor.hpp"
#include "config_reader.hpp"

namespace {

double since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

// Bytes in use, chunks mmapped on their own (large buffers) included.
size_t heap_in_use() {
  const struct mallinfo2 m = mallinfo2();
  return m.uordblks + m.hblkhd;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: %s DNSD_YAML ZONE_YAML [ROUNDS]\n", argv[0]);
    return 2;
  }
  const int rounds = argc > 3 ? std::atoi(argv[3]) : 3;
  double yaml = 1e9, config = 1e9, compile = 1e9;
  for (int i = 0; i < rounds; ++i) {
    auto t0 = std::chrono::steady_clock::now();
    std::vector<dnsd::Diagnostic> diags;
    { const dnsd::YamlNode tree = dnsd::load_yaml(argv[2], diags); }
    yaml = std::min(yaml, since(t0));
    t0 = std::chrono::steady_clock::now();
    const dnsd::DaemonConfig cfg = dnsd::load_config(argv[1]);
    config = std::min(config, since(t0));
    dnsd::StateStore state(cfg.state_dir, true);
    t0 = std::chrono::steady_clock::now();
    const dnsd::CompiledConfig compiled = dnsd::compile_config(cfg, state);
    compile = std::min(compile, since(t0));
  }
  // What the daemon holds once it answers: the config (kept for reloads and registrations), the
  // zones' records (kept for transfers, status and patches) and the snapshot the workers answer from.
  size_t tree_bytes = 0;
  {
    std::vector<dnsd::Diagnostic> diags;
    const size_t before = heap_in_use();
    const dnsd::YamlNode tree = dnsd::load_yaml(argv[2], diags);
    tree_bytes = heap_in_use() - before;
  }
  const size_t h0 = heap_in_use();
  auto cfg = std::make_unique<dnsd::DaemonConfig>(dnsd::load_config(argv[1]));
  const size_t h1 = heap_in_use();
  dnsd::StateStore state(cfg->state_dir, true);
  dnsd::CompiledConfig compiled = dnsd::compile_config(*cfg, state);
  const size_t h2 = heap_in_use();
  size_t reserved = 0;
  for (dnsd::ZoneRecords& z : compiled.zones) {
    const size_t before = heap_in_use();
    z.reserved_names = dnsd::NameSet();
    reserved += before - heap_in_use();
  }
  compiled.zones.clear();
  compiled.zones.shrink_to_fit();
  const size_t h3 = heap_in_use();
  double health = 1e9;
  {
    const dnsd::EventBasePtr base(event_base_new());
    dnsd::HealthMonitor monitor(base.get());
    monitor.set_config(*cfg);
    for (int i = 0; i < rounds; ++i) {
      const auto t0 = std::chrono::steady_clock::now();
      monitor.set_config(*cfg);
      health = std::min(health, since(t0));
    }
  }
  std::printf("| phase (best of %d) | ms |\n|---|---|\n", rounds);
  std::printf("| YAML file to node tree | %.1f |\n", yaml);
  std::printf("| config read (node tree included) | %.1f |\n", config);
  std::printf("| compile (records, answers, snapshot) | %.1f |\n", compile);
  std::printf("| health monitor: the same config again (after a registration) | %.2f |\n", health);
  std::printf("\n| held after start-up | MiB |\n|---|---|\n");
  std::printf("| the zone file's YAML node tree (only while the config is read) | %.1f |\n", double(tree_bytes) / 1048576);
  std::printf("| config | %.1f |\n", double(h1 - h0) / 1048576);
  std::printf("| zone records (ZoneRecords) | %.1f |\n", double(h2 - h3) / 1048576);
  std::printf("| of which reserved names | %.1f |\n", double(reserved) / 1048576);
  std::printf("| snapshot | %.1f |\n", double(h3 - h1) / 1048576);
  if (std::getenv("STARTUP_PHASES_EXIT")) _exit(0);  // heaptrack: what is held shows as leaked
  return 0;
}
