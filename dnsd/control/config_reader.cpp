// The YAML reader of both config files (see config_reader.hpp).
#include "config_reader.hpp"

#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <algorithm>
#include <charconv>
#include <filesystem>

#include "names.hpp"

namespace dnsd {

bool ConfigReader::check_keys(const YAML::Node& map, const std::string& what, std::initializer_list<Key> keys) {
  if (!map.IsMap()) {
    error(map, what + " must be a mapping");
    return false;
  }
  for (const auto& kv : map) {
    const std::string key = kv.first.Scalar();
    if (std::none_of(keys.begin(), keys.end(), [&](const Key& k) { return key == k.name; }))
      error(kv.first, "unknown key '" + key + "' in " + what);
  }
  for (const Key& k : keys)
    if (k.required && !map[k.name]) error(map, "missing required key '" + std::string(k.name) + "' in " + what);
  return true;
}

std::optional<std::string> ConfigReader::string(const YAML::Node& map, const char* key) {
  const YAML::Node n = map[key];
  if (!n) return std::nullopt;
  if (!n.IsScalar()) {
    error(n, std::string(key) + " must be a string");
    return std::nullopt;
  }
  return n.Scalar();
}

std::optional<uint64_t> ConfigReader::integer(const YAML::Node& map, const char* key, uint64_t min, uint64_t max,
                                              const char* also) {
  const YAML::Node n = map[key];
  if (!n) return std::nullopt;
  uint64_t value = 0;
  const std::string& s = n.Scalar();
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
  if (!n.IsScalar() || s.empty() || ec != std::errc() || ptr != s.data() + s.size() || value < min || value > max) {
    error(n, std::string(key) + " must be an integer from " + std::to_string(min) + " to " + std::to_string(max) +
                 (also ? std::string(" ") + also : "") + (n.IsScalar() ? ", not '" + s + "'" : ""));
    return std::nullopt;
  }
  return value;
}

std::optional<uint16_t> ConfigReader::port(const YAML::Node& map, const char* key) {
  auto v = integer(map, key, 1, 65535);
  return v ? std::optional<uint16_t>(uint16_t(*v)) : std::nullopt;
}

std::optional<bool> ConfigReader::boolean(const YAML::Node& map, const char* key) {
  const YAML::Node n = map[key];
  if (!n) return std::nullopt;
  const std::string& s = n.Scalar();
  if (n.IsScalar() && (s == "true" || s == "false")) return s == "true";
  error(n, std::string(key) + " must be true or false");
  return std::nullopt;
}

std::optional<std::vector<std::string>> ConfigReader::strings(const YAML::Node& map, const char* key) {
  const YAML::Node n = map[key];
  if (!n) return std::nullopt;
  std::vector<std::string> out;
  if (n.IsScalar()) return std::vector<std::string>{n.Scalar()};
  if (!n.IsSequence()) {
    error(n, std::string(key) + " must be a list of strings");
    return std::nullopt;
  }
  for (const auto& item : n) {
    if (!item.IsScalar()) {
      error(item, std::string(key) + " entries must be strings");
      continue;
    }
    out.push_back(item.Scalar());
  }
  return out;
}

std::optional<std::string> ConfigReader::domain(const YAML::Node& map, const char* key) {
  auto s = string(map, key);
  if (!s) return std::nullopt;
  const std::string name = absolute_name(*s);
  if (!go_valid_hostname(name)) {
    error(map[key], std::string(key) + " '" + *s + "' is not a valid host name");
    return std::nullopt;
  }
  return name;
}

std::optional<uint32_t> ConfigReader::duration_ms(const YAML::Node& map, const char* key, uint64_t min_ms,
                                                  uint64_t max_ms, const std::string& hint) {
  auto s = string(map, key);
  if (!s) return std::nullopt;
  const auto ms = parse_duration_ms(*s);
  if (!ms || *ms < min_ms || *ms > max_ms) {
    error(map[key], std::string(key) + " must be a duration " + hint);
    return std::nullopt;
  }
  return uint32_t(*ms);
}

YAML::Node load_yaml(const std::string& path, std::vector<Diagnostic>& diags) {
  std::error_code ec;
  if (std::filesystem::exists(path, ec) && !std::filesystem::is_regular_file(path, ec)) {
    diags.push_back({{path, 0}, "not a regular file (a zones pattern that matches a directory?)", false});
    return {};
  }
  try {
    return YAML::LoadFile(path);
  } catch (const YAML::BadFile&) {
    // yaml-cpp does not say why: ask the system.
    const int err = ::access(path.c_str(), R_OK) != 0 ? errno : 0;
    diags.push_back({{path, 0}, std::string("cannot read file") + (err ? std::string(": ") + std::strerror(err) : ""), false});
  } catch (const YAML::ParserException& e) {
    diags.push_back({{path, e.mark.line + 1}, "YAML syntax error: " + e.msg, false});
  } catch (const std::exception& e) {  // a read error under the parser (ios_base::failure)
    diags.push_back({{path, 0}, std::string("cannot read file: ") + e.what(), false});
  }
  return {};
}

}  // namespace dnsd
