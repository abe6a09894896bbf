#pragma once

#include <memory>
#include <optional>
#include <stop_token>
#include <string>
#include <vector>

#include "discovery/aws_service.h"
#include "discovery/ec2.h"
#include "discovery/sd_config.h"
#include "model/duration.h"
#include "net/http_config.h"

namespace sdscope::discovery::msk {

// msk_sd_configs (Prometheus 3.10+).
struct Config : SdConfigBase<Config> {
  static constexpr std::string_view k_mechanism = "msk";
  static constexpr std::string_view k_go_type = "aws.plain";
  ec2::AwsAccess access;
  std::vector<std::string> clusters; // cluster ARNs; empty: every provisioned cluster
  int port = 80;
  model::Duration refresh_interval = model::Duration::seconds(60);
  int request_concurrency = 10;
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
  Result<std::unique_ptr<Discoverer>> make_discoverer(const DiscovererOptions& options) const override;
};

std::unique_ptr<SdConfig> parse_config(yaml::Decoder& d, yaml::Node n);

// The targets of one cluster (a ClusterInfo object of the MSK API) and its
// nodes (NodeInfo objects): one per endpoint of each broker or controller
// node, at <endpoint>:<port>.
Result<std::vector<model::Labels>> cluster_targets(const Json& cluster, const std::vector<Json>& nodes, int port);

// Test hooks: the retry delay of the client.
struct DiscoveryOptions {
  aws_service::ClientOptions client;
};

class Discovery {
public:
  static Result<std::unique_ptr<Discovery>> make(const Config& config, DiscoveryOptions options = {});
  Result<std::vector<model::TargetGroup>> refresh(std::stop_token stop);

private:
  Discovery(const Config& config, std::unique_ptr<aws_service::Client> client);
  Result<Json> get(std::string_view operation, const std::string& path, const aws_service::Params& query,
                   std::stop_token stop);

  Config m_config;
  std::unique_ptr<aws_service::Client> m_client;
  bool m_checked = false; // the first refresh's credential test passed
};

} // namespace sdscope::discovery::msk
