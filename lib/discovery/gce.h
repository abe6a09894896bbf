#pragma once

#include <string>

#include "discovery/gce_auth.h"
#include "discovery/sd_config.h"
#include "model/duration.h"

namespace sdscope::discovery::gce {

// No HTTP client block: GCE uses Application Default Credentials.
struct Config : SdConfigBase<Config> {
  static constexpr std::string_view k_mechanism = "gce";
  static constexpr std::string_view k_go_type = "gce.plain";
  std::string project;
  std::string zone;
  std::string filter;
  model::Duration refresh_interval = model::Duration::seconds(60);
  int port = 80;
  std::string tag_separator = ",";

  template <class V> void fields(V& v) {
    v("project", project);
    v("zone", zone);
    v("filter", filter);
    v("refresh_interval", refresh_interval);
    v("port", port);
    v("tag_separator", tag_separator);
  }
  void validate(yaml::Checker& c) const;
  bool operator==(const Config&) const = default;
  // A RefreshDiscoverer listing the zone's instances every
  // refresh_interval; fails when no credentials are found (see
  // gce_auth.h). Test hooks in options.endpoints: "gce" (replaces
  // https://compute.googleapis.com), "gce_token" (replaces
  // https://oauth2.googleapis.com/token where a credentials file names no
  // token_uri), "gce_metadata" (replaces http://169.254.169.254).
  Result<std::unique_ptr<Discoverer>> make_discoverer(const DiscovererOptions& options) const override;
  // As make_discoverer, with the environment ADC reads given (for tests).
  Result<std::unique_ptr<Discoverer>> make_discoverer_in(const DiscovererOptions& options,
                                                         AdcEnvironment environment) const;
};

inline constexpr std::string_view k_compute_base_url = "https://compute.googleapis.com";

// One page of GET .../zones/<zone>/instances mapped to targets (pure): the
// instances with a network interface, labelled as v2.45 does, and the
// page's nextPageToken ("" on the last page). Fails with Go's
// encoding/json wording where the body does not fit compute.InstanceList.
struct InstancePage {
  std::vector<model::Labels> targets;
  std::string next_page_token;
};
Result<InstancePage> instances_to_targets(std::string_view body, const Config& config);

// Go's googleapi.Error text for a non-2xx answer of a Google API
// ("googleapi: Error 403: <message>, <reason>", ...).
std::string google_api_error(long status, std::string_view body);

// One gce_sd config: refresh() lists every page of the zone's instances.
class Discovery {
public:
  static Result<std::unique_ptr<Discovery>> make(const Config& config, const DiscovererOptions& options,
                                                 const AdcEnvironment& environment);
  Result<std::vector<model::TargetGroup>> refresh(std::stop_token stop);
  AccessTokens& tokens() { return *m_tokens; }

private:
  Discovery(const Config& config, std::string base_url, std::unique_ptr<AccessTokens> tokens,
            std::unique_ptr<net::HttpClient> client);
  Result<std::string> fetch_page(const std::string& page_token, std::stop_token stop);

  Config m_config;
  std::string m_base_url;
  std::chrono::milliseconds m_timeout;
  std::unique_ptr<AccessTokens> m_tokens;
  std::unique_ptr<net::HttpClient> m_client;
};

std::unique_ptr<SdConfig> parse_config(yaml::Decoder& d, yaml::Node n);

} // namespace sdscope::discovery::gce
