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

namespace sdscope::discovery::nomad {

struct Config : SdConfigBase<Config> {
  static constexpr std::string_view k_mechanism = "nomad";
  static constexpr std::string_view k_go_type = "nomad.plain";
  bool allow_stale = true;
  net::HttpClientConfig http_client;
  std::string namespace_ = "default";
  model::Duration refresh_interval = model::Duration::seconds(60);
  std::string region = "global";
  std::string server = "http://localhost:4646";
  std::string tag_separator = ",";

  template <class V> void fields(V& v) {
    v("allow_stale", allow_stale);
    v.inline_(http_client);
    v("namespace", namespace_);
    v("refresh_interval", refresh_interval);
    v("region", region);
    v("server", server);
    v("tag_separator", tag_separator);
  }
  void validate(yaml::Checker& c);
  bool operator==(const Config&) const = default;
  // A RefreshDiscoverer listing the services every refresh_interval; fails
  // when the server address or the HTTP client config is unusable.
  Result<std::unique_ptr<Discoverer>> make_discoverer(const DiscovererOptions& options) const override;
};

// The Source of the one group every refresh sends.
inline constexpr std::string_view k_source = "Nomad";

// The service names in the body of GET /v1/services (pure), in order
// (namespace by namespace). Fails with Go's encoding/json texts where the
// body does not fit the Nomad API client's structs.
Result<std::vector<std::string>> service_names(std::string_view body);

// The targets of the body of GET /v1/service/<name> (pure): one per
// registration, tags joined with tag_separator. Fails as service_names.
Result<std::vector<model::Labels>> service_targets(std::string_view body, std::string_view tag_separator);

// One nomad_sd config. refresh() lists the services, then asks for each
// one's registrations, and returns one group (Source "Nomad") with them all;
// any failed request fails the refresh.
class Discovery {
public:
  static Result<std::unique_ptr<Discovery>> make(const Config& config);
  Result<std::vector<model::TargetGroup>> refresh(std::stop_token stop);

private:
  Discovery(const Config& config, std::unique_ptr<net::HttpClient> client);
  Result<std::string> query(const std::string& path, std::chrono::steady_clock::time_point deadline,
                            const std::stop_token& stop);

  std::string m_base;  // scheme://host of the server; its path is not used
  std::string m_query; // namespace, region and stale, encoded as url.Values does
  std::string m_userinfo_auth; // "Basic ..." from user:password in the server URL, or ""
  std::string m_tag_separator;
  std::chrono::milliseconds m_timeout; // for a whole refresh
  std::unique_ptr<net::HttpClient> m_client;
};

std::unique_ptr<SdConfig> parse_config(yaml::Decoder& d, yaml::Node n);

} // namespace sdscope::discovery::nomad
