#pragma once

#include <optional>
#include <string>
#include <vector>

#include "discovery/ec2.h"
#include "discovery/sd_config.h"
#include "model/duration.h"
#include "net/http_config.h"

namespace sdscope::discovery::rds {

// rds_sd_configs (Prometheus 3.11+).
struct Config : SdConfigBase<Config> {
  static constexpr std::string_view k_mechanism = "rds";
  static constexpr std::string_view k_go_type = "aws.plain";
  ec2::AwsAccess access;
  std::vector<std::string> clusters; // DB cluster identifiers or ARNs; empty: every cluster
  int port = 80;
  model::Duration refresh_interval = model::Duration::seconds(60);
  std::vector<std::optional<ec2::Filter>> filters; // added to the instance query, not validated
  int request_concurrency = 10;
  net::HttpClientConfig http_client;

  template <class V> void fields(V& v) {
    v.inline_(access);
    v("clusters", clusters);
    v("port", port);
    v("refresh_interval", refresh_interval);
    v("filters", filters);
    v("request_concurrency", request_concurrency);
    v.inline_(http_client);
  }
  void validate(yaml::Checker& c);
  bool operator==(const Config&) const = default;
};

std::unique_ptr<SdConfig> parse_config(yaml::Decoder& d, yaml::Node n);

} // namespace sdscope::discovery::rds
