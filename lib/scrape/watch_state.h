#pragma once

// What `sdscope watch` knows after each discovery update: per job the
// current targets and their churn, the providers' states and the latest
// events. The churn tracker fills it; the screen and the event log read it.

#include <chrono>
#include <cstddef>
#include <deque>
#include <optional>
#include <string>
#include <vector>

#include "discovery/manager.h"
#include "model/labels.h"

namespace sdscope::scrape {

using WallClock = std::chrono::system_clock;

enum class ChangeKind { added, removed, changed };

// One change of one job's active targets between two updates.
struct TargetChange {
  WallClock::time_point time;
  std::string job;
  ChangeKind kind = ChangeKind::added;
  model::Labels labels;     // final labels without `__` ones (removed: the last ones)
  model::Labels previous;   // changed only: the labels before
  model::Labels discovered; // discovered labels (removed: the last ones)
  std::string scrape_url;   // the target's identity in its job (see scrape/churn.h)
};

// One target of a job as the view lists it.
struct WatchedTarget {
  model::Labels labels;     // final labels without `__` ones; empty when dropped
  model::Labels discovered; // before relabeling
  std::string scrape_url;   // active only
  bool dropped = false;
  // Names of labels whose value changed (or that appeared) in the last
  // update that changed this target, for highlighting.
  std::vector<std::string> changed_labels;
};

struct JobChurn {
  std::string job;
  size_t active = 0;
  size_t dropped = 0;
  size_t failed = 0;
  size_t added = 0; // in the last update
  size_t removed = 0;
  size_t added_last_minute = 0;
  size_t removed_last_minute = 0;
  std::vector<size_t> active_history; // active count per update, oldest first (bounded)
  std::optional<WallClock::time_point> last_change;
  std::vector<WatchedTarget> targets; // active ones, then dropped ones
  // false until one of the job's providers has sent something (syncing).
  bool delivered = false;
  // Since watching began: the job's first targets (its baseline), and the
  // targets added and removed after it.
  size_t initial = 0;
  size_t total_added = 0;
  size_t total_removed = 0;
  // Targets that came and went more than once (three or more changes of
  // presence after the baseline): how many, and the first ones' scrape URLs.
  size_t flapping = 0;
  std::vector<std::string> flapping_targets; // bounded
};

struct WatchSnapshot {
  WallClock::time_point time; // of the last update
  std::vector<JobChurn> jobs; // in config order
  // synced false: syncing; error set: failing (with its last error); else ok.
  std::vector<discovery::ProviderStatus> providers;
  std::deque<TargetChange> events; // newest first, bounded
  std::string reload_message;      // what the last config reload changed, or why it failed
  bool reload_failed = false;
};

} // namespace sdscope::scrape
