#include "discovery/manager.h"

#include <algorithm>
#include <exception>
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
  std::jthread thread;

  Provider(Manager& m, std::string n, const SdConfig* c) : manager(m), name(std::move(n)), config(c) {}

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

Manager::~Manager() { stop(); }

void Manager::changed() {
  ++m_version;
  m_wake.notify_all();
}

void Manager::start(const std::vector<JobDiscovery>& jobs) {
  static const StaticConfig k_empty_job({model::TargetGroup{}});
  std::vector<Provider*> created;
  {
    std::lock_guard lock(m_mutex);
    for (const JobDiscovery& job : jobs) {
      std::vector<Provider*> providers;
      auto attach = [&](const SdConfig* config) {
        for (auto& p : m_providers) {
          if (p->config->equals(*config)) {
            if (std::find(p->jobs.begin(), p->jobs.end(), job.job) == p->jobs.end()) {
              p->jobs.push_back(job.job);
            }
            providers.push_back(p.get());
            return;
          }
        }
        std::string name = fmt::format("{}/{}", config->mechanism(), m_providers.size());
        auto p = std::make_unique<Provider>(*this, std::move(name), config);
        p->jobs.push_back(job.job);
        if (auto discoverer = config->make_discoverer(m_options)) {
          p->discoverer = std::move(*discoverer);
          created.push_back(p.get());
        } else {
          p->synced = true;
          p->error = discoverer.error();
        }
        providers.push_back(p.get());
        m_providers.push_back(std::move(p));
      };
      for (const SdConfig* config : job.configs) {
        attach(config);
      }
      if (job.configs.empty()) {
        attach(&k_empty_job);
      }
      m_jobs.emplace_back(job.job, std::move(providers));
    }
  }
  for (Provider* p : created) {
    p->start();
  }
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
