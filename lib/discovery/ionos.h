#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <stop_token>
#include <string>
#include <string_view>
#include <vector>

#include "discovery/sd_config.h"
#include "model/duration.h"
#include "net/http_client.h"
#include "net/http_config.h"

namespace sdscope::discovery::ionos {

struct Config : SdConfigBase<Config> {
  static constexpr std::string_view k_mechanism = "ionos";
  static constexpr std::string_view k_go_type = "ionos.plain";
  net::HttpClientConfig http_client; // basic_auth or authorization
  model::Duration refresh_interval = model::Duration::seconds(60);
  int port = 80;
  std::string datacenter_id;

  template <class V> void fields(V& v) {
    v.inline_(http_client);
    v("refresh_interval", refresh_interval);
    v("port", port);
    v("datacenter_id", datacenter_id);
  }
  void validate(yaml::Checker& c);
  bool operator==(const Config&) const = default;
  // A RefreshDiscoverer listing the data center's servers every
  // refresh_interval. options.endpoints["ionos"] (tests only) replaces the
  // API base https://api.ionos.com/cloudapi/v6. Fails when the HTTP client
  // cannot be built.
  Result<std::unique_ptr<Discoverer>> make_discoverer(const DiscovererOptions& options) const override;
};

inline constexpr std::string_view k_default_base_url = "https://api.ionos.com/cloudapi/v6";

// A server of the SDK's Servers collection (the fields the mapping reads;
// values v2.45 dereferences without a nil check are "" when absent).
struct Server {
  std::string id, lifecycle, name, availability_zone, cpu_family, vm_state, type;
  std::optional<std::string> boot_cdrom_id, boot_volume_id, boot_image_id;
  struct Nic {
    std::optional<std::string> name; // "unnamed" when absent
    std::vector<std::string> ips;
  };
  std::vector<Nic> nics;
};
struct ServersPage {
  std::string id; // the collection's id, e.g. "<datacenter>/servers"
  std::vector<Server> items;
};
// Decodes GET .../servers?depth=3 with Go's encoding/json wording; fails
// without `items` (v2.45 dereferences a nil pointer there).
Result<ServersPage> parse_servers(std::string_view body);

// The one group, Source "ionos": servers with IPs, at the first IP of the
// list v2.45 builds (each NIC's IPs put before the ones collected so far).
model::TargetGroup group_from_servers(const ServersPage& page, int port);

// One ionos_sd config: refresh() is one GET per refresh, no paging.
class Discovery {
public:
  static Result<std::unique_ptr<Discovery>> make(const Config& config, std::string base_url);
  Result<std::vector<model::TargetGroup>> refresh(std::stop_token stop);

private:
  Discovery(const Config& config, std::string base_url, std::unique_ptr<net::HttpClient> client);

  std::string m_url;
  int m_port;
  std::chrono::milliseconds m_timeout;
  std::unique_ptr<net::HttpClient> m_client;
};

std::unique_ptr<SdConfig> parse_config(yaml::Decoder& d, yaml::Node n);

} // namespace sdscope::discovery::ionos
