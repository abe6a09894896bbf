#pragma once

#include <string>

#include "discovery/sd_config.h"
#include "model/duration.h"
#include "net/http_config.h"

namespace sdscope::discovery::kuma {

struct Config : SdConfigBase<Config> {
  static constexpr std::string_view k_mechanism = "kuma";
  // KumaSDConfig decodes through a local type named plainKumaConf.
  static constexpr std::string_view k_go_type = "xds.plainKumaConf";
  net::HttpClientConfig http_client;
  model::Duration refresh_interval = model::Duration::seconds(15);
  model::Duration fetch_timeout = model::Duration::minutes(2);
  std::string server;
  std::string client_id; // 2.50

  template <class V> void fields(V& v) {
    v.inline_(http_client);
    v("refresh_interval", refresh_interval);
    v("fetch_timeout", fetch_timeout);
    v("server", server);
    v.since("2.50", "client_id", client_id);
  }
  void validate(yaml::Checker& c);
  bool operator==(const Config&) const = default;
};

std::unique_ptr<SdConfig> parse_config(yaml::Decoder& d, yaml::Node n);

} // namespace sdscope::discovery::kuma
