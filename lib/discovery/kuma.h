#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <stop_token>
#include <string>
#include <string_view>
#include <vector>

#include "discovery/kuma_mads.h"
#include "discovery/sd_config.h"
#include "model/duration.h"
#include "net/http_client.h"
#include "net/http_config.h"

namespace sdscope::discovery::kuma {

struct Config : SdConfigBase<Config> {
  static constexpr std::string_view k_mechanism = "kuma";
  // KumaSDConfig decodes through a local type named plainKumaConf.
  static constexpr std::string_view k_go_type = "xds.plainKumaConf";
  net::HttpClientConfig http_client;
  model::Duration refresh_interval = model::Duration::seconds(15);
  model::Duration fetch_timeout = model::Duration::minutes(2);
  std::string server;
  std::string client_id; // 2.50

  template <class V> void fields(V& v) {
    v.inline_(http_client);
    v("refresh_interval", refresh_interval);
    v("fetch_timeout", fetch_timeout);
    v("server", server);
    v.since("2.50", "client_id", client_id);
  }
  void validate(yaml::Checker& c);
  bool operator==(const Config&) const = default;
  // A Discoverer polling the MADS endpoint (see Discovery); fails as
  // v2.45's NewKumaHTTPDiscovery does ("kuma_sd: ...").
  Result<std::unique_ptr<Discoverer>> make_discoverer(const DiscovererOptions& options) const override;
};

// The Source of the one group each new response sends.
inline constexpr std::string_view k_source = "kuma";

// The targets of a response (pure; kumaMadsV1ResourceParser in v2.45):
// fails on another type URL or a resource of another type.
Result<std::vector<model::Labels>> targets_from_response(const DiscoveryResponse& response);

// One kuma_sd config's xDS client: fetch() posts a DiscoveryRequest with
// the version_info and nonce of the last decoded response and returns its
// targets, or nullopt when the server answers 304 (nothing new).
class Discovery {
public:
  // node_id is the client id sent to the server.
  static Result<std::unique_ptr<Discovery>> make(const Config& config, std::string node_id);
  Result<std::optional<std::vector<model::Labels>>> fetch(std::stop_token stop);
  const std::string& endpoint() const { return m_endpoint; }
  // The HTTP timeout of a fetch: fetch_timeout + 15s.
  std::chrono::milliseconds timeout() const { return m_timeout; }

private:
  Discovery(std::string endpoint, std::string node_id, std::chrono::milliseconds timeout,
            std::unique_ptr<net::HttpClient> client);

  std::string m_endpoint;
  std::string m_node_id;
  std::chrono::milliseconds m_timeout;
  std::unique_ptr<net::HttpClient> m_client;
  std::string m_version_info; // of the last decoded response
  std::string m_nonce;
};

// The node id v2.45 sends: the host's FQDN, or "prometheus" when the host
// name cannot be read; client_id (a 2.50 field) replaces it when set.
std::string node_id_for(const Config& config);

std::unique_ptr<SdConfig> parse_config(yaml::Decoder& d, yaml::Node n);

} // namespace sdscope::discovery::kuma
