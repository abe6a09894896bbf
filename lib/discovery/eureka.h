#pragma once

#include <string>

#include "discovery/sd_config.h"
#include "model/duration.h"
#include "net/http_config.h"

namespace sdscope::discovery::eureka {

struct Config : SdConfigBase<Config> {
  static constexpr std::string_view k_mechanism = "eureka";
  static constexpr std::string_view k_go_type = "eureka.plain";
  std::string server; // base URL; /apps is appended as text
  net::HttpClientConfig http_client;
  model::Duration refresh_interval = model::Duration::seconds(30);

  template <class V> void fields(V& v) {
    v("server", server);
    v.inline_(http_client);
    v("refresh_interval", refresh_interval);
  }
  void validate(yaml::Checker& c);
  bool operator==(const Config&) const = default;
};

std::unique_ptr<SdConfig> parse_config(yaml::Decoder& d, yaml::Node n);

} // namespace sdscope::discovery::eureka
