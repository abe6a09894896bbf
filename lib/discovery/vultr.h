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

namespace sdscope::discovery::vultr {

struct Config : SdConfigBase<Config> {
  static constexpr std::string_view k_mechanism = "vultr";
  static constexpr std::string_view k_go_type = "vultr.plain";
  net::HttpClientConfig http_client; // carries the API key
  model::Duration refresh_interval = model::Duration::seconds(60);
  int port = 80;

  template <class V> void fields(V& v) {
    v.inline_(http_client);
    v("refresh_interval", refresh_interval);
    v("port", port);
  }
  void validate(yaml::Checker& c);
  bool operator==(const Config&) const = default;
  // A RefreshDiscoverer listing every instance every refresh_interval.
  // options.endpoints["vultr"] (tests only; scheme://host[:port], any path
  // is replaced as govultr resolves "/v2/instances" against it) replaces
  // https://api.vultr.com. Fails when the HTTP client cannot be built.
  Result<std::unique_ptr<Discoverer>> make_discoverer(const DiscovererOptions& options) const override;
};

inline constexpr std::string_view k_default_base_url = "https://api.vultr.com";

// govultr's Instance (the fields the mapping reads).
struct Instance {
  std::string id, label, os, region, plan, main_ip, v6_main_ip, internal_ip, hostname, server_status;
  int64_t os_id = 0, vcpu_count = 0, ram = 0, allowed_bandwidth = 0, disk = 0;
  std::vector<std::string> features, tags;
};

// One page of GET /v2/instances: the instances and meta.links.next (the
// cursor of the next page, "" on the last).
struct InstancesPage {
  std::vector<Instance> instances;
  std::string next;
};
// Fails with Go's encoding/json wording, or when meta.links is missing
// (v2.45 would dereference a nil pointer there).
Result<InstancesPage> parse_instances_page(std::string_view body);

// The one group, Source "Vultr": every instance at <main_ip>:<port>.
model::TargetGroup group_from_instances(const std::vector<Instance>& instances, int port);

// One vultr_sd config: refresh() pages through /v2/instances (per_page=100,
// then cursor=<meta.links.next>) as govultr v2 does, retrying transport
// errors, 429 and 5xx answers three times.
class Discovery {
public:
  static Result<std::unique_ptr<Discovery>> make(const Config& config, std::string base_url);
  Result<std::vector<model::TargetGroup>> refresh(std::stop_token stop);

private:
  Discovery(const Config& config, std::string base_url, std::unique_ptr<net::HttpClient> client);
  Result<std::string> get_with_retries(const std::string& url, std::stop_token stop);

  int m_port;
  std::string m_base_url;
  std::chrono::milliseconds m_timeout;
  std::unique_ptr<net::HttpClient> m_client;
};

std::unique_ptr<SdConfig> parse_config(yaml::Decoder& d, yaml::Node n);

} // namespace sdscope::discovery::vultr
