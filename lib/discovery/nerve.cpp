// nerve_sd: Airbnb Nerve registrations stored in ZooKeeper
// (discovery/zookeeper/zookeeper.go in Prometheus v2.45). Config block only;
// see spec/sd-platforms.md §11.
#include "discovery/nerve.h"

#include "discovery/serverset.h"

namespace sdscope::discovery::nerve {

void Config::validate(yaml::Checker& c) const { serverset::check_zookeeper(c, k_mechanism, servers, paths); }

std::unique_ptr<SdConfig> parse_config(yaml::Decoder& d, yaml::Node n) { return parse_config_of<Config>(d, n); }

} // namespace sdscope::discovery::nerve
