#pragma once

#include <string>
#include <vector>

#include "discovery/docker.h"
#include "discovery/sd_config.h"
#include "model/duration.h"
#include "net/http_config.h"

namespace sdscope::discovery::dockerswarm {

struct Config : SdConfigBase<Config> {
  static constexpr std::string_view k_mechanism = "dockerswarm";
  static constexpr std::string_view k_go_type = "moby.plain";
  net::HttpClientConfig http_client;
  std::string host;
  std::string role; // services, tasks or nodes
  int port = 80;
  std::vector<docker::Filter> filters;
  model::Duration refresh_interval = model::Duration::seconds(60);

  template <class V> void fields(V& v) {
    v.inline_(http_client);
    v("host", host);
    v("role", role);
    v("port", port);
    v("filters", filters);
    v("refresh_interval", refresh_interval);
  }
  void validate(yaml::Checker& c);
  bool operator==(const Config&) const = default;
};

std::unique_ptr<SdConfig> parse_config(yaml::Decoder& d, yaml::Node n);

} // namespace sdscope::discovery::dockerswarm
