// vultr_sd: Vultr instances from the Vultr API v2 (bearer API key from the
// HTTP client block, cursor paging), in Prometheus v2.45
// discovery/vultr/vultr.go. Config block only; see spec/sd-cloud.md §8.
#include "discovery/vultr.h"

namespace sdscope::discovery::vultr {

void Config::validate(yaml::Checker& c) {
  check_refresh_interval(c, refresh_interval.ms);
  http_client.validate(c);
}

std::unique_ptr<SdConfig> parse_config(yaml::Decoder& d, yaml::Node n) { return parse_config_of<Config>(d, n); }

} // namespace sdscope::discovery::vultr
