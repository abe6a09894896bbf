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

namespace sdscope::discovery::elasticache {

// elasticache_sd_configs (Prometheus 3.11+).
struct Config : SdConfigBase<Config> {
  static constexpr std::string_view k_mechanism = "elasticache";
  static constexpr std::string_view k_go_type = "aws.plain";
  ec2::AwsAccess access;
  std::vector<std::string> clusters; // ARNs of serverless caches and replication groups
  int port = 80;                     // not used: targets carry the endpoint port
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

using Tags = std::vector<std::pair<std::string, std::string>>;

// The target of a serverless cache (a DescribeServerlessCaches member).
model::Labels serverless_cache_target(const util::xml::Element& cache, const Tags& tags);
// The targets of a cache cluster (a DescribeCacheClusters <CacheCluster>),
// one per cache node.
std::vector<model::Labels> cache_cluster_targets(const util::xml::Element& cluster, const Tags& tags);

// `clusters` split by the ARN's resource type: serverless cache names and
// cache cluster IDs (from replicationgroup ARNs); others are ignored.
void split_clusters(const std::vector<std::string>& clusters, std::vector<std::string>& serverless,
                    std::vector<std::string>& cache_clusters);

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
  Result<util::xml::Element> call(std::string_view operation, const aws_service::Params& params, std::stop_token stop);
  Result<std::vector<util::xml::Element>> serverless_caches(std::stop_token stop);
  Result<std::vector<util::xml::Element>> cache_clusters(std::stop_token stop);

  Config m_config;
  std::vector<std::string> m_serverless_names, m_cache_cluster_ids;
  std::unique_ptr<aws_service::Client> m_client;
  bool m_checked = false; // the first refresh's credential test passed
};

} // namespace sdscope::discovery::elasticache
