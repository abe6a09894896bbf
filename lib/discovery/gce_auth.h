#pragma once

// Google Application Default Credentials (ADC) as golang.org/x/oauth2/google
// v0.8 resolves them for Prometheus v2.45's gce_sd: the credentials file
// named by GOOGLE_APPLICATION_CREDENTIALS, else gcloud's well-known file,
// else the GCE metadata server; access tokens are fetched on demand and
// reused until 10s before they expire.

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <stop_token>
#include <string>

#include "net/http_client.h"
#include "util/result.h"

namespace sdscope::discovery::gce {

inline constexpr std::string_view k_compute_readonly_scope = "https://www.googleapis.com/auth/compute.readonly";
inline constexpr std::string_view k_default_token_url = "https://oauth2.googleapis.com/token";
inline constexpr std::string_view k_default_metadata_host = "169.254.169.254";

// What ADC reads from the process; tests substitute their own.
struct AdcEnvironment {
  // An environment variable's value, "" when unset.
  std::function<std::string(const std::string&)> getenv;
  // The user's home directory (for gcloud's file).
  std::function<std::string()> home;
  // Whether the machine says it is a Google VM (DMI product name); the
  // metadata server is probed only then (see gce_auth.cpp).
  std::function<bool()> system_suggests_gce;
  // Test hooks (DiscovererOptions::endpoints "gce_token", "gce_metadata"):
  // the token URL used where Google's default applies, and the metadata
  // server base URL ("http://127.0.0.1:<port>") instead of
  // http://169.254.169.254 or GCE_METADATA_HOST. With a metadata base URL
  // set, probing asks only that server.
  std::string token_url_override;
  std::string metadata_url_override;

  static AdcEnvironment process();
};

// The credentials found, able to produce "Authorization" header values.
// Not thread-safe: one discoverer refreshes at a time.
class AccessTokens {
public:
  using Clock = std::chrono::steady_clock;

  // Runs ADC's lookup. Fails as FindDefaultCredentials does (e.g.
  // `google: could not find default credentials. See ... for more
  // information.`); the caller adds "error setting up communication with GCE
  // service: ". timeout bounds each token request.
  static Result<std::unique_ptr<AccessTokens>> find(const AdcEnvironment& env, std::string scope,
                                                   std::chrono::milliseconds timeout, std::stop_token stop = {});

  // "Bearer <token>" from the cached token, fetching a new one when there is
  // none or it expires within 10s. Fails as x/oauth2 words it (`oauth2:
  // cannot fetch token: 401 Unauthorized\nResponse: ...`); never contains a
  // secret of the credentials file.
  Result<std::string> authorization(net::HttpClient& client, std::stop_token stop);

  // Which source was chosen: "service_account", "authorized_user" or
  // "metadata".
  const std::string& kind() const { return m_kind; }
  // The token endpoint used ("" for the metadata server).
  const std::string& token_url() const { return m_token_url; }

  // For tests: the clock deciding expiry.
  std::function<Clock::time_point()> now = [] { return Clock::now(); };

private:
  AccessTokens() = default;
  Result<void> fetch(net::HttpClient& client, std::stop_token stop);
  Result<void> fetch_service_account(net::HttpClient& client, std::stop_token stop);
  Result<void> fetch_authorized_user(net::HttpClient& client, std::stop_token stop);
  Result<void> fetch_metadata(net::HttpClient& client, std::stop_token stop);
  Result<void> take_token_json(const net::HttpResponse& response, bool jwt_flow);

  std::string m_kind;
  std::string m_scope;
  std::chrono::milliseconds m_timeout{0};
  // service_account
  std::string m_client_email, m_private_key, m_private_key_id, m_audience;
  // authorized_user
  std::string m_client_id, m_client_secret, m_refresh_token;
  std::string m_token_url;
  // metadata
  std::string m_metadata_base;

  std::string m_access_token;
  std::string m_token_type;
  std::optional<Clock::time_point> m_expiry;
};

} // namespace sdscope::discovery::gce
