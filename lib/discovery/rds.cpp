// rds_sd (Prometheus 3.11+): RDS DB clusters and their instances (AWS Query API, SigV4), in Prometheus 3.14
// discovery/aws/rds.go. Config block only; see spec/sd-cloud.md §2.12.
#include "discovery/rds.h"

namespace sdscope::discovery::rds {

void Config::validate(yaml::Checker& c) {
  // The region is resolved at the first refresh (3.14), so an empty one is
  // not a load-time problem.
  check_refresh_interval(c, refresh_interval.ms);
  http_client.validate(c);
}

std::unique_ptr<SdConfig> parse_config(yaml::Decoder& d, yaml::Node n) { return parse_config_of<Config>(d, n); }

} // namespace sdscope::discovery::rds
