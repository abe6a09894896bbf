#pragma once

#include <string>
#include <vector>

#include "discovery/sd_config.h"
#include "model/duration.h"

namespace sdscope::discovery::dns {

struct Config : SdConfigBase<Config> {
  static constexpr std::string_view k_mechanism = "dns";
  static constexpr std::string_view k_go_type = "dns.plain";
  std::vector<std::string> names;
  model::Duration refresh_interval = model::Duration::seconds(30);
  std::string type = "SRV"; // case-insensitive record type
  int port = 0;             // ignored for SRV

  template <class V> void fields(V& v) {
    v("names", names);
    v("refresh_interval", refresh_interval);
    v("type", type);
    v("port", port);
  }
  void validate(yaml::Checker& c) const;
  bool operator==(const Config&) const = default;
};

std::unique_ptr<SdConfig> parse_config(yaml::Decoder& d, yaml::Node n);

} // namespace sdscope::discovery::dns
