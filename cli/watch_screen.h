#pragma once

// The terminal side of `sdscope watch`'s full-screen view: raw-ish mode on
// the alternate screen, keys in, changed lines out. What is drawn comes from
// output/watch_view.h.

#include <chrono>
#include <string>
#include <vector>

#include "output/watch_view.h"
#include "scrape/watch_state.h"

namespace sdscope::cli {

// One at a time per process (the restore on a fatal signal is global).
class WatchScreen {
public:
  // Enters the alternate screen and raw-ish mode (ISIG kept so Ctrl-C
  // raises SIGINT, which the loop handles) and draws the empty view.
  WatchScreen(int tty_fd, bool color);
  // Restores the terminal (termios, cursor, autowrap, main screen); so do
  // exit() and a fatal signal while the screen is up.
  ~WatchScreen();
  WatchScreen(const WatchScreen&) = delete;
  WatchScreen& operator=(const WatchScreen&) = delete;

  int input_fd() const { return m_fd; }
  // Reads the pending keys (decoding escape sequences for arrows) and
  // redraws if they changed the view (relative times as of the last show());
  // false when the user quit (q) or the terminal hung up.
  bool handle_input();
  // After SIGWINCH: re-reads the size, redraws everything.
  void resize();
  // Redraws when the snapshot or the UI state changed or the clock needs
  // it, writing only the lines that differ from the screen, in one write.
  // The snapshot is copied when it changed (its time, events, providers or
  // reload message), so the caller may reuse it.
  void show(const scrape::WatchSnapshot& snapshot, scrape::WallClock::time_point now);
  // How long until the clock column needs a redraw (poll timeout).
  std::chrono::milliseconds until_tick(scrape::WallClock::time_point now) const;

private:
  void draw(scrape::WallClock::time_point now);

  int m_fd;
  bool m_color;
  size_t m_width = 80;
  size_t m_height = 24;
  output::WatchUi m_ui;
  scrape::WatchSnapshot m_snapshot;
  std::vector<std::string> m_lines; // what the terminal shows; empty: repaint all
  scrape::WallClock::time_point m_now = scrape::WallClock::now(); // of the last show()
  scrape::WallClock::time_point m_next_tick;
};

} // namespace sdscope::cli
