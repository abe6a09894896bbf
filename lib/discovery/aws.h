#pragma once

#include <optional>
#include <string>
#include <vector>

#include "discovery/ec2.h"
#include "discovery/sd_config.h"
#include "model/duration.h"
#include "net/http_config.h"

namespace sdscope::discovery::aws {

// aws_sd_configs (Prometheus 3.8+): one key for every AWS mechanism, picked
// by `role`; the role's own defaults are overwritten by the non-empty values
// given here.
struct Config : SdConfigBase<Config> {
  static constexpr std::string_view k_mechanism = "aws";
  static constexpr std::string_view k_go_type = "aws.plain";
  std::string role; // ec2, ecs, lightsail (3.8), msk (3.10), elasticache, rds (3.11)
  ec2::AwsAccess access;
  model::Duration refresh_interval = model::Duration::seconds(60);
  int port = 80;
  std::vector<std::optional<ec2::Filter>> filters; // ec2 and rds
  std::vector<std::string> clusters;               // ecs, elasticache, msk, rds
  net::HttpClientConfig http_client;

  template <class V> void fields(V& v) {
    v("role", role);
    v.inline_(access);
    v("refresh_interval", refresh_interval);
    v("port", port);
    v("filters", filters);
    v("clusters", clusters);
    v.inline_(http_client);
  }
  void validate(yaml::Checker& c) const;
  bool operator==(const Config&) const = default;
  // The role's own mechanism, its defaults overwritten by this block.
  Result<std::unique_ptr<Discoverer>> make_discoverer(const DiscovererOptions& options) const override;
  // The role's config as that mechanism's (nullptr for an unknown role).
  std::unique_ptr<SdConfig> role_config() const;
};

std::unique_ptr<SdConfig> parse_config(yaml::Decoder& d, yaml::Node n);

} // namespace sdscope::discovery::aws
