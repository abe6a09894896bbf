// hetzner_sd: Hetzner Cloud servers (role hcloud, api.hetzner.cloud/v1,
// bearer token; hetzner_hcloud.cpp) and Hetzner Robot dedicated servers
// (role robot, robot-ws.your-server.de, basic auth; here), both
// authenticated through the HTTP client block only, in Prometheus v2.45
// discovery/hetzner/{hetzner,robot}.go (spec/sd-cloud.md §6).
//
// Robot: each refresh is one GET <endpoint>/server with the Prometheus
// User-Agent; any non-2xx fails with v2.45's text (the body, Robot's error
// JSON, is not read). The answer is a JSON array of {"server": {...}}.
// Labels are exactly v2.45's. API reference: https://robot.hetzner.com/doc/webservice/en.html#server
//
// Both roles give each request the refresh interval as its timeout, as
// v2.45 does.
#include "discovery/hetzner.h"

#include <fmt/format.h>

#include "discovery/go_ip.h"
#include "discovery/go_json.h"
#include "util/strings.h"

namespace sdscope::discovery::hetzner {

namespace {

bool known_role(std::string_view r) { return r == "robot" || r == "hcloud"; }

constexpr std::string_view k_user_agent = "Prometheus/2.45.0";

constexpr std::string_view k_role_label = "__meta_hetzner_role";
constexpr std::string_view k_server_id_label = "__meta_hetzner_server_id";
constexpr std::string_view k_server_name_label = "__meta_hetzner_server_name";
constexpr std::string_view k_server_status_label = "__meta_hetzner_server_status";
constexpr std::string_view k_datacenter_label = "__meta_hetzner_datacenter";
constexpr std::string_view k_public_ipv4_label = "__meta_hetzner_public_ipv4";
constexpr std::string_view k_public_ipv6_network_label = "__meta_hetzner_public_ipv6_network";
constexpr std::string_view k_product_label = "__meta_hetzner_robot_product";
constexpr std::string_view k_cancelled_label = "__meta_hetzner_robot_cancelled";

struct Subnet {
  std::string ip, mask;
};
struct RobotServer {
  std::string server_ip, server_name, dc, status, product;
  int64_t server_number = 0;
  bool cancelled = false;
  std::vector<Subnet> subnets;
};

// v2.45's serversList is a slice of anonymous structs, so Go's errors name
// the struct "" (".server.server_ip") and spell the types out.
constexpr std::string_view k_subnet_type = R"(struct { IP string "json:\"ip\""; Mask string "json:\"mask\"" })";
constexpr std::string_view k_server_type =
    R"(struct { ServerIP string "json:\"server_ip\""; ServerNumber int "json:\"server_number\""; )"
    R"(ServerName string "json:\"server_name\""; Dc string "json:\"dc\""; Status string "json:\"status\""; )"
    R"(Product string "json:\"product\""; Canceled bool "json:\"cancelled\""; Subnet []struct { IP string )"
    R"("json:\"ip\""; Mask string "json:\"mask\"" } "json:\"subnet\"" })";
constexpr std::string_view k_element_type =
    R"(struct { Server struct { ServerIP string "json:\"server_ip\""; ServerNumber int "json:\"server_number\""; )"
    R"(ServerName string "json:\"server_name\""; Dc string "json:\"dc\""; Status string "json:\"status\""; )"
    R"(Product string "json:\"product\""; Canceled bool "json:\"cancelled\""; Subnet []struct { IP string )"
    R"("json:\"ip\""; Mask string "json:\"mask\"" } "json:\"subnet\"" } "json:\"server\"" })";

void decode_robot_server(GoDecoder& d, const Json& v, RobotServer& s) {
  d.fields(v, [&](const std::string& key, const Json& value) {
    if (!equal_fold(key, "server") || value.is_null()) {
      return;
    }
    if (!value.is_object()) {
      d.mismatch(json_kind(value), ".server", k_server_type);
      return;
    }
    d.fields(value, [&](const std::string& k, const Json& x) {
      if (equal_fold(k, "server_ip")) {
        d.string(x, s.server_ip, ".server.server_ip");
      } else if (equal_fold(k, "server_number")) {
        d.integer(x, s.server_number, ".server.server_number");
      } else if (equal_fold(k, "server_name")) {
        d.string(x, s.server_name, ".server.server_name");
      } else if (equal_fold(k, "dc")) {
        d.string(x, s.dc, ".server.dc");
      } else if (equal_fold(k, "status")) {
        d.string(x, s.status, ".server.status");
      } else if (equal_fold(k, "product")) {
        d.string(x, s.product, ".server.product");
      } else if (equal_fold(k, "cancelled")) {
        if (x.is_boolean()) {
          s.cancelled = x.get<bool>();
        } else if (!x.is_null()) {
          d.mismatch(json_kind(x), ".server.cancelled", "bool");
        }
      } else if (equal_fold(k, "subnet") && !x.is_null()) {
        if (!x.is_array()) {
          d.mismatch(json_kind(x), ".server.subnet", std::string("[]") + std::string(k_subnet_type));
          return;
        }
        s.subnets.clear();
        for (const Json& item : x) {
          Subnet& subnet = s.subnets.emplace_back();
          if (!item.is_object()) {
            if (!item.is_null()) {
              d.mismatch(json_kind(item), ".server.subnet", k_subnet_type);
            }
            continue;
          }
          d.fields(item, [&](const std::string& f, const Json& y) {
            if (equal_fold(f, "ip")) {
              d.string(y, subnet.ip, ".server.subnet.ip");
            } else if (equal_fold(f, "mask")) {
              d.string(y, subnet.mask, ".server.subnet.mask");
            }
          });
        }
      }
    });
  });
}

model::Labels robot_labels(const RobotServer& s, int port) {
  std::string dc = util::to_lower_ascii(s.dc); // Go's strings.ToLower; Robot's dc names are ASCII
  model::Labels labels;
  labels.set("__address__", util::join_host_port(s.server_ip, std::to_string(port)));
  labels.set(k_role_label, "robot");
  labels.set(k_server_id_label, std::to_string(s.server_number));
  labels.set(k_server_name_label, s.server_name);
  labels.set(k_datacenter_label, dc);
  labels.set(k_public_ipv4_label, s.server_ip);
  labels.set(k_server_status_label, s.status);
  labels.set(k_product_label, s.product);
  labels.set(k_cancelled_label, s.cancelled ? "true" : "false");
  for (const Subnet& subnet : s.subnets) {
    if (!go_is_ipv4(subnet.ip)) {
      labels.set(k_public_ipv6_network_label, subnet.ip + "/" + subnet.mask);
      break;
    }
  }
  return labels;
}

std::string endpoint_of(const DiscovererOptions& options, std::string_view key, std::string_view fallback) {
  auto it = options.endpoints.find(std::string(key));
  return it == options.endpoints.end() ? std::string(fallback) : it->second;
}

} // namespace

std::string parse_text(std::string_view text, Role& out) {
  out.value = std::string(text);
  out.written = true;
  if (!known_role(text)) {
    return fmt::format("unknown role {}", util::go_quote(text));
  }
  return "";
}

void Config::validate(yaml::Checker& c) {
  if (!role.written) {
    c.error("role missing (one of: robot, hcloud)");
    return;
  }
  if (!known_role(role.value)) {
    return; // already reported while decoding, which stops Prometheus there
  }
  check_refresh_interval(c, refresh_interval.ms);
  http_client.validate(c);
}

std::unique_ptr<SdConfig> parse_config(yaml::Decoder& d, yaml::Node n) { return parse_config_of<Config>(d, n); }

Result<model::TargetGroup> robot_group(std::string_view body, int port) {
  Result<Json> json = parse_json(body, k_unmarshal_eof);
  if (!json) {
    return fail(json.error());
  }
  GoDecoder d;
  std::vector<RobotServer> servers;
  if (json->is_array()) {
    for (const Json& item : *json) {
      RobotServer& server = servers.emplace_back();
      if (item.is_object()) {
        decode_robot_server(d, item, server);
      } else if (!item.is_null()) {
        d.mismatch(json_kind(item), "", k_element_type);
      }
    }
  } else if (!json->is_null()) {
    d.mismatch(json_kind(*json), "", "hetzner.serversList");
  }
  if (!d.error.empty()) {
    return fail(d.error);
  }
  model::TargetGroup group;
  group.source = "hetzner";
  for (const RobotServer& server : servers) {
    group.targets.push_back(robot_labels(server, port));
  }
  return group;
}

RobotDiscovery::RobotDiscovery(const Config& config, std::string endpoint, std::unique_ptr<net::HttpClient> client)
    : m_endpoint(std::move(endpoint)), m_port(config.port),
      m_timeout(std::max<int64_t>(config.refresh_interval.ms, 1)), m_client(std::move(client)) {}

Result<std::unique_ptr<RobotDiscovery>> RobotDiscovery::make(const Config& config, std::string endpoint) {
  Result<std::unique_ptr<net::HttpClient>> client = net::HttpClient::make(config.http_client);
  if (!client) {
    return fail(client.error());
  }
  return std::unique_ptr<RobotDiscovery>(new RobotDiscovery(config, std::move(endpoint), std::move(*client)));
}

Result<std::vector<model::TargetGroup>> RobotDiscovery::refresh(std::stop_token stop) {
  Result<net::HttpResponse> response =
      m_client->get(m_endpoint + "/server", {{"User-Agent", std::string(k_user_agent)}}, m_timeout, std::move(stop));
  if (!response) {
    return fail(response.error());
  }
  if (response->status / 100 != 2) {
    return fail(fmt::format("non 2xx status '{}' response during hetzner service discovery with role robot",
                            response->status));
  }
  Result<model::TargetGroup> group = robot_group(response->body, m_port);
  if (!group) {
    return fail(group.error());
  }
  return std::vector<model::TargetGroup>{std::move(*group)};
}

Result<std::unique_ptr<Discoverer>> Config::make_discoverer(const DiscovererOptions& options) const {
  if (role.value == "robot") {
    Result<std::unique_ptr<RobotDiscovery>> robot =
        RobotDiscovery::make(*this, endpoint_of(options, k_robot_endpoint_key, k_robot_endpoint));
    if (!robot) {
      return fail(robot.error());
    }
    std::shared_ptr<RobotDiscovery> shared = std::move(*robot);
    return std::unique_ptr<Discoverer>(std::make_unique<RefreshDiscoverer>(
        refresh_interval.ms, [shared](std::stop_token stop) { return shared->refresh(std::move(stop)); }));
  }
  Result<std::unique_ptr<HcloudDiscovery>> hcloud =
      HcloudDiscovery::make(*this, endpoint_of(options, k_hcloud_endpoint_key, k_hcloud_endpoint));
  if (!hcloud) {
    return fail(hcloud.error());
  }
  std::shared_ptr<HcloudDiscovery> shared = std::move(*hcloud);
  return std::unique_ptr<Discoverer>(std::make_unique<RefreshDiscoverer>(
      refresh_interval.ms, [shared](std::stop_token stop) { return shared->refresh(std::move(stop)); }));
}

} // namespace sdscope::discovery::hetzner
