#pragma once

#include <memory>
#include <stop_token>
#include <string>
#include <string_view>
#include <vector>

#include "discovery/docker.h"
#include "discovery/sd_config.h"
#include "model/duration.h"
#include "net/http_config.h"

namespace sdscope::discovery::dockerswarm {

struct Config : SdConfigBase<Config> {
  static constexpr std::string_view k_mechanism = "dockerswarm";
  static constexpr std::string_view k_go_type = "moby.plain";
  net::HttpClientConfig http_client;
  std::string host;
  std::string role; // services, tasks or nodes
  int port = 80;
  std::vector<docker::Filter> filters;
  model::Duration refresh_interval = model::Duration::seconds(60);

  template <class V> void fields(V& v) {
    v.inline_(http_client);
    v("host", host);
    v("role", role);
    v("port", port);
    v("filters", filters);
    v("refresh_interval", refresh_interval);
  }
  void validate(yaml::Checker& c);
  bool operator==(const Config&) const = default;
  // A RefreshDiscoverer listing the role's objects every refresh_interval;
  // fails when the Docker client cannot be set up.
  Result<std::unique_ptr<Discoverer>> make_discoverer(const DiscovererOptions& options) const override;
};

// The mappings of the three roles (pure), each to the one group v2.45
// sends (Source "DockerSwarm"); bodies are those of GET /services, /tasks
// and /nodes, `networks` the network labels (prefix
// __meta_dockerswarm_). They fail with Go's encoding/json texts where a
// body does not fit the API's structs, and on an address that is no CIDR.
Result<model::TargetGroup> group_from_services(std::string_view services, const docker::NetworkLabels& networks,
                                               int port);
Result<model::TargetGroup> group_from_nodes(std::string_view nodes, int port);
Result<model::TargetGroup> group_from_tasks(std::string_view tasks, std::string_view services, std::string_view nodes,
                                            const docker::NetworkLabels& networks, int port);

std::unique_ptr<SdConfig> parse_config(yaml::Decoder& d, yaml::Node n);

} // namespace sdscope::discovery::dockerswarm
