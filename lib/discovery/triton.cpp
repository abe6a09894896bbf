// triton_sd: containers or compute nodes of a Joyent Triton data centre via
// its Container Monitor discovery endpoint (discovery/triton/triton.go in
// Prometheus v2.45). Config block only; see spec/sd-platforms.md §13.
#include "discovery/triton.h"

namespace sdscope::discovery::triton {

void Config::validate(yaml::Checker& c) const {
  if (role != "container" && role != "cn") {
    c.error_at("role", "triton SD configuration requires role to be 'container' or 'cn'");
    return;
  }
  if (account.empty()) {
    c.error("triton SD configuration requires an account");
    return;
  }
  if (dns_suffix.empty()) {
    c.error("triton SD configuration requires a dns_suffix");
    return;
  }
  if (endpoint.empty()) {
    c.error("triton SD configuration requires an endpoint");
    return;
  }
  if (refresh_interval.ms <= 0) {
    c.error_at("refresh_interval", "triton SD configuration requires RefreshInterval to be a positive integer");
    return;
  }
}

std::unique_ptr<SdConfig> parse_config(yaml::Decoder& d, yaml::Node n) { return parse_config_of<Config>(d, n); }

} // namespace sdscope::discovery::triton
