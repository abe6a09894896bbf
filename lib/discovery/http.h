#pragma once

#include <memory>
#include <stop_token>
#include <string>
#include <vector>

#include "discovery/sd_config.h"
#include "model/duration.h"
#include "net/http_client.h"
#include "net/http_config.h"

namespace sdscope::discovery::http {

struct Config : SdConfigBase<Config> {
  static constexpr std::string_view k_mechanism = "http";
  static constexpr std::string_view k_go_type = "http.plain";
  net::HttpClientConfig http_client;
  model::Duration refresh_interval = model::Duration::minutes(1);
  std::string url;

  template <class V> void fields(V& v) {
    v.inline_(http_client);
    v("refresh_interval", refresh_interval);
    v("url", url);
  }
  void validate(yaml::Checker& c) const;
  bool operator==(const Config&) const = default;
  // A RefreshDiscoverer polling url every refresh_interval; fails when the
  // HTTP client cannot be built (e.g. an unreadable CA file).
  Result<std::unique_ptr<Discoverer>> make_discoverer(const DiscovererOptions& options) const override;
};

// The Content-Type check http_sd and puppetdb_sd share (v2.45's regexp
// ^(?i:application/json(;\s*charset=("utf-8"|utf-8))?)$).
bool is_json_content_type(std::string_view content_type);

// Checks one response and maps it to groups (pure): status 200, a JSON
// content type, the group list; each group gets Source "<url>:<index>" and
// __meta_url. Errors carry Prometheus v2.45's texts.
Result<std::vector<model::TargetGroup>> groups_from_response(const net::HttpResponse& response,
                                                             const std::string& url);

// One http_sd endpoint. refresh() returns the full list, plus an empty
// group for each Source the previous successful refresh had and this one
// lacks.
class Discovery {
public:
  static Result<std::unique_ptr<Discovery>> make(const Config& config);
  Result<std::vector<model::TargetGroup>> refresh(std::stop_token stop);

private:
  Discovery(const Config& config, std::unique_ptr<net::HttpClient> client);
  std::string m_url;
  model::Duration m_refresh_interval;
  std::unique_ptr<net::HttpClient> m_client;
  size_t m_last_group_count = 0;
};

std::unique_ptr<SdConfig> parse_config(yaml::Decoder& d, yaml::Node n);

} // namespace sdscope::discovery::http
