// ionos_sd: servers of one IONOS Cloud data center from the Cloud API v6
// (credentials only from the HTTP client block), in Prometheus v2.45
// discovery/ionos/ionos.go. Config block only; see spec/sd-cloud.md §10.
#include "discovery/ionos.h"

namespace sdscope::discovery::ionos {

void Config::validate(yaml::Checker& c) {
  if (datacenter_id.empty()) {
    c.error("datacenter id can't be empty");
    return;
  }
  check_refresh_interval(c, refresh_interval.ms);
  http_client.validate(c);
}

std::unique_ptr<SdConfig> parse_config(yaml::Decoder& d, yaml::Node n) { return parse_config_of<Config>(d, n); }

} // namespace sdscope::discovery::ionos
