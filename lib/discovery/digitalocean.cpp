// digitalocean_sd: droplets from the DigitalOcean v2 API (bearer token from
// the HTTP client block), in Prometheus v2.45
// discovery/digitalocean/digitalocean.go; the `role` key (databases) is
// 3.12's. Config block only; see spec/sd-cloud.md §5.
#include "discovery/digitalocean.h"

#include <fmt/format.h>

#include "util/strings.h"

namespace sdscope::discovery::digitalocean {

void Config::validate(yaml::Checker& c) {
  // `role` only exists since 3.12 (the framework notes its use); these are
  // that release's checks, which come before the HTTP client's.
  if (role.empty()) {
    c.error_at("role", "role missing (one of: droplets, databases)");
    return;
  }
  if (role != "droplets" && role != "databases") {
    c.error_at("role", fmt::format("unknown DigitalOcean SD role {}", util::go_quote(role)));
    return;
  }
  check_refresh_interval(c, refresh_interval.ms);
  http_client.validate(c);
}

std::unique_ptr<SdConfig> parse_config(yaml::Decoder& d, yaml::Node n) { return parse_config_of<Config>(d, n); }

} // namespace sdscope::discovery::digitalocean
