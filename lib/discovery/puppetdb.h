#pragma once

#include <string>

#include "discovery/sd_config.h"
#include "model/duration.h"
#include "net/http_config.h"

namespace sdscope::discovery::puppetdb {

struct Config : SdConfigBase<Config> {
  static constexpr std::string_view k_mechanism = "puppetdb";
  static constexpr std::string_view k_go_type = "puppetdb.plain";
  net::HttpClientConfig http_client;
  model::Duration refresh_interval = model::Duration::seconds(60);
  std::string url;
  std::string query; // PQL
  bool include_parameters = false;
  int port = 80;

  template <class V> void fields(V& v) {
    v.inline_(http_client);
    v("refresh_interval", refresh_interval);
    v("url", url);
    v("query", query);
    v("include_parameters", include_parameters);
    v("port", port);
  }
  void validate(yaml::Checker& c) const;
  bool operator==(const Config&) const = default;
};

std::unique_ptr<SdConfig> parse_config(yaml::Decoder& d, yaml::Node n);

} // namespace sdscope::discovery::puppetdb
