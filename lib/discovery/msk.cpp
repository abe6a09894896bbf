// msk_sd (Prometheus 3.10+): MSK provisioned cluster brokers and controllers (REST-JSON kafka API, SigV4), in
// Prometheus 3.14 discovery/aws/msk.go. Config block only; see spec/sd-cloud.md §2.10.
#include "discovery/msk.h"

namespace sdscope::discovery::msk {

void Config::validate(yaml::Checker& c) {
  // The region is resolved at the first refresh (3.14), so an empty one is
  // not a load-time problem.
  check_refresh_interval(c, refresh_interval.ms);
  http_client.validate(c);
}

std::unique_ptr<SdConfig> parse_config(yaml::Decoder& d, yaml::Node n) { return parse_config_of<Config>(d, n); }

} // namespace sdscope::discovery::msk
