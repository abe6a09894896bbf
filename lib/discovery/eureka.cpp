// eureka_sd: instances registered in a Netflix Eureka server
// (discovery/eureka/eureka.go in Prometheus v2.45). Config block only; see
// spec/sd-platforms.md §8.
#include "discovery/eureka.h"

#include "model/url.h"

namespace sdscope::discovery::eureka {

void Config::validate(yaml::Checker& c) {
  if (server.empty()) {
    c.error("eureka_sd: empty or null eureka server");
    return;
  }
  model::Url parsed;
  if (std::string message = model::parse_url(server, parsed); !message.empty()) {
    c.error_at("server", message);
    return;
  }
  if (parsed.scheme.empty() || parsed.host.empty()) {
    c.error_at("server", "eureka_sd: invalid eureka server URL");
    return;
  }
  if (!http_client.validate(c)) {
    return;
  }
  check_refresh_interval(c, refresh_interval.ms);
}

std::unique_ptr<SdConfig> parse_config(yaml::Decoder& d, yaml::Node n) { return parse_config_of<Config>(d, n); }

} // namespace sdscope::discovery::eureka
