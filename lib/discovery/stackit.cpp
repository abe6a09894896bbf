// stackit_sd (Prometheus 3.5+): STACKIT IaaS servers of one project
// (service-account key flow or the HTTP client block's bearer token), in
// discovery/stackit/stackit.go. Config block only; see spec/sd-cloud.md §13.
#include "discovery/stackit.h"

#include <fmt/format.h>

#include "model/url.h"
#include "util/strings.h"

namespace sdscope::discovery::stackit {

void Config::validate(yaml::Checker& c) {
  if (endpoint.empty() && region.empty()) {
    c.error("stackit_sd: endpoint and region missing");
    return;
  }
  if (!endpoint.empty()) {
    model::Url parsed;
    if (std::string message = model::parse_url(endpoint, parsed); !message.empty()) {
      c.error_at("endpoint", fmt::format("stackit_sd: invalid endpoint {}: {}", util::go_quote(endpoint), message));
      return;
    }
  }
  check_refresh_interval(c, refresh_interval.ms);
  http_client.validate(c);
}

std::unique_ptr<SdConfig> parse_config(yaml::Decoder& d, yaml::Node n) { return parse_config_of<Config>(d, n); }

} // namespace sdscope::discovery::stackit
