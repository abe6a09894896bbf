// file_sd: target groups read from local JSON or YAML files matched by glob
// patterns (discovery/file/file.go in Prometheus v2.45). Config block only;
// see spec/sd-platforms.md §4.
#include "discovery/file.h"

#include <fmt/format.h>

#include "util/strings.h"

namespace sdscope::discovery::file {

bool valid_pattern(std::string_view pattern) {
  // ^[^*]*(\*[^/]*)?\.(json|yml|yaml|JSON|YML|YAML)$: no '/' after the first '*'.
  static constexpr std::string_view k_extensions[] = {".json", ".yml", ".yaml", ".JSON", ".YML", ".YAML"};
  bool has_extension = false;
  for (std::string_view ext : k_extensions) {
    if (pattern.size() > ext.size() && pattern.substr(pattern.size() - ext.size()) == ext) {
      std::string_view stem = pattern.substr(0, pattern.size() - ext.size());
      size_t star = stem.find('*');
      if (star == std::string_view::npos || stem.find('/', star) == std::string_view::npos) {
        has_extension = true;
      }
    }
  }
  return has_extension;
}

void Config::validate(yaml::Checker& c) const {
  if (files.empty()) {
    c.error("file service discovery config must contain at least one path name");
    return;
  }
  for (const std::string& f : files) {
    if (!valid_pattern(f)) {
      c.error_at("files", fmt::format("path name {} is not valid for file discovery", util::go_quote(f)));
      return;
    }
  }
  check_refresh_interval(c, refresh_interval.ms);
}

std::unique_ptr<SdConfig> parse_config(yaml::Decoder& d, yaml::Node n) { return parse_config_of<Config>(d, n); }

} // namespace sdscope::discovery::file
