// dockerswarm_sd: services, tasks or nodes of a Docker Swarm
// (discovery/moby/dockerswarm.go in Prometheus v2.45). Config block only; see
// spec/sd-platforms.md §7.
#include "discovery/dockerswarm.h"

#include "model/url.h"

namespace sdscope::discovery::dockerswarm {

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
  if (role.empty()) {
    c.error("role missing (one of: tasks, services, nodes)");
    return;
  }
  if (role != "services" && role != "nodes" && role != "tasks") {
    c.error_at("role", "invalid role " + role + ", expected tasks, services, or nodes");
    return;
  }
  if (!http_client.validate(c)) {
    return;
  }
  check_refresh_interval(c, refresh_interval.ms);
}

std::unique_ptr<SdConfig> parse_config(yaml::Decoder& d, yaml::Node n) { return parse_config_of<Config>(d, n); }

} // namespace sdscope::discovery::dockerswarm
