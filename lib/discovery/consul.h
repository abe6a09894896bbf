#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "discovery/sd_config.h"
#include "model/duration.h"
#include "net/http_config.h"

namespace sdscope::discovery::consul {

struct Config : SdConfigBase<Config> {
  static constexpr std::string_view k_mechanism = "consul";
  static constexpr std::string_view k_go_type = "consul.plain";
  std::string server = "localhost:8500";
  std::string path_prefix;
  yaml::Secret token;
  std::string datacenter;
  std::string namespace_; // Consul Enterprise namespace
  std::string partition;
  std::string tag_separator = ",";
  std::string scheme = "http";
  std::string username; // folded into http_client.basic_auth by validate()
  yaml::Secret password;
  bool allow_stale = true;
  model::Duration refresh_interval = model::Duration::seconds(30);
  std::vector<std::string> services;
  std::vector<std::string> tags;
  std::map<std::string, std::string> node_meta;
  std::string filter;        // 3.0
  std::string health_filter; // 3.11.2
  net::HttpClientConfig http_client;

  template <class V> void fields(V& v) {
    v("server", server);
    v("path_prefix", path_prefix);
    v("token", token);
    v("datacenter", datacenter);
    v("namespace", namespace_);
    v("partition", partition);
    v("tag_separator", tag_separator);
    v("scheme", scheme);
    v("username", username);
    v("password", password);
    v("allow_stale", allow_stale);
    v("refresh_interval", refresh_interval);
    v("services", services);
    v("tags", tags);
    v("node_meta", node_meta);
    v.since("3.0", "filter", filter);
    v.since("3.11.2", "health_filter", health_filter);
    v.inline_(http_client);
  }
  void validate(yaml::Checker& c);
  bool operator==(const Config&) const = default;
  Result<std::unique_ptr<Discoverer>> make_discoverer(const DiscovererOptions& options) const override;
};

std::unique_ptr<SdConfig> parse_config(yaml::Decoder& d, yaml::Node n);

// True when s is empty once Go's strings.TrimSpace has removed Unicode white
// space (the "requires a server address" checks of consul and nomad).
bool is_blank(std::string_view s);

// Pauses of the discoverer. The defaults are Prometheus's; tests shorten
// them (for tests only: nothing in the config file sets them).
struct Timing {
  std::chrono::milliseconds retry_interval{15000}; // after a failed request
  std::chrono::milliseconds request_timeout{135000}; // of one (blocking) request
};

// The discoverer of config with the given pauses; fails as Prometheus's
// NewDiscovery does (HTTP client config, server address scheme).
Result<std::unique_ptr<Discoverer>> make_discovery(const Config& config, Timing timing);

} // namespace sdscope::discovery::consul
