// uyuni_sd: monitoring endpoints of systems managed by Uyuni / SUSE Manager,
// read over XML-RPC (discovery/uyuni/uyuni.go in Prometheus v2.45). Config
// block only; see spec/sd-platforms.md §14.
#include "discovery/uyuni.h"

#include "model/url.h"

namespace sdscope::discovery::uyuni {

void Config::validate(yaml::Checker& c) const {
  // v2.45 does not validate the inline HTTP client here (fixed in 2.48).
  if (server.empty()) {
    c.error("Uyuni SD configuration requires server host");
    return;
  }
  model::Url parsed;
  if (std::string message = model::parse_url(server, parsed); !message.empty()) {
    c.error_at("server", "Uyuni Server URL is not valid: " + message);
    return;
  }
  if (username.empty()) {
    c.error("Uyuni SD configuration requires a username");
    return;
  }
  if (password.empty()) {
    c.error("Uyuni SD configuration requires a password");
    return;
  }
  check_refresh_interval(c, refresh_interval.ms);
}

std::unique_ptr<SdConfig> parse_config(yaml::Decoder& d, yaml::Node n) { return parse_config_of<Config>(d, n); }

} // namespace sdscope::discovery::uyuni
