#include "util/xml.h"

#include <algorithm>

#include <fmt/format.h>

#include "util/strings.h"

namespace sdscope::util::xml {

namespace {

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

// Name characters, ASCII by the XML grammar; any non-ASCII byte is allowed
// (its UTF-8 validity is checked with the rest of the document).
bool is_name_start(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':' || c >= 0x80;
}
bool is_name_char(unsigned char c) { return is_name_start(c) || (c >= '0' && c <= '9') || c == '-' || c == '.'; }

// The Char production of XML 1.0.
bool is_xml_char(char32_t r) {
  return r == 0x09 || r == 0x0A || r == 0x0D || (r >= 0x20 && r <= 0xD7FF) || (r >= 0xE000 && r <= 0xFFFD) ||
         (r >= 0x10000 && r <= 0x10FFFF);
}

class Reader {
public:
  explicit Reader(std::string_view text) : m_text(text) {}

  Result<Element> document();

private:
  // Builds the error for the current position.
  tl::unexpected<std::string> error(std::string_view message) const { return error_at(m_pos, message); }
  tl::unexpected<std::string> error_at(size_t pos, std::string_view message) const {
    int line = 1 + static_cast<int>(std::count(m_text.begin(), m_text.begin() + std::min(pos, m_text.size()), '\n'));
    return fail(fmt::format("XML syntax error on line {}: {}", line, message));
  }
  int line_at(size_t pos) const { return 1 + static_cast<int>(std::count(m_text.begin(), m_text.begin() + pos, '\n')); }

  bool at_end() const { return m_pos >= m_text.size(); }
  bool looking_at(std::string_view s) const { return m_text.substr(m_pos, s.size()) == s; }
  void skip_space() {
    while (!at_end() && is_space(m_text[m_pos])) {
      ++m_pos;
    }
  }

  Result<void> check_chars(size_t begin, size_t end) const;
  Result<std::string> name();
  Result<void> declaration();
  Result<void> comment();
  Result<void> processing_instruction();
  Result<void> misc(bool& found);
  Result<std::string> reference();
  Result<std::string> attribute_value();
  Result<void> start_tag(Element& element, bool& empty);
  Result<std::string> end_tag();
  Result<Element> root_element();

  std::string_view m_text;
  size_t m_pos = 0;
};

// Every character in [begin, end) is valid UTF-8 and allowed by XML.
Result<void> Reader::check_chars(size_t begin, size_t end) const {
  for (size_t i = begin; i < end;) {
    char32_t rune = 0;
    size_t length = utf8_sequence(m_text, i, rune);
    if (length == 0 || i + length > end) {
      return error_at(i, "invalid UTF-8");
    }
    if (!is_xml_char(rune)) {
      return error_at(i, fmt::format("illegal character code U+{:04X}", static_cast<uint32_t>(rune)));
    }
    i += length;
  }
  return {};
}

Result<std::string> Reader::name() {
  size_t begin = m_pos;
  if (at_end() || !is_name_start(static_cast<unsigned char>(m_text[m_pos]))) {
    return error("expected a name");
  }
  while (!at_end() && is_name_char(static_cast<unsigned char>(m_text[m_pos]))) {
    ++m_pos;
  }
  return std::string(m_text.substr(begin, m_pos - begin));
}

// <?xml version="1.0" encoding="UTF-8" standalone="yes"?> at the very start.
Result<void> Reader::declaration() {
  m_pos += 5; // "<?xml"
  std::vector<std::string> seen;
  for (;;) {
    bool spaced = !at_end() && is_space(m_text[m_pos]);
    skip_space();
    if (looking_at("?>")) {
      m_pos += 2;
      break;
    }
    if (!spaced) {
      return error("malformed XML declaration");
    }
    Result<std::string> key = name();
    if (!key) {
      return error("malformed XML declaration");
    }
    skip_space();
    if (at_end() || m_text[m_pos] != '=') {
      return error("malformed XML declaration");
    }
    ++m_pos;
    skip_space();
    Result<std::string> value = attribute_value();
    if (!value) {
      return fail(value.error());
    }
    if (*key == "version") {
      if (*value != "1.0") {
        return error(fmt::format("unsupported version {}; only version 1.0 is supported", go_quote(*value)));
      }
    } else if (*key == "encoding") {
      if (to_lower_ascii(*value) != "utf-8") {
        return error(fmt::format("encoding {} declared; only UTF-8 is supported", go_quote(*value)));
      }
    } else if (*key != "standalone") {
      return error(fmt::format("unknown XML declaration field {}", go_quote(*key)));
    }
    if (std::find(seen.begin(), seen.end(), *key) != seen.end()) {
      return error(fmt::format("XML declaration field {} repeated", go_quote(*key)));
    }
    seen.push_back(*key);
  }
  return {};
}

Result<void> Reader::comment() {
  m_pos += 4; // "<!--"
  size_t begin = m_pos;
  size_t dashes = m_text.find("--", m_pos);
  if (dashes == std::string_view::npos) {
    m_pos = m_text.size();
    return error("unexpected EOF");
  }
  if (dashes + 2 >= m_text.size() || m_text[dashes + 2] != '>') {
    m_pos = dashes;
    return error("invalid sequence \"--\" not allowed in comments");
  }
  if (Result<void> ok = check_chars(begin, dashes); !ok) {
    return ok;
  }
  m_pos = dashes + 3;
  return {};
}

Result<void> Reader::processing_instruction() {
  m_pos += 2; // "<?"
  size_t at = m_pos;
  Result<std::string> target = name();
  if (!target) {
    return error("expected target name after <?");
  }
  if (to_lower_ascii(*target) == "xml") {
    m_pos = at;
    return error("XML declaration allowed only at the start of the document");
  }
  size_t end = m_text.find("?>", m_pos);
  if (end == std::string_view::npos) {
    m_pos = m_text.size();
    return error("unexpected EOF");
  }
  if (Result<void> ok = check_chars(m_pos, end); !ok) {
    return ok;
  }
  m_pos = end + 2;
  return {};
}

// A comment or processing instruction; found is false (and nothing is
// read) at anything else.
Result<void> Reader::misc(bool& found) {
  found = true;
  if (looking_at("<!--")) {
    return comment();
  }
  if (looking_at("<?")) {
    return processing_instruction();
  }
  if (looking_at("<!DOCTYPE")) {
    return error("DTDs are not supported (<!DOCTYPE>)");
  }
  found = false;
  return {};
}

// At '&': one predefined entity or character reference, decoded.
Result<std::string> Reader::reference() {
  size_t begin = m_pos;
  size_t semicolon = m_text.find(';', m_pos);
  if (semicolon == std::string_view::npos || semicolon - m_pos > 12) {
    return error("invalid character entity (no semicolon)");
  }
  std::string_view body = m_text.substr(m_pos + 1, semicolon - m_pos - 1);
  m_pos = semicolon + 1;
  if (body == "lt") {
    return std::string("<");
  }
  if (body == "gt") {
    return std::string(">");
  }
  if (body == "amp") {
    return std::string("&");
  }
  if (body == "apos") {
    return std::string("'");
  }
  if (body == "quot") {
    return std::string("\"");
  }
  std::string_view whole = m_text.substr(begin, m_pos - begin);
  if (body.size() >= 2 && body[0] == '#') {
    bool hex = body[1] == 'x';
    std::string_view digits = body.substr(hex ? 2 : 1);
    uint32_t value = 0;
    bool ok = !digits.empty();
    for (char c : digits) {
      int digit = -1;
      if (c >= '0' && c <= '9') {
        digit = c - '0';
      } else if (hex && c >= 'a' && c <= 'f') {
        digit = c - 'a' + 10;
      } else if (hex && c >= 'A' && c <= 'F') {
        digit = c - 'A' + 10;
      }
      if (digit < 0 || value > 0x10FFFF) {
        ok = false;
        break;
      }
      value = value * (hex ? 16 : 10) + static_cast<uint32_t>(digit);
    }
    if (ok && is_xml_char(value)) {
      std::string out;
      append_utf8(out, value);
      return out;
    }
  }
  m_pos = begin;
  return error(fmt::format("invalid character entity {}", whole));
}

// A quoted attribute value at the current position, references decoded.
Result<std::string> Reader::attribute_value() {
  if (at_end() || (m_text[m_pos] != '"' && m_text[m_pos] != '\'')) {
    return error("unquoted or missing attribute value in element");
  }
  char quote = m_text[m_pos++];
  std::string value;
  for (;;) {
    if (at_end()) {
      return error("unexpected EOF");
    }
    char c = m_text[m_pos];
    if (c == quote) {
      ++m_pos;
      return value;
    }
    if (c == '<') {
      return error("unescaped < inside quoted string");
    }
    if (c == '&') {
      Result<std::string> decoded = reference();
      if (!decoded) {
        return decoded;
      }
      value += *decoded;
      continue;
    }
    size_t begin = m_pos;
    while (!at_end() && m_text[m_pos] != quote && m_text[m_pos] != '<' && m_text[m_pos] != '&') {
      ++m_pos;
    }
    if (Result<void> ok = check_chars(begin, m_pos); !ok) {
      return fail(ok.error());
    }
    for (size_t i = begin; i < m_pos; ++i) { // line ends normalized, as in text
      if (m_text[i] == '\r') {
        value += '\n';
        if (i + 1 < m_pos && m_text[i + 1] == '\n') {
          ++i;
        }
      } else {
        value += m_text[i];
      }
    }
  }
}

// At '<' of a start tag: reads the name and attributes up to '>' or '/>'.
Result<void> Reader::start_tag(Element& element, bool& empty) {
  element.line = line_at(m_pos);
  ++m_pos;
  Result<std::string> tag = name();
  if (!tag) {
    return error("expected element name after <");
  }
  element.name = std::move(*tag);
  for (;;) {
    bool spaced = !at_end() && is_space(m_text[m_pos]);
    skip_space();
    if (at_end()) {
      return error("unexpected EOF");
    }
    if (looking_at("/>")) {
      m_pos += 2;
      empty = true;
      return {};
    }
    if (m_text[m_pos] == '>') {
      ++m_pos;
      empty = false;
      return {};
    }
    if (!spaced) {
      return error(fmt::format("expected space or > in element <{}>", element.name));
    }
    Result<std::string> key = name();
    if (!key) {
      return error(fmt::format("expected attribute name in element <{}>", element.name));
    }
    skip_space();
    if (at_end() || m_text[m_pos] != '=') {
      return error("attribute name without = in element");
    }
    ++m_pos;
    skip_space();
    Result<std::string> value = attribute_value();
    if (!value) {
      return fail(value.error());
    }
    for (const Attribute& a : element.attributes) {
      if (a.name == *key) {
        return error(fmt::format("attribute {} repeated in element <{}>", *key, element.name));
      }
    }
    element.attributes.push_back({std::move(*key), std::move(*value)});
  }
}

// At "</": reads the end tag and returns its name.
Result<std::string> Reader::end_tag() {
  m_pos += 2;
  Result<std::string> tag = name();
  if (!tag) {
    return error("expected element name after </");
  }
  skip_space();
  if (at_end()) {
    return error("unexpected EOF");
  }
  if (m_text[m_pos] != '>') {
    return error(fmt::format("invalid characters between </{} and >", *tag));
  }
  ++m_pos;
  return tag;
}

// The root element and everything in it, read without recursion: open
// elements wait on a stack until their end tag.
Result<Element> Reader::root_element() {
  struct Open {
    Element element;
    size_t inner_begin;
  };
  std::vector<Open> open;
  auto add_text = [&open](std::string_view piece) {
    Element& e = open.back().element;
    e.text += piece;
    if (e.children.empty()) {
      e.leading_text += piece;
    }
  };
  for (;;) {
    if (open.empty() || looking_at("<") ) {
      if (at_end()) {
        return error("unexpected EOF");
      }
      if (!open.empty() && looking_at("</")) {
        size_t tag_begin = m_pos;
        Result<std::string> tag = end_tag();
        if (!tag) {
          return fail(tag.error());
        }
        Open& top = open.back();
        if (*tag != top.element.name) {
          m_pos = tag_begin;
          return error(fmt::format("element <{}> closed by </{}>", top.element.name, *tag));
        }
        top.element.inner_xml = std::string(m_text.substr(top.inner_begin, tag_begin - top.inner_begin));
        Element done = std::move(top.element);
        open.pop_back();
        if (open.empty()) {
          return done;
        }
        open.back().element.children.push_back(std::move(done));
        continue;
      }
      if (!open.empty() && looking_at("<![CDATA[")) {
        size_t begin = m_pos + 9;
        size_t end = m_text.find("]]>", begin);
        if (end == std::string_view::npos) {
          m_pos = m_text.size();
          return error("unexpected EOF in CDATA section");
        }
        if (Result<void> ok = check_chars(begin, end); !ok) {
          return fail(ok.error());
        }
        add_text(m_text.substr(begin, end - begin));
        m_pos = end + 3;
        continue;
      }
      if (!open.empty()) {
        bool found = false;
        if (Result<void> ok = misc(found); !ok || found) {
          if (!ok) {
            return fail(ok.error());
          }
          continue;
        }
      }
      if (looking_at("<!")) {
        return error("unsupported markup declaration <!");
      }
      if (open.size() >= k_max_depth) {
        return error(fmt::format("elements nested deeper than {}", k_max_depth));
      }
      Open next;
      bool empty = false;
      if (Result<void> ok = start_tag(next.element, empty); !ok) {
        return fail(ok.error());
      }
      if (empty) {
        if (open.empty()) {
          return std::move(next.element);
        }
        open.back().element.children.push_back(std::move(next.element));
        continue;
      }
      next.inner_begin = m_pos;
      open.push_back(std::move(next));
      continue;
    }
    // Character data up to the next markup.
    if (at_end()) {
      return error("unexpected EOF");
    }
    if (m_text[m_pos] == '&') {
      Result<std::string> decoded = reference();
      if (!decoded) {
        return fail(decoded.error());
      }
      add_text(*decoded);
      continue;
    }
    size_t begin = m_pos;
    while (!at_end() && m_text[m_pos] != '<' && m_text[m_pos] != '&') {
      ++m_pos;
    }
    std::string_view raw = m_text.substr(begin, m_pos - begin);
    if (size_t bad = raw.find("]]>"); bad != std::string_view::npos) {
      m_pos = begin + bad;
      return error("unescaped ]]> not in CDATA section");
    }
    if (Result<void> ok = check_chars(begin, m_pos); !ok) {
      return fail(ok.error());
    }
    std::string normalized;
    normalized.reserve(raw.size());
    for (size_t i = 0; i < raw.size(); ++i) {
      if (raw[i] == '\r') {
        normalized += '\n';
        if (i + 1 < raw.size() && raw[i + 1] == '\n') {
          ++i;
        }
      } else {
        normalized += raw[i];
      }
    }
    add_text(normalized);
  }
}

Result<Element> Reader::document() {
  if (looking_at("\xEF\xBB\xBF")) {
    m_pos = 3;
  }
  if (looking_at("<?xml") && m_pos + 5 < m_text.size() && (is_space(m_text[m_pos + 5]) || m_text[m_pos + 5] == '?')) {
    if (Result<void> ok = declaration(); !ok) {
      return fail(ok.error());
    }
  }
  for (;;) { // the prolog
    skip_space();
    if (at_end()) {
      return error("no root element");
    }
    bool found = false;
    if (Result<void> ok = misc(found); !ok) {
      return fail(ok.error());
    }
    if (!found) {
      break;
    }
  }
  if (!looking_at("<") || looking_at("<!")) {
    if (looking_at("<!")) {
      return error("unsupported markup declaration <!");
    }
    return error("character data before the root element");
  }
  Result<Element> root = root_element();
  if (!root) {
    return root;
  }
  for (;;) { // after the root: only comments, PIs and white space
    skip_space();
    if (at_end()) {
      return root;
    }
    bool found = false;
    if (Result<void> ok = misc(found); !ok) {
      return fail(ok.error());
    }
    if (!found) {
      return error("content after the root element");
    }
  }
}

} // namespace

std::string_view Element::local_name() const {
  std::string_view n = name;
  size_t colon = n.find(':');
  if (colon == std::string_view::npos || colon == 0 || colon + 1 == n.size() ||
      n.find(':', colon + 1) != std::string_view::npos) {
    return n;
  }
  return n.substr(colon + 1);
}

const std::string* Element::attribute(std::string_view local) const {
  for (const Attribute& a : attributes) {
    std::string_view n = a.name;
    size_t colon = n.find(':');
    bool split = colon != std::string_view::npos && colon != 0 && colon + 1 != n.size() &&
                 n.find(':', colon + 1) == std::string_view::npos;
    if ((split ? n.substr(colon + 1) : n) == local) {
      return &a.value;
    }
  }
  return nullptr;
}

Result<Element> parse(std::string_view document) { return Reader(document).document(); }

std::string escape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size();) {
    char32_t rune = 0;
    size_t length = utf8_sequence(text, i, rune);
    if (length == 0 || !is_xml_char(rune)) {
      out += "\xEF\xBF\xBD"; // U+FFFD, as Go writes an invalid character
      i += length == 0 ? 1 : length;
      continue;
    }
    switch (rune) {
    case '"': out += "&#34;"; break;
    case '\'': out += "&#39;"; break;
    case '&': out += "&amp;"; break;
    case '<': out += "&lt;"; break;
    case '>': out += "&gt;"; break;
    case '\t': out += "&#x9;"; break;
    case '\n': out += "&#xA;"; break;
    case '\r': out += "&#xD;"; break;
    default: out.append(text.substr(i, length));
    }
    i += length;
  }
  return out;
}

} // namespace sdscope::util::xml
