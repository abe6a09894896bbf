#pragma once

#include <memory>
#include <stop_token>
#include <string>
#include <vector>

#include "discovery/go_json.h"
#include "discovery/sd_config.h"
#include "model/duration.h"
#include "net/http_client.h"
#include "net/http_config.h"

namespace sdscope::discovery::outscale {

// outscale_sd_configs (Prometheus 3.12+).
struct Config : SdConfigBase<Config> {
  static constexpr std::string_view k_mechanism = "outscale";
  static constexpr std::string_view k_go_type = "outscale.plain";
  std::string endpoint; // filled in from the region when empty
  std::string region = "eu-west-2";
  std::string access_key;
  yaml::Secret secret_key;
  std::string secret_key_file; // re-read on every refresh
  model::Duration refresh_interval = model::Duration::seconds(60);
  int port = 80;
  net::HttpClientConfig http_client;

  template <class V> void fields(V& v) {
    v("endpoint", endpoint);
    v("region", region);
    v("access_key", access_key);
    v("secret_key", secret_key);
    v.path("secret_key_file", secret_key_file);
    v("refresh_interval", refresh_interval);
    v("port", port);
    v.inline_(http_client);
  }
  void validate(yaml::Checker& c);
  bool operator==(const Config&) const = default;
  Result<std::unique_ptr<Discoverer>> make_discoverer(const DiscovererOptions& options) const override;
};

std::unique_ptr<SdConfig> parse_config(yaml::Decoder& d, yaml::Node n);

// The targets of ReadVms' Vms (VMs without a private or public IP are left
// out).
Result<std::vector<model::Labels>> vm_targets(const Json& vms, const std::string& region, int port);

class Discovery {
public:
  static Result<std::unique_ptr<Discovery>> make(const Config& config);
  Result<std::vector<model::TargetGroup>> refresh(std::stop_token stop);

private:
  Discovery(const Config& config, std::unique_ptr<net::HttpClient> client);
  Result<std::string> secret_key() const;

  Config m_config;
  std::unique_ptr<net::HttpClient> m_client;
};

} // namespace sdscope::discovery::outscale
