#pragma once

#include <string>
#include <vector>

#include "discovery/sd_config.h"
#include "model/duration.h"

namespace sdscope::discovery::file {

struct Config : SdConfigBase<Config> {
  static constexpr std::string_view k_mechanism = "file";
  static constexpr std::string_view k_go_type = "file.plain";
  std::vector<std::string> files; // glob patterns, joined with the config's directory
  model::Duration refresh_interval = model::Duration::minutes(5);

  template <class V> void fields(V& v) {
    v.path("files", files);
    v("refresh_interval", refresh_interval);
  }
  void validate(yaml::Checker& c) const;
  bool operator==(const Config&) const = default;
  // Refreshes at once, then on every change inotify reports in the
  // patterns' directories and every refresh_interval.
  Result<std::unique_ptr<Discoverer>> make_discoverer(const DiscovererOptions& options) const override;
};

std::unique_ptr<SdConfig> parse_config(yaml::Decoder& d, yaml::Node n);

// Reads one file_sd file (JSON or YAML by its extension): its groups with
// Source "<path>:<index>" and the group label __meta_filepath, or why not
// ("<path>:<line>:<column>: <message>", or "<path>: <message>").
Result<std::vector<model::TargetGroup>> read_groups(const std::string& path);

// True when pattern is acceptable as a file_sd path (one '*', only in the
// last element, and a .json/.yml/.yaml extension).
bool valid_pattern(std::string_view pattern);

} // namespace sdscope::discovery::file
