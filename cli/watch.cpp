// sdscope watch: run every service discovery of the config continuously and
// show how the targets churn, throttled as Prometheus's discovery manager
// throttles its updates; reload the config when it changes.
//
// One thread waits in poll() on everything that can happen: signals (a
// signalfd), the config's directory (inotify), the discovery manager (its
// change eventfd), the screen's keyboard, and the next timer (the update
// tick, the end of --once-after, the screen's clock). Nothing polls on a
// timer when nothing happens, so an idle watch costs no CPU.
#include <poll.h>
#include <sys/inotify.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <memory>
#include <optional>
#include <system_error>
#include <unordered_map>

#include <fmt/format.h>

#include "commands.h"
#include "discovery/manager.h"
#include "discovery/throttle.h"
#include "output/watch_events.h"
#include "scrape/churn.h"
#include "scrape/targets.h"
#include "util/strings.h"

#include "watch_screen.h"

namespace sdscope::cli {

namespace {

using Steady = std::chrono::steady_clock;
using scrape::WallClock;
using namespace std::chrono_literals;

// How long the config's directory must be quiet before the file is read
// again: editors and config management write in several steps.
constexpr auto k_reload_settle = 100ms;

// A config being watched. Providers the manager keeps across reloads point
// into it, so it lives as long as the newest of them (the owner passed to
// Manager::apply).
struct Loaded {
  config::Config config;
  std::vector<std::unique_ptr<discovery::SdConfig>> statics; // static_configs as providers
  std::vector<const config::ScrapeConfig*> jobs;            // the watched ones, in config order
  std::string bytes;                                        // the file as it was read
  uint64_t generation = 0;
};

enum class Mode { screen, events, summary };

// A file descriptor closed when it goes out of scope.
class Fd {
public:
  explicit Fd(int fd = -1) : m_fd(fd) {}
  ~Fd() {
    if (m_fd >= 0) {
      close(m_fd);
    }
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return m_fd; }
  void reset(int fd) {
    if (m_fd >= 0) {
      close(m_fd);
    }
    m_fd = fd;
  }

private:
  int m_fd;
};

// The watched jobs of a config: those named by --job that it has (all when
// none is named).
std::vector<const config::ScrapeConfig*> watched_jobs(const config::Config& config,
                                                      const std::vector<std::string>& wanted) {
  std::vector<const config::ScrapeConfig*> jobs;
  for (const config::ScrapeConfig* job : config::jobs(config)) {
    if (wanted.empty() || std::find(wanted.begin(), wanted.end(), job->job_name) != wanted.end()) {
      jobs.push_back(job);
    }
  }
  return jobs;
}

struct Settings {
  std::string path;
  std::vector<std::string> jobs;
  std::chrono::milliseconds update_interval;
  std::optional<std::chrono::milliseconds> once_after;
  Mode mode = Mode::events;
  output::SummaryFormat summary = output::SummaryFormat::text;
  bool color = false;
  scrape::PopulateOptions populate;
};

class Watcher {
public:
  Watcher(Settings settings, std::shared_ptr<Loaded> loaded, int signal_fd)
      : m_settings(std::move(settings)), m_loaded(std::move(loaded)), m_signals(signal_fd),
        m_manager(discoverer_options_from_environment()), m_started(Steady::now()),
        m_throttle(m_settings.update_interval, m_started) {}

  int run();

private:
  void watch_config_directory();
  bool handle_signals(); // false: quit
  void handle_inotify(Steady::time_point now);
  void reload(bool forced);
  void deliver();
  void report_providers(const std::vector<discovery::ProviderStatus>& providers);
  std::optional<Steady::time_point> next_timer() const;
  int finish();

  Settings m_settings;
  std::shared_ptr<Loaded> m_loaded;
  Fd m_signals;
  Fd m_inotify;
  discovery::Manager m_manager;
  Steady::time_point m_started;
  discovery::UpdateThrottle m_throttle;
  scrape::ChurnTracker m_tracker;
  std::optional<Steady::time_point> m_reload_check; // the config's directory changed; read it then
  // Per job: the generation of the config and the groups its targets were
  // last built from, to skip building them again when neither changed.
  std::unordered_map<std::string, std::pair<uint64_t, std::vector<const model::TargetGroup*>>> m_built_from;
  std::unordered_map<std::string, std::string> m_provider_errors; // events mode: what stderr said last
  std::unique_ptr<WatchScreen> m_screen;
};

void Watcher::watch_config_directory() {
  // The directory, not the file: an editor or a ConfigMap update replaces
  // the file, and a watch on the old inode would see nothing after that.
  std::filesystem::path dir = std::filesystem::path(m_settings.path).parent_path();
  int fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (fd < 0 || inotify_add_watch(fd, dir.empty() ? "." : dir.c_str(),
                                  IN_CLOSE_WRITE | IN_MOVED_TO | IN_CREATE | IN_DELETE | IN_ATTRIB) < 0) {
    std::cerr << fmt::format("sdscope: cannot watch {} for changes ({}); reload with SIGHUP\n",
                             dir.empty() ? "." : dir.string(), std::strerror(errno));
  }
  m_inotify.reset(fd);
}

bool Watcher::handle_signals() {
  signalfd_siginfo info{};
  bool keep_going = true;
  while (read(m_signals.get(), &info, sizeof info) == static_cast<ssize_t>(sizeof info)) {
    switch (info.ssi_signo) {
    case SIGHUP:
      reload(true);
      break;
    case SIGWINCH:
      if (m_screen) {
        m_screen->resize();
      }
      break;
    default: // SIGINT, SIGTERM
      keep_going = false;
    }
  }
  return keep_going;
}

void Watcher::handle_inotify(Steady::time_point now) {
  std::string name = std::filesystem::path(m_settings.path).filename().string();
  alignas(inotify_event) char buffer[4096];
  ssize_t n = 0;
  while ((n = read(m_inotify.get(), buffer, sizeof buffer)) > 0) {
    for (ssize_t at = 0; at < n;) {
      const auto* event = reinterpret_cast<const inotify_event*>(buffer + at);
      std::string_view changed = event->len > 0 ? std::string_view(event->name) : std::string_view();
      // The file itself, or a Kubernetes ConfigMap swapping its "..data"
      // symlink (the file is a link through it); other files, such as
      // file_sd files kept beside the config, are no reason to read it.
      if ((event->mask & IN_Q_OVERFLOW) != 0 || changed == name || changed.starts_with("..")) {
        m_reload_check = now + k_reload_settle;
      }
      at += static_cast<ssize_t>(sizeof(inotify_event) + event->len);
    }
  }
}

void Watcher::reload(bool forced) {
  m_reload_check.reset();
  std::string bytes;
  util::read_file(m_settings.path, bytes);
  if (!forced && bytes == m_loaded->bytes) {
    return; // touched, or rewritten with the same content
  }
  WallClock::time_point now = WallClock::now();
  auto next = std::make_shared<Loaded>();
  auto loaded = try_load_config(m_settings.path, m_settings.color && m_settings.mode != Mode::screen);
  if (!loaded) {
    std::string message = "config reload failed, the old config keeps running: " + loaded.error().summary;
    m_tracker.set_reload(message, true);
    if (m_settings.mode != Mode::screen) {
      std::cerr << "sdscope: " << message << '\n' << loaded.error().text;
    }
    if (m_settings.mode == Mode::events) {
      output::write_reload_event(std::cout, now, loaded.error().summary, true);
      std::cout.flush();
    }
    m_loaded->bytes = std::move(bytes); // not again for the same bytes: the user has been told
    return;
  }
  next->config = std::move(*loaded);
  next->jobs = watched_jobs(next->config, m_settings.jobs);
  next->bytes = std::move(bytes);
  next->generation = m_loaded->generation + 1;
  discovery::ApplyResult applied = m_manager.apply(scrape::discovery_of(next->jobs, next->statics), next);
  m_loaded = std::move(next);
  std::string message = "config reloaded: " + discovery::describe(applied);
  m_tracker.set_reload(message, false);
  if (m_settings.mode == Mode::events) {
    output::write_reload_event(std::cout, now, message, false);
    std::cout.flush();
  }
}

void Watcher::deliver() {
  m_manager.clear_change_fd(); // first, so a change while we read wakes us again
  std::map<std::string, std::vector<discovery::ProvidedGroup>> groups = m_manager.groups();
  std::vector<scrape::JobTargets> built;
  built.reserve(m_loaded->jobs.size()); // inputs point into it
  std::vector<scrape::JobInput> inputs;
  for (const config::ScrapeConfig* job : m_loaded->jobs) {
    scrape::JobInput& input = inputs.emplace_back();
    input.job = job->job_name;
    const std::vector<discovery::ProvidedGroup>& list = groups[job->job_name];
    if (list.empty()) {
      continue; // nothing sent yet: Prometheus keeps the job's targets (see scrape/churn.h)
    }
    std::pair<uint64_t, std::vector<const model::TargetGroup*>> from{m_loaded->generation, {}};
    for (const discovery::ProvidedGroup& g : list) {
      from.second.push_back(g.group.get());
    }
    auto [it, inserted] = m_built_from.try_emplace(job->job_name);
    if (!inserted && it->second == from) {
      continue;
    }
    it->second = std::move(from);
    built.push_back(scrape::build_targets(*job, list, m_settings.populate));
    input.targets = &built.back();
  }
  std::vector<scrape::TargetChange> changes = m_tracker.update(inputs, WallClock::now());
  std::vector<discovery::ProviderStatus> providers = m_manager.providers();
  if (m_settings.mode != Mode::screen) {
    report_providers(providers);
  }
  m_tracker.set_providers(std::move(providers));
  if (m_settings.mode == Mode::events) {
    for (const scrape::TargetChange& change : changes) {
      output::write_change_event(std::cout, change);
    }
    std::cout.flush();
  }
}

// In the log modes, a provider that starts failing (or fails differently)
// or recovers gets one stderr line.
void Watcher::report_providers(const std::vector<discovery::ProviderStatus>& providers) {
  for (const discovery::ProviderStatus& p : providers) {
    auto [it, inserted] = m_provider_errors.try_emplace(p.name);
    if (p.error == it->second) {
      continue;
    }
    if (!p.error.empty()) {
      std::cerr << fmt::format("sdscope: {} (job {}) failed: {}\n", p.name, job_list(p.jobs), p.error);
    } else if (!inserted) {
      std::cerr << fmt::format("sdscope: {} (job {}) works again\n", p.name, job_list(p.jobs));
    }
    it->second = p.error;
  }
}

std::optional<Steady::time_point> Watcher::next_timer() const {
  std::optional<Steady::time_point> next = m_throttle.due();
  auto consider = [&](std::optional<Steady::time_point> t) {
    if (t && (!next || *t < *next)) {
      next = t;
    }
  };
  consider(m_reload_check);
  if (m_settings.once_after) {
    consider(m_started + *m_settings.once_after);
  }
  if (m_screen) {
    WallClock::time_point wall = WallClock::now();
    consider(Steady::now() + m_screen->until_tick(wall));
    if (std::optional<WallClock::time_point> expiry = m_tracker.next_expiry()) {
      consider(Steady::now() + std::chrono::duration_cast<Steady::duration>(*expiry - wall));
    }
  }
  return next;
}

int Watcher::run() {
  watch_config_directory();
  int change_fd = m_manager.change_fd(); // before the first apply, so its change is seen
  m_manager.apply(scrape::discovery_of(m_loaded->jobs, m_loaded->statics), m_loaded);
  if (m_settings.mode == Mode::screen) {
    m_screen = std::make_unique<WatchScreen>(STDOUT_FILENO, m_settings.color);
    m_tracker.set_providers(m_manager.providers());
  }
  while (true) {
    std::vector<pollfd> fds;
    fds.push_back({m_signals.get(), POLLIN, 0});
    fds.push_back({m_inotify.get(), POLLIN, 0}); // -1 when unavailable: poll skips it
    // While an update is pending, more changes join it: no need to wake.
    fds.push_back({m_throttle.pending() ? -1 : change_fd, POLLIN, 0});
    fds.push_back({m_screen ? m_screen->input_fd() : -1, POLLIN, 0});
    int timeout = -1;
    if (std::optional<Steady::time_point> next = next_timer()) {
      // Rounded up: waking a little early would spin until the deadline.
      auto wait = std::chrono::ceil<std::chrono::milliseconds>(*next - Steady::now());
      timeout = static_cast<int>(std::clamp<int64_t>(wait.count(), 0, 24 * 3600 * 1000));
    }
    if (poll(fds.data(), fds.size(), timeout) < 0 && errno != EINTR) {
      throw std::system_error(errno, std::generic_category(), "poll");
    }
    Steady::time_point now = Steady::now();
    if ((fds[0].revents & POLLIN) != 0 && !handle_signals()) {
      return finish();
    }
    if ((fds[1].revents & POLLIN) != 0) {
      handle_inotify(now);
    }
    if ((fds[2].revents & POLLIN) != 0) {
      m_throttle.changed(now);
    }
    // (A hung-up terminal reports POLLHUP for good: handle_input sees the end.)
    if (m_screen && (fds[3].revents & (POLLIN | POLLHUP | POLLERR)) != 0 && !m_screen->handle_input()) {
      return finish();
    }
    if (m_reload_check && now >= *m_reload_check) {
      reload(false);
    }
    if (m_throttle.take(now)) {
      deliver();
    }
    if (m_settings.once_after && now >= m_started + *m_settings.once_after) {
      return finish();
    }
    if (m_screen) {
      WallClock::time_point wall = WallClock::now();
      m_tracker.expire(wall);
      m_screen->show(m_tracker.snapshot(), wall);
    }
  }
}

// Stops discovery; with --once-after prints the summary and says whether
// every provider delivered without error.
int Watcher::finish() {
  m_screen.reset(); // the terminal back first, then the rest
  m_manager.stop();
  if (!m_settings.once_after) {
    return 0;
  }
  std::vector<discovery::ProviderStatus> providers = m_manager.providers();
  bool failed = std::any_of(providers.begin(), providers.end(),
                            [](const auto& p) { return !p.synced || !p.error.empty(); });
  m_tracker.set_providers(std::move(providers));
  output::write_churn_summary(std::cout, m_tracker.snapshot(), *m_settings.once_after, m_tracker.updates(),
                              m_settings.mode == Mode::events ? output::SummaryFormat::event : m_settings.summary);
  std::cout.flush();
  return failed ? 1 : 0;
}

} // namespace

WatchCommand::WatchCommand(CLI::App& app) {
  m_command = app.add_subcommand("watch", "Run every service discovery of the config continuously and show how "
                                          "the targets churn, as Prometheus v2.45 would see them.");
  m_command->add_option("CONFIG", m_config, "Prometheus config file")->required()->check(CLI::ExistingFile);
  m_command->add_option("--job", m_jobs, "Only this job (repeatable)");
  m_command->add_option("--update-interval", m_update_interval,
                        "Deliver discovery updates at most this often, as Prometheus does (0s: at once)")
      ->capture_default_str();
  m_command->add_flag("--events", m_events,
                      "Print one JSON object per change (the default when stdout is not a terminal)");
  CLI::Option* once_after = m_command->add_option(
      "--once-after", m_once_after, "Watch for this long, then print a summary of the churn and exit");
  m_command->add_option("-o,--output", m_output, "Format of the --once-after summary: text or json")
      ->check(CLI::IsMember({"text", "json"}))
      ->needs(once_after)
      ->capture_default_str();
  m_command->add_option("--enable-feature", m_features, "Prometheus feature flags (no-default-scrape-port)")
      ->delimiter(',');
  m_command->add_option("--color", m_color, "Colour the screen")
      ->check(CLI::IsMember({"auto", "always", "never"}))
      ->capture_default_str();
}

int WatchCommand::run() {
  Settings settings;
  settings.path = m_config;
  settings.jobs = m_jobs;
  std::optional<std::chrono::milliseconds> interval = parse_duration("--update-interval", m_update_interval);
  if (!interval) {
    return 2;
  }
  settings.update_interval = *interval;
  if (!m_once_after.empty()) {
    settings.once_after = parse_duration("--once-after", m_once_after);
    if (!settings.once_after) {
      return 2;
    }
  }
  // --once-after alone prints only the summary, terminal or not: scripts
  // that want the events too say --events.
  settings.mode = m_events                   ? Mode::events
                  : settings.once_after      ? Mode::summary
                  : isatty(STDOUT_FILENO) != 0 ? Mode::screen
                                             : Mode::events;
  settings.summary = m_output == "json" ? output::SummaryFormat::json : output::SummaryFormat::text;
  settings.color = use_color(m_color, settings.mode == Mode::screen ? STDOUT_FILENO : STDERR_FILENO);
  settings.populate = scrape::PopulateOptions{no_default_scrape_port(m_features)};

  auto loaded = std::make_shared<Loaded>();
  std::optional<config::Config> config = load_config(m_config, m_color);
  if (!config) {
    return 2;
  }
  loaded->config = std::move(*config);
  std::optional<std::vector<const config::ScrapeConfig*>> jobs = select_jobs(loaded->config, m_jobs, m_config);
  if (!jobs) {
    return 2;
  }
  loaded->jobs = std::move(*jobs);
  util::read_file(m_config, loaded->bytes);

  // Blocked before any discovery thread starts (threads inherit the mask),
  // so every one of these signals is read from the signalfd and none
  // interrupts or kills a thread.
  sigset_t signals;
  sigemptyset(&signals);
  for (int s : {SIGINT, SIGTERM, SIGHUP, SIGWINCH}) {
    sigaddset(&signals, s);
  }
  if (pthread_sigmask(SIG_BLOCK, &signals, nullptr) != 0) {
    throw std::system_error(errno, std::generic_category(), "pthread_sigmask");
  }
  int signal_fd = signalfd(-1, &signals, SFD_NONBLOCK | SFD_CLOEXEC);
  if (signal_fd < 0) {
    throw std::system_error(errno, std::generic_category(), "signalfd");
  }
  Watcher watcher(std::move(settings), std::move(loaded), signal_fd);
  return watcher.run();
}

} // namespace sdscope::cli
