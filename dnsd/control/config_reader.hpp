// The YAML reader both config files share: key tables checked in pass 1 (unknown keys, missing
// required keys), typed getters that report every problem as file:line and return nullopt.
// Control plane: used by config.cpp and config_zone.cpp only.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "config.hpp"
#include "yaml_doc.hpp"

namespace dnsd {

// One key of a mapping: its name and whether it must be present.
struct Key {
  const char* name;
  bool required;
};

// Reads one YAML file, collecting diagnostics (never throwing).
class ConfigReader {
 public:
  ConfigReader(std::string file, std::vector<Diagnostic>& diagnostics)
      : file_(std::move(file)), diags_(diagnostics) {}

  SourceLoc loc(const YamlNode& n) const { return file_.at(n.line()); }
  const std::string& file() const { return file_.file(); }
  void error(const SourceLoc& at, std::string message) { diags_.push_back({at, std::move(message), false}); }
  void error(const YamlNode& n, std::string message) { error(loc(n), std::move(message)); }
  void warn(const SourceLoc& at, std::string message) { diags_.push_back({at, std::move(message), true}); }

  // Pass 1: the mapping holds only the table's keys and every required one. Returns false when `map`
  // is not a mapping at all.
  bool check_keys(const YamlNode& map, const std::string& what, std::initializer_list<Key> keys);
  std::optional<std::string> string(const YamlNode& map, const char* key);
  // `also` names another accepted value in the error ("or auto ...").
  std::optional<uint64_t> integer(const YamlNode& map, const char* key, uint64_t min, uint64_t max,
                                  const char* also = nullptr);
  std::optional<uint16_t> port(const YamlNode& map, const char* key);
  std::optional<bool> boolean(const YamlNode& map, const char* key);
  // A sequence of strings; a lone string is accepted as a one-element list.
  std::optional<std::vector<std::string>> strings(const YamlNode& map, const char* key);
  // A domain name that must be usable as an absolute host name.
  std::optional<std::string> domain(const YamlNode& map, const char* key);
  // A duration (see parse_duration_ms) from min_ms to max_ms; `hint` ends the error message.
  std::optional<uint32_t> duration_ms(const YamlNode& map, const char* key, uint64_t min_ms, uint64_t max_ms,
                                      const std::string& hint);

 private:
  SourceLoc file_;  // the file, shared by every location read from it
  std::vector<Diagnostic>& diags_;
};

// Parses a YAML file; problems (unreadable, a directory, a syntax error) go to diags as file:line.
YamlNode load_yaml(const std::string& path, std::vector<Diagnostic>& diags);

}  // namespace dnsd
