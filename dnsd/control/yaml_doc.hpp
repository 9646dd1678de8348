// A YAML document as the config reader needs it: read in one pass (a fast path of its own, else
// libyaml's event parser) into a flat, immutable tree (nodes and scalars in vectors), handed out through small YamlNode handles.
// Why not yaml-cpp's node tree: a 1 MB zone file of 10,000 members took 150 ms and 24 MB of small
// allocations to read that way, 25 ms this way (docs/ARCHITECTURE.md, "Start-up").
// Control plane: config files only (control thread and `dnsd check`).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace dnsd {

struct YamlTree;

// One node of a read document, or an undefined one (a key that is not there: `!node`). Cheap to copy;
// keeps its document alive. Scalars are as written (quotes removed, tags ignored, as yaml-cpp gives
// them); a plain empty, `~` or `null` scalar is null, not a scalar.
class YamlNode {
 public:
  YamlNode() = default;

  explicit operator bool() const { return tree_ != nullptr; }
  bool is_map() const;
  bool is_sequence() const;
  bool is_scalar() const;
  bool is_null() const;
  // The scalar's text; empty for any other node.
  const std::string& scalar() const;
  // 1-based line where the node starts; 0 for an undefined node.
  int line() const;
  // Entries of a map or items of a sequence; 0 for anything else.
  size_t size() const;
  // A map's value for `key` (its first entry with that key), else undefined.
  YamlNode operator[](const char* key) const;
  // A sequence's item, else undefined.
  YamlNode operator[](size_t i) const;
  // A map's i-th key and value (i < size()).
  YamlNode key_at(size_t i) const;
  YamlNode value_at(size_t i) const;

  // Range over a sequence's items (nothing for any other node).
  class Iterator {
   public:
    Iterator(const YamlNode* seq, size_t i) : seq_(seq), i_(i) {}
    YamlNode operator*() const { return (*seq_)[i_]; }
    Iterator& operator++() { return ++i_, *this; }
    bool operator!=(const Iterator& o) const { return i_ != o.i_; }

   private:
    const YamlNode* seq_;
    size_t i_;
  };
  Iterator begin() const { return {this, 0}; }
  Iterator end() const { return {this, is_sequence() ? size() : 0}; }

 private:
  friend YamlNode read_yaml_fast(const std::string&);
  friend YamlNode read_yaml_libyaml(const std::string&, std::string&, int&);
  YamlNode(std::shared_ptr<const YamlTree> tree, uint32_t index) : tree_(std::move(tree)), index_(index) {}
  YamlNode child(size_t i) const;

  std::shared_ptr<const YamlTree> tree_;
  uint32_t index_ = 0;
};

// Reads the first document of `text`. On a syntax error returns an undefined node and sets `error`
// (what is wrong, libyaml's words) and `error_line` (1-based). An empty text is a null node.
YamlNode read_yaml(const std::string& text, std::string& error, int& error_line);

// The two ways read_yaml reads (exposed for the test that compares them): a fast path of its own for
// the YAML config files are written in (block mappings and sequences of plain or quoted scalars,
// flow collections on one line, literal block scalars), which returns an undefined node for any
// other text or any it is unsure of; and libyaml's event parser, which reads every document.
YamlNode read_yaml_fast(const std::string& text);
YamlNode read_yaml_libyaml(const std::string& text, std::string& error, int& error_line);

}  // namespace dnsd
