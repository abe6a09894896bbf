#pragma once

#include <string>

#include "discovery/sd_config.h"
#include "model/duration.h"
#include "net/http_config.h"

namespace sdscope::discovery::azure {

struct Config : SdConfigBase<Config> {
  static constexpr std::string_view k_mechanism = "azure";
  static constexpr std::string_view k_go_type = "azure.plain";
  std::string environment = "AzurePublicCloud";
  int port = 80;
  std::string subscription_id;
  std::string tenant_id;
  std::string client_id;
  yaml::Secret client_secret;
  model::Duration refresh_interval = model::Duration::minutes(5);
  std::string authentication_method = "OAuth";
  std::string resource_group;
  net::HttpClientConfig http_client;

  template <class V> void fields(V& v) {
    v("environment", environment);
    v("port", port);
    v("subscription_id", subscription_id);
    v("tenant_id", tenant_id);
    v("client_id", client_id);
    v("client_secret", client_secret);
    v("refresh_interval", refresh_interval);
    v("authentication_method", authentication_method);
    v("resource_group", resource_group);
    v.inline_(http_client);
  }
  void validate(yaml::Checker& c) const;
  bool operator==(const Config&) const = default;
};

std::unique_ptr<SdConfig> parse_config(yaml::Decoder& d, yaml::Node n);

} // namespace sdscope::discovery::azure
