#pragma once

#include <memory>
#include <random>
#include <set>
#include <stop_token>
#include <string>
#include <string_view>
#include <vector>

#include "discovery/sd_config.h"
#include "model/duration.h"
#include "net/http_client.h"
#include "net/http_config.h"

namespace sdscope::discovery::marathon {

struct Config : SdConfigBase<Config> {
  static constexpr std::string_view k_mechanism = "marathon";
  static constexpr std::string_view k_go_type = "marathon.plain";
  std::vector<std::string> servers;
  model::Duration refresh_interval = model::Duration::seconds(30);
  yaml::Secret auth_token; // sent as "Authorization: token=<token>"
  std::string auth_token_file;
  net::HttpClientConfig http_client;

  template <class V> void fields(V& v) {
    v("servers", servers);
    v("refresh_interval", refresh_interval);
    v("auth_token", auth_token);
    v.path("auth_token_file", auth_token_file);
    v.inline_(http_client);
  }
  void validate(yaml::Checker& c);
  bool operator==(const Config&) const = default;
  // A RefreshDiscoverer asking one of the servers for its apps every
  // refresh_interval; fails when the HTTP client cannot be built or the
  // auth token file cannot be read.
  Result<std::unique_ptr<Discoverer>> make_discoverer(const DiscovererOptions& options) const override;
};

// The path of the app list, tasks embedded, appended to a server URL.
inline constexpr std::string_view k_apps_path = "/v2/apps/?embed=apps.tasks";

// Maps the body of GET <server>/v2/apps/?embed=apps.tasks to target groups
// (pure): one group per app with Source = app id (a later app with the same
// id replaces an earlier one), in the order of the apps. Fails with Go's
// encoding/json texts where the body does not fit v2.45's structs.
Result<std::vector<model::TargetGroup>> groups_from_apps(std::string_view body);

// One marathon_sd config. refresh() asks one server, chosen at random, and
// returns its groups plus an empty group for each app id the previous
// successful refresh had and this one lacks.
class Discovery {
public:
  static Result<std::unique_ptr<Discovery>> make(const Config& config);
  Result<std::vector<model::TargetGroup>> refresh(std::stop_token stop);

private:
  Discovery(const Config& config, std::unique_ptr<net::HttpClient> client);
  Result<std::string> authorization() const;

  std::vector<std::string> m_servers;
  std::string m_token;
  std::string m_token_file;
  std::chrono::milliseconds m_timeout;
  std::unique_ptr<net::HttpClient> m_client;
  std::mt19937 m_random;
  std::set<std::string> m_last_sources;
};

std::unique_ptr<SdConfig> parse_config(yaml::Decoder& d, yaml::Node n);

} // namespace sdscope::discovery::marathon
