#pragma once

#include <string>

#include "discovery/sd_config.h"
#include "model/duration.h"
#include "net/http_config.h"

namespace sdscope::discovery::digitalocean {

struct Config : SdConfigBase<Config> {
  static constexpr std::string_view k_mechanism = "digitalocean";
  static constexpr std::string_view k_go_type = "digitalocean.plain";
  net::HttpClientConfig http_client; // carries the API token
  model::Duration refresh_interval = model::Duration::seconds(60);
  int port = 80;
  std::string role = "droplets"; // 3.12: droplets or databases

  template <class V> void fields(V& v) {
    v.inline_(http_client);
    v("refresh_interval", refresh_interval);
    v("port", port);
    v.since("3.12", "role", role);
  }
  void validate(yaml::Checker& c);
  bool operator==(const Config&) const = default;
};

std::unique_ptr<SdConfig> parse_config(yaml::Decoder& d, yaml::Node n);

} // namespace sdscope::discovery::digitalocean
