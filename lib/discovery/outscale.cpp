// outscale_sd (Prometheus 3.12+): Outscale VMs from the OUTSCALE API ReadVms
// call (SigV4, service oapi), in discovery/outscale/outscale.go. Config block
// only; see spec/sd-cloud.md §14.
#include "discovery/outscale.h"

namespace sdscope::discovery::outscale {

void Config::validate(yaml::Checker& c) {
  if (region.empty()) {
    c.error_at("region", "outscale SD configuration requires a region");
    return;
  }
  if (access_key.empty()) {
    c.error_at("access_key", "outscale SD configuration requires access_key");
    return;
  }
  if (secret_key.empty() && secret_key_file.empty()) {
    c.error("one of secret_key & secret_key_file must be configured");
    return;
  }
  if (!secret_key.empty() && !secret_key_file.empty()) {
    c.error_at("secret_key_file", "at most one of secret_key & secret_key_file must be configured");
    return;
  }
  // Upstream fills the default endpoint in while loading the config.
  if (endpoint.empty()) {
    endpoint = "https://api." + region + ".outscale.com/api/v1";
  }
  check_refresh_interval(c, refresh_interval.ms);
  http_client.validate(c);
}

std::unique_ptr<SdConfig> parse_config(yaml::Decoder& d, yaml::Node n) { return parse_config_of<Config>(d, n); }

} // namespace sdscope::discovery::outscale
