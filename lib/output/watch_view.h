#pragma once

// The full-screen view of `sdscope watch`: its state (the selected or
// opened job, the filter, ...), the keys that change it and the rendering
// of a snapshot into screen lines. Pure: cli/watch_screen.cpp does the
// terminal I/O, so tests compare whole screens as text.

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "output/label_matcher.h"
#include "scrape/watch_state.h"

namespace sdscope::output {

enum class KeyCode {
  character,
  up,
  down,
  left,
  right,
  page_up,
  page_down,
  home,
  end,
  enter,
  escape,
  backspace,
  kill_line, // Ctrl-U
  other
};

struct Key {
  KeyCode code = KeyCode::other;
  std::string text; // character: the character typed, UTF-8
};

// Decodes the keys in bytes read from a terminal in raw mode: printable
// characters (UTF-8), Enter, Backspace, Escape and the cursor, paging, Home
// and End sequences of both cursor key modes. An ESC that ends the bytes is
// the Escape key (terminals send a sequence in one write).
std::vector<Key> decode_keys(std::string_view bytes);

struct WatchUi {
  std::optional<std::string> job; // the opened job; none: the overview
  size_t selected_job = 0;
  size_t selected_target = 0; // among the opened job's visible targets
  size_t scroll = 0;          // first list row shown; render keeps the selection in view
  bool show_dropped = false;
  bool help = false;
  bool typing = false; // a filter is being typed into `input`
  std::string input;
  std::string error;       // why the filter typed was refused (while typing)
  std::string filter_text; // the filter in use, as typed
  LabelSelector filter;
};

enum class KeyAction { none, redraw, quit };

// Applies key to ui: up/down (k/j), PageUp/PageDown, Home/End (g/G) move
// the selection; Enter (l, right) opens the selected job; Esc, Backspace,
// h and left go back to the overview; d shows or hides dropped targets; /
// edits the filter (Enter applies it, Esc cancels, Ctrl-U empties it); ? toggles the help
// line; q quits. Returns whether the screen needs a redraw.
KeyAction handle_key(WatchUi& ui, const Key& key, const scrape::WatchSnapshot& snapshot);

// The screen: at most height lines, each at most width columns wide
// (colour codes, when color is set, take no columns). Fixes up ui where the
// snapshot moved under it: a vanished opened job, a selection past the end,
// the scroll offset that keeps the selection in view.
std::vector<std::string> render(const scrape::WatchSnapshot& snapshot, WatchUi& ui, size_t width, size_t height,
                                scrape::WallClock::time_point now, bool color);

// How long until some relative time the view shows ("12s ago") changes
// its text; an hour when it shows none.
std::chrono::milliseconds until_tick(const scrape::WatchSnapshot& snapshot, scrape::WallClock::time_point now);

// "now", "12s ago", "3m ago", "5h ago", "2d ago": rounded down.
std::string time_ago(scrape::WallClock::time_point t, scrape::WallClock::time_point now);

// The targets of job that the opened job view lists, in its order: active
// ones, then (when shown) dropped ones, each only if the filter matches it
// (final labels; discovered ones for dropped targets).
std::vector<const scrape::WatchedTarget*> visible_targets(const scrape::JobChurn& job, const WatchUi& ui);

} // namespace sdscope::output
