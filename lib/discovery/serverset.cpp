// serverset_sd: Finagle/Aurora serverset members stored in ZooKeeper
// (discovery/zookeeper/zookeeper.go in Prometheus v2.45). The discovery
// itself is shared with nerve: zookeeper.cpp; spec/sd-platforms.md §11.
#include "discovery/serverset.h"

#include "discovery/zookeeper.h"

#include <fmt/format.h>

namespace sdscope::discovery::serverset {

void check_zookeeper(yaml::Checker& c, std::string_view mechanism, const std::vector<std::string>& servers,
                     const std::vector<std::string>& paths) {
  if (servers.empty()) {
    c.error(fmt::format("{} SD config must contain at least one Zookeeper server", mechanism));
    return;
  }
  if (paths.empty()) {
    c.error(fmt::format("{} SD config must contain at least one path", mechanism));
    return;
  }
  for (const std::string& path : paths) {
    if (path.empty() || path[0] != '/') {
      c.error_at("paths", fmt::format("{} SD config paths must begin with '/': {}", mechanism, path));
      return;
    }
  }
}

void Config::validate(yaml::Checker& c) const { check_zookeeper(c, k_mechanism, servers, paths); }

Result<std::unique_ptr<Discoverer>> Config::make_discoverer(const DiscovererOptions& /*options*/) const {
  zookeeper::Settings settings;
  settings.servers = servers;
  settings.paths = paths;
  settings.session_timeout = std::chrono::milliseconds(timeout.ms);
  settings.parse = &zookeeper::parse_serverset_member;
  return zookeeper::make_discoverer(std::move(settings));
}

std::unique_ptr<SdConfig> parse_config(yaml::Decoder& d, yaml::Node n) { return parse_config_of<Config>(d, n); }

} // namespace sdscope::discovery::serverset
