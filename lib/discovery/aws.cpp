// aws_sd (Prometheus 3.8+): the unified AWS key; each role runs the
// mechanism of the same name (EC2, ECS, Lightsail, MSK, ElastiCache, RDS;
// AWS SDK for Go v2, SigV4), in Prometheus 3.14 discovery/aws/aws.go; see
// spec/sd-cloud.md §2.8. The discoverer is the role's own, built from the
// role's defaults with this block's values copied over them.
#include "discovery/aws.h"

#include <fmt/format.h>

#include "discovery/ecs.h"
#include "discovery/elasticache.h"
#include "discovery/lightsail.h"
#include "discovery/msk.h"
#include "discovery/rds.h"
#include "util/strings.h"

namespace sdscope::discovery::aws {

namespace {

struct RoleInfo {
  std::string_view name;
  std::string_view since; // first release knowing the role
};
constexpr RoleInfo k_roles[] = {{"ec2", "3.8"},  {"ecs", "3.8"},          {"lightsail", "3.8"},
                                {"msk", "3.10"}, {"elasticache", "3.11"}, {"rds", "3.11"}};

} // namespace

void Config::validate(yaml::Checker& c) const {
  const RoleInfo* info = nullptr;
  for (const RoleInfo& r : k_roles) {
    if (role == r.name) {
      info = &r;
    }
  }
  if (info == nullptr) {
    c.error_at("role", fmt::format("unknown AWS SD role {}", util::go_quote(role)));
    return;
  }
  // The key itself is 3.8's (noted where the key is read); later roles get
  // their own note.
  if (info->since != "3.8") {
    c.warning_at("role",
                 fmt::format("role {} is new in Prometheus {}; v2.45 rejects it", util::go_quote(role), info->since));
  }
  // Neither the EC2 filter check nor the HTTP client validation runs for
  // this key (3.14); the region is resolved at the first refresh.
  check_refresh_interval(c, refresh_interval.ms);
}

std::unique_ptr<SdConfig> parse_config(yaml::Decoder& d, yaml::Node n) { return parse_config_of<Config>(d, n); }

namespace {

// What 3.14's UnmarshalYAML does for every role: the HTTP block and the
// region always, every other field only when set here.
template <class RoleConfig> void merge_common(const Config& from, RoleConfig& to) {
  to.http_client = from.http_client;
  to.access.region = from.access.region;
  const ec2::AwsAccess& a = from.access;
  if (!a.endpoint.empty()) {
    to.access.endpoint = a.endpoint;
  }
  if (!a.access_key.empty()) {
    to.access.access_key = a.access_key;
  }
  if (!a.secret_key.empty()) {
    to.access.secret_key = a.secret_key;
  }
  if (!a.profile.empty()) {
    to.access.profile = a.profile;
  }
  if (!a.role_arn.empty()) {
    to.access.role_arn = a.role_arn;
  }
  if (!a.external_id.empty()) {
    to.access.external_id = a.external_id;
  }
  if (from.port != 0) {
    to.port = from.port;
  }
  if (from.refresh_interval.ms != 0) {
    to.refresh_interval = from.refresh_interval;
  }
}

template <class RoleConfig> std::unique_ptr<SdConfig> with_clusters(const Config& from) {
  auto to = std::make_unique<RoleConfig>();
  merge_common(from, *to);
  if (!from.clusters.empty()) {
    to->clusters = from.clusters;
  }
  return to;
}

} // namespace

std::unique_ptr<SdConfig> Config::role_config() const {
  if (role == "ec2") {
    auto to = std::make_unique<ec2::Config>();
    merge_common(*this, *to);
    if (!filters.empty()) {
      to->filters = filters;
    }
    return to;
  }
  if (role == "lightsail") {
    auto to = std::make_unique<lightsail::Config>();
    merge_common(*this, *to);
    return to;
  }
  if (role == "ecs") {
    return with_clusters<ecs::Config>(*this);
  }
  if (role == "msk") {
    return with_clusters<msk::Config>(*this);
  }
  if (role == "elasticache") {
    return with_clusters<elasticache::Config>(*this);
  }
  if (role == "rds") {
    auto to = std::make_unique<rds::Config>();
    merge_common(*this, *to);
    if (!clusters.empty()) {
      to->clusters = clusters;
    }
    if (!filters.empty()) {
      to->filters = filters;
    }
    return to;
  }
  return nullptr;
}

Result<std::unique_ptr<Discoverer>> Config::make_discoverer(const DiscovererOptions& options) const {
  std::unique_ptr<SdConfig> config = role_config();
  if (!config) {
    return fail(fmt::format("unknown AWS SD role {}", util::go_quote(role)));
  }
  return config->make_discoverer(options);
}

} // namespace sdscope::discovery::aws
