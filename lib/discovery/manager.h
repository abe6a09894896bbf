#pragma once

// The discovery manager (spec/core.md §7): one provider per distinct SD
// config, shared by every job that has an equal config; each provider runs
// its discoverer on its own thread; groups are stored per provider and
// replaced by Source.

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "discovery/discoverer.h"
#include "discovery/sd_config.h"
#include "model/labels.h"

namespace sdscope::discovery {

// A job and its SD configs in provider order (§2.3: by mechanism key, then
// file order; static last). The configs must outlive the Manager.
struct JobDiscovery {
  std::string job;
  std::vector<const SdConfig*> configs;
};

struct ProviderStatus {
  std::string name;              // "<mechanism>/<n>", as Prometheus names it
  std::vector<std::string> jobs; // the jobs it serves
  bool synced = false;           // its first result (or first failure) is in
  std::string error;             // the last attempt's error, "" when fine
  size_t targets = 0;            // target entries in its current groups
};

// A group as a job sees it: with the provider it came from. Groups are
// shared, not copied, between the manager and its readers.
struct ProvidedGroup {
  std::string provider;
  std::shared_ptr<const model::TargetGroup> group;
};

class Manager {
public:
  using Clock = std::chrono::steady_clock;

  explicit Manager(DiscovererOptions options = {});
  ~Manager(); // stops every provider
  Manager(const Manager&) = delete;
  Manager& operator=(const Manager&) = delete;

  // Starts the providers of jobs. A job without any provider gets an empty
  // static group (Prometheus does the same, so the job still shows).
  void start(const std::vector<JobDiscovery>& jobs);

  // Waits until every provider has synced or the deadline passes; returns
  // whether all have.
  bool wait_synced(Clock::time_point deadline);
  // Waits until something changed after version `seen` or the deadline
  // passes; returns the current version.
  uint64_t wait_change(uint64_t seen, Clock::time_point deadline);

  // Every job's groups, in provider order, then in the order their Sources
  // first appeared.
  std::map<std::string, std::vector<ProvidedGroup>> groups() const;
  std::vector<ProviderStatus> providers() const;

  // Stops every provider and waits for their threads.
  void stop();

private:
  struct Provider;
  void changed(); // called with m_mutex held

  DiscovererOptions m_options;
  mutable std::mutex m_mutex;
  std::condition_variable m_wake;
  uint64_t m_version = 0;
  std::vector<std::unique_ptr<Provider>> m_providers;
  std::vector<std::pair<std::string, std::vector<Provider*>>> m_jobs; // job -> its providers, in order
};

} // namespace sdscope::discovery
