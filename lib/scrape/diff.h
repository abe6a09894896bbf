#pragma once

// What a config change does to the targets (`sdscope diff`): the targets of
// every job under the old and the new config, matched up.

#include <optional>
#include <string>
#include <vector>

#include "config/scrape_config.h"
#include "model/labels.h"
#include "scrape/targets.h"

namespace sdscope::scrape {

// One job of one side: its targets, or why they were not compared.
struct DiffJob {
  const config::ScrapeConfig* config = nullptr;
  const JobTargets* targets = nullptr; // null: not compared
  std::string not_compared;            // why, when targets is null
};

struct DiffTarget {
  std::string url;
  model::Labels labels;  // final labels: the new side's when added, the old side's when removed
  std::string moved;     // the job it moved from (added) or to (removed), "" when it did not move
  std::string identity;  // the labels discovery gave it, for matching (not printed)
};

struct LabelChange {
  std::string name;
  std::optional<std::string> old_value; // nullopt: the label is new
  std::optional<std::string> new_value; // nullopt: the label is gone
};

// Same discovered target in both, different final labels.
struct ChangedTarget {
  std::string url;      // the new scrape URL
  model::Labels labels; // the new final labels
  std::vector<LabelChange> changes;
};

// Active under the old config, dropped or failed under the new one.
struct DroppedTarget {
  std::string url;                       // the old scrape URL
  model::Labels labels;                  // the old final labels
  int rule = -1;                         // index into the new job's relabel rules; -1 when it failed
  const relabel::Rule* by = nullptr;     // that rule
  std::string error;                     // why Prometheus cannot create it, when it failed
};

enum class JobStatus { unchanged, changed, added, removed, renamed, not_compared };
std::string_view status_name(JobStatus s);

struct JobDiff {
  std::string name;     // in the new config (the old one's for a removed job)
  std::string old_name; // in the old config ("" for an added job)
  JobStatus status = JobStatus::unchanged;
  std::string not_compared; // why, for not_compared
  const config::ScrapeConfig* old_config = nullptr;
  const config::ScrapeConfig* new_config = nullptr;
  size_t old_active = 0;
  size_t new_active = 0;
  std::vector<DiffTarget> added;
  std::vector<DiffTarget> removed;
  std::vector<ChangedTarget> changed;
  std::vector<DroppedTarget> dropped;
};

struct DiffSummary {
  size_t jobs_added = 0, jobs_removed = 0, jobs_renamed = 0, jobs_changed = 0, jobs_not_compared = 0;
  size_t added = 0, removed = 0, moved = 0, changed = 0, dropped = 0; // targets; moved ones are not added/removed
  bool any() const { return jobs_added + jobs_removed + jobs_renamed + jobs_changed > 0; }
};

struct ConfigDiff {
  std::vector<JobDiff> jobs; // new config order, then the removed jobs in old config order
  DiffSummary summary() const;
};

// Matches the targets of the old and the new config. A target is the same
// in both when discovery gave it the same labels, or else the same
// __address__ (when that is unique in the job on both sides). A job only in
// one config whose active targets are exactly those of a job only in the
// other is a rename; a target removed from one job and added to another has
// moved.
ConfigDiff diff_targets(const std::vector<DiffJob>& old_jobs, const std::vector<DiffJob>& new_jobs);

} // namespace sdscope::scrape
