#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace sdscope::model {

// A Prometheus duration (prometheus/common model.Duration), in milliseconds,
// the smallest unit its syntax has. Zero means "unset" in config fields.
struct Duration {
  int64_t ms = 0;
  constexpr bool operator==(const Duration&) const = default;
  constexpr auto operator<=>(const Duration&) const = default;
  static constexpr Duration seconds(int64_t s) { return {s * 1000}; }
  static constexpr Duration minutes(int64_t m) { return {m * 60 * 1000}; }
};

// Parses "1h30m" etc. Returns "" on success, else Prometheus v2.45's message
// (e.g. `not a valid duration string: "30"`).
std::string parse_text(std::string_view text, Duration& out);

// Renders like Prometheus ("1m30s", "2w", "0s").
std::string format_text(const Duration& d);

} // namespace sdscope::model
