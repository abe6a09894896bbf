#include "yaml/decode.h"

#include <cerrno>
#include <cmath>
#include <cstdlib>

#include "util/strings.h"

namespace sdscope::yaml {

void Decoder::error(Node at, std::string message, Stage stage) {
  m_diagnostics.error(m_file, at ? at.mark() : Mark{}, std::move(message), stage);
}

void Decoder::warning(Node at, std::string message) {
  m_diagnostics.warning(m_file, at ? at.mark() : Mark{}, std::move(message));
}

void Decoder::type_error(Node at, std::string_view go_type) {
  std::string value;
  if (at.is_scalar()) {
    std::string_view text = at.text();
    value = text.size() > 10 ? fmt::format(" `{}...`", text.substr(0, 7)) : fmt::format(" `{}`", text);
  }
  type_error_text(at, fmt::format("cannot unmarshal {}{} into {}", tag_name(at.tag()), value, go_type));
}

void Decoder::type_error_text(Node at, std::string message) {
  ++m_type_errors;
  error(at, std::move(message), Stage::type);
}

void Decoder::leave_out(uint32_t slot) {
  Taken& taken = m_taken.at(slot);
  taken.value.reset();
  taken.left_out = true;
}

void Decoder::take_diagnostics(Taken& taken) {
  for (Diagnostic& d : taken.diagnostics) {
    m_diagnostics.add(std::move(d));
  }
  taken.diagnostics.clear();
  m_type_errors += taken.type_errors;
}

void Checker::error_at(std::string_view field, std::string message, Stage stage) {
  Node key = m_node;
  for (size_t i = 0; i < m_node.size(); ++i) {
    if (m_node.key(i).text() == field) {
      key = m_node.key(i);
    }
  }
  m_decoder.error(key, std::move(message), stage);
}

void Checker::warning_at(std::string_view field, std::string message) {
  Node key = m_node;
  for (size_t i = 0; i < m_node.size(); ++i) {
    if (m_node.key(i).text() == field) {
      key = m_node.key(i);
    }
  }
  m_decoder.warning(key, std::move(message));
}

Node Checker::field(std::string_view name) const { return m_node.get(name); }

FieldReader::FieldReader(Decoder& decoder, Node mapping, std::string_view go_type)
    : m_decoder(decoder), m_go_type(go_type) {
  add_entries(mapping);
}

// Merge keys ("<<: *base") bring in the keys of other mappings; keys written
// in the mapping itself win over merged ones.
void FieldReader::add_entries(Node mapping) {
  size_t first = m_entries.size();
  for (size_t i = 0; i < mapping.size(); ++i) {
    Node key = mapping.key(i);
    Node value = mapping.value(i);
    if (key.tag() == Tag::merge) {
      if (value.is_mapping()) {
        m_merged.push_back(value);
      } else if (value.is_sequence()) {
        for (size_t k = 0; k < value.size(); ++k) {
          if (value.element(k).is_mapping()) {
            m_merged.push_back(value.element(k));
          }
        }
      }
      continue;
    }
    bool duplicate = false;
    for (size_t k = first; k < m_entries.size(); ++k) {
      if (m_entries[k].key.text() == key.text()) {
        duplicate = true;
      }
    }
    m_entries.push_back({key, value, -1, duplicate, false});
  }
  if (first == 0) {
    for (size_t m = 0; m < m_merged.size(); ++m) {
      Node merged = m_merged[m];
      for (size_t i = 0; i < merged.size(); ++i) {
        bool shadowed = false;
        for (const Entry& e : m_entries) {
          if (e.key.text() == merged.key(i).text()) {
            shadowed = true;
          }
        }
        // A shadowed merged key counts as a duplicate: known, never decoded.
        m_entries.push_back({merged.key(i), merged.value(i), -1, shadowed, true});
      }
    }
  }
}

void FieldReader::index_field(std::string_view name) {
  m_names.push_back(name);
  for (Entry& e : m_entries) {
    if (!e.duplicate && e.field < 0 && e.key.is_scalar() && e.key.text() == name) {
      e.field = m_ordinal - 1;
      return;
    }
  }
}

void FieldReader::report_unused(const Entry& e) {
  {
    std::string_view key = e.key.text();
    bool known = false;
    for (std::string_view n : m_names) {
      known = known || n == key;
    }
    if (e.duplicate) {
      if (known && !e.merged) {
        m_decoder.type_error_text(e.key, fmt::format("field {} already set in type {}", key, m_go_type));
      }
      return;
    }
    if (!known) {
      std::string message = fmt::format("field {} not found in type {}", key, m_go_type);
      std::string hint = util::closest_match(key, m_names);
      if (!hint.empty()) {
        message += fmt::format(" (did you mean {}?)", hint);
      }
      m_decoder.type_error_text(e.key, std::move(message));
    }
  }
}

namespace {

bool parse_unsigned(std::string_view digits, int base, uint64_t& out) {
  if (digits.empty()) {
    return false;
  }
  out = 0;
  for (char c : digits) {
    int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : 99;
    if (d >= base) {
      return false;
    }
    if (out > (UINT64_MAX - static_cast<uint64_t>(d)) / static_cast<uint64_t>(base)) {
      return false;
    }
    out = out * static_cast<uint64_t>(base) + static_cast<uint64_t>(d);
  }
  return true;
}

} // namespace

bool scalar_integer(Node n, bool& negative, uint64_t& magnitude) {
  std::string text;
  for (char c : n.text()) {
    if (c != '_') {
      text += c;
    }
  }
  if (n.tag() == Tag::float_) {
    double value = std::strtod(text.c_str(), nullptr);
    if (!std::isfinite(value) || std::fabs(value) >= 1.8446744073709552e19) {
      return false;
    }
    negative = value < 0;
    magnitude = static_cast<uint64_t>(std::fabs(value));
    return true;
  }
  if (n.tag() != Tag::int_) {
    return false;
  }
  std::string_view s = text;
  negative = false;
  if (!s.empty() && (s[0] == '+' || s[0] == '-')) {
    negative = s[0] == '-';
    s.remove_prefix(1);
  }
  int base = 10;
  if (s.size() > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
    base = 16;
    s.remove_prefix(2);
  } else if (s.size() > 2 && s[0] == '0' && (s[1] == 'b' || s[1] == 'B')) {
    base = 2;
    s.remove_prefix(2);
  } else if (s.size() > 2 && s[0] == '0' && (s[1] == 'o' || s[1] == 'O')) {
    base = 8;
    s.remove_prefix(2);
  } else if (s.size() > 1 && s[0] == '0') {
    base = 8;
    s.remove_prefix(1);
  }
  return parse_unsigned(s, base, magnitude);
}

bool scalar_float(Node n, double& value) {
  std::string_view t = n.text();
  if (n.tag() == Tag::int_) {
    bool negative = false;
    uint64_t magnitude = 0;
    if (!scalar_integer(n, negative, magnitude)) {
      return false;
    }
    value = negative ? -static_cast<double>(magnitude) : static_cast<double>(magnitude);
    return true;
  }
  if (n.tag() != Tag::float_) {
    return false;
  }
  if (t.find("inf") != std::string_view::npos || t.find("Inf") != std::string_view::npos ||
      t.find("INF") != std::string_view::npos) {
    value = t[0] == '-' ? -INFINITY : INFINITY;
    return true;
  }
  if (t.find("nan") != std::string_view::npos || t.find("NaN") != std::string_view::npos ||
      t.find("NAN") != std::string_view::npos) {
    value = NAN;
    return true;
  }
  std::string text;
  for (char c : t) {
    if (c != '_') {
      text += c;
    }
  }
  value = std::strtod(text.c_str(), nullptr);
  return true;
}

bool scalar_bool(Node n) {
  std::string_view t = n.text();
  return t == "y" || t == "Y" || t == "yes" || t == "Yes" || t == "YES" || t == "true" || t == "True" ||
         t == "TRUE" || t == "on" || t == "On" || t == "ON";
}

std::string scalar_string(Node n) {
  if (n.tag() != Tag::binary) {
    return std::string(n.text());
  }
  std::string out;
  uint32_t buffer = 0;
  int bits = 0;
  for (char c : n.text()) {
    int value = c >= 'A' && c <= 'Z'   ? c - 'A'
                : c >= 'a' && c <= 'z' ? c - 'a' + 26
                : c >= '0' && c <= '9' ? c - '0' + 52
                : c == '+'             ? 62
                : c == '/'             ? 63
                                       : -1;
    if (value < 0) {
      continue; // padding and line breaks
    }
    buffer = (buffer << 6) | static_cast<uint32_t>(value);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((buffer >> bits) & 0xFF);
    }
  }
  return out;
}

} // namespace sdscope::yaml
