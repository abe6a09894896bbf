// docker_sd: containers of one Docker daemon (discovery/moby/docker.go in
// Prometheus v2.45; spec/sd-platforms.md §6).
//
// Each refresh asks the Docker Engine API for the running containers
// (GET /v<version>/containers/json?filters=<json>&limit=0, the filters only
// when some have values) and the networks (GET /v<version>/networks) and
// sends one group, Source "Docker": per named container and attached
// network a target per TCP port entry at the network IP and private port,
// else one at the network IP and `port` (host_networking_host in host
// network mode). The client (moby.cpp) negotiates the API version once.
// match_first_network (2.54) keeps only the alphabetically first network
// when set to true; absent, every network counts, as in v2.45. The 2.54
// lookup of the networks of `container:<id>` network modes is not done.
#include "discovery/docker.h"

#include <fmt/format.h>

#include "discovery/moby.h"
#include "model/url.h"
#include "util/strings.h"

namespace sdscope::discovery::docker {

namespace {

constexpr std::string_view k_prefix = "__meta_docker_";
constexpr std::string_view k_container_id = "__meta_docker_container_id";
constexpr std::string_view k_container_name = "__meta_docker_container_name";
constexpr std::string_view k_container_network_mode = "__meta_docker_container_network_mode";
constexpr std::string_view k_container_label_prefix = "__meta_docker_container_label_";
constexpr std::string_view k_network_ip = "__meta_docker_network_ip";
constexpr std::string_view k_port_private = "__meta_docker_port_private";
constexpr std::string_view k_port_public = "__meta_docker_port_public";
constexpr std::string_view k_port_public_ip = "__meta_docker_port_public_ip";

// The fields of types.Container (docker v24) that the mapping reads.
struct Port {
  std::string ip;
  uint64_t private_port = 0;
  uint64_t public_port = 0;
  std::string type;
};
struct Network {
  bool present = false; // false: null in the map
  std::string network_id;
  std::string ip_address;
};
struct Container {
  std::string id;
  std::vector<std::string> names;
  std::map<std::string, std::string> labels;
  std::string network_mode;
  std::vector<Port> ports;
  std::map<std::string, Network> networks; // by name, sorted
};

void decode_networks(moby::ApiDecoder& decoder, const Json& v, Container& c) {
  decoder.object(v, "Container.NetworkSettings", "types.SummaryNetworkSettings",
                 [&](const std::string& key, const Json& value) {
                   if (!equal_fold(key, "Networks")) {
                     return;
                   }
                   if (value.is_null()) {
                     return;
                   }
                   if (!value.is_object()) {
                     decoder.d.mismatch(json_kind(value), "SummaryNetworkSettings.NetworkSettings.Networks",
                                        "map[string]*network.EndpointSettings");
                     return;
                   }
                   for (const auto& [name, settings] : value.items()) {
                     Network& n = c.networks[name];
                     n.present = decoder.object(
                         settings, "SummaryNetworkSettings.NetworkSettings.Networks", "network.EndpointSettings",
                         [&](const std::string& k, const Json& x) {
                           if (equal_fold(k, "NetworkID")) {
                             decoder.d.string(x, n.network_id, "EndpointSettings.NetworkSettings.Networks.NetworkID");
                           } else if (equal_fold(k, "IPAddress")) {
                             decoder.d.string(x, n.ip_address, "EndpointSettings.NetworkSettings.Networks.IPAddress");
                           }
                         });
                   }
                 });
}

Result<std::vector<Container>> parse_containers(std::string_view body) {
  moby::ApiDecoder decoder;
  Result<Json> json = moby::parse_list_body(body, decoder, "[]types.Container");
  if (!json) {
    return fail(json.error());
  }
  std::vector<Container> containers;
  decoder.list(*json, containers, "", "types.Container", [&](const std::string& key, const Json& value, Container& c) {
    if (equal_fold(key, "Id")) {
      decoder.d.string(value, c.id, "Container.Id");
    } else if (equal_fold(key, "Names")) {
      c.names.clear();
      decoder.d.string_list(value, c.names, "Container.Names");
    } else if (equal_fold(key, "Labels")) {
      decoder.d.string_map(value, c.labels, "Container.Labels");
    } else if (equal_fold(key, "Created") || equal_fold(key, "SizeRw") || equal_fold(key, "SizeRootFs")) {
      int64_t ignored = 0;
      decoder.d.integer(value, ignored, "Container." + key);
    } else if (equal_fold(key, "Image") || equal_fold(key, "ImageID") || equal_fold(key, "Command") ||
               equal_fold(key, "State") || equal_fold(key, "Status")) {
      std::string ignored;
      decoder.d.string(value, ignored, "Container." + key);
    } else if (equal_fold(key, "HostConfig")) {
      decoder.object(value, "Container.HostConfig", "struct { NetworkMode string \"json:\\\",omitempty\\\"\" }",
                     [&](const std::string& k, const Json& x) {
                       if (equal_fold(k, "NetworkMode")) {
                         decoder.d.string(x, c.network_mode, ".HostConfig.NetworkMode");
                       }
                     });
    } else if (equal_fold(key, "Ports")) {
      decoder.list(value, c.ports, "Container.Ports", "types.Port", [&](const std::string& k, const Json& x, Port& p) {
        if (equal_fold(k, "IP")) {
          decoder.d.string(x, p.ip, "Port.Ports.IP");
        } else if (equal_fold(k, "PrivatePort")) {
          decoder.unsigned_int(x, p.private_port, UINT16_MAX, "Port.Ports.PrivatePort", "uint16");
        } else if (equal_fold(k, "PublicPort")) {
          decoder.unsigned_int(x, p.public_port, UINT16_MAX, "Port.Ports.PublicPort", "uint16");
        } else if (equal_fold(k, "Type")) {
          decoder.d.string(x, p.type, "Port.Ports.Type");
        }
      });
    } else if (equal_fold(key, "NetworkSettings")) {
      c.networks.clear();
      decode_networks(decoder, value, c);
    }
  });
  if (!decoder.d.error.empty()) {
    return fail(decoder.d.error);
  }
  return containers;
}

void add_all(model::Labels& target, const std::map<std::string, std::string>& labels) {
  for (const auto& [name, value] : labels) {
    target.set(name, value);
  }
}

// Docker's view of the network a target is in: its labels, when the
// network list has it, and the container's own labels.
void add_target(model::TargetGroup& group, model::Labels labels, const std::map<std::string, std::string>& common,
                const Network& network, const NetworkLabels& networks, const std::string& address) {
  add_all(labels, common);
  if (auto found = networks.find(network.network_id); found != networks.end()) {
    add_all(labels, found->second);
  }
  labels.set("__address__", address);
  group.targets.push_back(std::move(labels));
}

} // namespace

void Config::validate(yaml::Checker& c) {
  if (host.empty()) {
    c.error("host missing");
    return;
  }
  model::Url parsed;
  if (std::string message = model::parse_url(host, parsed); !message.empty()) {
    c.error_at("host", message);
    return;
  }
  if (!http_client.validate(c)) {
    return;
  }
  check_refresh_interval(c, refresh_interval.ms);
}

std::unique_ptr<SdConfig> parse_config(yaml::Decoder& d, yaml::Node n) { return parse_config_of<Config>(d, n); }

namespace {

model::TargetGroup group_of(const std::vector<Container>& containers, const NetworkLabels& networks,
                            const Mapping& mapping) {
  model::TargetGroup group;
  group.source = "Docker";
  for (const Container& c : containers) {
    if (c.names.empty()) {
      continue;
    }
    std::map<std::string, std::string> common = {
        {std::string(k_container_id), c.id},
        {std::string(k_container_name), c.names[0]},
        {std::string(k_container_network_mode), c.network_mode},
    };
    for (const auto& [key, value] : c.labels) {
      common[std::string(k_container_label_prefix) + util::sanitize_label_name(key)] = value;
    }
    // v2.45 crashes on a null network entry; later releases skip it.
    std::vector<const Network*> attached;
    for (const auto& [name, network] : c.networks) {
      if (network.present) {
        attached.push_back(&network);
      }
    }
    if (mapping.match_first_network && attached.size() > 1) {
      attached.erase(attached.begin() + 1, attached.end()); // the map is sorted by network name
    }
    for (const Network* network : attached) {
      bool added = false;
      for (const Port& p : c.ports) {
        if (p.type != "tcp") {
          continue;
        }
        model::Labels labels;
        labels.set(k_network_ip, network->ip_address);
        labels.set(k_port_private, std::to_string(p.private_port));
        if (p.public_port > 0) {
          labels.set(k_port_public, std::to_string(p.public_port));
          labels.set(k_port_public_ip, p.ip);
        }
        add_target(group, std::move(labels), common, *network, networks,
                   util::join_host_port(network->ip_address, std::to_string(p.private_port)));
        added = true;
      }
      if (!added) { // no TCP port: the fallback port, or the host in host networking
        model::Labels labels;
        labels.set(k_network_ip, network->ip_address);
        std::string address = c.network_mode != "host"
                                  ? util::join_host_port(network->ip_address, std::to_string(mapping.port))
                                  : mapping.host_networking_host;
        add_target(group, std::move(labels), common, *network, networks, address);
      }
    }
  }
  return group;
}

} // namespace

Result<model::TargetGroup> group_from_containers(std::string_view body, const NetworkLabels& networks,
                                                 const Mapping& mapping) {
  Result<std::vector<Container>> containers = parse_containers(body);
  if (!containers) {
    return fail(containers.error());
  }
  return group_of(*containers, networks, mapping);
}

namespace {

class Discovery {
public:
  static Result<std::unique_ptr<Discovery>> make(const Config& config) {
    Result<std::unique_ptr<moby::Client>> client = moby::Client::make(
        config.host, config.http_client, std::chrono::milliseconds(std::max<int64_t>(config.refresh_interval.ms, 1)));
    if (!client) {
      return fail("error setting up docker client: " + client.error());
    }
    auto discovery = std::unique_ptr<Discovery>(new Discovery());
    discovery->m_client = std::move(*client);
    discovery->m_mapping = {config.port, config.host_networking_host, config.match_first_network.value_or(false)};
    std::string filters = moby::filters_json(config.filters);
    discovery->m_query = filters.empty() ? "limit=0" : "filters=" + util::query_escape(filters) + "&limit=0";
    return discovery;
  }

  Result<std::vector<model::TargetGroup>> refresh(std::stop_token stop) {
    Result<std::string> body = m_client->get("/containers/json", m_query, stop);
    if (!body) {
      return fail("error while listing containers: " + body.error());
    }
    Result<std::vector<Container>> containers = parse_containers(*body);
    if (!containers) {
      return fail("error while listing containers: " + containers.error());
    }
    Result<NetworkLabels> networks = m_client->network_labels(k_prefix, stop);
    if (!networks) {
      return fail("error while computing network labels: " + networks.error());
    }
    return std::vector<model::TargetGroup>{group_of(*containers, *networks, m_mapping)};
  }

private:
  Discovery() = default;
  std::unique_ptr<moby::Client> m_client;
  Mapping m_mapping;
  std::string m_query;
};

} // namespace

Result<std::unique_ptr<Discoverer>> Config::make_discoverer(const DiscovererOptions& /*options*/) const {
  return make_refresh_discoverer<Discovery>(*this, refresh_interval.ms);
}

} // namespace sdscope::discovery::docker
