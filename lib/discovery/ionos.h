#pragma once

#include <string>

#include "discovery/sd_config.h"
#include "model/duration.h"
#include "net/http_config.h"

namespace sdscope::discovery::ionos {

struct Config : SdConfigBase<Config> {
  static constexpr std::string_view k_mechanism = "ionos";
  static constexpr std::string_view k_go_type = "ionos.plain";
  net::HttpClientConfig http_client; // basic_auth or authorization
  model::Duration refresh_interval = model::Duration::seconds(60);
  int port = 80;
  std::string datacenter_id;

  template <class V> void fields(V& v) {
    v.inline_(http_client);
    v("refresh_interval", refresh_interval);
    v("port", port);
    v("datacenter_id", datacenter_id);
  }
  void validate(yaml::Checker& c);
  bool operator==(const Config&) const = default;
};

std::unique_ptr<SdConfig> parse_config(yaml::Decoder& d, yaml::Node n);

} // namespace sdscope::discovery::ionos
