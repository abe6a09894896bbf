// docker_sd: containers of one Docker daemon (discovery/moby/docker.go in
// Prometheus v2.45). Config block only; see spec/sd-platforms.md §6.
#include "discovery/docker.h"

#include "model/url.h"

namespace sdscope::discovery::docker {

void Config::validate(yaml::Checker& c) {
  if (host.empty()) {
    c.error("host missing");
    return;
  }
  model::Url parsed;
  if (std::string message = model::parse_url(host, parsed); !message.empty()) {
    c.error_at("host", message);
    return;
  }
  if (!http_client.validate(c)) {
    return;
  }
  check_refresh_interval(c, refresh_interval.ms);
}

std::unique_ptr<SdConfig> parse_config(yaml::Decoder& d, yaml::Node n) { return parse_config_of<Config>(d, n); }

} // namespace sdscope::discovery::docker
