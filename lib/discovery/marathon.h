#pragma once

#include <string>
#include <vector>

#include "discovery/sd_config.h"
#include "model/duration.h"
#include "net/http_config.h"

namespace sdscope::discovery::marathon {

struct Config : SdConfigBase<Config> {
  static constexpr std::string_view k_mechanism = "marathon";
  static constexpr std::string_view k_go_type = "marathon.plain";
  std::vector<std::string> servers;
  model::Duration refresh_interval = model::Duration::seconds(30);
  yaml::Secret auth_token; // sent as "Authorization: token=<token>"
  std::string auth_token_file;
  net::HttpClientConfig http_client;

  template <class V> void fields(V& v) {
    v("servers", servers);
    v("refresh_interval", refresh_interval);
    v("auth_token", auth_token);
    v.path("auth_token_file", auth_token_file);
    v.inline_(http_client);
  }
  void validate(yaml::Checker& c);
  bool operator==(const Config&) const = default;
};

std::unique_ptr<SdConfig> parse_config(yaml::Decoder& d, yaml::Node n);

} // namespace sdscope::discovery::marathon
