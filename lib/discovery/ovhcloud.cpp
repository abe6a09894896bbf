// ovhcloud_sd: OVHcloud VPS and dedicated servers from the OVH API 1.0
// (application signature: X-Ovh-Application/Consumer/Timestamp/Signature),
// in Prometheus v2.45 discovery/ovhcloud/ovhcloud.go. Config block only; see
// spec/sd-cloud.md §11.
#include "discovery/ovhcloud.h"

#include <fmt/format.h>

namespace sdscope::discovery::ovhcloud {

namespace {

// go-ovh's Endpoints map.
constexpr std::string_view k_endpoint_names[] = {"ovh-eu",     "ovh-ca",        "ovh-us",       "kimsufi-eu",
                                                 "kimsufi-ca", "soyoustart-eu", "soyoustart-ca"};

} // namespace

void Config::validate(yaml::Checker& c) const {
  if (endpoint.empty()) {
    c.error_at("endpoint", "endpoint can not be empty");
    return;
  }
  if (application_key.empty()) {
    c.error_at("application_key", "application key can not be empty");
    return;
  }
  if (application_secret.empty()) {
    c.error_at("application_secret", "application secret can not be empty");
    return;
  }
  if (consumer_key.empty()) {
    c.error_at("consumer_key", "consumer key can not be empty");
    return;
  }
  if (service != "vps" && service != "dedicated_server") {
    c.error_at("service", fmt::format("unknown service: {}", service));
    return;
  }
  // The OVH client is created on every refresh, so a bad endpoint passes the
  // load and then fails each refresh.
  bool is_url = endpoint.find('/') != std::string::npos;
  bool known = false;
  for (std::string_view name : k_endpoint_names) {
    known = known || endpoint == name;
  }
  if (!is_url && !known) {
    c.warning_at("endpoint", fmt::format("every refresh will fail: unknown endpoint '{}', consider checking "
                                         "'Endpoints' list of using an URL",
                                         endpoint));
  } else if (is_url && endpoint.back() == '/') {
    c.warning_at("endpoint", "every refresh will fail: endpoint name cannot have a tailing slash");
  }
  check_refresh_interval(c, refresh_interval.ms);
}

std::unique_ptr<SdConfig> parse_config(yaml::Decoder& d, yaml::Node n) { return parse_config_of<Config>(d, n); }

} // namespace sdscope::discovery::ovhcloud
