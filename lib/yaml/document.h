#pragma once

#include <cstdint>
#include <functional>
#include <istream>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "util/result.h"
#include "yaml/diagnostics.h"

namespace sdscope::yaml {

enum class Kind : uint8_t { scalar, sequence, mapping };

// The YAML 1.1 type a node resolves to, as gopkg.in/yaml.v2 resolves it:
// plain scalars by their text, quoted scalars are always strings, an
// explicit tag wins.
// `taken` marks a mapping that was decoded while parsing and then dropped
// from the tree (see Document::parse); Node::slot() says where it went.
enum class Tag : uint8_t { null_, bool_, int_, float_, str, timestamp, binary, merge, map, seq, taken };

// Short tag text as yaml.v2 prints it in type errors ("!!str").
std::string_view tag_name(Tag tag);

class Document;

// A cheap handle to one node of a Document (which must outlive it).
// A default-constructed Node is "absent".
class Node {
public:
  Node() = default;
  Node(const Document* doc, uint32_t index) : m_doc(doc), m_index(index) {}

  explicit operator bool() const { return m_doc != nullptr; }
  Kind kind() const;
  Tag tag() const;
  Mark mark() const;
  bool is_null() const { return m_doc != nullptr && tag() == Tag::null_; }
  bool is_mapping() const { return m_doc != nullptr && kind() == Kind::mapping; }
  bool is_sequence() const { return m_doc != nullptr && kind() == Kind::sequence; }
  bool is_scalar() const { return m_doc != nullptr && kind() == Kind::scalar; }

  // Scalar text exactly as written (after YAML unescaping).
  std::string_view text() const;

  // Sequence elements, or mapping pairs (size() counts pairs).
  size_t size() const;
  Node element(size_t i) const;
  Node key(size_t i) const;
  Node value(size_t i) const;

  // For mappings: the value of the first plain key equal to name, or absent.
  Node get(std::string_view name) const;

  // For Tag::taken nodes: the number the subtree handler returned.
  uint32_t slot() const;

private:
  const Document* m_doc = nullptr;
  uint32_t m_index = 0;
};

// A compact, immutable YAML tree that keeps line and column of every node.
// Only the first document of a stream is kept, as Prometheus reads it.
class Document {
public:
  // Parses text; an empty stream gives a document whose root is absent.
  // Syntax errors are returned as "line:column: message" in result form.
  struct SyntaxError {
    Mark mark;
    std::string message;
  };
  static tl::expected<Document, SyntaxError> parse(std::string_view text);

  // A top-level list whose mappings are handed over one by one as they are
  // parsed, then dropped from the tree (each leaves an empty node tagged
  // Tag::taken whose slot() is what on_element returned). Large configs are
  // mostly one such list, so this keeps only one job's nodes in memory.
  // Subtrees that define anchors are kept, since later aliases may use them.
  struct StreamedList {
    std::string_view key;
    // Called once when the list opens, with each top-level pair before it.
    std::function<void(Node key, Node value)> on_preceding;
    std::function<uint32_t(Node element)> on_element;
  };
  static tl::expected<Document, SyntaxError> parse(std::string_view text, const StreamedList& list);
  // The same, reading from a stream (a file need not be held in memory).
  static tl::expected<Document, SyntaxError> parse(std::istream& input, const StreamedList& list);

  Node root() const { return m_nodes.empty() ? Node() : Node(this, m_root); }

private:
  friend class Node;
  friend class TreeBuilder;

  struct Data {
    Kind kind;
    Tag tag;
    uint32_t line;
    uint32_t column;
    uint32_t begin; // scalar: offset in m_text; collection: offset in m_children
    uint32_t length;
  };

  std::vector<Data> m_nodes;
  std::vector<uint32_t> m_children;
  std::string m_text;
  uint32_t m_root = 0;
};

} // namespace sdscope::yaml
