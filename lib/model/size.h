#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace sdscope::model {

// A byte size as alecthomas/units Base2Bytes parses it (body_size_limit).
struct Size {
  int64_t bytes = 0;
  bool operator==(const Size&) const = default;
};

// Returns "" on success, else the units package's message
// (e.g. "units: unknown unit  in 1000").
std::string parse_text(std::string_view text, Size& out);
std::string format_text(const Size& s);

} // namespace sdscope::model
