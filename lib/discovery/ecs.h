#pragma once

#include <optional>
#include <string>
#include <vector>

#include "discovery/ec2.h"
#include "discovery/sd_config.h"
#include "model/duration.h"
#include "net/http_config.h"

namespace sdscope::discovery::ecs {

// ecs_sd_configs (Prometheus 3.8+).
struct Config : SdConfigBase<Config> {
  static constexpr std::string_view k_mechanism = "ecs";
  static constexpr std::string_view k_go_type = "aws.plain";
  ec2::AwsAccess access;
  std::vector<std::string> clusters; // full cluster ARNs; empty: every cluster
  int port = 80;
  model::Duration refresh_interval = model::Duration::seconds(60);
  int request_concurrency = 20;
  net::HttpClientConfig http_client;

  template <class V> void fields(V& v) {
    v.inline_(access);
    v("clusters", clusters);
    v("port", port);
    v("refresh_interval", refresh_interval);
    v("request_concurrency", request_concurrency);
    v.inline_(http_client);
  }
  void validate(yaml::Checker& c);
  bool operator==(const Config&) const = default;
};

std::unique_ptr<SdConfig> parse_config(yaml::Decoder& d, yaml::Node n);

} // namespace sdscope::discovery::ecs
