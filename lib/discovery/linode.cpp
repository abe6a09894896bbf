// linode_sd: Linode instances from the Linode API v4 (bearer token from the
// HTTP client block, cheap refreshes through account events), in Prometheus
// v2.45 discovery/linode/linode.go. Config block only; see
// spec/sd-cloud.md §7.
#include "discovery/linode.h"

namespace sdscope::discovery::linode {

void Config::validate(yaml::Checker& c) {
  check_refresh_interval(c, refresh_interval.ms);
  http_client.validate(c);
}

std::unique_ptr<SdConfig> parse_config(yaml::Decoder& d, yaml::Node n) { return parse_config_of<Config>(d, n); }

} // namespace sdscope::discovery::linode
