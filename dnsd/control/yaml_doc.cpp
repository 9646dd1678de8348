// libyaml's events -> a flat YAML tree (see yaml_doc.hpp).
#include "yaml_doc.hpp"

#include <yaml.h>

#include <map>
#include <string_view>

namespace dnsd {

struct YamlTree {
  enum class Kind : uint8_t { map, sequence, scalar, null };
  struct Node {
    Kind kind;
    int line;        // 1-based
    uint32_t first;  // scalar: index in scalars; map, sequence: first child in children
    uint32_t count;  // children (a map's keys and values alternate)
  };
  std::vector<Node> nodes;
  std::vector<uint32_t> children;
  std::vector<std::string> scalars;
};

namespace {

const std::string s_empty;

// yaml-cpp's (and YAML 1.2 core schema's) nulls: a plain scalar that is empty, `~` or null.
bool plain_null(const yaml_event_t& e) {
  if (e.data.scalar.style != YAML_PLAIN_SCALAR_STYLE) return false;
  const std::string_view v(reinterpret_cast<const char*>(e.data.scalar.value), e.data.scalar.length);
  return v.empty() || v == "~" || v == "null" || v == "Null" || v == "NULL";
}

struct Parser {
  yaml_parser_t p;
  Parser() { yaml_parser_initialize(&p); }
  ~Parser() { yaml_parser_delete(&p); }
  Parser(const Parser&) = delete;
  Parser& operator=(const Parser&) = delete;
};

struct Event {
  yaml_event_t e;
  ~Event() { yaml_event_delete(&e); }
};

std::string syntax_error(const yaml_parser_t& p, int& line) {
  line = int(p.problem_mark.line) + 1;
  std::string what = p.problem ? p.problem : "cannot be read";
  if (p.context) what += std::string(" (") + p.context + " from line " + std::to_string(p.context_mark.line + 1) + ")";
  return what;
}

}  // namespace

bool YamlNode::is_map() const { return tree_ && tree_->nodes[index_].kind == YamlTree::Kind::map; }
bool YamlNode::is_sequence() const { return tree_ && tree_->nodes[index_].kind == YamlTree::Kind::sequence; }
bool YamlNode::is_scalar() const { return tree_ && tree_->nodes[index_].kind == YamlTree::Kind::scalar; }
bool YamlNode::is_null() const { return tree_ && tree_->nodes[index_].kind == YamlTree::Kind::null; }

const std::string& YamlNode::scalar() const {
  return is_scalar() ? tree_->scalars[tree_->nodes[index_].first] : s_empty;
}

int YamlNode::line() const { return tree_ ? tree_->nodes[index_].line : 0; }

size_t YamlNode::size() const {
  if (is_sequence()) return tree_->nodes[index_].count;
  if (is_map()) return tree_->nodes[index_].count / 2;
  return 0;
}

YamlNode YamlNode::child(size_t i) const { return {tree_, tree_->children[tree_->nodes[index_].first + i]}; }

YamlNode YamlNode::operator[](const char* key) const {
  if (!is_map()) return {};
  // Through the tree itself: a handle per key compared was two reference-count updates each.
  const YamlTree::Node& map = tree_->nodes[index_];
  const std::string_view wanted(key);
  for (uint32_t i = 0; i < map.count; i += 2) {
    const YamlTree::Node& k = tree_->nodes[tree_->children[map.first + i]];
    if (k.kind == YamlTree::Kind::scalar && tree_->scalars[k.first] == wanted) return child(i + 1);
  }
  return {};
}

YamlNode YamlNode::operator[](size_t i) const { return is_sequence() && i < size() ? child(i) : YamlNode(); }
YamlNode YamlNode::key_at(size_t i) const { return is_map() && i < size() ? child(2 * i) : YamlNode(); }
YamlNode YamlNode::value_at(size_t i) const { return is_map() && i < size() ? child(2 * i + 1) : YamlNode(); }

YamlNode read_yaml(const std::string& text, std::string& error, int& error_line) {
  auto tree = std::make_shared<YamlTree>();
  Parser parser;
  yaml_parser_set_input_string(&parser.p, reinterpret_cast<const unsigned char*>(text.data()), text.size());
  // Containers still open (node, where their children start in `pending`): a container's children are
  // laid out together in `children` when it ends.
  std::vector<std::pair<uint32_t, size_t>> open;
  std::vector<uint32_t> pending;
  std::map<std::string, uint32_t> anchors;
  bool have_root = false;
  uint32_t root = 0;
  const auto add = [&](YamlTree::Kind kind, const yaml_mark_t& at, uint32_t first) {
    tree->nodes.push_back({kind, int(at.line) + 1, first, 0});
    return uint32_t(tree->nodes.size() - 1);
  };
  const auto anchor = [&](const yaml_char_t* name, uint32_t node) {
    if (name) anchors[reinterpret_cast<const char*>(name)] = node;
  };
  const auto done = [&](uint32_t node) {  // a complete node: a child of the innermost container, or the root
    if (open.empty()) have_root = true, root = node;
    else pending.push_back(node);
  };
  for (bool more = true; more && !have_root;) {
    Event ev;
    if (!yaml_parser_parse(&parser.p, &ev.e)) {
      error = syntax_error(parser.p, error_line);
      return {};
    }
    const yaml_event_t& e = ev.e;
    switch (e.type) {
      case YAML_SCALAR_EVENT: {
        if (plain_null(e)) {
          const uint32_t n = add(YamlTree::Kind::null, e.start_mark, 0);
          anchor(e.data.scalar.anchor, n);
          done(n);
          break;
        }
        tree->scalars.emplace_back(reinterpret_cast<const char*>(e.data.scalar.value), e.data.scalar.length);
        const uint32_t n = add(YamlTree::Kind::scalar, e.start_mark, uint32_t(tree->scalars.size() - 1));
        anchor(e.data.scalar.anchor, n);
        done(n);
        break;
      }
      case YAML_SEQUENCE_START_EVENT:
      case YAML_MAPPING_START_EVENT: {
        const bool seq = e.type == YAML_SEQUENCE_START_EVENT;
        const uint32_t n = add(seq ? YamlTree::Kind::sequence : YamlTree::Kind::map, e.start_mark, 0);
        anchor(seq ? e.data.sequence_start.anchor : e.data.mapping_start.anchor, n);
        open.emplace_back(n, pending.size());
        break;
      }
      case YAML_SEQUENCE_END_EVENT:
      case YAML_MAPPING_END_EVENT: {
        const auto [n, from] = open.back();
        open.pop_back();
        tree->nodes[n].first = uint32_t(tree->children.size());
        tree->nodes[n].count = uint32_t(pending.size() - from);
        tree->children.insert(tree->children.end(), pending.begin() + long(from), pending.end());
        pending.resize(from);
        done(n);
        break;
      }
      case YAML_ALIAS_EVENT: {
        const auto it = anchors.find(reinterpret_cast<const char*>(e.data.alias.anchor));
        if (it == anchors.end()) {
          error_line = int(e.start_mark.line) + 1;
          error = std::string("unknown anchor '") + reinterpret_cast<const char*>(e.data.alias.anchor) + "'";
          return {};
        }
        for (const auto& [n, from] : open)
          if (n == it->second) {  // a container inside itself: no tree
            error_line = int(e.start_mark.line) + 1;
            error = "an alias inside its own anchor";
            return {};
          }
        done(it->second);
        break;
      }
      case YAML_DOCUMENT_END_EVENT:
      case YAML_STREAM_END_EVENT:
        more = false;
        break;
      default:
        break;
    }
  }
  if (!have_root) {  // an empty file: a null document, on no line
    root = add(YamlTree::Kind::null, {}, 0);
    tree->nodes[root].line = 0;
  }
  return {std::move(tree), root};
}

}  // namespace dnsd
