#pragma once

// From a loaded config to each job's targets: the SD configs each job hands
// the discovery manager, and the targets built from what it discovered
// (spec/core.md §5.4).

#include <memory>
#include <string>
#include <vector>

#include "config/config.h"
#include "discovery/manager.h"
#include "scrape/populate.h"

namespace sdscope::scrape {

// What target building needs of a job (after inheritance from global).
JobSettings settings_of(const config::ScrapeConfig& job);

// The discovery of each job: its SD configs in provider order, its
// static_configs last as one static provider (kept alive in owned).
std::vector<discovery::JobDiscovery> discovery_of(const std::vector<const config::ScrapeConfig*>& jobs,
                                                  std::vector<std::unique_ptr<discovery::SdConfig>>& owned);

// One target of a job, small: a job can have hundreds of thousands. Its
// discovered labels are computed again from its group when needed.
struct JobTarget {
  model::PackedLabels labels; // active: the final labels, `__` ones included (in JobTargets::label_storage)
  uint32_t group = 0;         // index into JobTargets::groups
  uint32_t index = 0;         // index of the target in its group
  int dropped_by = -1;        // dropped: index into the job's relabel rules
  std::shared_ptr<const std::string> error; // failed: why Prometheus cannot create it
};

struct JobTargets {
  const config::ScrapeConfig* job = nullptr;
  std::vector<discovery::ProvidedGroup> groups; // what the targets came from
  std::vector<JobTarget> active;                // one per distinct label set, in discovery order
  std::vector<JobTarget> dropped;
  std::vector<JobTarget> failed;
  size_t duplicates_merged = 0; // active targets equal to an earlier one

  // "<provider>:<group Source>" of the group t came from.
  const std::string& source(const JobTarget& t) const { return sources[t.group]; }
  model::Labels discovered(const JobTarget& t) const;
  // The scrape URL of an active target (computed: cheaper than keeping it).
  std::string url(const JobTarget& t) const;
  template <class Fn> void for_each_discovered(const JobTarget& t, Fn fn) const {
    populator->for_each_discovered(*groups[t.group].group, t.index, fn);
  }

  std::unique_ptr<JobSettings> settings;
  std::unique_ptr<Populator> populator;
  std::vector<std::unique_ptr<char[]>> label_storage; // the bytes of the active targets' labels
  std::vector<std::string> sources;                    // per group, source() (one string per group, not per target)
};

// Builds the targets of job from its discovered groups. Active targets with
// identical labels are one target: the first is kept, showing the
// discovered labels of the last (as Prometheus does).
JobTargets build_targets(const config::ScrapeConfig& job, const std::vector<discovery::ProvidedGroup>& groups,
                         PopulateOptions options = {});

} // namespace sdscope::scrape
