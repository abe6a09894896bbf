#pragma once

#include <string>

#include "discovery/ec2.h"
#include "discovery/sd_config.h"
#include "model/duration.h"
#include "net/http_config.h"

namespace sdscope::discovery::lightsail {

struct Config : SdConfigBase<Config> {
  static constexpr std::string_view k_mechanism = "lightsail";
  static constexpr std::string_view k_go_type = "aws.plain";
  ec2::AwsAccess access;
  model::Duration refresh_interval = model::Duration::seconds(60);
  int port = 80;
  net::HttpClientConfig http_client;

  template <class V> void fields(V& v) {
    v.inline_(access);
    v("refresh_interval", refresh_interval);
    v("port", port);
    v.inline_(http_client);
  }
  void validate(yaml::Checker& c) const;
  bool operator==(const Config&) const = default;
};

std::unique_ptr<SdConfig> parse_config(yaml::Decoder& d, yaml::Node n);

} // namespace sdscope::discovery::lightsail
