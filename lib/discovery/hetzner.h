#pragma once

#include <chrono>
#include <memory>
#include <span>
#include <stop_token>
#include <string>
#include <string_view>

#include "discovery/sd_config.h"
#include "model/duration.h"
#include "net/http_client.h"
#include "net/http_config.h"

namespace sdscope::discovery::hetzner {

// Go: hetzner.role, a string whose own UnmarshalYAML rejects unknown values
// while decoding (so an explicit "" is "unknown role", a null is missing).
struct Role {
  std::string value;
  bool written = false; // a non-null value went through the hook
  bool empty() const { return value.empty(); }
  bool operator==(const Role&) const = default;
};
std::string parse_text(std::string_view text, Role& out);
inline std::string format_text(const Role& r) { return r.value; }

struct Config : SdConfigBase<Config> {
  static constexpr std::string_view k_mechanism = "hetzner";
  static constexpr std::string_view k_go_type = "hetzner.plain";
  net::HttpClientConfig http_client; // hcloud: authorization; robot: basic_auth
  model::Duration refresh_interval = model::Duration::seconds(60);
  int port = 80;
  Role role;
  std::string label_selector; // 3.5, hcloud only

  template <class V> void fields(V& v) {
    v.inline_(http_client);
    v("refresh_interval", refresh_interval);
    v("port", port);
    v("role", role);
    v.since("3.5", "label_selector", label_selector);
  }
  void validate(yaml::Checker& c);
  bool operator==(const Config&) const = default;
  // A RefreshDiscoverer for the role; fails when the HTTP client cannot be
  // built. Tests point it at a fixture through options.endpoints
  // [k_hcloud_endpoint_key] / [k_robot_endpoint_key] (base URLs without a
  // trailing path, like the defaults below); the config has no such field.
  Result<std::unique_ptr<Discoverer>> make_discoverer(const DiscovererOptions& options) const override;
};

// The fixed API base URLs, and the DiscovererOptions::endpoints keys that
// replace them (for tests only).
inline constexpr std::string_view k_hcloud_endpoint = "https://api.hetzner.cloud/v1";
inline constexpr std::string_view k_robot_endpoint = "https://robot-ws.your-server.de";
inline constexpr std::string_view k_hcloud_endpoint_key = "hetzner";
inline constexpr std::string_view k_robot_endpoint_key = "hetzner_robot";

// Maps the bodies of every page of GET /servers and GET /networks to the
// one group (pure), Source "hetzner". Fails with Go's encoding/json texts
// where a body does not fit hcloud-go's schema structs.
Result<model::TargetGroup> hcloud_group(std::span<const std::string> server_pages,
                                        std::span<const std::string> network_pages, int port);

// Maps the body of Robot's GET /server to the one group (pure), Source
// "hetzner"; fails with Go's encoding/json texts.
Result<model::TargetGroup> robot_group(std::string_view body, int port);

// Role hcloud: every page of servers and networks per refresh.
class HcloudDiscovery {
public:
  static Result<std::unique_ptr<HcloudDiscovery>> make(const Config& config, std::string endpoint);
  Result<std::vector<model::TargetGroup>> refresh(std::stop_token stop);

private:
  HcloudDiscovery(const Config& config, std::string endpoint, std::unique_ptr<net::HttpClient> client);
  // The bodies of every page of endpoint/<resource>?page=N&per_page=50.
  Result<std::vector<std::string>> fetch_all(std::string_view resource, std::string_view selector,
                                             const std::stop_token& stop);
  Result<std::string> fetch_page(const std::string& url, const std::stop_token& stop, int& next_page);

  std::string m_endpoint;
  std::string m_label_selector;
  int m_port;
  std::chrono::milliseconds m_timeout;
  std::unique_ptr<net::HttpClient> m_client;
};

// Role robot: one GET /server per refresh.
class RobotDiscovery {
public:
  static Result<std::unique_ptr<RobotDiscovery>> make(const Config& config, std::string endpoint);
  Result<std::vector<model::TargetGroup>> refresh(std::stop_token stop);

private:
  RobotDiscovery(const Config& config, std::string endpoint, std::unique_ptr<net::HttpClient> client);

  std::string m_endpoint;
  int m_port;
  std::chrono::milliseconds m_timeout;
  std::unique_ptr<net::HttpClient> m_client;
};

std::unique_ptr<SdConfig> parse_config(yaml::Decoder& d, yaml::Node n);

} // namespace sdscope::discovery::hetzner
