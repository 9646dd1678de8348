// The config files' YAML reader (yaml_doc.hpp) against yaml-cpp's node tree, which it replaced:
// the same kinds, scalars and lines for the shapes config files use, and clear errors.
#include <yaml-cpp/yaml.h>

#include <catch2/catch.hpp>

#include "yaml_doc.hpp"

using namespace dnsd;

namespace {

// Walks both trees; the first difference, or "" when they agree.
std::string compare(const YamlNode& ours, const YAML::Node& theirs, const std::string& path) {
  const int line = theirs.Mark().line + 1;
  // An empty value is on its key's line here; yaml-cpp put it where the next token is.
  const bool empty_value = theirs.IsNull() && ours.is_null() && line > ours.line();
  if (ours.line() != line && !empty_value) return path + ": line " + std::to_string(ours.line()) + " != " + std::to_string(line);
  if (theirs.IsNull()) return ours.is_null() ? "" : path + ": not null";
  if (theirs.IsScalar())
    return ours.is_scalar() && ours.scalar() == theirs.Scalar() ? "" : path + ": scalar '" + ours.scalar() + "'";
  if (theirs.IsSequence()) {
    if (!ours.is_sequence() || ours.size() != theirs.size()) return path + ": not the same sequence";
    for (size_t i = 0; i < theirs.size(); ++i)
      if (auto d = compare(ours[i], theirs[i], path + "[" + std::to_string(i) + "]"); !d.empty()) return d;
    return "";
  }
  if (!ours.is_map() || ours.size() != theirs.size()) return path + ": not the same map";
  size_t i = 0;
  for (const auto& kv : theirs) {
    if (auto d = compare(ours.key_at(i), kv.first, path + ".key"); !d.empty()) return d;
    if (auto d = compare(ours.value_at(i), kv.second, path + "." + kv.first.Scalar()); !d.empty()) return d;
    ++i;
  }
  return "";
}

YamlNode read(const std::string& text) {
  std::string error;
  int line = 0;
  YamlNode n = read_yaml(text, error, line);
  INFO(error);
  REQUIRE(n);
  return n;
}

}  // namespace

TEST_CASE("config YAML reads as yaml-cpp read it", "[yaml]") {
  for (const std::string text : {
           "",
           "zone: lab.example.com\nsoa: { mname: ns1.lab.example.com., rname: 'hostmaster' }\n",
           "listen: [\"127.0.0.1:53\", '[::1]:53']\nworkers: auto\nlog:\n  level: info\n",
           "records: |\n  www IN A 192.0.2.1\n  txt IN TXT \"a b\"\nns: [ns1]\n",
           "records: >\n  folded\n  text\n",
           "clusters:\n  - name: c1\n    expected_size: 3\n    members:\n      - { name: e1, host: e1.lab, addresses: [10.0.0.1] }\n"
           "      - name: e2\n        host: e2.lab\n        addresses:\n          - 10.0.0.2\n          - fd00::2\n    members2:\n",
           "a: ~\nb: null\nc: Null\nd: NULL\ne:\nf: \"null\"\ng: ''\nh: \"~\"\n",
           "base: &b { peer_port: 2380 }\nother: *b\nlist: [&x one, *x]\n",
           "# comment\nkey: value # trailing\n\n\nlater: \"quoted: colon\"\n",
           "k: !!str 123\nn: 0x1F\nt: true\n",
           "---\nfirst: doc\n...\n---\nsecond: doc\n",
           "- a\n- b\n",
           "plain",
           "key: multi\n  line plain\n",
       }) {
    INFO(text);
    const YAML::Node theirs = YAML::Load(text);
    CHECK(compare(read(text), theirs, "") == "");
  }
}

TEST_CASE("config YAML: lookups, errors and what yaml-cpp would not do", "[yaml]") {
  const YamlNode root = read("a: 1\na: 2\nseq: [x]\n");
  CHECK(read("a: 1\nempty:\nb: 2\n")["empty"].line() == 2);
  CHECK(read("").line() == 0);
  CHECK(root["a"].scalar() == "1");  // the first of a repeated key, as yaml-cpp
  CHECK_FALSE(root["missing"]);
  CHECK(root["missing"].line() == 0);
  CHECK_FALSE(root["seq"][size_t{1}]);
  CHECK(root["seq"][size_t{0}].scalar() == "x");
  CHECK_FALSE(root["a"]["x"]);  // not a map: undefined, never a throw
  CHECK(root["seq"].scalar().empty());
  size_t items = 0;
  for (const YamlNode& item : root["seq"]) items += item.scalar() == "x";
  CHECK(items == 1);
  for (const YamlNode& item : root) FAIL("a map has no items " << item.scalar());

  for (const auto& [text, line, what] : std::vector<std::tuple<std::string, int, std::string>>{
           {"a: [1, 2\nb: 3\n", 2, "did not find expected ',' or ']'"},
           {"a: b: c\n", 1, "mapping values are not allowed in this context"},
           {"a: *nowhere\n", 1, "unknown anchor 'nowhere'"},
           {"a: &x [*x]\n", 1, "an alias inside its own anchor"},
           {"a:\n\t- b\n", 2, "found character that cannot start any token"},
       }) {
    INFO(text);
    std::string error;
    int at = 0;
    CHECK_FALSE(read_yaml(text, error, at));
    CHECK(at == line);
    CHECK(error.find(what) == 0);
  }
}
