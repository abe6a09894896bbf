#pragma once

#include <string>

#include "discovery/sd_config.h"
#include "model/duration.h"
#include "net/http_config.h"

namespace sdscope::discovery::http {

struct Config : SdConfigBase<Config> {
  static constexpr std::string_view k_mechanism = "http";
  static constexpr std::string_view k_go_type = "http.plain";
  net::HttpClientConfig http_client;
  model::Duration refresh_interval = model::Duration::minutes(1);
  std::string url;

  template <class V> void fields(V& v) {
    v.inline_(http_client);
    v("refresh_interval", refresh_interval);
    v("url", url);
  }
  void validate(yaml::Checker& c) const;
  bool operator==(const Config&) const = default;
};

std::unique_ptr<SdConfig> parse_config(yaml::Decoder& d, yaml::Node n);

} // namespace sdscope::discovery::http
