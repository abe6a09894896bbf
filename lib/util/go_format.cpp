#include "util/go_format.h"

#include <charconv>
#include <iterator>

namespace sdscope::util {

std::string format_float_g(double v) {
  // The shortest round-trip digits come from to_chars in exponent form
  // ("-1.2345e+06"); Go's 'g' then picks the layout by the exponent alone.
  char buffer[64];
  auto [end, ec] = std::to_chars(std::begin(buffer), std::end(buffer), v, std::chars_format::scientific);
  std::string text(buffer, ec == std::errc() ? end : buffer);
  size_t e = text.find('e');
  if (e == std::string::npos) { // inf or nan: Go writes +Inf, -Inf, NaN
    return text == "nan" || text == "-nan" ? "NaN" : (text[0] == '-' ? "-Inf" : "+Inf");
  }
  int exponent = std::stoi(text.substr(e + 1));
  if (exponent < -4 || exponent >= 6) {
    return text; // same layout as Go's %e: sign and at least two exponent digits
  }
  bool negative = text[0] == '-';
  std::string digits;
  for (char c : std::string_view(text).substr(negative ? 1 : 0, e - (negative ? 1 : 0))) {
    if (c != '.') {
      digits += c;
    }
  }
  int point = exponent + 1; // digits before the decimal point
  std::string out = negative ? "-" : "";
  if (point <= 0) {
    out += "0." + std::string(static_cast<size_t>(-point), '0') + digits;
  } else if (static_cast<size_t>(point) >= digits.size()) {
    out += digits + std::string(static_cast<size_t>(point) - digits.size(), '0');
  } else {
    out += digits.substr(0, static_cast<size_t>(point)) + "." + digits.substr(static_cast<size_t>(point));
  }
  return out;
}

} // namespace sdscope::util
