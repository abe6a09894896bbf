// kuma_sd: monitoring assignments of a Kuma control plane over the xDS MADS
// REST API (discovery/xds/kuma.go in Prometheus v2.45). Config block only;
// see spec/sd-platforms.md §15.
#include "discovery/kuma.h"

#include "model/url.h"

namespace sdscope::discovery::kuma {

void Config::validate(yaml::Checker& c) {
  if (server.empty()) {
    c.error("kuma SD server must not be empty: ");
    return;
  }
  model::Url parsed;
  if (std::string message = model::parse_url(server, parsed); !message.empty()) {
    c.error_at("server", message);
    return;
  }
  if (parsed.scheme.empty() || parsed.host.empty()) {
    c.error_at("server", "kuma SD server must not be empty and have a scheme: " + server);
    return;
  }
  if (!http_client.validate(c)) {
    return;
  }
  if (parsed.scheme != "http" && parsed.scheme != "https") {
    // Only checked when the discoverer is created: the job loads but never
    // discovers anything.
    c.warning_at("server", "Prometheus accepts this at load but cannot start the discoverer: kuma_sd: invalid xDS "
                           "server URL protocol. must be either 'http' or 'https'");
  }
  check_refresh_interval(c, refresh_interval.ms);
}

std::unique_ptr<SdConfig> parse_config(yaml::Decoder& d, yaml::Node n) { return parse_config_of<Config>(d, n); }

} // namespace sdscope::discovery::kuma
