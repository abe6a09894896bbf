#include "model/size.h"

#include <cmath>
#include <utility>

#include <fmt/format.h>

namespace sdscope::model {

namespace {

constexpr std::pair<std::string_view, double> k_iec_units[] = {
    {"B", 1.0},           {"KiB", 1024.0},        {"MiB", 1048576.0},         {"GiB", 1073741824.0},
    {"TiB", 1099511627776.0}, {"PiB", 1125899906842624.0}, {"EiB", 1152921504606846976.0}};
constexpr std::pair<std::string_view, double> k_old_units[] = {
    {"B", 1.0},          {"KB", 1024.0},        {"MB", 1048576.0},        {"GB", 1073741824.0},
    {"TB", 1099511627776.0}, {"PB", 1125899906842624.0}, {"EB", 1152921504606846976.0}};

bool is_digit(char c) { return c >= '0' && c <= '9'; }

// alecthomas/units ParseUnit: [-+]?([0-9]*(\.[0-9]*)?[a-zA-Z]+)+
template <size_t N>
std::string parse_unit(std::string_view orig, const std::pair<std::string_view, double> (&units)[N], int64_t& out) {
  std::string_view s = orig;
  bool negative = false;
  if (!s.empty() && (s[0] == '-' || s[0] == '+')) {
    negative = s[0] == '-';
    s.remove_prefix(1);
  }
  if (s == "0") {
    out = 0;
    return "";
  }
  std::string invalid = fmt::format("units: invalid {}", orig);
  if (s.empty()) {
    return invalid;
  }
  double total = 0;
  while (!s.empty()) {
    if (!(s[0] == '.' || is_digit(s[0]))) {
      return invalid;
    }
    auto leading_int = [&](double& value, size_t& count) {
      count = 0;
      uint64_t x = 0;
      while (count < s.size() && is_digit(s[count])) {
        if (x > (1ULL << 63) / 10) {
          return false;
        }
        x = x * 10 + static_cast<uint64_t>(s[count] - '0');
        if (x > (1ULL << 63)) {
          return false;
        }
        ++count;
      }
      value = static_cast<double>(x);
      s.remove_prefix(count);
      return true;
    };
    double whole = 0;
    size_t pre = 0;
    if (!leading_int(whole, pre)) {
      return invalid;
    }
    double element = whole;
    size_t post = 0;
    if (!s.empty() && s[0] == '.') {
      s.remove_prefix(1);
      double fraction = 0;
      if (!leading_int(fraction, post)) {
        return invalid;
      }
      element += fraction / std::pow(10.0, static_cast<double>(post));
    }
    if (pre == 0 && post == 0) {
      return invalid;
    }
    size_t i = 0;
    while (i < s.size() && s[i] != '.' && !is_digit(s[i])) {
      ++i;
    }
    std::string_view unit = s.substr(0, i);
    s.remove_prefix(i);
    const double* factor = nullptr;
    for (const auto& [name, f] : units) {
      if (name == unit) {
        factor = &f;
      }
    }
    if (factor == nullptr) {
      return fmt::format("units: unknown unit {} in {}", unit, orig);
    }
    total += element * *factor;
  }
  if (negative) {
    total = -total;
  }
  if (total < -9223372036854775808.0 || total > 9223372036854775807.0) {
    return "units: overflow parsing unit";
  }
  // 2^63 passes the check above (it is float64(MaxInt64)); Go's conversion
  // on amd64 turns it into MinInt64.
  out = total >= 9223372036854775808.0 ? INT64_MIN : static_cast<int64_t>(total);
  return "";
}

} // namespace

std::string parse_text(std::string_view text, Size& out) {
  if (parse_unit(text, k_iec_units, out.bytes).empty()) {
    return "";
  }
  return parse_unit(text, k_old_units, out.bytes);
}

std::string format_text(const Size& s) {
  int64_t n = s.bytes;
  if (n == 0) {
    return "0B";
  }
  std::string sign = n < 0 ? "-" : "";
  uint64_t v = n < 0 ? static_cast<uint64_t>(-(n + 1)) + 1 : static_cast<uint64_t>(n);
  static constexpr const char* k_names[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
  std::string out;
  for (int i = 6; i >= 0; --i) {
    uint64_t unit = 1ULL << (10 * i);
    if (v >= unit) {
      out += fmt::format("{}{}", v / unit, k_names[i]);
      v %= unit;
    }
  }
  return sign + out;
}

} // namespace sdscope::model
