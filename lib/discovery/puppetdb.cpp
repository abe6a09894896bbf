// puppetdb_sd: resources returned by a PuppetDB PQL query
// (discovery/puppetdb/puppetdb.go in Prometheus v2.45). Config block only; see
// spec/sd-platforms.md §12.
#include "discovery/puppetdb.h"

#include "model/url.h"

namespace sdscope::discovery::puppetdb {

void Config::validate(yaml::Checker& c) const {
  // v2.45 does not validate the inline HTTP client here (fixed in 2.48).
  if (url.empty()) {
    c.error("URL is missing");
    return;
  }
  model::Url parsed;
  if (std::string message = model::parse_url(url, parsed); !message.empty()) {
    c.error_at("url", message);
    return;
  }
  if (parsed.scheme != "http" && parsed.scheme != "https") {
    c.error_at("url", "URL scheme must be 'http' or 'https'");
    return;
  }
  if (parsed.host.empty()) {
    c.error_at("url", "host is missing in URL");
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
