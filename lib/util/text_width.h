#pragma once

// How many terminal columns text takes, for laying out a screen.

#include <cstddef>
#include <string_view>

namespace sdscope::util {

// The columns a code point takes on a terminal: 0 for combining marks and
// zero-width characters, 2 for East Asian wide and fullwidth characters and
// emoji, 1 otherwise. A simplified wcwidth that needs no locale.
size_t rune_width(char32_t rune);

// The columns s takes; a byte that is not valid UTF-8 counts as one column
// (it is shown as a replacement character).
size_t display_width(std::string_view s);

} // namespace sdscope::util
