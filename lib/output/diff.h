#pragma once

// Printing what a config change does to the targets: `sdscope diff -o
// table|json|markdown|github`.

#include <ostream>
#include <string>

#include "scrape/diff.h"

namespace sdscope::output {

enum class DiffFormat { table, json, markdown, github };

struct DiffStyle {
  bool color = false;     // table only
  size_t max_targets = 20; // per job and kind, in table and markdown; 0 = all
  std::string old_label;  // how to name the old config, e.g. "origin/main:prometheus.yml"
  std::string new_label;
};

// table: the summary line, then each job that changed with its targets
// (- removed, + added, ~ changed labels, ! newly dropped); json: every
// change (schema in man/sdscope.1); markdown: a summary table and one
// collapsible section per job, for a pull-request comment; github: workflow
// commands annotating the rules that now drop targets and the jobs that
// lost targets.
void write_diff(std::ostream& out, const scrape::ConfigDiff& diff, DiffFormat format, const DiffStyle& style);

// "2 jobs changed, 1 added; targets: 3 added, 2 removed, ..." or "no change".
std::string summary_text(const scrape::DiffSummary& s);

} // namespace sdscope::output
