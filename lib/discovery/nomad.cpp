// nomad_sd: services registered in HashiCorp Nomad's service catalogue
// (discovery/nomad/nomad.go in Prometheus v2.45). Config block only; see
// spec/sd-platforms.md §10.
#include "discovery/nomad.h"

#include "discovery/consul.h"

namespace sdscope::discovery::nomad {

void Config::validate(yaml::Checker& c) {
  if (consul::is_blank(server)) {
    c.error_at("server", "nomad SD configuration requires a server address");
    return;
  }
  if (!http_client.validate(c)) {
    return;
  }
  check_refresh_interval(c, refresh_interval.ms);
}

std::unique_ptr<SdConfig> parse_config(yaml::Decoder& d, yaml::Node n) { return parse_config_of<Config>(d, n); }

} // namespace sdscope::discovery::nomad
