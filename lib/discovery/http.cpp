// http_sd: target groups fetched as JSON from a URL (discovery/http/http.go
// in Prometheus v2.45). Config block only; see spec/sd-platforms.md §5.
#include "discovery/http.h"

namespace sdscope::discovery::http {

void Config::validate(yaml::Checker& c) const {
  // v2.45 does not validate the inline HTTP client here (fixed in 2.48).
  if (!check_http_url(c, url)) {
    return;
  }
  check_refresh_interval(c, refresh_interval.ms);
}

std::unique_ptr<SdConfig> parse_config(yaml::Decoder& d, yaml::Node n) { return parse_config_of<Config>(d, n); }

} // namespace sdscope::discovery::http
