#pragma once

// Printing discovered targets: `sdscope targets -o table|json|yaml|groups|file_sd`.

#include <map>
#include <ostream>
#include <string>
#include <vector>

#include "discovery/manager.h"
#include "scrape/targets.h"

namespace sdscope::output {

enum class TargetFormat { table, json, yaml, groups, file_sd };

struct TargetsReport {
  std::vector<scrape::JobTargets> jobs;                            // in config order
  std::map<std::string, std::vector<discovery::ProvidedGroup>> groups; // as discovered, by job
  std::vector<discovery::ProviderStatus> providers;
};

struct TableStyle {
  bool color = false;
  bool dropped = false; // also list dropped (and failed) targets
  size_t width = 0;     // terminal width; 0 = unlimited
};

// json: the data object of Prometheus's /api/v1/targets?state=any
// (activeTargets, droppedTargets) plus our keys (source, droppedBy,
// failedTargets, jobs); yaml: the same document as YAML; table: per job a
// header and one row per target; groups: the raw groups per job and
// provider; file_sd: every target as a file_sd group keeping all its
// discovered labels, to freeze a discovery into a file.
void write_targets(std::ostream& out, const TargetsReport& report, TargetFormat format, const TableStyle& style);

} // namespace sdscope::output
