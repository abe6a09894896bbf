// puppetdb_sd: resources returned by a PuppetDB PQL query
// (discovery/puppetdb/puppetdb.go in Prometheus v2.45). Config block only; see
// spec/sd-platforms.md §12.
#include "discovery/puppetdb.h"

namespace sdscope::discovery::puppetdb {

void Config::validate(yaml::Checker& c) const {
  // v2.45 does not validate the inline HTTP client here (fixed in 2.48).
  if (!check_http_url(c, url)) {
    return;
  }
  if (query.empty()) {
    c.error("query missing");
    return;
  }
  check_refresh_interval(c, refresh_interval.ms);
}

std::unique_ptr<SdConfig> parse_config(yaml::Decoder& d, yaml::Node n) { return parse_config_of<Config>(d, n); }

} // namespace sdscope::discovery::puppetdb
