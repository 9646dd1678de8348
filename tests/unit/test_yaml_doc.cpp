// The config files' YAML reader (yaml_doc.hpp) against yaml-cpp's node tree, which it replaced:
// the same kinds, scalars and lines for the shapes config files use, and clear errors.
#include <yaml-cpp/yaml.h>

#include <catch2/catch.hpp>

#include <fstream>
#include <iterator>
#include <random>

#include "yaml_compare.hpp"
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

namespace {

// Whether the fast path read `text`; when it did, its tree is libyaml's.
bool fast_reads_as_libyaml(const std::string& text) {
  const YamlNode fast = read_yaml_fast(text);
  if (!fast) return false;
  std::string error;
  int line = 0;
  const YamlNode slow = read_yaml_libyaml(text, error, line);
  INFO(text);
  INFO(error);
  REQUIRE(slow);  // the fast path never reads what libyaml calls an error
  CHECK(test::same_tree(fast, slow, "") == "");
  return true;
}

std::string file_text(const std::string& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

}  // namespace

TEST_CASE("the fast path reads config files as libyaml does, and leaves it everything else", "[yaml]") {
  std::string scale = "zone: scale.example.com\nsoa: { mname: ns1.scale.example.com, rname: hostmaster.scale.example.com }\n"
                      "ns: [ns1.scale.example.com]\nrecords: |\n  ns1 IN A 192.0.2.53\n\n  txt IN TXT \"a # b\"\nclusters:\n";
  for (int c = 1; c <= 3; ++c) {
    scale += "  - name: c" + std::to_string(c) + "\n    members:\n";
    for (int m = 1; m <= 3; ++m)
      scale += "      - { name: e" + std::to_string(m) + ", host: e" + std::to_string(m) + ".c" + std::to_string(c) +
               ".scale.example.com, addresses: [10.0.0." + std::to_string(m) + ", \"2001:db8::" + std::to_string(m) + "\"] }\n";
  }
  // What config files look like: the fast path takes them.
  const std::vector<std::string> taken = {
      scale,
      file_text(std::string(DNSD_SOURCE_DIR) + "/conf/dnsd.yaml"),
      "listen: [\"127.0.0.1:53\", '[::1]:53']\nworkers: auto\nlog:\n  level: info\n",
      "clusters:\n  - name: c1\n    expected_size: 3\n    members:\n      - { name: e1, host: e1.lab, addresses: [10.0.0.1] }\n"
      "      - name: e2\n        host: e2.lab\n        addresses:\n          - 10.0.0.2\n          - fd00::2\n    members2:\n",
      "a: ~\nb: null\nc: Null\nd: NULL\ne:\nf: \"null\"\ng: ''\nh: \"~\"\n",
      "# comment\nkey: value # trailing\n\n\nlater: \"quoted: colon\"\n",
      "k:\n- a\n-\n- 'it''s'\nnext: {}\nempty: []\n",
      "records: |\n  a\n\n    indented\n  b\n\n\nafter: 1\n",
      "- a\n- b: c\n  d: e\n-\n  - x\n",
      "{\"host\": \"m1.lab.example.com.\", \"addresses\": [\"192.0.2.1\"], \"peer_port\": 2380}",
      "url: https://a.example:2379/health\npath: /x#y\nn: -1\n",
      "a:\n  - { k: [x, [y, 'z'], {q: \"r\\\"s\\\\t\"}], l: v } # c\n  -   b   \n  # between\n  - c: |\n      lit\n       more\n    d: e\nz: 'q' # end",
      "x:\n  y:\n    z: 1\n  w:\n  - 1\n  - 2\nv: [\"a, b\", 'c: d']\n",
  };
  for (const std::string& text : taken) {
    INFO(text);
    CHECK(fast_reads_as_libyaml(text));
  }
  // Left to libyaml: what the fast path does not read, whether valid YAML or an error.
  for (const std::string text : {
           "", "plain", "---\nfirst: doc\n", "base: &b { p: 1 }\nother: *b\n", "k: !!str 123\n", "records: >\n  folded\n",
           "key: multi\n  line plain\n", "a: b: c\n", "a:\tb\n", "a: \"\\u00e9\"\n", "a: 'open\n  quote'\n", "a: [1,\n  2]\n",
           "? complex\n: key\n", "a: |-\n  x\n", "a: 1\n b: 2\n", "- - x\n", "a: [b, c,]\n", "{a: }\n", "a: |\n\n      \n  x\n",
           "k: v\r\n", "\xEF\xBB\xBFk: v\n", "  a: 1\n",
       }) {
    INFO(text);
    CHECK_FALSE(fast_reads_as_libyaml(text));
  }
  // Deep nesting is libyaml's (the fast path recurses): a body of a million '[' reads as libyaml reads it.
  CHECK_FALSE(read_yaml_fast(std::string(1000000, '[')));
  CHECK_FALSE(read_yaml_fast("a: " + std::string(65, '[') + std::string(65, ']') + "\n"));
  CHECK(read_yaml_fast("a: " + std::string(60, '[') + std::string(60, ']') + "\n"));
  // Random edits of the documents above: whatever the fast path reads, it reads as libyaml.
  std::mt19937 rng(20261203);
  const std::string alphabet = " \n-:#[]{},'\"|>&*!?~ab1.";
  size_t read = 0, tried = 0;
  for (int i = 0; i < 20000; ++i) {
    std::string text = taken[rng() % taken.size()];
    for (int edits = 1 + int(rng() % 3); edits > 0 && !text.empty(); --edits) {
      const size_t at = rng() % text.size();
      switch (rng() % 4) {
        case 0: text.insert(at, 1, alphabet[rng() % alphabet.size()]); break;
        case 1: text.erase(at, 1); break;
        case 2: text[at] = alphabet[rng() % alphabet.size()]; break;
        default: text.insert(text.rfind('\n', at) + 1, std::string(1 + rng() % 3, ' ')); break;  // a line indented more
      }
    }
    ++tried;
    read += fast_reads_as_libyaml(text);
  }
  INFO(read << " of " << tried << " edited documents read by the fast path");
  CHECK(read > tried / 10);  // the comparison saw many (a path that declined everything would prove nothing)
}
