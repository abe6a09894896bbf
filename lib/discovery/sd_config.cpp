#include "discovery/sd_config.h"

#include <fmt/format.h>

#include "model/url.h"

namespace sdscope::discovery {

Result<std::unique_ptr<Discoverer>> SdConfig::make_discoverer(const DiscovererOptions&) const {
  return fail(fmt::format("sdscope cannot run {} discovery yet (only check its config)", mechanism()));
}

bool check_http_url(yaml::Checker& c, const std::string& url) {
  if (url.empty()) {
    c.error("URL is missing");
    return false;
  }
  model::Url parsed;
  if (std::string message = model::parse_url(url, parsed); !message.empty()) {
    c.error_at("url", message);
    return false;
  }
  if (parsed.scheme != "http" && parsed.scheme != "https") {
    c.error_at("url", "URL scheme must be 'http' or 'https'");
    return false;
  }
  if (parsed.host.empty()) {
    c.error_at("url", "host is missing in URL");
    return false;
  }
  return true;
}

void check_refresh_interval(yaml::Checker& c, int64_t refresh_ms) {
  if (refresh_ms == 0 && c.field("refresh_interval")) {
    c.warning_at("refresh_interval", "refresh_interval 0 is accepted by Prometheus but makes its discovery "
                                     "panic at run time (non-positive interval for NewTicker)");
  }
}

} // namespace sdscope::discovery
