#include <doctest/doctest.h>

#include <fcntl.h>
#include <poll.h>
#include <sys/wait.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include <csignal>
#include <cstdlib>
#include <string>

#include "watch_screen.h"

using namespace sdscope;
using std::chrono::seconds;

namespace {

// A pseudo-terminal: the screen gets the slave side, the test plays the
// terminal on the master side.
struct Pty {
  int master = -1;
  int slave = -1;

  Pty() {
    master = posix_openpt(O_RDWR | O_NOCTTY);
    REQUIRE(master >= 0);
    REQUIRE(grantpt(master) == 0);
    REQUIRE(unlockpt(master) == 0);
    slave = open(ptsname(master), O_RDWR | O_NOCTTY);
    REQUIRE(slave >= 0);
    winsize size{};
    size.ws_col = 80;
    size.ws_row = 12;
    ioctl(master, TIOCSWINSZ, &size);
  }
  ~Pty() {
    close(slave);
    close(master);
  }

  // Everything the screen wrote so far.
  std::string output() const {
    std::string out;
    pollfd p{master, POLLIN, 0};
    while (poll(&p, 1, 50) > 0 && (p.revents & POLLIN) != 0) {
      char buf[4096];
      ssize_t n = read(master, buf, sizeof buf);
      if (n <= 0) {
        break;
      }
      out.append(buf, static_cast<size_t>(n));
    }
    return out;
  }
  void type(std::string_view keys) const { REQUIRE(write(master, keys.data(), keys.size()) == ssize_t(keys.size())); }
};

size_t count(std::string_view s, std::string_view what) {
  size_t n = 0;
  for (size_t at = s.find(what); at != std::string_view::npos; at = s.find(what, at + 1)) {
    ++n;
  }
  return n;
}

} // namespace

TEST_SUITE("watch screen") {
  TEST_CASE("alternate screen, raw mode with signals, changed lines only, terminal restored") {
    Pty pty;
    termios before{};
    REQUIRE(tcgetattr(pty.slave, &before) == 0);
    scrape::WallClock::time_point now{seconds(1'700'000'000)};
    scrape::WatchSnapshot snapshot;
    snapshot.time = now;
    scrape::JobChurn node;
    node.job = "node";
    node.active = 2;
    scrape::JobChurn api;
    api.job = "api";
    snapshot.jobs = {node, api};
    {
      cli::WatchScreen screen(pty.slave, false);
      std::string out = pty.output();
      CHECK(out.starts_with("\033[?1049h"));
      CHECK(out.find("waiting for discovery") != std::string::npos);
      termios raw{};
      REQUIRE(tcgetattr(pty.slave, &raw) == 0);
      CHECK((raw.c_lflag & ICANON) == 0);
      CHECK((raw.c_lflag & ECHO) == 0);
      CHECK((raw.c_lflag & ISIG) != 0);

      screen.show(snapshot, now);
      out = pty.output();
      CHECK(out.find("> node") != std::string::npos);
      CHECK(screen.until_tick(now) == std::chrono::milliseconds(1000));

      screen.show(snapshot, now + std::chrono::milliseconds(500)); // nothing changed, no tick due
      CHECK(pty.output().empty());

      pty.type("j");
      CHECK(screen.handle_input());
      out = pty.output();
      CHECK(count(out, "\033[2K") == 2); // the two job rows, nothing else
      CHECK(out.find("> api") != std::string::npos);

      screen.show(snapshot, now + seconds(1)); // "now" becomes "1s ago"
      out = pty.output();
      CHECK(count(out, "\033[2K") == 1);
      CHECK(out.find("updated 1s ago") != std::string::npos);

      pty.type("\033[A\r");
      CHECK(screen.handle_input());
      CHECK(pty.output().find("sdscope watch › node") != std::string::npos);

      winsize size{};
      size.ws_col = 60;
      size.ws_row = 8;
      ioctl(pty.master, TIOCSWINSZ, &size);
      screen.resize();
      out = pty.output();
      CHECK(out.find("\033[2J") != std::string::npos);
      CHECK(count(out, "\033[2K") == 8);

      pty.type("q");
      CHECK(!screen.handle_input());
    }
    CHECK(pty.output().find("\033[?1049l") != std::string::npos);
    termios after{};
    REQUIRE(tcgetattr(pty.slave, &after) == 0);
    CHECK(after.c_lflag == before.c_lflag);
    CHECK(after.c_iflag == before.c_iflag);
  }

  TEST_CASE("a fatal signal restores the terminal before the process dies of it") {
    Pty pty;
    termios before{};
    REQUIRE(tcgetattr(pty.slave, &before) == 0);
    pid_t child = fork();
    REQUIRE(child >= 0);
    if (child == 0) {
      // As in sdscope itself, the signal's action before the screen is the
      // default one (not doctest's crash reporter, which the fork inherits).
      signal(SIGTERM, SIG_DFL);
      cli::WatchScreen screen(pty.slave, false);
      raise(SIGTERM);
      _exit(0); // not reached
    }
    int status = 0;
    REQUIRE(waitpid(child, &status, 0) == child);
    CHECK(WIFSIGNALED(status));
    CHECK(WTERMSIG(status) == SIGTERM);
    std::string out = pty.output();
    CHECK(out.find("\033[?1049h") != std::string::npos);
    CHECK(out.find("\033[?1049l") != std::string::npos);
    termios after{};
    REQUIRE(tcgetattr(pty.slave, &after) == 0);
    CHECK(after.c_lflag == before.c_lflag);
  }
}
