#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <stop_token>
#include <string>
#include <string_view>
#include <vector>

#include "discovery/sd_config.h"
#include "model/duration.h"
#include "net/http_client.h"

namespace sdscope::discovery::ovhcloud {

// No HTTP client block and no port: requests are signed with the
// application secret and consumer key, targets are bare IPs.
struct Config : SdConfigBase<Config> {
  static constexpr std::string_view k_mechanism = "ovhcloud";
  static constexpr std::string_view k_go_type = "ovhcloud.plain";
  std::string endpoint = "ovh-eu"; // a known name or a URL
  std::string application_key;
  yaml::Secret application_secret;
  yaml::Secret consumer_key;
  model::Duration refresh_interval = model::Duration::seconds(60);
  std::string service; // vps or dedicated_server

  template <class V> void fields(V& v) {
    v("endpoint", endpoint);
    v("application_key", application_key);
    v("application_secret", application_secret);
    v("consumer_key", consumer_key);
    v("refresh_interval", refresh_interval);
    v("service", service);
  }
  void validate(yaml::Checker& c) const;
  bool operator==(const Config&) const = default;
  // A RefreshDiscoverer listing the service's servers every
  // refresh_interval, from the config's endpoint (tests point it at
  // loopback).
  Result<std::unique_ptr<Discoverer>> make_discoverer(const DiscovererOptions& options) const override;
};

// go-ovh v1.4's per-request timeout (its http.Client.Timeout).
inline constexpr std::chrono::milliseconds k_request_timeout = std::chrono::seconds(180);

// The API base URL of an endpoint name or URL (anything with a '/'), as
// go-ovh v1.4 resolves it when v2.45 makes its client; fails with its texts
// for a trailing slash or an unknown name.
Result<std::string> endpoint_url(std::string_view endpoint);

// OVH's request signature: "$1$" + hex SHA-1 of application secret,
// consumer key, method, full URL, body and Unix timestamp joined with '+'.
std::string request_signature(std::string_view application_secret, std::string_view consumer_key,
                              std::string_view method, std::string_view url, std::string_view body, int64_t timestamp);

// The addresses v2.45 keeps from a server's GET .../ips answer (parseIPList
// with net/netip): the last IPv4 and the last IPv6, printed as netip does.
// Fails with `could not parse IP addresses from list` on an entry that is
// neither an address nor a prefix, or when no address is left (prefixes
// other than /32 and unspecified addresses are dropped).
struct ServerIps {
  std::string ipv4, ipv6;
};
Result<ServerIps> parse_ip_list(const std::vector<std::string>& entries);

// One target from the body of GET /vps/<name> or /dedicated/server/<name>
// (pure): the service's `__meta_ovhcloud_*` labels, `instance` = the name
// and `__address__` = the IPv4, else the IPv6, without a port. Fails where
// Go's decoder fails to fill v2.45's struct (the server is then skipped).
Result<model::Labels> vps_target(std::string_view details, const ServerIps& ips);
Result<model::Labels> dedicated_server_target(std::string_view details, const ServerIps& ips);

// One ovhcloud_sd config. Every refresh builds a new go-ovh client as v2.45
// does, so the clock offset is asked anew: GET /auth/time (unsigned), then
// the signed list call and, per server, its details and IPs. A failing
// list fails the refresh; a server whose calls or bodies fail is skipped
// (v2.45 logs a warning).
class Discovery {
public:
  // request_timeout: go-ovh's, shorter only in tests.
  static Result<std::unique_ptr<Discovery>> make(const Config& config,
                                                 std::chrono::milliseconds request_timeout = k_request_timeout);
  Result<std::vector<model::TargetGroup>> refresh(std::stop_token stop);

private:
  Discovery(const Config& config, std::chrono::milliseconds request_timeout, std::unique_ptr<net::HttpClient> client);
  // One GET of base + path as go-ovh sends it (signed when time_delta_ns,
  // local minus OVH time, is given); the body of a 2xx answer.
  Result<std::string> call(const std::string& base, const std::string& path, const int64_t* time_delta_ns,
                           std::stop_token stop);

  Config m_config;
  std::chrono::milliseconds m_timeout;
  std::unique_ptr<net::HttpClient> m_client;
};

std::unique_ptr<SdConfig> parse_config(yaml::Decoder& d, yaml::Node n);

} // namespace sdscope::discovery::ovhcloud
