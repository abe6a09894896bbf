#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "util/result.h"

// Go's encoding/json as the mechanisms decode API responses into Go structs
// (consul, marathon, ...), with Go's error wording.
namespace sdscope::discovery {

using Json = nlohmann::ordered_json;

// Go's strings.EqualFold for the ASCII names of struct fields.
bool equal_fold(std::string_view a, std::string_view b);

// The kind of v as Go's decoding errors name it ("string", "object", ...).
std::string json_kind(const Json& v);

// Parses a response body. An empty one fails as Go's decoders word it:
// "EOF" from a json.Decoder, "unexpected end of JSON input" from
// json.Unmarshal; a syntax error (or a number out of range) with the
// parser's complaint.
inline constexpr std::string_view k_decoder_eof = "EOF";
inline constexpr std::string_view k_unmarshal_eof = "unexpected end of JSON input";
Result<Json> parse_json(std::string_view body, std::string_view empty_body_error);

// Go's json.Marshal of a string (Go 1.20): quoted, with \n \r \t, other
// control bytes and the HTML-unsafe < > & as \u00XX, U+2028/U+2029
// escaped and invalid UTF-8 bytes as \ufffd.
std::string go_json_string(std::string_view s);

// Go's int64(f) on amd64: a value out of int64's range, or NaN, gives
// math.MinInt64 (in C++ that conversion is undefined).
int64_t go_int64(double f);

// Go's fmt %v of a decoded interface{} value.
std::string go_value(const Json& v);

// Decodes JSON as Go's encoding/json fills a Go struct. Records the
// first type mismatch the way Go words it; decoding goes on.
class GoDecoder {
public:
  std::string error;

  // A struct field: later keys win, names match case-insensitively.
  template <class Fn> void fields(const Json& object, Fn fn) {
    for (const auto& [key, value] : object.items()) {
      fn(key, value);
    }
  }
  // A struct, or a pointer to one, of Go type `type` (e.g. "godo.Droplet"):
  // fn(key, value) per member; false for null (a nil pointer) and for a
  // value of another kind (then recorded as the error).
  template <class Fn> bool object(const Json& v, std::string_view where, std::string_view type, Fn fn) {
    if (v.is_null()) {
      return false;
    }
    if (!v.is_object()) {
      mismatch(json_kind(v), where, type);
      return false;
    }
    fields(v, fn);
    return true;
  }
  // A slice of such structs: each element is appended to out and filled
  // by fn(key, value, element).
  template <class T, class Fn>
  void list(const Json& v, std::vector<T>& out, std::string_view where, std::string_view type, Fn fn) {
    if (v.is_null()) {
      return;
    }
    if (!v.is_array()) {
      mismatch(json_kind(v), where, "[]" + std::string(type));
      return;
    }
    for (const Json& item : v) {
      T& element = out.emplace_back();
      object(item, where, type, [&](const std::string& key, const Json& value) { fn(key, value, element); });
    }
  }
  void string(const Json& v, std::string& out, std::string_view where);
  void integer(const Json& v, int64_t& out, std::string_view where);
  void string_map(const Json& v, std::map<std::string, std::string>& out, std::string_view where);
  void string_list(const Json& v, std::vector<std::string>& out, std::string_view where);
  // `where` is "Struct.Field.Path" inside a struct, "" for a bare value.
  void mismatch(const std::string& kind, std::string_view where, std::string_view type);
};

} // namespace sdscope::discovery
