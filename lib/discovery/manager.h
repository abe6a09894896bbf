#pragma once

// The discovery manager (spec/core.md §7): one provider per distinct SD
// config, shared by every job that has an equal config; each provider runs
// its discoverer on its own thread; groups are stored per provider and
// replaced by Source. A new job set is applied as the new manager's
// ApplyConfig does (§7.4): providers whose config did not change keep
// running with their groups.

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
// file order; static last). The configs must live as long as the owner
// passed with them to apply() (or, with start(), as long as the Manager).
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

// What apply() did, for telling the user: provider and job names.
struct ApplyResult {
  std::vector<std::string> kept;    // providers whose config did not change
  std::vector<std::string> started; // providers of new or changed configs
  std::vector<std::string> stopped; // providers no job needs any more
  std::vector<std::string> jobs_added;
  std::vector<std::string> jobs_removed;
};

// One line saying what apply() did, e.g. "2 providers kept, started
// http/3, stopped http/1; job \"api\" added".
std::string describe(const ApplyResult& result);

class Manager {
public:
  using Clock = std::chrono::steady_clock;

  explicit Manager(DiscovererOptions options = {});
  ~Manager(); // stops every provider
  Manager(const Manager&) = delete;
  Manager& operator=(const Manager&) = delete;

  // Starts the providers of jobs. A job without any provider gets an empty
  // static group (Prometheus does the same, so the job still shows).
  void start(const std::vector<JobDiscovery>& jobs) { apply(jobs); }

  // Replaces the job set. A running provider whose config equals one of
  // the new configs keeps running, keeps its groups and now serves the new
  // jobs with that config; a provider no job needs is stopped (its thread
  // joined) and its groups dropped; the other configs get new providers,
  // numbered on from the last one (never reusing a name). A provider whose
  // discoverer could not be built is never kept, so a reload retries it.
  // owner keeps the configs of jobs alive as long as a provider uses them.
  // Called from one thread, like start() and stop().
  ApplyResult apply(const std::vector<JobDiscovery>& jobs, std::shared_ptr<const void> owner = nullptr);

  // A descriptor (eventfd) that becomes readable when something changed
  // after the last clear_change_fd(), so an event loop can poll() it instead
  // of waiting on a condition variable. It stays readable until cleared:
  // one write per clear, however many updates arrive in between.
  int change_fd();
  // Makes change_fd() unreadable until the next change. Call it before
  // reading groups() and providers(), so a change after the read is seen.
  void clear_change_fd();

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
  size_t m_next_id = 0;      // names are "<mechanism>/<n>" with n counted over the manager's life
  int m_change_fd = -1;      // eventfd, made by change_fd()
  bool m_fd_armed = false;   // the next change writes to it
  std::vector<std::unique_ptr<Provider>> m_providers;
  std::vector<std::pair<std::string, std::vector<Provider*>>> m_jobs; // job -> its providers, in order
};

} // namespace sdscope::discovery
