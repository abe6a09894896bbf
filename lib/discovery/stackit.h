#pragma once

#include <chrono>
#include <memory>
#include <stop_token>
#include <string>

#include "discovery/sd_config.h"
#include "model/duration.h"
#include "net/http_client.h"
#include "net/http_config.h"
#include "net/jwt.h"

namespace sdscope::discovery::stackit {

// stackit_sd_configs (Prometheus 3.5+).
struct Config : SdConfigBase<Config> {
  static constexpr std::string_view k_mechanism = "stackit";
  static constexpr std::string_view k_go_type = "stackit.plain";
  net::HttpClientConfig http_client; // the bearer token without the key flow
  std::string project;
  model::Duration refresh_interval = model::Duration::seconds(60);
  int port = 80;
  std::string region = "eu01";
  std::string endpoint; // default https://iaas.api.<region>.stackit.cloud
  yaml::Secret service_account_key;
  yaml::Secret private_key;
  // Files read by the STACKIT SDK as given; upstream does not join them
  // with the config's directory.
  std::string service_account_key_path;
  std::string private_key_path;
  std::string credentials_file_path;

  template <class V> void fields(V& v) {
    v.inline_(http_client);
    v("project", project);
    v("refresh_interval", refresh_interval);
    v("port", port);
    v("region", region);
    v("endpoint", endpoint);
    v("service_account_key", service_account_key);
    v("private_key", private_key);
    v("service_account_key_path", service_account_key_path);
    v("private_key_path", private_key_path);
    v("credentials_file_path", credentials_file_path);
  }
  void validate(yaml::Checker& c);
  bool operator==(const Config&) const = default;
  // A RefreshDiscoverer listing the project's servers every
  // refresh_interval; fails when the HTTP client cannot be built or the
  // key flow cannot be set up ("setting up authentication: ..."). Test hook
  // in options.endpoints: "stackit_token" replaces the key flow's token
  // URL (which otherwise only STACKIT_TOKEN_BASEURL changes).
  Result<std::unique_ptr<Discoverer>> make_discoverer(const DiscovererOptions& options) const override;
};

// Maps the body of GET <endpoint>/v1/projects/<project>/servers?details=true
// to the one group (pure), Source "stackit". Fails with Go's encoding/json
// texts where the body does not fit the upstream structs.
Result<model::TargetGroup> servers_to_group(std::string_view body, const Config& config);

// The service-account key flow of the STACKIT SDK: a self-signed RS512 JWT
// exchanged for an access token (and a refresh token), both JWTs that are
// reused until their "exp" passes.
class KeyFlow {
public:
  // key_json: the service account key; private_pem: its RSA key.
  static Result<std::unique_ptr<KeyFlow>> make(std::string_view key_json, std::string private_pem,
                                               std::string token_url, std::chrono::milliseconds timeout);
  // "Bearer <access token>", fetching or refreshing as needed (token
  // requests use a plain client, as the SDK's key flow does).
  Result<std::string> authorization(std::stop_token stop);
  const std::string& token_url() const { return m_token_url; }

private:
  KeyFlow() = default;
  Result<void> request_token(std::string grant, std::string assertion, std::stop_token stop);
  std::unique_ptr<net::HttpClient> m_client;
  std::string m_iss, m_sub, m_aud, m_kid;
  std::unique_ptr<net::RsaPrivateKey> m_key;
  std::string m_token_url;
  std::chrono::milliseconds m_timeout{0};
  std::string m_access_token, m_refresh_token;
};

// One stackit_sd config: refresh() lists the project's servers once.
class Discovery {
public:
  static Result<std::unique_ptr<Discovery>> make(const Config& config, const DiscovererOptions& options);
  Result<std::vector<model::TargetGroup>> refresh(std::stop_token stop);

private:
  Discovery() = default;
  Config m_config;
  std::string m_url;
  std::chrono::milliseconds m_timeout{0};
  std::unique_ptr<net::HttpClient> m_client;
  std::unique_ptr<KeyFlow> m_key_flow; // null: the HTTP block's auth only
};

std::unique_ptr<SdConfig> parse_config(yaml::Decoder& d, yaml::Node n);

} // namespace sdscope::discovery::stackit
