// aws_sd (Prometheus 3.8+): the unified AWS key; each role runs the
// mechanism of the same name (EC2, ECS, Lightsail, MSK, ElastiCache, RDS;
// AWS SDK for Go v2, SigV4). Config block only; see spec/sd-cloud.md §2.8.
#include "discovery/aws.h"

#include <fmt/format.h>

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

} // namespace sdscope::discovery::aws
