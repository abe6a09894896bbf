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

namespace sdscope::discovery::digitalocean {

struct Config : SdConfigBase<Config> {
  static constexpr std::string_view k_mechanism = "digitalocean";
  static constexpr std::string_view k_go_type = "digitalocean.plain";
  net::HttpClientConfig http_client; // carries the API token
  model::Duration refresh_interval = model::Duration::seconds(60);
  int port = 80;
  std::string role = "droplets"; // 3.12: droplets or databases

  template <class V> void fields(V& v) {
    v.inline_(http_client);
    v("refresh_interval", refresh_interval);
    v("port", port);
    v.since("3.12", "role", role);
  }
  void validate(yaml::Checker& c);
  bool operator==(const Config&) const = default;
  // A RefreshDiscoverer for the role; fails when the HTTP client cannot be
  // built. Tests point it at a fixture through options.endpoints
  // [k_endpoint_key] (a base URL like k_endpoint); the config has no such
  // field.
  Result<std::unique_ptr<Discoverer>> make_discoverer(const DiscovererOptions& options) const override;
};

// godo's fixed base URL, and the DiscovererOptions::endpoints key that
// replaces it (for tests only).
inline constexpr std::string_view k_endpoint = "https://api.digitalocean.com/";
inline constexpr std::string_view k_endpoint_key = "digitalocean";

// Maps the bodies of every page of GET /v2/droplets to the one group
// (pure), Source "DigitalOcean". Fails with Go's encoding/json texts where a
// body does not fit godo's structs.
Result<model::TargetGroup> droplets_group(std::span<const std::string> pages, int port);

// Maps the bodies of every page of GET /v2/databases (3.12) to the one
// group (pure), Source "DigitalOcean Databases".
Result<model::TargetGroup> databases_group(std::span<const std::string> pages, int port);

// One digitalocean_sd config: every page of droplets (or database clusters)
// per refresh.
class Discovery {
public:
  static Result<std::unique_ptr<Discovery>> make(const Config& config, std::string endpoint);
  Result<std::vector<model::TargetGroup>> refresh(std::stop_token stop);

private:
  Discovery(const Config& config, std::string endpoint, std::unique_ptr<net::HttpClient> client);
  Result<std::string> get(const std::string& path_and_query, const std::stop_token& stop);
  Result<std::vector<model::TargetGroup>> refresh_droplets(const std::stop_token& stop);
  Result<std::vector<model::TargetGroup>> refresh_databases(const std::stop_token& stop);

  std::string m_endpoint; // ends with '/'
  bool m_databases;
  int m_port;
  std::chrono::milliseconds m_timeout;
  std::unique_ptr<net::HttpClient> m_client;
};

std::unique_ptr<SdConfig> parse_config(yaml::Decoder& d, yaml::Node n);

} // namespace sdscope::discovery::digitalocean
