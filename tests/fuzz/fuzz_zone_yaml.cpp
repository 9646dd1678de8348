// Fuzz target: the YAML loaders. Each input is read as a zone file (with its records: block, through
// the loader and the record builder) and as conf/dnsd.yaml (the daemon config loader, in a directory
// of its own with one zone file). Any input may be rejected with diagnostics; none may crash, hang or leak.
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "config.hpp"
#include "zone_builder.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::string path =
      (std::filesystem::temp_directory_path() / ("dnsd-fuzz-zone-" + std::to_string(getpid()) + ".yaml")).string();
  std::ofstream(path, std::ios::binary).write(reinterpret_cast<const char*>(data), std::streamsize(size));
  std::vector<dnsd::Diagnostic> diags;
  try {
    const dnsd::ZoneConfig z = dnsd::load_zone_file(path, diags);
    bool errors = false;
    for (const auto& d : diags) errors = errors || !d.warning;
    if (!errors) {
      dnsd::ZoneRecords records = dnsd::build_zone(z, diags);
      (void)dnsd::zone_digest(records);
    }
  } catch (const std::exception&) {
    // The loaders report through diagnostics; an exception is acceptable only as a typed error.
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
  } catch (const dnsd::ConfigError&) {
  }
  return 0;
}
