#include "output/screen_line.h"

#include <algorithm>

#include <fmt/format.h>

#include "util/strings.h"
#include "util/text_width.h"

namespace sdscope::output {

namespace {

// Calls fn(text, columns) for each character of s, "?" for the ones a
// terminal must not get.
template <class Fn> void for_each_char(std::string_view s, Fn fn) {
  for (size_t i = 0; i < s.size();) {
    char32_t rune = 0;
    size_t len = util::utf8_sequence(s, i, rune);
    if (len == 0 || rune < 0x20 || (rune >= 0x7F && rune < 0xA0)) {
      fn(std::string_view("?"), 1);
      i += len == 0 ? 1 : len;
      continue;
    }
    fn(s.substr(i, len), util::rune_width(rune));
    i += len;
  }
}

} // namespace

Line::Line(size_t width, bool color, std::string_view base)
    : m_width(width), m_color(color), m_base(color ? base : std::string_view()) {
  if (!m_base.empty()) {
    m_out = fmt::format("\033[{}m", m_base);
  }
}

Line& Line::add(std::string_view text, std::string_view style) {
  if (text.empty() || m_full) {
    return *this;
  }
  flush_spaces();
  size_t room = m_width - m_used;
  size_t total = 0;
  for_each_char(text, [&](std::string_view, size_t w) { total += w; });
  bool cut = total > room;
  size_t limit = cut ? (room == 0 ? 0 : room - 1) : room;
  std::string shown;
  size_t shown_width = 0;
  bool stop = false;
  for_each_char(text, [&](std::string_view c, size_t w) {
    stop = stop || shown_width + w > limit;
    if (!stop) {
      shown += c;
      shown_width += w;
    }
  });
  if (cut && room > 0) {
    shown += "…";
    shown_width = room;
  }
  m_full = cut;
  m_used += shown_width;
  if (m_color && !style.empty()) {
    m_out += fmt::format("\033[{}m{}\033[0m", style, shown);
    if (!m_base.empty()) {
      m_out += fmt::format("\033[{}m", m_base);
    }
  } else {
    m_out += shown;
  }
  return *this;
}

Line& Line::fill(std::string_view c, std::string_view style) {
  std::string run;
  for (size_t i = used(); i < m_width; ++i) {
    run += c;
  }
  return add(run, style);
}

std::string Line::finish() {
  if (!m_base.empty()) {
    m_pending = m_width - m_used;
    flush_spaces();
    m_out += "\033[0m";
  }
  return std::move(m_out);
}

void Line::flush_spaces() {
  size_t n = std::min(m_pending, m_width - m_used);
  m_out.append(n, ' ');
  m_used += n;
  m_pending = 0;
}

std::string fit(std::string_view text, size_t width) { return Line(width, false).add(text).finish(); }

void cell(Line& line, std::string_view text, size_t width, bool right, std::string_view style) {
  if (width == 0) {
    line.add(text, style);
    return;
  }
  std::string shown = fit(text, width);
  size_t pad = width - std::min(width, util::display_width(shown));
  line.spaces(right ? pad : 0).add(shown, style).spaces(right ? 0 : pad);
}

} // namespace sdscope::output
