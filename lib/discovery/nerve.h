#pragma once

#include <string>
#include <vector>

#include "discovery/sd_config.h"
#include "model/duration.h"

namespace sdscope::discovery::nerve {

struct Config : SdConfigBase<Config> {
  static constexpr std::string_view k_mechanism = "nerve";
  static constexpr std::string_view k_go_type = "zookeeper.plain";
  std::vector<std::string> servers; // ZooKeeper host[:port]
  std::vector<std::string> paths;   // znode paths, each starting with '/'
  model::Duration timeout = model::Duration::seconds(10);

  template <class V> void fields(V& v) {
    v("servers", servers);
    v("paths", paths);
    v("timeout", timeout);
  }
  void validate(yaml::Checker& c) const;
  bool operator==(const Config&) const = default;
  // Watches the paths in ZooKeeper (discovery/zookeeper.h); fails when a
  // server cannot be resolved.
  Result<std::unique_ptr<Discoverer>> make_discoverer(const DiscovererOptions& options) const override;
};

std::unique_ptr<SdConfig> parse_config(yaml::Decoder& d, yaml::Node n);

} // namespace sdscope::discovery::nerve
