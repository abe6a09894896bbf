#pragma once

#include <map>
#include <memory>
#include <optional>
#include <stop_token>
#include <string>
#include <string_view>
#include <vector>

#include "discovery/sd_config.h"
#include "model/duration.h"
#include "net/http_config.h"

namespace sdscope::discovery::docker {

// One Docker API list filter (moby.Filter), shared with dockerswarm.
struct Filter {
  static constexpr std::string_view k_go_type = "moby.Filter";
  std::string name;
  std::vector<std::string> values;

  template <class V> void fields(V& v) {
    v("name", name);
    v("values", values);
  }
  bool operator==(const Filter&) const = default;
};

struct Config : SdConfigBase<Config> {
  static constexpr std::string_view k_mechanism = "docker";
  static constexpr std::string_view k_go_type = "moby.plain";
  net::HttpClientConfig http_client;
  std::string host; // unix://, tcp://, http:// or https:// daemon address
  int port = 80;
  std::vector<Filter> filters;
  std::string host_networking_host = "localhost";
  // 2.54 (default true there); absent means v2.45's behaviour: every
  // network of a container gives targets.
  std::optional<bool> match_first_network;
  model::Duration refresh_interval = model::Duration::seconds(60);

  template <class V> void fields(V& v) {
    v.inline_(http_client);
    v("host", host);
    v("port", port);
    v("filters", filters);
    v("host_networking_host", host_networking_host);
    v.since("2.54", "match_first_network", match_first_network);
    v("refresh_interval", refresh_interval);
  }
  void validate(yaml::Checker& c);
  bool operator==(const Config&) const = default;
  // A RefreshDiscoverer listing the daemon's containers and networks every
  // refresh_interval; fails when the Docker client cannot be set up.
  Result<std::unique_ptr<Discoverer>> make_discoverer(const DiscovererOptions& options) const override;
};

// Labels by name, per network id (moby::network_labels).
using NetworkLabels = std::map<std::string, std::map<std::string, std::string>>;

// What the mapping takes from the config.
struct Mapping {
  int port = 80;
  std::string host_networking_host = "localhost";
  bool match_first_network = false;
};

// Maps the body of GET /containers/json, with the networks' labels, to the
// one group v2.45 sends (Source "Docker"): per container with a name, per
// network, a target per TCP port entry, else one at the fallback port (or
// host_networking_host in host network mode). Fails with Go's
// encoding/json texts where the body does not fit the API's structs.
Result<model::TargetGroup> group_from_containers(std::string_view body, const NetworkLabels& networks,
                                                 const Mapping& mapping);

std::unique_ptr<SdConfig> parse_config(yaml::Decoder& d, yaml::Node n);

} // namespace sdscope::discovery::docker
