// file_sd: target groups read from local JSON or YAML files matched by glob
// patterns (discovery/file/file.go in Prometheus v2.45; spec/core.md §6.4).
#include "discovery/file.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <map>
#include <set>

#include <fmt/format.h>

#include "discovery/target_groups.h"
#include "util/parallel.h"
#include "util/strings.h"

namespace sdscope::discovery::file {

bool valid_pattern(std::string_view pattern) {
  // ^[^*]*(\*[^/]*)?\.(json|yml|yaml|JSON|YML|YAML)$: no '/' after the first '*'.
  static constexpr std::string_view k_extensions[] = {".json", ".yml", ".yaml", ".JSON", ".YML", ".YAML"};
  bool has_extension = false;
  for (std::string_view ext : k_extensions) {
    if (pattern.size() > ext.size() && pattern.substr(pattern.size() - ext.size()) == ext) {
      std::string_view stem = pattern.substr(0, pattern.size() - ext.size());
      size_t star = stem.find('*');
      if (star == std::string_view::npos || stem.find('/', star) == std::string_view::npos) {
        has_extension = true;
      }
    }
  }
  return has_extension;
}

void Config::validate(yaml::Checker& c) const {
  if (files.empty()) {
    c.error("file service discovery config must contain at least one path name");
    return;
  }
  for (const std::string& f : files) {
    if (!valid_pattern(f)) {
      c.error_at("files", fmt::format("path name {} is not valid for file discovery", util::go_quote(f)));
      return;
    }
  }
  check_refresh_interval(c, refresh_interval.ms);
}

std::unique_ptr<SdConfig> parse_config(yaml::Decoder& d, yaml::Node n) { return parse_config_of<Config>(d, n); }

Result<std::vector<model::TargetGroup>> read_groups(const std::string& path) {
  std::string text;
  if (!util::read_file(path, text)) {
    return fail(fmt::format("{}: {}", path, std::strerror(errno)));
  }
  std::vector<model::TargetGroup> groups;
  std::string extension = util::to_lower_ascii(path.substr(path.rfind('.') + 1));
  if (extension == "json") {
    auto parsed = parse_groups_json(text);
    if (!parsed) {
      return fail(fmt::format("{}: {}", path, parsed.error()));
    }
    groups = std::move(*parsed);
  } else {
    yaml::Diagnostics problems;
    groups = parse_groups_yaml(text, path, problems);
    if (problems.error_count() != 0) {
      yaml::Diagnostic first = problems.sorted().front();
      return fail(first.mark.line == 0
                      ? fmt::format("{}: {}", path, first.message)
                      : fmt::format("{}:{}:{}: {}", path, first.mark.line, first.mark.column, first.message));
    }
  }
  for (size_t i = 0; i < groups.size(); ++i) {
    groups[i].source = fmt::format("{}:{}", path, i);
    groups[i].labels.set("__meta_filepath", path);
  }
  return groups;
}

namespace {

class FileDiscoverer : public Discoverer {
public:
  FileDiscoverer(std::vector<std::string> patterns, int64_t interval_ms)
      : m_patterns(std::move(patterns)), m_interval(std::max<int64_t>(interval_ms, 1000)) {}

  void run(std::stop_token stop, Sink& sink) override {
    int events = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    int woken = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    {
      // Scoped: its destructor waits for a wake-up running on the stopping
      // thread, which must not write to a closed (or reused) descriptor.
      std::stop_callback wake_on_stop(stop, [woken] {
        uint64_t one = 1;
        [[maybe_unused]] ssize_t n = write(woken, &one, sizeof one);
      });
      auto due = std::chrono::steady_clock::now() + m_interval;
      while (!stop.stop_requested()) {
        refresh(sink, events);
        wait_for_change(stop, events, woken, due);
      }
    }
    close(woken);
    if (events >= 0) {
      close(events);
    }
  }

private:
  // One pass over every matched file (§6.4): each file's groups as one
  // update; a file that fails keeps its last good groups; a file gone or
  // shrunk gets empty groups for the Sources it no longer has.
  void refresh(Sink& sink, int events) {
    std::map<std::string, size_t> counts;
    std::string errors;
    std::vector<std::string> paths;
    for (const std::string& pattern : m_patterns) {
      std::vector<std::string> matched = util::glob_files(pattern);
      paths.insert(paths.end(), matched.begin(), matched.end());
    }
    // Files are read and parsed on every core, then sent in order.
    std::vector<Result<std::vector<model::TargetGroup>>> read(paths.size());
    util::parallel_for(paths.size(), [&](size_t i) { read[i] = read_groups(paths[i]); });
    for (size_t i = 0; i < paths.size(); ++i) {
      const std::string& path = paths[i];
      if (!read[i]) {
        errors += fmt::format("{}{}", errors.empty() ? "" : "; ", read[i].error());
        counts[path] = m_counts.count(path) != 0 ? m_counts[path] : 0;
        continue;
      }
      counts[path] = read[i]->size();
      sink.update(std::move(*read[i]));
    }
    std::vector<model::TargetGroup> vanished;
    for (const auto& [path, before] : m_counts) {
      auto now = counts.find(path);
      for (size_t i = now == counts.end() ? 0 : now->second; i < before; ++i) {
        vanished.push_back({{}, {}, fmt::format("{}:{}", path, i)});
      }
    }
    if (!vanished.empty()) {
      sink.update(std::move(vanished));
    }
    m_counts = std::move(counts);
    watch_directories(events);
    sink.report(errors);
  }

  void watch_directories(int events) {
    if (events < 0) {
      return; // without inotify, only refresh_interval refreshes
    }
    for (const std::string& pattern : m_patterns) {
      size_t slash = pattern.rfind('/');
      std::string dir = slash == std::string::npos ? "./" : pattern.substr(0, slash + 1);
      // A missing directory is not watched (Prometheus logs it and goes on).
      inotify_add_watch(events, dir.c_str(),
                        IN_CREATE | IN_MODIFY | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO | IN_DELETE_SELF | IN_MOVE_SELF);
    }
  }

  // Returns when a watched directory changed, the refresh interval is up or
  // stop was requested.
  void wait_for_change(std::stop_token stop, int events, int woken, std::chrono::steady_clock::time_point& due) {
    while (!stop.stop_requested()) {
      auto now = std::chrono::steady_clock::now();
      if (now >= due) {
        while (due <= now) {
          due += m_interval;
        }
        return;
      }
      pollfd fds[2] = {{woken, POLLIN, 0}, {events, POLLIN, 0}};
      auto wait_ms = std::chrono::duration_cast<std::chrono::milliseconds>(due - now).count() + 1;
      if (poll(fds, events >= 0 ? 2 : 1, static_cast<int>(wait_ms)) > 0 && (fds[1].revents & POLLIN) != 0 &&
          drain_events(events)) {
        return;
      }
    }
  }

  // Reads pending inotify events; true if any names a file.
  static bool drain_events(int events) {
    alignas(inotify_event) char buffer[8192];
    bool relevant = false;
    ssize_t n;
    while ((n = read(events, buffer, sizeof buffer)) > 0) {
      for (ssize_t at = 0; at < n;) {
        const auto* event = reinterpret_cast<const inotify_event*>(buffer + at);
        relevant = relevant || event->len > 0 || (event->mask & (IN_DELETE_SELF | IN_MOVE_SELF)) != 0;
        at += static_cast<ssize_t>(sizeof(inotify_event) + event->len);
      }
    }
    return relevant;
  }

  std::vector<std::string> m_patterns;
  std::chrono::milliseconds m_interval;
  std::map<std::string, size_t> m_counts; // groups last read from each file
};

} // namespace

Result<std::unique_ptr<Discoverer>> Config::make_discoverer(const DiscovererOptions&) const {
  return std::make_unique<FileDiscoverer>(files, refresh_interval.ms);
}

} // namespace sdscope::discovery::file
