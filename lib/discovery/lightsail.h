#pragma once

#include <memory>
#include <stop_token>
#include <string>
#include <vector>

#include "discovery/aws_request.h"
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
  // A RefreshDiscoverer calling GetInstances every refresh_interval.
  // options.endpoints["sts"] and ["imds"] replace the STS and instance
  // metadata base URLs (tests only: the config has no such fields).
  Result<std::unique_ptr<Discoverer>> make_discoverer(const DiscovererOptions& options) const override;
};

std::unique_ptr<SdConfig> parse_config(yaml::Decoder& d, yaml::Node n);

// The X-Amz-Target of the one call.
inline constexpr std::string_view k_get_instances_target = "Lightsail_20161128.GetInstances";

// A GetInstances body mapped to targets (pure): every instance with a
// private IP, labelled as v2.45 does. A nextPageToken is ignored, as v2.45
// makes one call per refresh. Fails with SDK v1's SerializationError text
// on a body it cannot read.
Result<std::vector<model::Labels>> targets_from_body(std::string_view body, const std::string& region, int port);

// One lightsail_sd config. refresh() returns one group (Source = region).
class Discovery {
public:
  // Fails when the HTTP client cannot be built, or (empty region) when the
  // instance metadata service cannot tell the region: "Lightsail SD
  // configuration requires a region", as v2.45 says at load time.
  static Result<std::unique_ptr<Discovery>> make(const Config& config, const DiscovererOptions& options,
                                                 aws::RetryPolicy retry = {});
  Result<std::vector<model::TargetGroup>> refresh(std::stop_token stop);

private:
  Discovery() = default;

  std::unique_ptr<aws::AwsClient> m_client;
  std::string m_region;
  int m_port = 80;
};

} // namespace sdscope::discovery::lightsail
