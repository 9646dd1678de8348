// Test helper: two read YAML trees compared node by node (the fast path against libyaml's, in
// test_yaml_doc.cpp and fuzz_zone_yaml.cpp).
#pragma once

#include <string>

#include "yaml_doc.hpp"

namespace dnsd::test {

// The first difference between two trees (kinds, lines, scalars, children), or "".
inline std::string same_tree(const YamlNode& a, const YamlNode& b, const std::string& path) {
  if (a.line() != b.line()) return path + ": line " + std::to_string(a.line()) + " != " + std::to_string(b.line());
  if (a.is_null() != b.is_null() || a.is_scalar() != b.is_scalar() || a.is_map() != b.is_map() || a.is_sequence() != b.is_sequence())
    return path + ": not the same kind";
  if (a.is_scalar()) return a.scalar() == b.scalar() ? "" : path + ": '" + a.scalar() + "' != '" + b.scalar() + "'";
  if (a.size() != b.size()) return path + ": " + std::to_string(a.size()) + " entries != " + std::to_string(b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    const std::string at = path + "/" + std::to_string(i);
    if (a.is_map()) {
      if (auto d = same_tree(a.key_at(i), b.key_at(i), at + ".key"); !d.empty()) return d;
      if (auto d = same_tree(a.value_at(i), b.value_at(i), at); !d.empty()) return d;
    } else if (auto d = same_tree(a[i], b[i], at); !d.empty()) {
      return d;
    }
  }
  return "";
}

}  // namespace dnsd::test
