#pragma once

#include <optional>
#include <string>
#include <vector>

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
};

std::unique_ptr<SdConfig> parse_config(yaml::Decoder& d, yaml::Node n);

// The lint note for an empty region of ec2/lightsail: v2.45 asks the EC2
// instance metadata service at load time, which a static check must not do.
void check_region(yaml::Checker& c, const std::string& region, std::string_view mechanism_error);

} // namespace sdscope::discovery::ec2
