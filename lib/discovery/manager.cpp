#include "discovery/manager.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <exception>
#include <system_error>
#include <unordered_map>

#include <fmt/format.h>

#include "discovery/static.h"

namespace sdscope::discovery {

// A running discoverer and what it has sent. Everything but the thread is
// guarded by the manager's mutex.
struct Manager::Provider final : Sink {
  Manager& manager;
  std::string name;
  const SdConfig* config;
  std::vector<std::string> jobs;
  std::unique_ptr<Discoverer> discoverer;
  std::vector<std::shared_ptr<const model::TargetGroup>> groups; // in the order their Sources first appeared
  std::unordered_map<std::string, size_t> by_source;
  bool synced = false;
  std::string error;
  std::shared_ptr<const void> owner; // keeps config alive
  std::jthread thread;               // last: joined before the rest is destroyed

  Provider(Manager& m, std::string n, const SdConfig* c, std::shared_ptr<const void> o)
      : manager(m), name(std::move(n)), config(c), owner(std::move(o)) {}

  using Sink::update;
  void update(std::vector<std::shared_ptr<const model::TargetGroup>> sent) override {
    std::lock_guard lock(manager.m_mutex);
    for (auto& group : sent) {
      auto [it, inserted] = by_source.emplace(group->source, groups.size());
      if (inserted) {
        groups.push_back(std::move(group));
      } else {
        groups[it->second] = std::move(group);
      }
    }
    manager.changed();
  }

  void report(std::string e) override {
    std::lock_guard lock(manager.m_mutex);
    synced = true;
    error = std::move(e);
    manager.changed();
  }

  void start() {
    thread = std::jthread([this](std::stop_token stop) {
      try {
        discoverer->run(stop, *this);
      } catch (const std::exception& e) {
        report(fmt::format("discovery stopped: {}", e.what()));
      }
    });
  }
};

Manager::Manager(DiscovererOptions options) : m_options(std::move(options)) {}

Manager::~Manager() {
  stop();
  if (m_change_fd >= 0) {
    close(m_change_fd);
  }
}

void Manager::changed() {
  ++m_version;
  m_wake.notify_all();
  if (m_fd_armed) {
    // Once per clear: a discoverer sending thousands of updates costs one
    // write, and the reader wakes once.
    uint64_t one = 1;
    [[maybe_unused]] ssize_t n = write(m_change_fd, &one, sizeof one);
    m_fd_armed = false;
  }
}

int Manager::change_fd() {
  std::lock_guard lock(m_mutex);
  if (m_change_fd < 0) {
    m_change_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (m_change_fd < 0) {
      throw std::system_error(errno, std::generic_category(), "eventfd");
    }
    m_fd_armed = true;
  }
  return m_change_fd;
}

void Manager::clear_change_fd() {
  std::lock_guard lock(m_mutex);
  if (m_change_fd >= 0) {
    uint64_t count = 0;
    [[maybe_unused]] ssize_t n = read(m_change_fd, &count, sizeof count);
    m_fd_armed = true;
  }
}

std::string describe(const ApplyResult& result) {
  std::vector<std::string> parts;
  auto names = [](const std::vector<std::string>& list) { return fmt::format("{}", fmt::join(list, ", ")); };
  if (!result.kept.empty()) {
    parts.push_back(fmt::format("{} provider{} kept", result.kept.size(), result.kept.size() == 1 ? "" : "s"));
  }
  if (!result.started.empty()) {
    parts.push_back("started " + names(result.started));
  }
  if (!result.stopped.empty()) {
    parts.push_back("stopped " + names(result.stopped));
  }
  std::string text = parts.empty() ? "no providers" : names(parts);
  auto quoted_jobs = [](const std::vector<std::string>& jobs, std::string_view verb) {
    std::vector<std::string> quoted;
    for (const std::string& job : jobs) {
      quoted.push_back(fmt::format("\"{}\"", job));
    }
    return fmt::format("job{} {} {}", jobs.size() == 1 ? "" : "s", fmt::join(quoted, ", "), verb);
  };
  if (!result.jobs_added.empty()) {
    text += "; " + quoted_jobs(result.jobs_added, "added");
  }
  if (!result.jobs_removed.empty()) {
    text += "; " + quoted_jobs(result.jobs_removed, "removed");
  }
  return text;
}

ApplyResult Manager::apply(const std::vector<JobDiscovery>& jobs, std::shared_ptr<const void> owner) {
  static const StaticConfig k_empty_job({model::TargetGroup{}});
  ApplyResult result;
  std::vector<Provider*> created;
  std::vector<std::unique_ptr<Provider>> unused;
  {
    std::lock_guard lock(m_mutex);
    std::vector<std::unique_ptr<Provider>> old = std::move(m_providers);
    m_providers.clear();
    std::vector<std::string> old_jobs;
    for (auto& [job, providers] : m_jobs) {
      old_jobs.push_back(job);
    }
    for (auto& p : old) {
      p->jobs.clear(); // subscribers are counted again below
    }
    m_jobs.clear();
    for (const JobDiscovery& job : jobs) {
      std::vector<Provider*> providers;
      auto subscribe = [&](Provider& p) {
        if (std::find(p.jobs.begin(), p.jobs.end(), job.job) == p.jobs.end()) {
          p.jobs.push_back(job.job);
        }
        providers.push_back(&p);
      };
      auto attach = [&](const SdConfig* config) {
        for (auto& p : m_providers) {
          if (p->config->equals(*config)) {
            subscribe(*p);
            return;
          }
        }
        // A running provider with this config: kept, with its groups.
        for (auto& p : old) {
          if (p && p->discoverer && p->config->equals(*config)) {
            result.kept.push_back(p->name);
            subscribe(*p);
            m_providers.push_back(std::move(p));
            return;
          }
        }
        std::string name = fmt::format("{}/{}", config->mechanism(), m_next_id++);
        auto p = std::make_unique<Provider>(*this, std::move(name), config, owner);
        if (auto discoverer = config->make_discoverer(m_options)) {
          p->discoverer = std::move(*discoverer);
          created.push_back(p.get());
        } else {
          p->synced = true;
          p->error = discoverer.error();
        }
        result.started.push_back(p->name);
        subscribe(*p);
        m_providers.push_back(std::move(p));
      };
      for (const SdConfig* config : job.configs) {
        attach(config);
      }
      if (job.configs.empty()) {
        attach(&k_empty_job);
      }
      if (std::find(old_jobs.begin(), old_jobs.end(), job.job) == old_jobs.end()) {
        result.jobs_added.push_back(job.job);
      }
      m_jobs.emplace_back(job.job, std::move(providers));
    }
    for (const std::string& job : old_jobs) {
      if (std::none_of(jobs.begin(), jobs.end(), [&](const JobDiscovery& j) { return j.job == job; })) {
        result.jobs_removed.push_back(job);
      }
    }
    for (auto& p : old) {
      if (p) {
        result.stopped.push_back(p->name);
        unused.push_back(std::move(p));
      }
    }
    changed();
  }
  // Outside the lock: a provider's thread takes it to send its last update.
  for (auto& p : unused) {
    p->thread.request_stop();
  }
  unused.clear(); // joins
  for (Provider* p : created) {
    p->start();
  }
  return result;
}

bool Manager::wait_synced(Clock::time_point deadline) {
  std::unique_lock lock(m_mutex);
  return m_wake.wait_until(lock, deadline, [&] {
    return std::all_of(m_providers.begin(), m_providers.end(), [](const auto& p) { return p->synced; });
  });
}

uint64_t Manager::wait_change(uint64_t seen, Clock::time_point deadline) {
  std::unique_lock lock(m_mutex);
  m_wake.wait_until(lock, deadline, [&] { return m_version != seen; });
  return m_version;
}

std::map<std::string, std::vector<ProvidedGroup>> Manager::groups() const {
  std::lock_guard lock(m_mutex);
  std::map<std::string, std::vector<ProvidedGroup>> out;
  for (const auto& [job, providers] : m_jobs) {
    std::vector<ProvidedGroup>& list = out[job];
    for (const Provider* p : providers) {
      for (const auto& group : p->groups) {
        list.push_back({p->name, group});
      }
    }
  }
  return out;
}

std::vector<ProviderStatus> Manager::providers() const {
  std::lock_guard lock(m_mutex);
  std::vector<ProviderStatus> out;
  for (const auto& p : m_providers) {
    ProviderStatus status{p->name, p->jobs, p->synced, p->error, 0};
    for (const auto& group : p->groups) {
      status.targets += group->targets.size();
    }
    out.push_back(std::move(status));
  }
  return out;
}

void Manager::stop() {
  for (auto& p : m_providers) {
    p->thread.request_stop();
  }
  for (auto& p : m_providers) {
    if (p->thread.joinable()) {
      p->thread.join();
    }
  }
}

} // namespace sdscope::discovery
