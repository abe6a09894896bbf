#pragma once

#include <string>

#include "discovery/sd_config.h"
#include "model/duration.h"

namespace sdscope::discovery::ovhcloud {

// No HTTP client block and no port: requests are signed with the
// application secret and consumer key, targets are bare IPs.
struct Config : SdConfigBase<Config> {
  static constexpr std::string_view k_mechanism = "ovhcloud";
  static constexpr std::string_view k_go_type = "ovhcloud.plain";
  std::string endpoint = "ovh-eu"; // a known name or a URL
  std::string application_key;
  yaml::Secret application_secret;
  yaml::Secret consumer_key;
  model::Duration refresh_interval = model::Duration::seconds(60);
  std::string service; // vps or dedicated_server

  template <class V> void fields(V& v) {
    v("endpoint", endpoint);
    v("application_key", application_key);
    v("application_secret", application_secret);
    v("consumer_key", consumer_key);
    v("refresh_interval", refresh_interval);
    v("service", service);
  }
  void validate(yaml::Checker& c) const;
  bool operator==(const Config&) const = default;
};

std::unique_ptr<SdConfig> parse_config(yaml::Decoder& d, yaml::Node n);

} // namespace sdscope::discovery::ovhcloud
