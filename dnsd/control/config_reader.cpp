// The YAML reader of both config files (see config_reader.hpp).
#include "config_reader.hpp"

#include <algorithm>
#include <charconv>
#include <filesystem>

#include "names.hpp"
#include "state_store.hpp"

namespace dnsd {

bool ConfigReader::check_keys(const YamlNode& map, const std::string& what, std::initializer_list<Key> keys) {
  if (!map.is_map()) {
    error(map, what + " must be a mapping");
    return false;
  }
  for (size_t i = 0; i < map.size(); ++i) {
    const std::string& key = map.key_at(i).scalar();
    if (std::none_of(keys.begin(), keys.end(), [&](const Key& k) { return key == k.name; }))
      error(map.key_at(i), "unknown key '" + key + "' in " + what);
  }
  for (const Key& k : keys)
    if (k.required && !map[k.name]) error(map, "missing required key '" + std::string(k.name) + "' in " + what);
  return true;
}

std::optional<std::string> ConfigReader::string(const YamlNode& map, const char* key) {
  const YamlNode n = map[key];
  if (!n) return std::nullopt;
  if (!n.is_scalar()) {
    error(n, std::string(key) + " must be a string");
    return std::nullopt;
  }
  return n.scalar();
}

std::optional<uint64_t> ConfigReader::integer(const YamlNode& map, const char* key, uint64_t min, uint64_t max,
                                              const char* also) {
  const YamlNode n = map[key];
  if (!n) return std::nullopt;
  uint64_t value = 0;
  const std::string& s = n.scalar();
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
  if (!n.is_scalar() || s.empty() || ec != std::errc() || ptr != s.data() + s.size() || value < min || value > max) {
    error(n, std::string(key) + " must be an integer from " + std::to_string(min) + " to " + std::to_string(max) +
                 (also ? std::string(" ") + also : "") + (n.is_scalar() ? ", not '" + s + "'" : ""));
    return std::nullopt;
  }
  return value;
}

std::optional<uint16_t> ConfigReader::port(const YamlNode& map, const char* key) {
  auto v = integer(map, key, 1, 65535);
  return v ? std::optional<uint16_t>(uint16_t(*v)) : std::nullopt;
}

std::optional<bool> ConfigReader::boolean(const YamlNode& map, const char* key) {
  const YamlNode n = map[key];
  if (!n) return std::nullopt;
  const std::string& s = n.scalar();
  if (n.is_scalar() && (s == "true" || s == "false")) return s == "true";
  error(n, std::string(key) + " must be true or false");
  return std::nullopt;
}

std::optional<std::vector<std::string>> ConfigReader::strings(const YamlNode& map, const char* key) {
  const YamlNode n = map[key];
  if (!n) return std::nullopt;
  std::vector<std::string> out;
  if (n.is_scalar()) return std::vector<std::string>{n.scalar()};
  if (!n.is_sequence()) {
    error(n, std::string(key) + " must be a list of strings");
    return std::nullopt;
  }
  out.reserve(n.size());  // sized once: the config is kept (a zone of 10,000 members holds 10,000 lists)
  for (const auto& item : n) {
    if (!item.is_scalar()) {
      error(item, std::string(key) + " entries must be strings");
      continue;
    }
    out.push_back(item.scalar());
  }
  return out;
}

std::optional<std::string> ConfigReader::domain(const YamlNode& map, const char* key) {
  auto s = string(map, key);
  if (!s) return std::nullopt;
  const std::string name = absolute_name(*s);
  if (!go_valid_hostname(name)) {
    error(map[key], std::string(key) + " '" + *s + "' is not a valid host name");
    return std::nullopt;
  }
  return name;
}

std::optional<uint32_t> ConfigReader::duration_ms(const YamlNode& map, const char* key, uint64_t min_ms,
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

YamlNode load_yaml(const std::string& path, std::vector<Diagnostic>& diags) {
  std::error_code ec;
  if (std::filesystem::exists(path, ec) && !std::filesystem::is_regular_file(path, ec)) {
    diags.push_back({{path, 0}, "not a regular file (a zones pattern that matches a directory?)", false});
    return {};
  }
  std::string text;
  if (const auto problem = read_whole_file(path, text)) {
    diags.push_back({{path, 0}, "cannot read file: " + *problem, false});
    return {};
  }
  std::string error;
  int line = 0;
  YamlNode root = read_yaml(text, error, line);
  if (!root) diags.push_back({{path, line}, "YAML syntax error: " + error, false});
  return root;
}

}  // namespace dnsd
