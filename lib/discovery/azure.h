#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <stop_token>
#include <string>
#include <string_view>
#include <vector>

#include "discovery/azure_arm.h"
#include "discovery/azure_auth.h"
#include "discovery/sd_config.h"
#include "model/duration.h"
#include "net/http_client.h"
#include "net/http_config.h"

namespace sdscope::discovery::azure {

struct Config : SdConfigBase<Config> {
  static constexpr std::string_view k_mechanism = "azure";
  static constexpr std::string_view k_go_type = "azure.plain";
  std::string environment = "AzurePublicCloud";
  int port = 80;
  std::string subscription_id;
  std::string tenant_id;
  std::string client_id;
  yaml::Secret client_secret;
  model::Duration refresh_interval = model::Duration::minutes(5);
  std::string authentication_method = "OAuth";
  std::string resource_group;
  net::HttpClientConfig http_client;

  template <class V> void fields(V& v) {
    v("environment", environment);
    v("port", port);
    v("subscription_id", subscription_id);
    v("tenant_id", tenant_id);
    v("client_id", client_id);
    v("client_secret", client_secret);
    v("refresh_interval", refresh_interval);
    v("authentication_method", authentication_method);
    v("resource_group", resource_group);
    v.inline_(http_client);
  }
  void validate(yaml::Checker& c) const;
  bool operator==(const Config&) const = default;
  // A RefreshDiscoverer listing the subscription's (or resource group's)
  // VMs and scale-set VMs every refresh_interval; fails when the HTTP
  // client cannot be built. Test-only base URLs come from
  // options.endpoints (see the keys below).
  Result<std::unique_ptr<Discoverer>> make_discoverer(const DiscovererOptions& options) const override;
};

// DiscovererOptions::endpoints keys (tests only; the config has no such
// fields): the ARM base URL replacing the cloud's resource manager (the
// token's resource stays the cloud's), the Azure AD authority host the
// OAuth token URL is resolved against, and the instance metadata service
// base (scheme://host:port) for ManagedIdentity.
inline constexpr std::string_view k_arm_endpoint_key = "azure";
inline constexpr std::string_view k_ad_endpoint_key = "azure_ad";
inline constexpr std::string_view k_imds_endpoint_key = "azure_imds";

// One azure_sd config. refresh() resolves the cloud, lists the VMs, the
// scale sets and their VMs (following nextLink), fetches each VM's NICs up
// to the primary one and returns one group with Source "".
class Discovery {
public:
  static Result<std::unique_ptr<Discovery>> make(const Config& config, const DiscovererOptions& options = {});
  Result<std::vector<model::TargetGroup>> refresh(std::stop_token stop);
  // Replaces the clock tokens expire by (Unix seconds), for tests.
  void set_clock(std::function<int64_t()> now);

private:
  Discovery(const Config& config, const DiscovererOptions& options, std::unique_ptr<net::HttpClient> client,
            std::unique_ptr<net::HttpClient> token_client);
  struct ArmResponse {
    bool not_found = false;
    std::string body;
  };
  // One ARM GET with the bearer token; errors in autorest's words for the
  // SDK client and method named.
  Result<ArmResponse> arm_get(const std::string& url, bool next_page, std::string_view client,
                              std::string_view method, bool allow_not_found, std::stop_token stop);
  template <class T, class Parse>
  Result<std::vector<T>> list_all(const std::string& url, std::string_view client, std::string_view method,
                                  std::string_view next_method, Parse parse, std::stop_token stop);
  Result<std::vector<VirtualMachine>> list_vms(std::stop_token stop);
  Result<std::vector<ScaleSet>> list_scale_sets(std::stop_token stop);
  Result<std::vector<VirtualMachine>> list_scale_set_vms(const ScaleSet& scale_set, std::stop_token stop);
  std::string arm_path(std::string_view path) const;

  Config m_config;
  std::string m_arm_override;
  std::string m_ad_override;
  std::string m_imds_override;
  std::chrono::milliseconds m_timeout;
  std::unique_ptr<net::HttpClient> m_client;
  std::function<int64_t()> m_now;
  TokenCache m_tokens;
  // Per refresh: the cloud's endpoints and the token request.
  std::string m_arm_base;
  TokenRequest m_token_request;
};

std::unique_ptr<SdConfig> parse_config(yaml::Decoder& d, yaml::Node n);

} // namespace sdscope::discovery::azure
