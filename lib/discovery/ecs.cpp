// ecs_sd (Prometheus 3.8+): ECS tasks (AWS JSON 1.1 API, SigV4; host instances through EC2), in Prometheus 3.14
// discovery/aws/ecs.go. Config block only; see spec/sd-cloud.md §2.9.
#include "discovery/ecs.h"

namespace sdscope::discovery::ecs {

void Config::validate(yaml::Checker& c) {
  // The region is resolved at the first refresh (3.14), so an empty one is
  // not a load-time problem.
  check_refresh_interval(c, refresh_interval.ms);
  http_client.validate(c);
}

std::unique_ptr<SdConfig> parse_config(yaml::Decoder& d, yaml::Node n) { return parse_config_of<Config>(d, n); }

} // namespace sdscope::discovery::ecs
