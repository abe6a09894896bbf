#include "yaml/document.h"

#include <sstream>
#include <unordered_map>

#include <fmt/format.h>
#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/exceptions.h>
#include <yaml-cpp/parser.h>

namespace sdscope::yaml {

namespace {

bool is_digit(char c) { return c >= '0' && c <= '9'; }

bool all_digits(std::string_view s, int base) {
  if (s.empty()) {
    return false;
  }
  for (char c : s) {
    bool ok = base == 16 ? (is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'))
                         : (c >= '0' && c < static_cast<char>('0' + base));
    if (!ok) {
      return false;
    }
  }
  return true;
}

// Go's strconv.ParseInt(s, 0, 64) syntax (after yaml.v2 removed '_').
bool go_integer_syntax(std::string_view s) {
  if (!s.empty() && (s[0] == '+' || s[0] == '-')) {
    s.remove_prefix(1);
  }
  if (s.size() > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
    return all_digits(s.substr(2), 16);
  }
  if (s.size() > 2 && s[0] == '0' && (s[1] == 'b' || s[1] == 'B')) {
    return all_digits(s.substr(2), 2);
  }
  if (s.size() > 2 && s[0] == '0' && (s[1] == 'o' || s[1] == 'O')) {
    return all_digits(s.substr(2), 8);
  }
  if (s.size() > 1 && s[0] == '0') {
    return all_digits(s.substr(1), 8);
  }
  return all_digits(s, 10);
}

// yaml.v2's yamlStyleFloat: ^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$
bool yaml_float_syntax(std::string_view s) {
  size_t i = 0;
  auto digits = [&] {
    size_t start = i;
    while (i < s.size() && is_digit(s[i])) {
      ++i;
    }
    return i - start;
  };
  if (i < s.size() && (s[i] == '+' || s[i] == '-')) {
    ++i;
  }
  if (i < s.size() && s[i] == '.') {
    ++i;
    if (digits() == 0) {
      return false;
    }
  } else {
    if (digits() == 0) {
      return false;
    }
    if (i < s.size() && s[i] == '.') {
      ++i;
      digits();
    }
  }
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    if (i < s.size() && (s[i] == '+' || s[i] == '-')) {
      ++i;
    }
    if (digits() == 0) {
      return false;
    }
  }
  return i == s.size();
}

bool timestamp_syntax(std::string_view s) {
  // yaml.v2 accepts YYYY-MM-DD optionally followed by a time; the date part
  // is what decides, so check that much.
  return s.size() >= 10 && all_digits(s.substr(0, 4), 10) && s[4] == '-' && is_digit(s[5]) &&
         (s[6] == '-' || (is_digit(s[6]) && s[7] == '-'));
}

// Whether a Go-syntax integer fits in 64 bits (else yaml.v2 tries float).
bool fits_64_bits(std::string_view s) {
  bool negative = !s.empty() && s[0] == '-';
  if (!s.empty() && (s[0] == '+' || s[0] == '-')) {
    s.remove_prefix(1);
  }
  int base = 10;
  if (s.size() > 2 && s[0] == '0' && std::string_view("xXbBoO").find(s[1]) != std::string_view::npos) {
    base = s[1] == 'x' || s[1] == 'X' ? 16 : s[1] == 'b' || s[1] == 'B' ? 2 : 8;
    s.remove_prefix(2);
  } else if (s.size() > 1 && s[0] == '0') {
    base = 8;
  }
  uint64_t value = 0;
  for (char c : s) {
    uint64_t d = static_cast<uint64_t>(is_digit(c) ? c - '0' : (c | 0x20) - 'a' + 10);
    if (value > (UINT64_MAX - d) / static_cast<uint64_t>(base)) {
      return false;
    }
    value = value * static_cast<uint64_t>(base) + d;
  }
  return !negative || value <= static_cast<uint64_t>(INT64_MAX) + 1;
}

// yaml-cpp's error texts, in the words of libyaml/yaml.v2 where one exists.
std::string go_yaml_message(const std::string& message) {
  static const std::pair<std::string_view, std::string_view> k_messages[] = {
      {"illegal map value", "mapping values are not allowed in this context"},
      {"illegal tab when looking for indentation", "found a tab character that violates indentation"},
      {"end of map not found", "did not find expected key"},
      {"end of sequence not found", "did not find expected '-' indicator"},
      {"end of map flow not found", "did not find expected ',' or '}'"},
      {"end of sequence flow not found", "did not find expected ',' or ']'"},
      {"illegal block entry", "did not find expected ',' or ']'"},
      {"unknown token", "found character that cannot start any token"},
      {"the referenced anchor is not defined", "unknown anchor referenced"},
      {"illegal EOF in scalar", "found unexpected end of stream"},
  };
  for (const auto& [ours, theirs] : k_messages) {
    if (message == ours) {
      return std::string(theirs);
    }
  }
  return message;
}

Tag resolve_plain(std::string_view s) {
  if (s.empty() || s == "~" || s == "null" || s == "Null" || s == "NULL") {
    return Tag::null_;
  }
  static constexpr std::string_view k_bools[] = {"y",     "Y",     "yes",   "Yes",   "YES", "true",
                                                 "True",  "TRUE",  "on",    "On",    "ON",  "n",
                                                 "N",     "no",    "No",    "NO",    "false",
                                                 "False", "FALSE", "off",   "Off",   "OFF"};
  for (std::string_view b : k_bools) {
    if (s == b) {
      return Tag::bool_;
    }
  }
  if (s == "<<") {
    return Tag::merge;
  }
  static constexpr std::string_view k_floats[] = {".inf",  ".Inf",  ".INF",  "+.inf", "+.Inf", "+.INF",
                                                  "-.inf", "-.Inf", "-.INF", ".nan",  ".NaN",  ".NAN"};
  for (std::string_view f : k_floats) {
    if (s == f) {
      return Tag::float_;
    }
  }
  char c = s[0];
  if (is_digit(c) || c == '+' || c == '-' || c == '.') {
    if (timestamp_syntax(s)) {
      return Tag::timestamp;
    }
    std::string plain;
    for (char ch : s) {
      if (ch != '_') {
        plain += ch;
      }
    }
    if (go_integer_syntax(plain) && fits_64_bits(plain)) {
      return Tag::int_;
    }
    if (yaml_float_syntax(plain)) {
      return Tag::float_;
    }
  }
  return Tag::str;
}

Tag resolve_explicit(const std::string& tag, Tag fallback) {
  static const std::unordered_map<std::string, Tag> k_tags = {
      {"tag:yaml.org,2002:str", Tag::str},     {"tag:yaml.org,2002:int", Tag::int_},
      {"tag:yaml.org,2002:float", Tag::float_}, {"tag:yaml.org,2002:bool", Tag::bool_},
      {"tag:yaml.org,2002:null", Tag::null_},   {"tag:yaml.org,2002:binary", Tag::binary},
      {"tag:yaml.org,2002:timestamp", Tag::timestamp}, {"tag:yaml.org,2002:map", Tag::map},
      {"tag:yaml.org,2002:seq", Tag::seq}};
  auto it = k_tags.find(tag);
  return it == k_tags.end() ? fallback : it->second;
}

} // namespace

std::string_view tag_name(Tag tag) {
  switch (tag) {
  case Tag::null_: return "!!null";
  case Tag::bool_: return "!!bool";
  case Tag::int_: return "!!int";
  case Tag::float_: return "!!float";
  case Tag::str: return "!!str";
  case Tag::timestamp: return "!!timestamp";
  case Tag::binary: return "!!binary";
  case Tag::merge: return "!!merge";
  case Tag::map: return "!!map";
  case Tag::seq: return "!!seq";
  case Tag::taken: return "!!map";
  }
  return "!!str";
}

// Turns yaml-cpp parser events into Document nodes.
class TreeBuilder : public YAML::EventHandler {
public:
  TreeBuilder(Document& doc, const Document::StreamedList& list) : m_doc(doc), m_list(list) {}

  void OnDocumentStart(const YAML::Mark&) override {}
  void OnDocumentEnd() override {}

  void OnNull(const YAML::Mark& mark, YAML::anchor_t anchor) override {
    attach(add_scalar(mark, Tag::null_, ""), anchor);
  }
  void OnAlias(const YAML::Mark&, YAML::anchor_t anchor) override {
    auto it = m_anchors.find(anchor);
    if (it != m_anchors.end()) {
      attach(it->second, 0);
    }
  }
  void OnScalar(const YAML::Mark& mark, const std::string& tag, YAML::anchor_t anchor,
                const std::string& value) override {
    Tag resolved = tag == "?" ? resolve_plain(value) : resolve_explicit(tag, Tag::str);
    attach(add_scalar(mark, resolved, value), anchor);
  }
  void OnSequenceStart(const YAML::Mark& mark, const std::string& tag, YAML::anchor_t anchor,
                       YAML::EmitterStyle::value) override {
    open(mark, Kind::sequence, resolve_explicit(tag, Tag::seq), anchor);
  }
  void OnSequenceEnd() override { close(); }
  void OnMapStart(const YAML::Mark& mark, const std::string& tag, YAML::anchor_t anchor,
                  YAML::EmitterStyle::value) override {
    open(mark, Kind::mapping, resolve_explicit(tag, Tag::map), anchor);
  }
  void OnMapEnd() override { close(); }

private:
  uint32_t add_node(const YAML::Mark& mark, Kind kind, Tag tag) {
    m_doc.m_nodes.push_back({kind, tag, static_cast<uint32_t>(mark.line + 1),
                             static_cast<uint32_t>(mark.column + 1), 0, 0});
    return static_cast<uint32_t>(m_doc.m_nodes.size() - 1);
  }
  uint32_t add_scalar(const YAML::Mark& mark, Tag tag, const std::string& value) {
    uint32_t index = add_node(mark, Kind::scalar, tag);
    m_doc.m_nodes[index].begin = static_cast<uint32_t>(m_doc.m_text.size());
    m_doc.m_nodes[index].length = static_cast<uint32_t>(value.size());
    m_doc.m_text += value;
    return index;
  }
  void attach(uint32_t index, YAML::anchor_t anchor) {
    if (anchor != 0) {
      m_anchors[anchor] = index;
      ++m_anchor_definitions;
    }
    if (m_open.empty()) {
      m_doc.m_root = index;
    } else {
      m_pending.push_back(index);
    }
  }
  void open(const YAML::Mark& mark, Kind kind, Tag tag, YAML::anchor_t anchor) {
    if (m_list.on_element && m_open.size() == 1 && kind == Kind::sequence && !m_pending.empty() &&
        m_doc.m_nodes[m_open[0].first].kind == Kind::mapping &&
        Node(&m_doc, m_pending.back()).text() == m_list.key) {
      m_streamed_sequence = static_cast<uint32_t>(m_doc.m_nodes.size());
      if (m_list.on_preceding) {
        for (size_t i = m_open[0].second; i + 1 < m_pending.size(); i += 2) {
          m_list.on_preceding(Node(&m_doc, m_pending[i]), Node(&m_doc, m_pending[i + 1]));
        }
      }
    }
    if (m_open.size() == 2 && kind == Kind::mapping && m_open[1].first == m_streamed_sequence) {
      m_subtree = {m_doc.m_children.size(), m_doc.m_text.size(), m_anchor_definitions};
    }
    uint32_t index = add_node(mark, kind, tag);
    attach(index, anchor);
    m_open.push_back({index, m_pending.size()});
  }
  void close() {
    auto [index, first] = m_open.back();
    m_open.pop_back();
    Document::Data& data = m_doc.m_nodes[index];
    data.begin = static_cast<uint32_t>(m_doc.m_children.size());
    size_t count = m_pending.size() - first;
    data.length = static_cast<uint32_t>(data.kind == Kind::mapping ? count / 2 : count);
    m_doc.m_children.insert(m_doc.m_children.end(), m_pending.begin() + static_cast<long>(first),
                            m_pending.end());
    m_pending.resize(first);
    if (m_open.size() == 2 && m_open[1].first == m_streamed_sequence && m_doc.m_nodes[index].kind == Kind::mapping &&
        m_subtree.anchors == m_anchor_definitions) {
      hand_over(index);
    }
  }

  // Gives a finished streamed subtree to the handler and drops its nodes.
  void hand_over(uint32_t index) {
    uint32_t slot = m_list.on_element(Node(&m_doc, index));
    m_doc.m_nodes.resize(index + 1);
    m_doc.m_children.resize(m_subtree.children);
    m_doc.m_text.resize(m_subtree.text);
    Document::Data& data = m_doc.m_nodes[index];
    data.tag = Tag::taken;
    data.begin = slot;
    data.length = 0;
  }

  struct SubtreeStart {
    size_t children = 0;
    size_t text = 0;
    size_t anchors = 0;
  };

  Document& m_doc;
  const Document::StreamedList& m_list;
  uint32_t m_streamed_sequence = UINT32_MAX;
  SubtreeStart m_subtree;
  size_t m_anchor_definitions = 0;
  std::unordered_map<YAML::anchor_t, uint32_t> m_anchors;
  std::vector<std::pair<uint32_t, size_t>> m_open; // collection node, first pending child
  std::vector<uint32_t> m_pending;                 // children of open collections
};

namespace {

// Lets yaml-cpp read the text in place instead of from a copy.
class ViewBuffer : public std::streambuf {
public:
  explicit ViewBuffer(std::string_view text) {
    char* begin = const_cast<char*>(text.data());
    setg(begin, begin, begin + text.size());
  }

protected:
  pos_type seekpos(pos_type pos, std::ios_base::openmode) override {
    if (pos < 0 || pos > egptr() - eback()) {
      return pos_type(off_type(-1));
    }
    setg(eback(), eback() + static_cast<off_type>(pos), egptr());
    return pos;
  }
  pos_type seekoff(off_type off, std::ios_base::seekdir dir, std::ios_base::openmode which) override {
    off_type base = dir == std::ios_base::beg ? 0 : dir == std::ios_base::cur ? gptr() - eback() : egptr() - eback();
    return seekpos(pos_type(base + off), which);
  }
};

} // namespace

tl::expected<Document, Document::SyntaxError> Document::parse(std::string_view text) {
  return parse(text, StreamedList{});
}

tl::expected<Document, Document::SyntaxError> Document::parse(std::string_view text, const StreamedList& list) {
  ViewBuffer buffer(text);
  std::istream stream(&buffer);
  return parse(stream, list);
}

tl::expected<Document, Document::SyntaxError> Document::parse(std::istream& stream, const StreamedList& list) {
  Document doc;
  try {
    YAML::Parser parser(stream);
    TreeBuilder builder(doc, list);
    parser.HandleNextDocument(builder);
  } catch (const YAML::Exception& e) {
    Mark mark{static_cast<uint32_t>(e.mark.line + 1), static_cast<uint32_t>(e.mark.column + 1)};
    if (e.msg == YAML::ErrorMsg::UNKNOWN_ANCHOR && e.mark.pos >= 0) {
      // yaml.v2 names the anchor and gives no line.
      std::string name;
      stream.clear();
      stream.seekg(e.mark.pos);
      for (char c = 0; stream.get(c) && std::string_view(" \t\r\n,]}").find(c) == std::string_view::npos;) {
        if (c != '*' || !name.empty()) {
          name += c;
        }
      }
      return tl::unexpected<SyntaxError>({mark, fmt::format("yaml: unknown anchor '{}' referenced", name)});
    }
    return tl::unexpected<SyntaxError>({mark, fmt::format("yaml: line {}: {}", mark.line, go_yaml_message(e.msg))});
  }
  return doc;
}

Kind Node::kind() const { return m_doc->m_nodes[m_index].kind; }
Tag Node::tag() const { return m_doc->m_nodes[m_index].tag; }
Mark Node::mark() const { return {m_doc->m_nodes[m_index].line, m_doc->m_nodes[m_index].column}; }

std::string_view Node::text() const {
  const Document::Data& d = m_doc->m_nodes[m_index];
  if (d.kind != Kind::scalar) {
    return {};
  }
  return std::string_view(m_doc->m_text).substr(d.begin, d.length);
}

size_t Node::size() const {
  const Document::Data& d = m_doc->m_nodes[m_index];
  return d.kind == Kind::scalar ? 0 : d.length;
}

Node Node::element(size_t i) const {
  return Node(m_doc, m_doc->m_children[m_doc->m_nodes[m_index].begin + i]);
}
Node Node::key(size_t i) const {
  return Node(m_doc, m_doc->m_children[m_doc->m_nodes[m_index].begin + 2 * i]);
}
Node Node::value(size_t i) const {
  return Node(m_doc, m_doc->m_children[m_doc->m_nodes[m_index].begin + 2 * i + 1]);
}

uint32_t Node::slot() const { return m_doc->m_nodes[m_index].begin; }

Node Node::get(std::string_view name) const {
  if (!is_mapping()) {
    return {};
  }
  for (size_t i = 0; i < size(); ++i) {
    Node k = key(i);
    if (k.is_scalar() && k.text() == name) {
      return value(i);
    }
  }
  return {};
}

} // namespace sdscope::yaml
