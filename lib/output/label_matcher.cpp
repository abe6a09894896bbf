#include "output/label_matcher.h"

#include <fmt/format.h>
#include <re2/re2.h>

#include "relabel/regexp.h"
#include "util/strings.h"

namespace sdscope::output {

namespace {

bool is_name_start(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
bool is_name_char(char c) { return is_name_start(c) || (c >= '0' && c <= '9'); }

int hex_digit(char c) {
  if (c >= '0' && c <= '9') {
    return c - '0';
  }
  if (c >= 'a' && c <= 'f') {
    return c - 'a' + 10;
  }
  if (c >= 'A' && c <= 'F') {
    return c - 'A' + 10;
  }
  return -1;
}

// A cursor over the selector text that reports errors with their column.
class Parser {
public:
  explicit Parser(std::string_view text) : m_text(text) {}

  Result<std::vector<LabelMatcher>> matchers() {
    std::vector<LabelMatcher> out;
    skip_space();
    bool braced = eat('{');
    while (true) {
      skip_space();
      if (at_end() || (braced && peek() == '}')) {
        break;
      }
      Result<LabelMatcher> m = matcher();
      if (!m) {
        return fail(m.error());
      }
      out.push_back(std::move(*m));
      skip_space();
      if (!eat(',')) {
        break;
      }
    }
    skip_space();
    if (braced && !eat('}')) {
      return fail(error("expected \",\" or \"}\""));
    }
    skip_space();
    if (!at_end()) {
      return fail(error(braced ? "unexpected text after \"}\"" : "expected \",\" between matchers"));
    }
    return out;
  }

private:
  Result<LabelMatcher> matcher() {
    LabelMatcher m;
    if (at_end() || !is_name_start(peek())) {
      return fail(error("expected a label name"));
    }
    while (!at_end() && is_name_char(peek())) {
      m.name += m_text[m_at++];
    }
    skip_space();
    if (eat('=')) {
      m.op = eat('~') ? LabelMatcher::Op::regex : LabelMatcher::Op::equal;
    } else if (eat('!')) {
      if (eat('=')) {
        m.op = LabelMatcher::Op::not_equal;
      } else if (eat('~')) {
        m.op = LabelMatcher::Op::not_regex;
      } else {
        return fail(error("expected \"!=\" or \"!~\""));
      }
    } else {
      return fail(error(fmt::format("expected \"=\", \"!=\", \"=~\" or \"!~\" after {}", m.name)));
    }
    skip_space();
    size_t value_at = m_at;
    Result<std::string> value = quoted();
    if (!value) {
      return fail(value.error());
    }
    m.value = std::move(*value);
    if (m.op == LabelMatcher::Op::regex || m.op == LabelMatcher::Op::not_regex) {
      std::string re_error;
      m.re = relabel::compile(fmt::format("^(?:{})$", m.value), re_error);
      if (!m.re) {
        return fail(fmt::format("col {}: {}", value_at + 1, re_error));
      }
    }
    return m;
  }

  // A quoted string with Go's escapes (strconv.Unquote); backquotes take none.
  Result<std::string> quoted() {
    if (at_end() || (peek() != '"' && peek() != '\'' && peek() != '`')) {
      return fail(error("expected a quoted value"));
    }
    char quote = m_text[m_at++];
    std::string out;
    while (!at_end() && peek() != quote) {
      char c = m_text[m_at];
      if (c == '\n' && quote != '`') {
        return fail(error("newline in string"));
      }
      if (c != '\\' || quote == '`') {
        out += c;
        ++m_at;
        continue;
      }
      if (std::string e = escape(quote, out); !e.empty()) {
        return fail(e);
      }
    }
    if (!eat(quote)) {
      return fail(error("unterminated quoted string"));
    }
    return out;
  }

  // Decodes the escape at m_at (a backslash) into out; returns an error or "".
  std::string escape(char quote, std::string& out) {
    size_t start = m_at++;
    if (at_end()) {
      return error("unterminated quoted string");
    }
    char c = m_text[m_at++];
    switch (c) {
    case 'a': out += '\a'; return "";
    case 'b': out += '\b'; return "";
    case 'f': out += '\f'; return "";
    case 'n': out += '\n'; return "";
    case 'r': out += '\r'; return "";
    case 't': out += '\t'; return "";
    case 'v': out += '\v'; return "";
    case '\\': out += '\\'; return "";
    case 'x': return hex_escape(start, 2, out);
    case 'u': return hex_escape(start, 4, out);
    case 'U': return hex_escape(start, 8, out);
    default: break;
    }
    if (c == quote) {
      out += c;
      return "";
    }
    if (c >= '0' && c <= '7') {
      unsigned value = static_cast<unsigned>(c - '0');
      for (int k = 0; k < 2; ++k) {
        if (at_end() || peek() < '0' || peek() > '7') {
          return error_at(start, "invalid octal escape");
        }
        value = value * 8 + static_cast<unsigned>(m_text[m_at++] - '0');
      }
      if (value > 0xFF) {
        return error_at(start, "octal escape out of range");
      }
      out += static_cast<char>(value);
      return "";
    }
    return error_at(start, fmt::format("unknown escape sequence \\{}", c));
  }

  std::string hex_escape(size_t start, size_t digits, std::string& out) {
    char32_t value = 0;
    for (size_t k = 0; k < digits; ++k, ++m_at) {
      int d = at_end() ? -1 : hex_digit(m_text[m_at]);
      if (d < 0) {
        return error_at(start, "invalid hexadecimal escape");
      }
      value = value * 16 + static_cast<char32_t>(d);
    }
    if (digits == 2) {
      out += static_cast<char>(value); // a byte, as in Go
      return "";
    }
    if (value > 0x10FFFF || (value >= 0xD800 && value <= 0xDFFF)) {
      return error_at(start, "escape sequence is invalid Unicode code point");
    }
    util::append_utf8(out, value);
    return "";
  }

  bool at_end() const { return m_at >= m_text.size(); }
  char peek() const { return m_text[m_at]; }
  bool eat(char c) {
    if (!at_end() && peek() == c) {
      ++m_at;
      return true;
    }
    return false;
  }
  void skip_space() {
    while (!at_end() && (peek() == ' ' || peek() == '\t')) {
      ++m_at;
    }
  }
  std::string error(std::string_view message) const { return error_at(m_at, message); }
  std::string error_at(size_t at, std::string_view message) const {
    return fmt::format("col {}: {}", at + 1, message);
  }

  std::string_view m_text;
  size_t m_at = 0;
};

} // namespace

bool LabelMatcher::matches(std::string_view label_value) const {
  switch (op) {
  case Op::equal: return label_value == value;
  case Op::not_equal: return label_value != value;
  case Op::regex: return RE2::PartialMatch(re2::StringPiece(label_value.data(), label_value.size()), *re);
  case Op::not_regex: return !RE2::PartialMatch(re2::StringPiece(label_value.data(), label_value.size()), *re);
  }
  return false;
}

Result<LabelSelector> LabelSelector::parse(std::string_view text) {
  Result<std::vector<LabelMatcher>> matchers = Parser(text).matchers();
  if (!matchers) {
    return fail(matchers.error());
  }
  LabelSelector selector;
  selector.m_matchers = std::move(*matchers);
  return selector;
}

bool LabelSelector::matches(const model::Labels& labels) const {
  for (const LabelMatcher& m : m_matchers) {
    if (!m.matches(labels.get(m.name))) {
      return false;
    }
  }
  return true;
}

} // namespace sdscope::output
