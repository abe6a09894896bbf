#pragma once

#include <map>
#include <memory>
#include <optional>
#include <stop_token>
#include <string>
#include <vector>

#include "discovery/aws_credentials.h"
#include "discovery/aws_request.h"
#include "discovery/sd_config.h"
#include "model/duration.h"
#include "net/http_config.h"

namespace sdscope::discovery::ec2 {

// The access fields every AWS mechanism shares (ec2, lightsail and the
// post-2.45 aws, ecs, msk, elasticache, rds), inlined into each Config.
struct AwsAccess {
  std::string endpoint; // replaces scheme, host and port of the service client
  std::string region;
  std::string access_key;
  yaml::Secret secret_key;
  std::string profile;
  std::string role_arn;
  std::string external_id; // 3.12

  template <class V> void fields(V& v) {
    v("endpoint", endpoint);
    v("region", region);
    v("access_key", access_key);
    v("secret_key", secret_key);
    v("profile", profile);
    v("role_arn", role_arn);
    v.since("3.12", "external_id", external_id);
  }
  bool operator==(const AwsAccess&) const = default;
};

// One entry of `filters` (Go: aws.EC2Filter, no hook of its own).
struct Filter {
  static constexpr std::string_view k_go_type = "aws.EC2Filter";
  std::string name;
  std::vector<std::string> values;

  template <class V> void fields(V& v) {
    v("name", name);
    v("values", values);
  }
  bool operator==(const Filter&) const = default;
};

struct Config : SdConfigBase<Config> {
  static constexpr std::string_view k_mechanism = "ec2";
  static constexpr std::string_view k_go_type = "aws.plain";
  AwsAccess access;
  model::Duration refresh_interval = model::Duration::seconds(60);
  int port = 80;
  // Go: []*EC2Filter; a null entry stays empty (nullopt) so it can be told
  // apart from an entry without values.
  std::vector<std::optional<Filter>> filters;
  net::HttpClientConfig http_client;

  template <class V> void fields(V& v) {
    v.inline_(access);
    v("refresh_interval", refresh_interval);
    v("port", port);
    v("filters", filters);
    v.inline_(http_client);
  }
  void validate(yaml::Checker& c) const;
  bool operator==(const Config&) const = default;
  // A RefreshDiscoverer calling DescribeInstances every refresh_interval.
  // options.endpoints["sts"] and ["imds"] replace the STS and instance
  // metadata base URLs (tests only: the config has no such fields).
  Result<std::unique_ptr<Discoverer>> make_discoverer(const DiscovererOptions& options) const override;
};

std::unique_ptr<SdConfig> parse_config(yaml::Decoder& d, yaml::Node n);

// The API version of EC2's Query API that SDK v1 sends.
inline constexpr std::string_view k_api_version = "2016-11-15";

// The Query parameters of DescribeInstances for these filters (Filter.N.Name,
// Filter.N.Value.M, from 1) and page token.
std::vector<std::pair<std::string, std::string>> describe_instances_params(
    const std::vector<std::optional<Filter>>& filters, const std::string& next_token);

// Zone name -> zone ID from a DescribeAvailabilityZones body (pure).
Result<std::map<std::string, std::string>> zone_ids_from_body(std::string_view body);

// One page of DescribeInstances mapped to targets (pure): every instance
// with a private IPv4 address, labelled as v2.45 does (region and port from
// the config, zone IDs from zone_ids_from_body). Sets next_token to the
// page's nextToken ("" on the last page). Fails with SDK v1's
// SerializationError text on a body it cannot read.
Result<std::vector<model::Labels>> targets_from_page(std::string_view body, const std::string& region, int port,
                                                     const std::map<std::string, std::string>& zone_ids,
                                                     std::string& next_token);

// The region of the EC2 instance this runs on, from the instance identity
// document of the metadata service (base URL imds_endpoint, else
// AWS_EC2_METADATA_SERVICE_ENDPOINT, else http://169.254.169.254; an
// IMDSv2 token when one can be had). v2.45 asks at config load when region
// is empty; sdscope asks when the discoverer is made.
Result<std::string> region_from_instance_metadata(net::HttpClient& client, std::string imds_endpoint,
                                                  std::stop_token stop);

// One ec2_sd config. refresh() returns one group (Source = region) with
// every page's targets.
class Discovery {
public:
  // Fails when the HTTP client cannot be built, or (empty region) when the
  // instance metadata service cannot tell the region: "EC2 SD configuration
  // requires a region", as v2.45 says at load time.
  static Result<std::unique_ptr<Discovery>> make(const Config& config, const DiscovererOptions& options,
                                                 aws::RetryPolicy retry = {});
  Result<std::vector<model::TargetGroup>> refresh(std::stop_token stop);

private:
  Discovery() = default;

  std::unique_ptr<aws::AwsClient> m_client;
  std::string m_region;
  int m_port = 80;
  std::vector<std::optional<Filter>> m_filters;
  std::optional<std::map<std::string, std::string>> m_zone_ids; // until DescribeAvailabilityZones worked
};

// The lint note for an empty region of ec2/lightsail: v2.45 asks the EC2
// instance metadata service at load time, which a static check must not do.
void check_region(yaml::Checker& c, const std::string& region, std::string_view mechanism_error);

} // namespace sdscope::discovery::ec2
