// Fuzz target: the YAML loaders. Each input is read as a zone file (with its records: block, through
// the loader and the record builder) and as conf/dnsd.yaml (the daemon config loader, in a directory
// of its own with one zone file). Any input may be rejected with diagnostics; none may crash, hang or
// leak. The zone-file loader and the builder report through diagnostics and never throw; the daemon
// loader throws ConfigError and nothing else. Any other exception escapes: a finding. And whatever the
// YAML reader's fast path reads, it reads as libyaml does (yaml_doc.hpp).
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "config.hpp"
#include "yaml_compare.hpp"
#include "zone_builder.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  {
    const std::string text(reinterpret_cast<const char*>(data), size);
    if (const dnsd::YamlNode fast = dnsd::read_yaml_fast(text)) {
      std::string error;
      int line = 0;
      const dnsd::YamlNode slow = dnsd::read_yaml_libyaml(text, error, line);
      if (!slow || !dnsd::test::same_tree(fast, slow, "").empty()) std::abort();
    }
  }
  static const std::string path =
      (std::filesystem::temp_directory_path() / ("dnsd-fuzz-zone-" + std::to_string(getpid()) + ".yaml")).string();
  std::ofstream(path, std::ios::binary).write(reinterpret_cast<const char*>(data), std::streamsize(size));
  std::vector<dnsd::Diagnostic> diags;
  const dnsd::ZoneConfig z = dnsd::load_zone_file(path, diags);
  bool errors = false;
  for (const auto& d : diags) errors = errors || !d.warning;
  if (!errors) {
    dnsd::ZoneRecords records = dnsd::build_zone(z, diags);
    (void)dnsd::zone_digest(records);
  }
  static const std::filesystem::path dir = [] {
    const auto d = std::filesystem::temp_directory_path() / ("dnsd-fuzz-conf-" + std::to_string(getpid()));
    std::filesystem::create_directories(d / "zones");
    std::ofstream(d / "zones" / "z.yaml") << "zone: z.example\nsoa: { mname: ns.z.example, rname: h.z.example }\n"
                                             "ns: [ns.example.org]\n";
    return d;
  }();
  std::ofstream(dir / "dnsd.yaml", std::ios::binary).write(reinterpret_cast<const char*>(data), std::streamsize(size));
  try {
    (void)dnsd::load_config((dir / "dnsd.yaml").string());
  } catch (const dnsd::ConfigError& e) {
    if (e.diagnostics().empty()) std::abort();  // an error must say what is wrong
  }
  return 0;
}

namespace {
// The scratch files go when the process does.
struct Cleanup {
  ~Cleanup() {
    std::error_code ec;
    const auto tmp = std::filesystem::temp_directory_path();
    std::filesystem::remove(tmp / ("dnsd-fuzz-zone-" + std::to_string(getpid()) + ".yaml"), ec);
    std::filesystem::remove_all(tmp / ("dnsd-fuzz-conf-" + std::to_string(getpid())), ec);
  }
} s_cleanup;
}  // namespace
