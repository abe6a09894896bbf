#pragma once

#include "discovery/sd_config.h"
#include "model/duration.h"
#include "net/http_config.h"

namespace sdscope::discovery::vultr {

struct Config : SdConfigBase<Config> {
  static constexpr std::string_view k_mechanism = "vultr";
  static constexpr std::string_view k_go_type = "vultr.plain";
  net::HttpClientConfig http_client; // carries the API key
  model::Duration refresh_interval = model::Duration::seconds(60);
  int port = 80;

  template <class V> void fields(V& v) {
    v.inline_(http_client);
    v("refresh_interval", refresh_interval);
    v("port", port);
  }
  void validate(yaml::Checker& c);
  bool operator==(const Config&) const = default;
};

std::unique_ptr<SdConfig> parse_config(yaml::Decoder& d, yaml::Node n);

} // namespace sdscope::discovery::vultr
