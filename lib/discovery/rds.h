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
  Result<std::unique_ptr<Discoverer>> make_discoverer(const DiscovererOptions& options) const override;
};

std::unique_ptr<SdConfig> parse_config(yaml::Decoder& d, yaml::Node n);

// The targets of one DB cluster's instances (DescribeDBClusters'
// <DBCluster> and DescribeDBInstances' <DBInstance> elements): the cluster's
// labels and the instance's, __address__ = <Endpoint.Address>:<port> when
// the endpoint has an address and a port.
std::vector<model::Labels> cluster_targets(const util::xml::Element& cluster,
                                           const std::vector<util::xml::Element>& instances, int port);

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
  // Every <DBCluster> / <DBInstance> of a paged Describe call.
  Result<std::vector<util::xml::Element>> describe(std::string_view operation, std::string_view list,
                                                   std::string_view item, aws_service::Params params,
                                                   std::stop_token stop);

  Config m_config;
  std::unique_ptr<aws_service::Client> m_client;
  bool m_checked = false; // the first refresh's credential test passed
};

} // namespace sdscope::discovery::rds
