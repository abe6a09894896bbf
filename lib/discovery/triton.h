#pragma once

#include <chrono>
#include <memory>
#include <stop_token>
#include <string>
#include <string_view>
#include <vector>

#include "discovery/sd_config.h"
#include "model/duration.h"
#include "net/http_client.h"
#include "net/http_config.h"

namespace sdscope::discovery::triton {

struct Config : SdConfigBase<Config> {
  static constexpr std::string_view k_mechanism = "triton";
  static constexpr std::string_view k_go_type = "triton.plain";
  std::string account;
  std::string role = "container"; // or "cn"
  std::string dns_suffix;
  std::string endpoint;
  std::vector<std::string> groups;
  int port = 9163; // of the discovery endpoint and of the targets
  model::Duration refresh_interval = model::Duration::seconds(60);
  net::TlsConfig tls_config;
  int version = 1;

  template <class V> void fields(V& v) {
    v("account", account);
    v("role", role);
    v("dns_suffix", dns_suffix);
    v("endpoint", endpoint);
    v("groups", groups);
    v("port", port);
    v("refresh_interval", refresh_interval);
    v("tls_config", tls_config);
    v("version", version);
  }
  void validate(yaml::Checker& c) const;
  bool operator==(const Config&) const = default;
  // A RefreshDiscoverer asking the discovery endpoint every
  // refresh_interval; fails when the TLS settings cannot be used (e.g. an
  // unreadable CA file).
  Result<std::unique_ptr<Discoverer>> make_discoverer(const DiscovererOptions& options) const override;
};

// The discovery URL: https://<endpoint>:<port>/v<version>/discover (role cn:
// .../gz/discover), plus ?groups=<query-escaped comma-joined groups>.
std::string discovery_url(const Config& config);

// Maps the body of the discovery endpoint's answer to the one group v2.45
// makes (pure): Source = url, one target per container (role container) or
// compute node (role cn) at <uuid>.<dns_suffix>:<port>. Fails with v2.45's
// texts, Go's encoding/json error included, where the body does not fit.
Result<model::TargetGroup> group_from_response(std::string_view body, const Config& config, const std::string& url);

// One triton_sd config: refresh() asks the discovery endpoint once.
class Discovery {
public:
  static Result<std::unique_ptr<Discovery>> make(const Config& config);
  Result<std::vector<model::TargetGroup>> refresh(std::stop_token stop);

private:
  Discovery(const Config& config, std::unique_ptr<net::HttpClient> client);

  Config m_config;
  std::string m_url;
  std::chrono::milliseconds m_timeout;
  std::unique_ptr<net::HttpClient> m_client;
};

std::unique_ptr<SdConfig> parse_config(yaml::Decoder& d, yaml::Node n);

} // namespace sdscope::discovery::triton
