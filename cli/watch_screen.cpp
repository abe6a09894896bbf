#include "watch_screen.h"

#include <poll.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <stdexcept>

#include <fmt/format.h>

namespace sdscope::cli {

namespace {

// Alternate screen, hidden cursor, no autowrap (a line that is one column
// too wide, e.g. from a character the terminal draws wider than we count,
// must not push the screen up).
constexpr char k_enter[] = "\033[?1049h\033[?25l\033[?7l\033[2J";
constexpr char k_leave[] = "\033[0m\033[?7h\033[?25h\033[?1049l";

// What a fatal signal or exit() needs to put the terminal back; written
// before the handlers are installed and read only in them.
int g_fd = -1;
termios g_saved{};
volatile sig_atomic_t g_active = 0;
constexpr int k_fatal_signals[] = {SIGHUP, SIGTERM, SIGQUIT, SIGABRT, SIGSEGV, SIGBUS, SIGFPE, SIGILL};
struct sigaction g_previous[std::size(k_fatal_signals)];

// Async-signal-safe: write and tcsetattr only.
void restore_terminal() {
  if (g_active == 0) {
    return;
  }
  g_active = 0;
  ssize_t ignored = write(g_fd, k_leave, sizeof k_leave - 1);
  (void)ignored;
  tcsetattr(g_fd, TCSADRAIN, &g_saved);
}

void on_fatal_signal(int sig) {
  restore_terminal();
  // Hand the signal to whoever had it (the default action, or a sanitizer's
  // report): it is delivered again when this handler returns.
  for (size_t i = 0; i < std::size(k_fatal_signals); ++i) {
    if (k_fatal_signals[i] == sig) {
      sigaction(sig, &g_previous[i], nullptr);
    }
  }
  raise(sig);
}

void write_all(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n <= 0) {
      return; // the terminal is gone; nothing sensible to do
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
}

// Whether a and b show the same. The churn tracker stamps every update, so
// the time covers targets and events; the rest can change between updates
// (providers, a reload, the last-minute counts expiring).
bool same_state(const scrape::WatchSnapshot& a, const scrape::WatchSnapshot& b) {
  auto same_provider = [](const discovery::ProviderStatus& x, const discovery::ProviderStatus& y) {
    return x.name == y.name && x.synced == y.synced && x.error == y.error && x.targets == y.targets;
  };
  auto same_counts = [](const scrape::JobChurn& x, const scrape::JobChurn& y) {
    return x.job == y.job && x.active == y.active && x.dropped == y.dropped && x.failed == y.failed &&
           x.added == y.added && x.removed == y.removed && x.added_last_minute == y.added_last_minute &&
           x.removed_last_minute == y.removed_last_minute && x.last_change == y.last_change &&
           x.active_history.size() == y.active_history.size() && x.targets.size() == y.targets.size();
  };
  return a.time == b.time && a.events.size() == b.events.size() &&
         (a.events.empty() || a.events.front().time == b.events.front().time) &&
         a.reload_message == b.reload_message && a.reload_failed == b.reload_failed &&
         std::equal(a.providers.begin(), a.providers.end(), b.providers.begin(), b.providers.end(), same_provider) &&
         std::equal(a.jobs.begin(), a.jobs.end(), b.jobs.begin(), b.jobs.end(), same_counts);
}

} // namespace

WatchScreen::WatchScreen(int tty_fd, bool color) : m_fd(tty_fd), m_color(color) {
  if (g_active != 0) {
    throw std::logic_error("BUG: a second WatchScreen");
  }
  if (tcgetattr(m_fd, &g_saved) != 0) {
    throw std::runtime_error(fmt::format("cannot use the terminal: {}", std::strerror(errno)));
  }
  termios raw = g_saved;
  raw.c_iflag &= ~static_cast<tcflag_t>(IXON | ICRNL | INLCR | IGNCR | ISTRIP | INPCK);
  raw.c_lflag &= ~static_cast<tcflag_t>(ICANON | ECHO | IEXTEN); // ISIG stays: Ctrl-C is SIGINT
  raw.c_cc[VMIN] = 1;
  raw.c_cc[VTIME] = 0;
  raw.c_cc[VSUSP] = _POSIX_VDISABLE; // Ctrl-Z would stop us with the terminal in raw mode
  g_fd = m_fd;
  g_active = 1;
  static bool at_exit_registered = false;
  if (!at_exit_registered) {
    std::atexit(restore_terminal);
    at_exit_registered = true;
  }
  struct sigaction action {};
  action.sa_handler = on_fatal_signal;
  sigemptyset(&action.sa_mask);
  for (size_t i = 0; i < std::size(k_fatal_signals); ++i) {
    sigaction(k_fatal_signals[i], &action, &g_previous[i]);
  }
  tcsetattr(m_fd, TCSADRAIN, &raw);
  write_all(m_fd, k_enter);
  resize();
}

WatchScreen::~WatchScreen() {
  restore_terminal();
  for (size_t i = 0; i < std::size(k_fatal_signals); ++i) {
    sigaction(k_fatal_signals[i], &g_previous[i], nullptr);
  }
}

bool WatchScreen::handle_input() {
  std::string bytes;
  pollfd p{m_fd, POLLIN, 0};
  // Only what is there now: poll first, so read never blocks.
  while (poll(&p, 1, 0) > 0 && (p.revents & (POLLIN | POLLHUP | POLLERR)) != 0) {
    char buf[256];
    ssize_t n = read(m_fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n <= 0) {
      return false; // hung up
    }
    bytes.append(buf, static_cast<size_t>(n));
  }
  bool redraw = false;
  for (const output::Key& key : output::decode_keys(bytes)) {
    output::KeyAction action = output::handle_key(m_ui, key, m_snapshot);
    if (action == output::KeyAction::quit) {
      return false;
    }
    redraw = redraw || action == output::KeyAction::redraw;
  }
  if (redraw) {
    draw(m_now);
  }
  return true;
}

void WatchScreen::resize() {
  winsize size{};
  if (ioctl(m_fd, TIOCGWINSZ, &size) == 0 && size.ws_col > 0 && size.ws_row > 0) {
    m_width = size.ws_col;
    m_height = size.ws_row;
  }
  m_lines.clear();
  draw(m_now);
}

void WatchScreen::show(const scrape::WatchSnapshot& snapshot, scrape::WallClock::time_point now) {
  bool changed = !same_state(snapshot, m_snapshot);
  if (changed) {
    m_snapshot = snapshot;
  }
  m_now = now;
  if (changed || now >= m_next_tick) {
    draw(now);
  }
}

std::chrono::milliseconds WatchScreen::until_tick(scrape::WallClock::time_point now) const {
  if (now >= m_next_tick) {
    return std::chrono::milliseconds(0);
  }
  return std::chrono::ceil<std::chrono::milliseconds>(m_next_tick - now);
}

void WatchScreen::draw(scrape::WallClock::time_point now) {
  std::vector<std::string> lines = output::render(m_snapshot, m_ui, m_width, m_height, now, m_color);
  std::string out;
  if (m_lines.size() != lines.size()) {
    out += "\033[H\033[2J";
    m_lines.clear();
  }
  for (size_t i = 0; i < lines.size(); ++i) {
    if (i >= m_lines.size() || m_lines[i] != lines[i]) {
      // Clear first: clearing after a line that fills the width would erase
      // its last character, where the cursor stays.
      out += fmt::format("\033[{};1H\033[2K{}", i + 1, lines[i]);
    }
  }
  write_all(m_fd, out);
  m_lines = std::move(lines);
  m_next_tick = now + output::until_tick(m_snapshot, now);
}

} // namespace sdscope::cli
