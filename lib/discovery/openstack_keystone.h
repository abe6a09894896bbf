#pragma once

// Keystone authentication for openstack_sd, as gophercloud (v1, the client
// of Prometheus v2.45) does it: version choice, the token request body, the
// token and its service catalog, and the endpoint lookup by type, region
// and interface (spec/sd-cloud.md §12).

#include <chrono>
#include <functional>
#include <optional>
#include <stop_token>
#include <string>
#include <string_view>

#include "discovery/go_json.h"
#include "net/http_client.h"
#include "util/result.h"

namespace sdscope::discovery::openstack {

// gophercloud.AuthOptions as v2.45 fills it (from YAML or OS_* variables).
struct AuthOptions {
  std::string identity_endpoint;
  std::string username;
  std::string userid;
  std::string password;
  std::string tenant_name; // project_name
  std::string tenant_id;   // project_id
  std::string domain_name;
  std::string domain_id;
  std::string application_credential_name;
  std::string application_credential_id;
  std::string application_credential_secret;
};

// openstack.AuthOptionsFromEnv: reads OS_* through env (returns "" for an
// unset variable); fails as gophercloud words it, e.g.
// `Missing environment variable [OS_AUTH_URL]`.
Result<AuthOptions> auth_options_from_env(const std::function<std::string(const char*)>& env);

// The JSON body of POST <identity>/auth/tokens (Keystone v3): the identity
// (password with user name + domain or user id; or an application
// credential by id, or by name with its user) and the scope (project id, or
// project name + domain; none for application credentials).
Result<std::string> v3_token_request(const AuthOptions& options);
// The JSON body of POST <identity>/tokens (Keystone v2.0).
Result<std::string> v2_token_request(const AuthOptions& options);

// A token and the catalog that came with it.
struct Token {
  std::string id;
  std::optional<std::chrono::system_clock::time_point> expires; // none: not re-used
  int version = 3;                                             // 3 or 2 (v2.0): the catalog's shape
  Json catalog;                                                // v3 token.catalog or v2 access.serviceCatalog
};

// Parses a Keystone v3 token response (201, X-Subject-Token header).
Result<Token> parse_v3_token(std::string_view subject_token, std::string_view body);
// Parses a Keystone v2.0 token response (access.token, access.serviceCatalog).
Result<Token> parse_v2_token(std::string_view body);

// The URL of the first catalog endpoint of service type `type` with the
// interface `availability` (public, internal, admin) in `region` (region or
// region_id), with a trailing "/"; fails with gophercloud's
// `No suitable endpoint could be found in the service catalog.`
Result<std::string> endpoint_url(const Token& token, std::string_view type, std::string_view region,
                                 std::string_view availability);

// gophercloud's error for a response with an unexpected status: its
// ErrDefault4xx/5xx texts ("Authentication failed", "Resource not found",
// ...) or `Expected HTTP response code [..] when accessing [GET url], but
// got N instead\n<body>`.
std::string unexpected_status_error(std::string_view method, std::string_view url, std::string_view expected,
                                    const net::HttpResponse& response);

// Fetches tokens from Keystone and keeps one until it expires (v2.45
// authenticates before every refresh; here a valid token is re-used, and a
// 401 from a service makes the caller drop it and authenticate again, as
// gophercloud's re-authentication does).
class Keystone {
public:
  Keystone(AuthOptions options, net::HttpClient& client, std::chrono::milliseconds timeout)
      : m_options(std::move(options)), m_client(client), m_timeout(timeout) {}
  // The cached token while it is valid, else a new one.
  Result<Token> token(std::stop_token stop);
  void invalidate() { m_token.reset(); }

private:
  Result<std::string> resolve_identity(std::stop_token stop);
  Result<Token> authenticate(std::stop_token stop);

  AuthOptions m_options;
  net::HttpClient& m_client;
  std::chrono::milliseconds m_timeout;
  std::string m_identity; // the versioned endpoint, with a trailing "/"
  int m_version = 0;
  std::optional<Token> m_token;
};

} // namespace sdscope::discovery::openstack
