#pragma once

#include <cstdint>
#include <stop_token>
#include <string>
#include <string_view>
#include <vector>

#include "discovery/sd_config.h"
#include "model/duration.h"

namespace sdscope::discovery::dns {

struct Config : SdConfigBase<Config> {
  static constexpr std::string_view k_mechanism = "dns";
  static constexpr std::string_view k_go_type = "dns.plain";
  std::vector<std::string> names;
  model::Duration refresh_interval = model::Duration::seconds(30);
  std::string type = "SRV"; // case-insensitive record type
  int port = 0;             // ignored for SRV

  template <class V> void fields(V& v) {
    v("names", names);
    v("refresh_interval", refresh_interval);
    v("type", type);
    v("port", port);
  }
  void validate(yaml::Checker& c) const;
  bool operator==(const Config&) const = default;
  // A refresh discoverer resolving every name each refresh_interval. The
  // resolver is the one /etc/resolv.conf names; options.endpoints["dns"]
  // ("127.0.0.1:PORT", several separated by commas) replaces its
  // nameservers, with no search domains (for tests only).
  Result<std::unique_ptr<Discoverer>> make_discoverer(const DiscovererOptions& options) const override;
};

std::unique_ptr<SdConfig> parse_config(yaml::Decoder& d, yaml::Node n);

// One dns_sd config at work: refresh() resolves every name concurrently.
class Discovery {
public:
  struct Refreshed {
    std::vector<model::TargetGroup> groups; // one per name that resolved, in config order
    std::vector<std::string> errors;        // one per name that did not (its group is left out)
  };
  // server_override: the endpoints["dns"] test hook, "" for /etc/resolv.conf.
  Discovery(const Config& config, std::string server_override);
  // Returns promptly, with whatever was finished, once stop is requested.
  Refreshed refresh(std::stop_token stop);

private:
  Config m_config;
  uint16_t m_qtype;
  std::string m_server_override;
};

} // namespace sdscope::discovery::dns
