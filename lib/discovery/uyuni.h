#pragma once

#include <string>

#include "discovery/sd_config.h"
#include "model/duration.h"
#include "net/http_config.h"

namespace sdscope::discovery::uyuni {

struct Config : SdConfigBase<Config> {
  static constexpr std::string_view k_mechanism = "uyuni";
  static constexpr std::string_view k_go_type = "uyuni.plain";
  std::string server;
  std::string username;
  yaml::Secret password;
  net::HttpClientConfig http_client;
  std::string entitlement = "monitoring_entitled";
  std::string separator = ",";
  model::Duration refresh_interval = model::Duration::minutes(1);

  template <class V> void fields(V& v) {
    v("server", server);
    v("username", username);
    v("password", password);
    v.inline_(http_client);
    v("entitlement", entitlement);
    v("separator", separator);
    v("refresh_interval", refresh_interval);
  }
  void validate(yaml::Checker& c) const;
  bool operator==(const Config&) const = default;
};

std::unique_ptr<SdConfig> parse_config(yaml::Decoder& d, yaml::Node n);

} // namespace sdscope::discovery::uyuni
