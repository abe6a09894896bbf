#pragma once

// The churn tracker of `sdscope watch`: fed every job's targets at each
// (throttled) discovery update, it works out what changed since the last
// one and keeps the WatchSnapshot the screen and the event log read.
//
// Target identity: a target is its job plus its scrape URL. The URL is
// what Prometheus scrapes (scheme, address, path and params), so a target
// whose labels change while it keeps its URL is the same endpoint seen
// differently: a "changed" event with a label diff says that better than a
// removal plus an addition (Prometheus itself, hashing labels and URL
// together, would restart its scrape loop). Two active targets of one job
// may share a URL when their labels differ; the first in discovery order
// keeps the URL as its identity, the later ones are told apart by their
// labels too.

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "scrape/targets.h"
#include "scrape/watch_state.h"

namespace sdscope::scrape {

// A job's targets for one update. targets null: none of the job's
// providers has sent anything yet, so the job keeps the targets it had
// (Prometheus leaves a job absent from its snapshots then, §7.3-7.4, and
// the scrape manager keeps its old targets); also for a job whose groups
// did not change, which saves building its targets again.
struct JobInput {
  std::string job;
  const JobTargets* targets = nullptr;
};

struct ChurnLimits {
  size_t events = 1000;                  // snapshot events kept
  size_t history = 120;                  // active counts kept per job for the sparkline
  std::chrono::seconds window{60};       // for added/removed_last_minute
  size_t forgotten = 100000;             // identities of vanished targets kept per job (for flapping)
};

class ChurnTracker {
public:
  explicit ChurnTracker(ChurnLimits limits = {});

  // Takes one update: jobs are every watched job, in config order (a job
  // the tracker knew that is missing was removed by a reload: its targets
  // are removed). Returns this update's changes, in job order, each job's
  // additions and changes in discovery order, then its removals. A job's
  // first targets (its baseline) are reported as added too, but not
  // counted in JobChurn::total_added.
  std::vector<TargetChange> update(const std::vector<JobInput>& jobs, WallClock::time_point now);

  // Ages the last-minute counts to now (they are otherwise computed at each
  // update); returns whether any changed.
  bool expire(WallClock::time_point now);
  // When the next last-minute count drops (nullopt: none pending).
  std::optional<WallClock::time_point> next_expiry() const;

  void set_providers(std::vector<discovery::ProviderStatus> providers) { m_snapshot.providers = std::move(providers); }
  void set_reload(std::string message, bool failed) {
    m_snapshot.reload_message = std::move(message);
    m_snapshot.reload_failed = failed;
  }
  const WatchSnapshot& snapshot() const { return m_snapshot; }
  size_t updates() const { return m_updates; }

private:
  struct Presence {
    unsigned transitions = 0; // comings and goings after the job's baseline
    bool present = false;
    WallClock::time_point last_change;
  };
  struct Recent {
    WallClock::time_point time;
    size_t added = 0;
    size_t removed = 0;
  };
  struct JobState {
    std::vector<std::string> keys;                      // identity of each active target, same order
    std::unordered_map<std::string_view, size_t> index; // identity (in keys) -> index in JobChurn::targets
    std::unordered_map<std::string, Presence> seen;
    std::vector<Recent> recent; // updates within the window that changed something, oldest first
  };

  void update_job(JobChurn& churn, JobState& state, const JobTargets& targets, WallClock::time_point now,
                  std::vector<TargetChange>& changes);
  void remove_all(JobChurn& churn, JobState& state, WallClock::time_point now, std::vector<TargetChange>& changes);
  void record(JobChurn& churn, JobState& state, const std::string& key, bool present, bool baseline,
              WallClock::time_point now);
  void forget(JobState& state) const;
  bool count_recent(JobChurn& churn, JobState& state, WallClock::time_point now) const;

  ChurnLimits m_limits;
  WatchSnapshot m_snapshot;
  std::unordered_map<std::string, JobState> m_states; // by job name
  size_t m_updates = 0;
};

} // namespace sdscope::scrape
