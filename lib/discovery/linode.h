#pragma once

#include <string>

#include "discovery/sd_config.h"
#include "model/duration.h"
#include "net/http_config.h"

namespace sdscope::discovery::linode {

struct Config : SdConfigBase<Config> {
  static constexpr std::string_view k_mechanism = "linode";
  static constexpr std::string_view k_go_type = "linode.plain";
  net::HttpClientConfig http_client; // carries the API token
  model::Duration refresh_interval = model::Duration::seconds(60);
  int port = 80;
  std::string tag_separator = ",";
  std::string region; // 2.52

  template <class V> void fields(V& v) {
    v.inline_(http_client);
    v("refresh_interval", refresh_interval);
    v("port", port);
    v("tag_separator", tag_separator);
    v.since("2.52", "region", region);
  }
  void validate(yaml::Checker& c);
  bool operator==(const Config&) const = default;
};

std::unique_ptr<SdConfig> parse_config(yaml::Decoder& d, yaml::Node n);

} // namespace sdscope::discovery::linode
