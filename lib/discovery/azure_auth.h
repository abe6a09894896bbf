#pragma once

// Azure clouds and access tokens for azure_sd, as Prometheus v2.45 gets
// them through go-autorest (autorest/azure environments, adal tokens).

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <stop_token>
#include <string>
#include <string_view>

#include "net/http_client.h"
#include "util/result.h"

namespace sdscope::discovery::azure {

// The endpoints of one Azure cloud (autorest's azure.Environment).
struct CloudEnvironment {
  std::string active_directory; // token authority host, e.g. https://login.microsoftonline.com/
  std::string resource_manager; // ARM base and token resource, e.g. https://management.azure.com/
};

// autorest's EnvironmentFromName: the name in any case; AZURESTACKCLOUD
// reads the JSON file named by $AZURE_ENVIRONMENT_FILEPATH. Unknown names
// fail with `autorest/azure: There is no cloud environment matching the
// name "<NAME>"`.
Result<CloudEnvironment> environment_from_name(std::string_view name);

// adal's NewOAuthConfig token URL: `<tenant>/oauth2/token?api-version=1.0`
// resolved against the authority host as a relative URL reference.
std::string oauth_token_url(std::string_view active_directory, std::string_view tenant_id);

// The Azure instance metadata service's token endpoint.
inline constexpr std::string_view k_imds_base = "http://169.254.169.254";
inline constexpr std::string_view k_imds_token_path = "/metadata/identity/oauth2/token";

// How a token is obtained: client credentials (OAuth) or the managed
// identity of the host (IMDS).
struct TokenRequest {
  bool managed_identity = false;
  std::string tenant_id;
  std::string client_id; // for a managed identity: the user-assigned identity, "" for the system one
  std::string client_secret;
  std::string resource;   // the cloud's ARM URL (the token's audience)
  std::string token_url;  // OAuth: oauth_token_url(...); managed identity: IMDS base + k_imds_token_path
};

// Fetches bearer tokens and keeps the last one until it is about to expire
// (adal refreshes when it expires within 5 minutes). Thread-compatible.
class TokenCache {
public:
  using Clock = std::function<int64_t()>; // Unix seconds
  TokenCache(std::unique_ptr<net::HttpClient> client, Clock now);

  // The access token for request, fetched when there is none for this
  // request or it expires within 5 minutes. On failure, the error as
  // autorest's BearerAuthorizer words it for a request to arm_url (no
  // secret in it).
  Result<std::string> token(const TokenRequest& request, const std::string& arm_url,
                            std::chrono::milliseconds timeout, std::stop_token stop);

private:
  struct Failure {
    long status = 0; // the token response's, 0 without one
    std::string error;
  };
  Result<void> fetch(const TokenRequest& request, std::chrono::milliseconds timeout, std::stop_token stop,
                     Failure& failure);

  std::unique_ptr<net::HttpClient> m_client;
  Clock m_now;
  std::string m_key; // token_url + resource + client of the cached token
  std::string m_token;
  int64_t m_expires_on = 0;
};

} // namespace sdscope::discovery::azure
