// nerve_sd: Airbnb Nerve registrations stored in ZooKeeper
// (discovery/zookeeper/zookeeper.go in Prometheus v2.45). The discovery
// itself is shared with serverset: zookeeper.cpp; spec/sd-platforms.md §11.
#include "discovery/nerve.h"

#include "discovery/serverset.h"
#include "discovery/zookeeper.h"

namespace sdscope::discovery::nerve {

void Config::validate(yaml::Checker& c) const { serverset::check_zookeeper(c, k_mechanism, servers, paths); }

Result<std::unique_ptr<Discoverer>> Config::make_discoverer(const DiscovererOptions& /*options*/) const {
  zookeeper::Settings settings;
  settings.servers = servers;
  settings.paths = paths;
  settings.session_timeout = std::chrono::milliseconds(timeout.ms);
  settings.parse = &zookeeper::parse_nerve_member;
  return zookeeper::make_discoverer(std::move(settings));
}

std::unique_ptr<SdConfig> parse_config(yaml::Decoder& d, yaml::Node n) { return parse_config_of<Config>(d, n); }

} // namespace sdscope::discovery::nerve
