#pragma once

#include <optional>
#include <string>

#include "config/config.h"
#include "yaml/diagnostics.h"

namespace sdscope::scrape {

struct CheckOptions {
  bool syntax_only = false;          // only the file and its scrape_config_files
  bool no_default_scrape_port = false; // --enable-feature=no-default-scrape-port
  // Keep every job whole in the result (for --print); otherwise jobs are
  // checked as they are parsed and only their names are kept.
  bool keep_jobs = false;
};

struct CheckResult {
  std::optional<config::Config> config; // nullopt when the file could not be read (see keep_jobs)
  std::string io_error;                  // why it could not be read
  yaml::Diagnostics diagnostics;
};

// Everything `sdscope check` verifies for one config file: what Prometheus
// v2.45 checks when loading it, and unless syntax_only, what a scrape needs
// (named files exist, file_sd files parse, static and file_sd targets survive
// relabeling and target label population), plus lint notes.
CheckResult check_config(const std::string& path, const CheckOptions& options);

} // namespace sdscope::scrape
