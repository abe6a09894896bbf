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

namespace sdscope::discovery::uyuni {

struct Config : SdConfigBase<Config> {
  static constexpr std::string_view k_mechanism = "uyuni";
  static constexpr std::string_view k_go_type = "uyuni.plain";
  std::string server;
  std::string username;
  yaml::Secret password;
  net::HttpClientConfig http_client;
  std::string entitlement = "monitoring_entitled";
  std::string separator = ",";
  model::Duration refresh_interval = model::Duration::minutes(1);

  template <class V> void fields(V& v) {
    v("server", server);
    v("username", username);
    v("password", password);
    v.inline_(http_client);
    v("entitlement", entitlement);
    v("separator", separator);
    v("refresh_interval", refresh_interval);
  }
  void validate(yaml::Checker& c) const;
  bool operator==(const Config&) const = default;
  // A RefreshDiscoverer asking the Uyuni API every refresh_interval; fails
  // when the HTTP client cannot be built.
  Result<std::unique_ptr<Discoverer>> make_discoverer(const DiscovererOptions& options) const override;
};

// The XML-RPC endpoint: the server URL with "/rpc/api" joined to its path
// as Go's path.Join does ("http://h/x/" -> "http://h/x/rpc/api"); also the
// Source of the group.
std::string api_url(const std::string& server);

// The answers of one refresh's calls, as received.
struct Answers {
  std::string system_groups; // system.listSystemGroupsForSystemsWithEntitlement
  std::string endpoints;     // system.monitoring.listEndpoints
  std::string network;       // system.getNetworkForSystems
};

// The system ids of a system.listSystemGroupsForSystemsWithEntitlement
// answer, ascending and without repeats (the ids the next calls ask for).
Result<std::vector<int64_t>> system_ids(std::string_view system_groups_answer);

// Maps the answers to target groups (pure): one group with Source = source,
// one target per endpoint in the order of the endpoints answer. Fails with
// v2.45's texts, e.g. "unable to get endpoints information: reading body
// ...".
Result<std::vector<model::TargetGroup>> groups_from_answers(const Answers& answers, std::string_view separator,
                                                            const std::string& source);

// One uyuni_sd config. refresh() logs in when the session token is older
// than 5 minutes (or the last refresh failed after logging in), then makes
// the three calls above.
class Discovery {
public:
  static Result<std::unique_ptr<Discovery>> make(const Config& config);
  Result<std::vector<model::TargetGroup>> refresh(std::stop_token stop);

private:
  Discovery(const Config& config, std::unique_ptr<net::HttpClient> client);
  Result<std::string> call(std::string_view method, const std::string& body, std::stop_token stop);
  Result<std::vector<model::TargetGroup>> discover(std::stop_token stop);

  std::string m_url;
  std::string m_username;
  std::string m_password;
  std::string m_entitlement;
  std::string m_separator;
  std::chrono::milliseconds m_timeout;
  std::unique_ptr<net::HttpClient> m_client;
  std::string m_token;
  std::chrono::steady_clock::time_point m_token_expiry{}; // the epoch: log in first
};

std::unique_ptr<SdConfig> parse_config(yaml::Decoder& d, yaml::Node n);

} // namespace sdscope::discovery::uyuni
