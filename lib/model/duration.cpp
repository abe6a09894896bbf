#include "model/duration.h"

#include <fmt/format.h>

#include "util/strings.h"

namespace sdscope::model {

namespace {

struct Unit {
  std::string_view name;
  int order; // units must appear with strictly increasing order (biggest first)
  uint64_t ms;
};

constexpr Unit k_units[] = {
    {"y", 1, 365ULL * 24 * 3600 * 1000}, {"w", 2, 7ULL * 24 * 3600 * 1000}, {"d", 3, 24ULL * 3600 * 1000},
    {"h", 4, 3600ULL * 1000},           {"m", 5, 60ULL * 1000},           {"s", 6, 1000},
    {"ms", 7, 1},
};

constexpr uint64_t k_max_ns = (1ULL << 63) - 1;

bool is_digit(char c) { return c >= '0' && c <= '9'; }

} // namespace

std::string parse_text(std::string_view text, Duration& out) {
  if (text == "0") {
    out = {};
    return "";
  }
  if (text.empty()) {
    return "empty duration string";
  }
  auto invalid = [&] { return fmt::format("not a valid duration string: {}", util::go_quote(text)); };
  std::string_view s = text;
  uint64_t total_ns = 0;
  int last_order = 0;
  while (!s.empty()) {
    if (!is_digit(s[0])) {
      return invalid();
    }
    size_t i = 0;
    uint64_t value = 0;
    for (; i < s.size() && is_digit(s[i]); ++i) {
      uint64_t digit = static_cast<uint64_t>(s[i] - '0');
      if (value > (UINT64_MAX - digit) / 10) {
        return invalid();
      }
      value = value * 10 + digit;
    }
    s.remove_prefix(i);
    size_t j = 0;
    while (j < s.size() && !is_digit(s[j])) {
      ++j;
    }
    if (j == 0) {
      return invalid();
    }
    std::string_view unit_name = s.substr(0, j);
    s.remove_prefix(j);
    const Unit* unit = nullptr;
    for (const Unit& u : k_units) {
      if (u.name == unit_name) {
        unit = &u;
      }
    }
    if (unit == nullptr) {
      return fmt::format("unknown unit {} in duration {}", util::go_quote(unit_name), util::go_quote(text));
    }
    if (unit->order <= last_order) {
      return invalid();
    }
    last_order = unit->order;
    uint64_t unit_ns = unit->ms * 1000000;
    if (value > (1ULL << 63) / unit_ns) {
      return "duration out of range";
    }
    total_ns += value * unit_ns;
    if (total_ns > k_max_ns) {
      return "duration out of range";
    }
  }
  out.ms = static_cast<int64_t>(total_ns / 1000000);
  return "";
}

std::string format_text(const Duration& d) {
  int64_t ms = d.ms;
  if (ms == 0) {
    return "0s";
  }
  std::string out;
  auto take = [&](int64_t unit_ms, const char* name, bool exact_only) {
    if (exact_only) {
      if (ms % unit_ms == 0) {
        out += fmt::format("{}{}", ms / unit_ms, name);
        ms = 0;
      }
      return;
    }
    if (ms >= unit_ms) {
      out += fmt::format("{}{}", ms / unit_ms, name);
      ms %= unit_ms;
    }
  };
  take(365LL * 24 * 3600 * 1000, "y", true);
  if (ms != 0) {
    take(7LL * 24 * 3600 * 1000, "w", true);
  }
  take(24LL * 3600 * 1000, "d", false);
  take(3600LL * 1000, "h", false);
  take(60LL * 1000, "m", false);
  take(1000, "s", false);
  take(1, "ms", false);
  return out;
}

} // namespace sdscope::model
