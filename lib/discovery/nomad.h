#pragma once

#include <string>

#include "discovery/sd_config.h"
#include "model/duration.h"
#include "net/http_config.h"

namespace sdscope::discovery::nomad {

struct Config : SdConfigBase<Config> {
  static constexpr std::string_view k_mechanism = "nomad";
  static constexpr std::string_view k_go_type = "nomad.plain";
  bool allow_stale = true;
  net::HttpClientConfig http_client;
  std::string namespace_ = "default";
  model::Duration refresh_interval = model::Duration::seconds(60);
  std::string region = "global";
  std::string server = "http://localhost:4646";
  std::string tag_separator = ",";

  template <class V> void fields(V& v) {
    v("allow_stale", allow_stale);
    v.inline_(http_client);
    v("namespace", namespace_);
    v("refresh_interval", refresh_interval);
    v("region", region);
    v("server", server);
    v("tag_separator", tag_separator);
  }
  void validate(yaml::Checker& c);
  bool operator==(const Config&) const = default;
};

std::unique_ptr<SdConfig> parse_config(yaml::Decoder& d, yaml::Node n);

} // namespace sdscope::discovery::nomad
