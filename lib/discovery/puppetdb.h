#pragma once

#include <memory>
#include <stop_token>
#include <string>
#include <string_view>

#include "discovery/sd_config.h"
#include "model/duration.h"
#include "net/http_client.h"
#include "net/http_config.h"

namespace sdscope::discovery::puppetdb {

struct Config : SdConfigBase<Config> {
  static constexpr std::string_view k_mechanism = "puppetdb";
  static constexpr std::string_view k_go_type = "puppetdb.plain";
  net::HttpClientConfig http_client;
  model::Duration refresh_interval = model::Duration::seconds(60);
  std::string url;
  std::string query; // PQL
  bool include_parameters = false;
  int port = 80;

  template <class V> void fields(V& v) {
    v.inline_(http_client);
    v("refresh_interval", refresh_interval);
    v("url", url);
    v("query", query);
    v("include_parameters", include_parameters);
    v("port", port);
  }
  void validate(yaml::Checker& c) const;
  bool operator==(const Config&) const = default;
  // A RefreshDiscoverer posting the query every refresh_interval; fails
  // when the HTTP client cannot be built (e.g. an unreadable CA file).
  Result<std::unique_ptr<Discoverer>> make_discoverer(const DiscovererOptions& options) const override;
};

// The query endpoint: url with "pdb/query/v4" path-joined to its path (Go's
// path.Join, so "." and ".." and doubled or trailing slashes are cleaned);
// the query string and fragment of url are kept.
std::string query_endpoint(const std::string& url);

// The request body, {"query":"<query>"} as Go's json.Marshal writes it.
std::string request_body(std::string_view query);

// What a resource list maps to.
struct MappingOptions {
  std::string endpoint; // query_endpoint(url)
  std::string query;
  int port = 80;
  bool include_parameters = false;
};

// Maps the body of a 200 answer (a JSON list of resources) to the one group
// v2.45 makes (pure): Source "<endpoint>?query=<query>", one target per
// resource. Fails with Go's encoding/json texts where the body does not fit
// v2.45's Resource struct.
Result<model::TargetGroup> group_from_resources(std::string_view body, const MappingOptions& options);

// One puppetdb_sd config: refresh() posts the query and maps the answer.
class Discovery {
public:
  static Result<std::unique_ptr<Discovery>> make(const Config& config);
  Result<std::vector<model::TargetGroup>> refresh(std::stop_token stop);

private:
  Discovery(const Config& config, std::unique_ptr<net::HttpClient> client);

  MappingOptions m_mapping;
  std::chrono::milliseconds m_timeout;
  std::unique_ptr<net::HttpClient> m_client;
};

std::unique_ptr<SdConfig> parse_config(yaml::Decoder& d, yaml::Node n);

} // namespace sdscope::discovery::puppetdb
