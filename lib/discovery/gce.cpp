// gce_sd: Compute Engine instances of one project and zone from the
// compute/v1 instances list (Application Default Credentials), in Prometheus
// v2.45 discovery/gce/gce.go. Config block only; see spec/sd-cloud.md §4.
#include "discovery/gce.h"

namespace sdscope::discovery::gce {

void Config::validate(yaml::Checker& c) const {
  if (project.empty()) {
    c.error("GCE SD configuration requires a project");
    return;
  }
  if (zone.empty()) {
    c.error("GCE SD configuration requires a zone");
    return;
  }
  check_refresh_interval(c, refresh_interval.ms);
}

std::unique_ptr<SdConfig> parse_config(yaml::Decoder& d, yaml::Node n) { return parse_config_of<Config>(d, n); }

} // namespace sdscope::discovery::gce
