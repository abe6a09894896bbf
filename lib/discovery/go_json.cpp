// JSON as Go's encoding/json decodes it into API structs, with Go's error
// wording.
#include "discovery/go_json.h"

#include <fmt/format.h>

#include "util/strings.h"

namespace sdscope::discovery {

bool equal_fold(std::string_view a, std::string_view b) {
  return a.size() == b.size() && util::to_lower_ascii(a) == util::to_lower_ascii(b);
}

std::string json_kind(const Json& v) {
  if (v.is_string()) {
    return "string";
  }
  if (v.is_boolean()) {
    return "bool";
  }
  if (v.is_array()) {
    return "array";
  }
  if (v.is_object()) {
    return "object";
  }
  return "number";
}

Result<Json> parse_json(std::string_view body, std::string_view empty_body_error) {
  if (body.find_first_not_of(" \t\r\n") == std::string_view::npos) {
    return fail(std::string(empty_body_error));
  }
  try {
    return Json::parse(body);
  } catch (const nlohmann::json::exception& e) {
    return fail(fmt::format("invalid JSON: {}", e.what()));
  }
}

std::string go_json_string(std::string_view s) {
  constexpr char k_hex[] = "0123456789abcdef";
  std::string out = "\"";
  for (size_t i = 0; i < s.size();) {
    auto b = static_cast<unsigned char>(s[i]);
    if (b < 0x80) {
      if (b == '"' || b == '\\') {
        out += '\\';
        out += static_cast<char>(b);
      } else if (b == '\n') {
        out += "\\n";
      } else if (b == '\r') {
        out += "\\r";
      } else if (b == '\t') {
        out += "\\t";
      } else if (b < 0x20 || b == '<' || b == '>' || b == '&') {
        out += "\\u00";
        out += k_hex[b >> 4];
        out += k_hex[b & 15];
      } else {
        out += static_cast<char>(b);
      }
      ++i;
      continue;
    }
    char32_t rune = 0;
    size_t len = util::utf8_sequence(s, i, rune);
    if (len == 0) {
      out += "\\ufffd";
      ++i;
    } else if (rune == 0x2028 || rune == 0x2029) {
      out += rune == 0x2028 ? "\\u2028" : "\\u2029";
      i += len;
    } else {
      out.append(s.substr(i, len));
      i += len;
    }
  }
  return out + "\"";
}

int64_t go_int64(double f) {
  // -2^63 is representable, 2^63 is not; NaN fails both comparisons.
  if (f >= -9223372036854775808.0 && f < 9223372036854775808.0) {
    return static_cast<int64_t>(f);
  }
  return INT64_MIN;
}

std::string go_value(const Json& v) {
  if (v.is_null()) {
    return "<nil>";
  }
  if (v.is_string()) {
    return v.get<std::string>();
  }
  if (v.is_array()) {
    std::string out = "[";
    for (size_t i = 0; i < v.size(); ++i) {
      out += (i == 0 ? "" : " ") + go_value(v[i]);
    }
    return out + "]";
  }
  if (v.is_object()) {
    std::map<std::string, std::string> sorted; // %v prints maps sorted by key
    for (const auto& [key, value] : v.items()) {
      sorted[key] = go_value(value);
    }
    std::string out = "map[";
    bool first = true;
    for (const auto& [key, value] : sorted) {
      out += (first ? "" : " ") + key + ":" + value;
      first = false;
    }
    return out + "]";
  }
  return v.dump();
}

void GoDecoder::string(const Json& v, std::string& out, std::string_view where) {
  if (v.is_null()) {
    return;
  }
  if (!v.is_string()) {
    mismatch(json_kind(v), where, "string");
    return;
  }
  out = v.get<std::string>();
}

void GoDecoder::integer(const Json& v, int64_t& out, std::string_view where) {
  if (v.is_null()) {
    return;
  }
  if (v.is_number_integer() && !(v.is_number_unsigned() && v.get<uint64_t>() > INT64_MAX)) {
    out = v.get<int64_t>();
    return;
  }
  mismatch(v.is_number() ? "number " + v.dump() : json_kind(v), where, "int");
}

void GoDecoder::string_map(const Json& v, std::map<std::string, std::string>& out, std::string_view where) {
  if (v.is_null()) {
    return;
  }
  if (!v.is_object()) {
    mismatch(json_kind(v), where, "map[string]string");
    return;
  }
  for (const auto& [key, value] : v.items()) {
    string(value, out[key], where);
  }
}

void GoDecoder::string_list(const Json& v, std::vector<std::string>& out, std::string_view where) {
  if (v.is_null()) {
    return;
  }
  if (!v.is_array()) {
    mismatch(json_kind(v), where, "[]string");
    return;
  }
  for (const Json& item : v) {
    string(item, out.emplace_back(), where);
  }
}

void GoDecoder::mismatch(const std::string& kind, std::string_view where, std::string_view type) {
  if (!error.empty()) {
    return;
  }
  if (where.empty()) {
    error = fmt::format("json: cannot unmarshal {} into Go value of type {}", kind, type);
  } else {
    error = fmt::format("json: cannot unmarshal {} into Go struct field {} of type {}", kind, where, type);
  }
}

} // namespace sdscope::discovery
