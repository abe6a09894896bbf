#pragma once

// A terminal line built from styled text segments and cut at the screen
// width, for full-screen views.

#include <cstddef>
#include <string>
#include <string_view>

namespace sdscope::output {

// Segments are styled with an SGR code ("1;33") when colour is on and cut
// at the width with "…"; control characters and bytes that are not UTF-8
// show as "?", so no label value can drive the terminal. Spaces are written
// only when text follows them, so lines carry no trailing blanks; a line
// with a base style (a selected row) is padded to the full width instead.
class Line {
public:
  Line(size_t width, bool color, std::string_view base = {});

  Line& add(std::string_view text, std::string_view style = {});
  Line& spaces(size_t n) {
    m_pending += n;
    return *this;
  }
  // Repeats a one-column character to the end of the line.
  Line& fill(std::string_view c, std::string_view style = {});
  // The columns taken so far, spaces waiting for text included.
  size_t used() const { return m_used + m_pending; }
  std::string finish();

private:
  void flush_spaces();

  size_t m_width;
  bool m_color;
  std::string_view m_base;
  std::string m_out;
  size_t m_used = 0;
  size_t m_pending = 0;
  bool m_full = false;
};

// text cut to width columns.
std::string fit(std::string_view text, size_t width);

// Adds text in a column of width, aligned left or right; width 0: the last
// column, as wide as the line lets it be.
void cell(Line& line, std::string_view text, size_t width, bool right, std::string_view style = {});

} // namespace sdscope::output
