#pragma once

#include <memory>
#include <stop_token>
#include <string>
#include <string_view>
#include <vector>

#include "discovery/sd_config.h"
#include "model/duration.h"
#include "net/http_client.h"
#include "net/http_config.h"

namespace sdscope::discovery::eureka {

struct Config : SdConfigBase<Config> {
  static constexpr std::string_view k_mechanism = "eureka";
  static constexpr std::string_view k_go_type = "eureka.plain";
  std::string server; // base URL; /apps is appended as text
  net::HttpClientConfig http_client;
  model::Duration refresh_interval = model::Duration::seconds(30);

  template <class V> void fields(V& v) {
    v("server", server);
    v.inline_(http_client);
    v("refresh_interval", refresh_interval);
  }
  void validate(yaml::Checker& c);
  bool operator==(const Config&) const = default;
  // A RefreshDiscoverer asking the server for its applications every
  // refresh_interval; fails when the HTTP client cannot be built.
  Result<std::unique_ptr<Discoverer>> make_discoverer(const DiscovererOptions& options) const override;
};

// The path of the application list, appended to the server URL as text.
inline constexpr std::string_view k_apps_path = "/apps";

// Maps the XML body of GET <server>/apps to target groups (pure): one group,
// Source "eureka", one target per instance of every application, in
// document order. Fails where Go's encoding/xml fails to fill v2.45's
// structs (malformed XML, a bad number or boolean), with its texts where
// they are simple.
Result<std::vector<model::TargetGroup>> groups_from_apps(std::string_view body);

// One eureka_sd config; refresh() is one GET of the application list.
class Discovery {
public:
  static Result<std::unique_ptr<Discovery>> make(const Config& config);
  Result<std::vector<model::TargetGroup>> refresh(std::stop_token stop);

private:
  Discovery(const Config& config, std::unique_ptr<net::HttpClient> client);

  std::string m_url;
  std::chrono::milliseconds m_timeout;
  std::unique_ptr<net::HttpClient> m_client;
};

std::unique_ptr<SdConfig> parse_config(yaml::Decoder& d, yaml::Node n);

} // namespace sdscope::discovery::eureka
