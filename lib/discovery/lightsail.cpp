// lightsail_sd: Lightsail instances from GetInstances (AWS JSON 1.1 API,
// SigV4), in Prometheus v2.45 discovery/aws/lightsail.go. Config block only;
// see spec/sd-cloud.md §2.7.
#include "discovery/lightsail.h"

namespace sdscope::discovery::lightsail {

void Config::validate(yaml::Checker& c) const {
  ec2::check_region(c, access.region, "Lightsail SD configuration requires a region");
  // v2.45 does not validate the inline HTTP client here (it does since 2.48).
  check_refresh_interval(c, refresh_interval.ms);
}

std::unique_ptr<SdConfig> parse_config(yaml::Decoder& d, yaml::Node n) { return parse_config_of<Config>(d, n); }

} // namespace sdscope::discovery::lightsail
