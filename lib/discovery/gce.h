#pragma once

#include <string>

#include "discovery/sd_config.h"
#include "model/duration.h"

namespace sdscope::discovery::gce {

// No HTTP client block: GCE uses Application Default Credentials.
struct Config : SdConfigBase<Config> {
  static constexpr std::string_view k_mechanism = "gce";
  static constexpr std::string_view k_go_type = "gce.plain";
  std::string project;
  std::string zone;
  std::string filter;
  model::Duration refresh_interval = model::Duration::seconds(60);
  int port = 80;
  std::string tag_separator = ",";

  template <class V> void fields(V& v) {
    v("project", project);
    v("zone", zone);
    v("filter", filter);
    v("refresh_interval", refresh_interval);
    v("port", port);
    v("tag_separator", tag_separator);
  }
  void validate(yaml::Checker& c) const;
  bool operator==(const Config&) const = default;
};

std::unique_ptr<SdConfig> parse_config(yaml::Decoder& d, yaml::Node n);

} // namespace sdscope::discovery::gce
