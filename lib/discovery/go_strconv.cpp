// Go's strconv.ParseInt / ParseBool with their error texts; see go_strconv.h.
#include "discovery/go_strconv.h"

#include <fmt/format.h>

#include "util/strings.h"

namespace sdscope::discovery {

Result<int64_t> go_parse_int(std::string_view s, int bits) {
  auto error = [s](std::string_view why) {
    return fail(fmt::format("strconv.ParseInt: parsing {}: {}", util::go_quote(s), why));
  };
  std::string_view digits = s;
  bool negative = false;
  if (!digits.empty() && (digits[0] == '+' || digits[0] == '-')) {
    negative = digits[0] == '-';
    digits.remove_prefix(1);
  }
  if (digits.empty()) {
    return error("invalid syntax");
  }
  // The magnitude limit: 2^(bits-1) for a negative value, one less otherwise.
  uint64_t limit = (uint64_t{1} << (bits - 1)) - (negative ? 0 : 1);
  uint64_t value = 0;
  bool overflow = false;
  for (char c : digits) {
    if (c < '0' || c > '9') {
      return error("invalid syntax");
    }
    uint64_t digit = static_cast<uint64_t>(c - '0');
    if (value > (limit - digit) / 10) {
      overflow = true; // keep scanning: a bad digit later is a syntax error
    } else {
      value = value * 10 + digit;
    }
  }
  if (overflow) {
    return error("value out of range");
  }
  return negative ? static_cast<int64_t>(0 - value) : static_cast<int64_t>(value);
}

Result<bool> go_parse_bool(std::string_view s) {
  if (s == "1" || s == "t" || s == "T" || s == "TRUE" || s == "true" || s == "True") {
    return true;
  }
  if (s == "0" || s == "f" || s == "F" || s == "FALSE" || s == "false" || s == "False") {
    return false;
  }
  return fail(fmt::format("strconv.ParseBool: parsing {}: invalid syntax", util::go_quote(s)));
}

} // namespace sdscope::discovery
