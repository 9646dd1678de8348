// libyaml's events -> a flat YAML tree (see yaml_doc.hpp).
#include "yaml_doc.hpp"

#include <yaml.h>

#include <initializer_list>
#include <map>
#include <optional>
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
bool null_word(std::string_view v) { return v.empty() || v == "~" || v == "null" || v == "Null" || v == "NULL"; }
bool plain_null(const yaml_event_t& e) {
  return e.data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
         null_word({reinterpret_cast<const char*>(e.data.scalar.value), e.data.scalar.length});
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

// The fast path (see yaml_doc.hpp): block mappings and sequences of plain or quoted scalars, flow
// collections on one line, and literal block scalars, read straight from the text; anything else
// (or anything it is not sure of) is declined, and libyaml reads the document. libyaml's scanner
// was a fifth of the start-up at 10,000 members (264,000 allocations of token values).
class FastReader {
 public:
  FastReader(std::string_view text, YamlTree& tree) : t_(text), tree_(tree) {}

  // The root node, or nullopt: declined (the tree is then to be discarded).
  std::optional<uint32_t> read() {
    for (const char c : t_) {
      const auto u = static_cast<unsigned char>(c);
      if ((u < 0x20 && c != '\n') || u >= 0x7F) return std::nullopt;  // tabs, CR, control, non-ASCII
    }
    tree_.nodes.reserve(t_.size() / 12);
    tree_.scalars.reserve(t_.size() / 20);
    tree_.children.reserve(t_.size() / 12);
    if (!next_content() || indent_ != 0 || starts_with_any({"---", "...", "%"})) return std::nullopt;
    std::optional<uint32_t> root;
    if (t_[pos_] == '[' || t_[pos_] == '{') {  // a flow collection (JSON) on its line
      const size_t end = line_end();
      size_t after = pos_;
      root = flow_node(after, end);
      if (after != end && !comment_at(after)) return std::nullopt;
      next_line();
    } else {
      root = block_node(0);
    }
    if (!root || next_content()) return std::nullopt;  // something after the root
    return root;
  }

 private:
  // Moves to the next line with content (not blank, not a comment) at or after pos_; false at the end.
  // Sets line_ (0-based), line_start_, indent_ (spaces before the content).
  bool next_content() {
    while (pos_ < t_.size()) {
      const size_t i = skip_spaces(pos_, t_.size());
      if (i < t_.size() && t_[i] != '\n' && t_[i] != '#') {
        line_start_ = pos_;
        indent_ = i - pos_;
        return true;
      }
      const size_t nl = t_.find('\n', i);
      if (nl == std::string_view::npos) {
        pos_ = t_.size();
        break;
      }
      pos_ = nl + 1;
      ++line_;
    }
    return false;
  }
  size_t line_end() const {
    const size_t nl = t_.find('\n', line_start_);
    return nl == std::string_view::npos ? t_.size() : nl;
  }
  void next_line() {  // past the current line
    pos_ = line_end();
    if (pos_ < t_.size()) ++pos_, ++line_;
  }
  size_t skip_spaces(size_t i, size_t end) const {
    while (i < end && t_[i] == ' ') ++i;
    return i;
  }
  // t_[from, to) without the spaces at its end.
  std::string_view trimmed(size_t from, size_t to) const {
    while (to > from && t_[to - 1] == ' ') --to;
    return t_.substr(from, to - from);
  }
  // Whether a comment starts at t_[i] (i > 0: a '#' after a space).
  bool comment_at(size_t i) const { return t_[i] == '#' && t_[i - 1] == ' '; }
  // Whether nothing but spaces and a comment follow t_[i] on its line (which ends at `end`).
  bool rest_blank(size_t i, size_t end) const {
    i = skip_spaces(i, end);
    return i == end || comment_at(i);
  }

  bool starts_with_any(std::initializer_list<std::string_view> prefixes) const {
    const std::string_view rest = t_.substr(line_start_ + indent_);
    for (std::string_view p : prefixes)
      if (rest.starts_with(p)) return true;
    return false;
  }

  uint32_t add(YamlTree::Kind kind, size_t line, uint32_t first = 0) {
    tree_.nodes.push_back({kind, int(line) + 1, first, 0});
    return uint32_t(tree_.nodes.size() - 1);
  }
  uint32_t scalar(std::string value, size_t line, bool plain) {
    if (plain && null_word(value)) return add(YamlTree::Kind::null, line);
    tree_.scalars.push_back(std::move(value));
    return add(YamlTree::Kind::scalar, line, uint32_t(tree_.scalars.size() - 1));
  }
  // The collection `node` has the children pushed on kids_ from `base` on: they move to the tree.
  void close(uint32_t node, size_t base) {
    tree_.nodes[node].first = uint32_t(tree_.children.size());
    tree_.nodes[node].count = uint32_t(kids_.size() - base);
    tree_.children.insert(tree_.children.end(), kids_.begin() + long(base), kids_.end());
    kids_.resize(base);
  }

  static bool is_indicator(char c) {
    return std::string_view("-?:,[]{}#&*!|>'\"%@`").find(c) != std::string_view::npos;
  }

  // The node whose first content line is the current one, at column `col` of it (a block mapping or
  // sequence at that column, or what follows a key or dash on its line).
  std::optional<uint32_t> block_node(size_t col) {
    if (dash_at(col)) return block_sequence(col);
    if (key_end(t_.substr(line_start_ + col, line_end() - line_start_ - col)) != std::string_view::npos) return block_mapping(col);
    return std::nullopt;  // a scalar document, or something else
  }

  // Where the plain key of "key: ..." or "key:" ends in `rest` (the ':'), or npos.
  static size_t key_end(std::string_view rest) {
    if (rest.empty() || is_indicator(rest[0]) || rest[0] == ' ') return std::string_view::npos;
    for (size_t i = 0; i < rest.size(); ++i) {
      if (rest[i] == '#' && rest[i - 1] == ' ') return std::string_view::npos;
      if (rest[i] == ':' && (i + 1 == rest.size() || rest[i + 1] == ' '))
        return rest[i - 1] == ' ' || i > 1000 ? std::string_view::npos : i;  // (libyaml: a simple key is 1024 at most)
    }
    return std::string_view::npos;
  }

  // Nesting deeper than max_depth is libyaml's to read (the fast path recurses; an HTTP body of a
  // million '[' must not take the stack).
  static constexpr int max_depth = 64;
  struct Deeper {
    explicit Deeper(int& depth) : d(++depth) {}
    ~Deeper() { --d; }
    int& d;
  };

  // The next line of a block collection at column `col`: an entry at that column, the collection's
  // end (a line less indented, or none), or a line indented past it (declined).
  enum class Next { entry, end, past };
  Next next_entry(size_t col) {
    if (!next_content() || indent_ < col) return Next::end;
    return indent_ > col ? Next::past : Next::entry;
  }

  // A block mapping ("key: value" entries) or sequence ("- value" entries) at column `col`.
  std::optional<uint32_t> block_collection(size_t col, bool map) {
    const Deeper deeper(depth_);
    if (depth_ > max_depth) return std::nullopt;
    const uint32_t node = add(map ? YamlTree::Kind::map : YamlTree::Kind::sequence, line_);
    const size_t base = kids_.size();
    for (bool first = true;; first = false) {
      if (const Next n = first ? Next::entry : next_entry(col); n != Next::entry) {
        if (n == Next::past) return std::nullopt;
        break;
      }
      std::optional<uint32_t> value;
      if (map) {
        const size_t at = line_start_ + col;
        const std::string_view rest = t_.substr(at, line_end() - at);
        const size_t k = key_end(rest);
        if (k == std::string_view::npos) return std::nullopt;
        kids_.push_back(scalar(std::string(rest.substr(0, k)), line_, true));
        if (tree_.nodes[kids_.back()].kind != YamlTree::Kind::scalar) return std::nullopt;  // a null key
        value = after_indicator(col + k + 1, col, true);
      } else {
        if (!dash_at(col)) break;  // the key after an indentless sequence
        value = after_indicator(col + 1, col, false);
      }
      if (!value) return std::nullopt;
      kids_.push_back(*value);
    }
    close(node, base);
    return node;
  }
  std::optional<uint32_t> block_mapping(size_t col) { return block_collection(col, true); }
  std::optional<uint32_t> block_sequence(size_t col) { return block_collection(col, false); }

  // The value after a key's ':' or a sequence's '-' at column `from` of the current line, whose
  // mapping or sequence is at column `col`; leaves the current line at the last one it used.
  std::optional<uint32_t> after_indicator(size_t from, size_t col, bool in_map) {
    const size_t end = line_end();
    const size_t i = skip_spaces(line_start_ + from, end);
    const size_t line = line_;
    if (i == end || t_[i] == '#') {  // the value is on the lines below, or null (on this line, as libyaml's)
      next_line();
      const bool more = next_content();
      if (more && indent_ > col) return block_node(indent_);
      if (more && indent_ == col && in_map && dash_at(col)) return block_sequence(col);  // an indentless sequence
      return add(YamlTree::Kind::null, line);
    }
    const char c = t_[i];
    if (key_end(t_.substr(i, end - i)) != std::string_view::npos) {
      if (in_map) return std::nullopt;  // "a: b: c"
      return block_mapping(i - line_start_);  // "- key: value": a mapping at the key's column
    }
    std::optional<uint32_t> value;
    size_t after = 0;
    if (c == '[' || c == '{') {
      after = i;
      value = flow_node(after, end);
    } else if (c == '"' || c == '\'') {
      value = quoted(i, end, after);
    } else if (c == '|') {
      return literal(i, end, col);
    } else if (is_indicator(c) && !(c == '-' && i + 1 < end && t_[i + 1] != ' ')) {
      return std::nullopt;  // anchors, tags, aliases, folded scalars, "- - x", "? key" ...
    } else {
      size_t stop = i;
      for (; stop < end; ++stop) {
        if (comment_at(stop)) break;
        if (t_[stop] == ':' && (stop + 1 == end || t_[stop + 1] == ' ')) return std::nullopt;  // "a: b: c"
      }
      value = scalar(std::string(trimmed(i, stop)), line, true);
      after = stop;
    }
    if (!value) return std::nullopt;
    if (!rest_blank(after, end)) return std::nullopt;  // more on the line
    next_line();
    // A scalar's next content line may not be indented past its mapping's or sequence's column (a
    // continuation, or an error: libyaml decides).
    if (next_content() && indent_ > col) return std::nullopt;
    return value;
  }
  // Whether the current line has a sequence entry ("-" alone or "- ...") at column `col`.
  bool dash_at(size_t col) const {
    const std::string_view rest = t_.substr(line_start_ + col, line_end() - line_start_ - col);
    return rest == "-" || rest.starts_with("- ");
  }

  // A quoted scalar starting at t_[i], closed on its line; `after` past it.
  std::optional<uint32_t> quoted(size_t i, size_t end, size_t& after) {
    const char q = t_[i];
    std::string value;
    size_t j = i + 1;
    for (;; ++j) {
      if (j >= end) return std::nullopt;  // not closed on the line
      if (t_[j] == q) {
        if (q == '\'' && j + 1 < end && t_[j + 1] == '\'') {
          value += '\'';
          ++j;
          continue;
        }
        break;
      }
      if (q == '"' && t_[j] == '\\') {
        if (j + 1 >= end) return std::nullopt;
        const char e = t_[++j];
        if (e == '"' || e == '\\' || e == '/') value += e;
        else if (e == 'n') value += '\n';
        else if (e == 't') value += '\t';
        else return std::nullopt;  // other escapes: libyaml's
        continue;
      }
      value += t_[j];
    }
    after = j + 1;
    return scalar(std::move(value), line_, false);
  }

  // A flow node (a collection on one line, or a scalar in one) from t_[j], spaces before it skipped;
  // `j` past it.
  std::optional<uint32_t> flow_node(size_t& j, size_t end) {
    j = skip_spaces(j, end);
    if (j >= end) return std::nullopt;
    const char c = t_[j];
    if (c == '[' || c == '{') {
      const Deeper deeper(depth_);
      if (depth_ > max_depth) return std::nullopt;
      const bool map = c == '{';
      const uint32_t node = add(map ? YamlTree::Kind::map : YamlTree::Kind::sequence, line_);
      const size_t base = kids_.size();
      ++j;
      for (;;) {
        j = skip_spaces(j, end);
        if (j >= end) return std::nullopt;
        if (t_[j] == (map ? '}' : ']')) {
          ++j;
          break;
        }
        if (kids_.size() > base) {
          if (t_[j] != ',') return std::nullopt;
          j = skip_spaces(j + 1, end);
          if (j >= end || t_[j] == ',' || t_[j] == ']' || t_[j] == '}') return std::nullopt;  // trailing or empty entries
        }
        const std::optional<uint32_t> first = flow_node(j, end);
        if (!first) return std::nullopt;
        if (map) {
          if (tree_.nodes[*first].kind != YamlTree::Kind::scalar) return std::nullopt;
          if (j >= end || t_[j] != ':' || j + 1 >= end || t_[j + 1] != ' ') return std::nullopt;
          ++j;
          kids_.push_back(*first);
          const std::optional<uint32_t> value = flow_node(j, end);
          if (!value || tree_.nodes[*value].kind == YamlTree::Kind::null) return std::nullopt;
          kids_.push_back(*value);
        } else {
          kids_.push_back(*first);
        }
      }
      close(node, base);
      return node;
    }
    if (c == '"' || c == '\'') {
      size_t after = 0;
      const std::optional<uint32_t> n = quoted(j, end, after);
      j = skip_spaces(after, end);
      return n;
    }
    if (is_indicator(c)) return std::nullopt;
    const size_t from = j;
    for (; j < end; ++j) {
      const char d = t_[j];
      if (d == ',' || d == ']' || d == '}') break;
      if (d == ':') {
        if (j + 1 < end && t_[j + 1] == ' ') break;  // a key's end
        if (j + 1 >= end || std::string_view(",?[]{}").find(t_[j + 1]) != std::string_view::npos)  // libyaml: an error
          return std::nullopt;
      }
      if (d == '#' || d == '[' || d == '{') return std::nullopt;
    }
    const std::string_view text = trimmed(from, j);
    if (text.empty()) return std::nullopt;
    return scalar(std::string(text), line_, true);
  }

  // A literal block scalar ("|" alone, clip chomping) whose header is at t_[i]; its mapping or
  // sequence is at column `col`.
  std::optional<uint32_t> literal(size_t i, size_t end, size_t col) {
    if (!rest_blank(i + 1, end)) return std::nullopt;  // |-, |+, |2 ...
    const size_t line = line_;
    next_line();
    std::string value;
    size_t block_indent = 0;
    size_t blank_run = 0;
    while (pos_ < t_.size()) {
      const size_t nl = t_.find('\n', pos_);
      const size_t e = nl == std::string_view::npos ? t_.size() : nl;
      const size_t sp = skip_spaces(pos_, e);
      if (sp == e) {  // an empty line
        if (sp - pos_ > (block_indent == 0 ? col + 1 : block_indent)) return std::nullopt;  // spaces that count: libyaml's
        ++blank_run;
      } else {
        const size_t ind = sp - pos_;
        if (block_indent == 0) {
          if (ind <= col) break;
          block_indent = ind;
        } else if (ind < block_indent) {
          break;
        }
        for (; blank_run > 0; --blank_run) value += '\n';
        value.append(t_.substr(pos_ + block_indent, e - pos_ - block_indent));
        if (nl != std::string_view::npos) value += '\n';  // (the last line of the file may have none)
      }
      if (nl == std::string_view::npos) {
        pos_ = t_.size();
        break;
      }
      pos_ = nl + 1;
      ++line_;
    }
    if (block_indent == 0) return std::nullopt;  // empty: libyaml's
    if (next_content() && indent_ > col) return std::nullopt;
    return scalar(std::move(value), line, false);
  }

  std::string_view t_;
  YamlTree& tree_;
  // The children of the collections being read, innermost last (close() takes them): one buffer
  // for all, where a vector each was an allocation or more per collection (10,000 members: 60,000).
  // A declined read leaves it as it is: the tree is discarded.
  std::vector<uint32_t> kids_;
  size_t pos_ = 0;         // where the next line starts
  size_t line_ = 0;        // of the current line, 0-based
  size_t line_start_ = 0;  // of the current line
  size_t indent_ = 0;      // of the current line
  int depth_ = 0;          // collections open
};

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
  if (YamlNode fast = read_yaml_fast(text)) return fast;
  return read_yaml_libyaml(text, error, error_line);
}

YamlNode read_yaml_fast(const std::string& text) {
  auto tree = std::make_shared<YamlTree>();
  const std::optional<uint32_t> root = FastReader(text, *tree).read();
  if (!root) return {};
  return {std::move(tree), *root};
}

YamlNode read_yaml_libyaml(const std::string& text, std::string& error, int& error_line) {
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
