// triton_sd: containers or compute nodes of a Joyent Triton data centre via
// its Container Monitor (triton-cmon) discovery endpoint
// (discovery/triton/triton.go in Prometheus v2.45; spec/sd-platforms.md
// §13).
//
// Each refresh is one GET https://<endpoint>:<port>/v<version>/discover
// (role container) or .../gz/discover (role cn), with ?groups=... when
// groups are configured (triton-cmon's API:
// https://github.com/joyent/triton-cmon/blob/master/docs/README.md).
// v2.45 builds a plain Go http.Client for it: only tls_config applies (a
// client certificate is what cmon normally authenticates with, but nothing
// requires one), no proxy, HTTP/1.1, Go's default User-Agent, redirects
// followed. The status code is not checked: any body is decoded. All
// targets go into one group whose Source is the request URL.
//
// v2.45 sets no request timeout, so a hung endpoint stalls its discoverer
// for good; here a request gets the refresh interval, then fails and is
// retried at the next tick (targets are kept meanwhile).
#include "discovery/triton.h"

#include <fmt/format.h>

#include "discovery/go_json.h"
#include "util/strings.h"

namespace sdscope::discovery::triton {

namespace {

constexpr std::string_view k_user_agent = "Go-http-client/1.1"; // Go's default: v2.45 sets none
constexpr std::string_view k_groups_label = "__meta_triton_groups";
constexpr std::string_view k_machine_id_label = "__meta_triton_machine_id";
constexpr std::string_view k_machine_alias_label = "__meta_triton_machine_alias";
constexpr std::string_view k_machine_brand_label = "__meta_triton_machine_brand";
constexpr std::string_view k_machine_image_label = "__meta_triton_machine_image";
constexpr std::string_view k_server_id_label = "__meta_triton_server_id";

// The anonymous element structs of v2.45's response types, as Go's
// reflection names them in decoding errors.
constexpr std::string_view k_container_type =
    R"(struct { Groups []string "json:\"groups\""; ServerUUID string "json:\"server_uuid\""; )"
    R"(VMAlias string "json:\"vm_alias\""; VMBrand string "json:\"vm_brand\""; )"
    R"(VMImageUUID string "json:\"vm_image_uuid\""; VMUUID string "json:\"vm_uuid\"" })";
constexpr std::string_view k_compute_node_type =
    R"(struct { ServerUUID string "json:\"server_uuid\""; ServerHostname string "json:\"server_hostname\"" })";

struct Container {
  std::vector<std::string> groups;
  std::string server_uuid, vm_alias, vm_brand, vm_image_uuid, vm_uuid;
};
struct ComputeNode {
  std::string server_uuid, server_hostname;
};

// json.Unmarshal of the body into a response struct whose one field, a list
// named list_key, holds element structs (of Go type element_type) that
// decode_element fills. Go names the outer struct in errors about the list
// and none (".<list_key>.<field>") in errors inside the anonymous elements.
template <class Element, class DecodeElement>
Result<std::vector<Element>> decode_list(std::string_view body, std::string_view response_type,
                                         std::string_view list_key, std::string_view element_type,
                                         DecodeElement decode_element) {
  Result<Json> parsed = parse_json(body, k_unmarshal_eof);
  if (!parsed) {
    return fail(parsed.error());
  }
  Json& json = *parsed;
  std::vector<Element> elements;
  GoDecoder d;
  if (json.is_null()) {
    return elements;
  }
  if (!json.is_object()) {
    d.mismatch(json_kind(json), "", "triton." + std::string(response_type));
    return fail(d.error);
  }
  std::string list_where = std::string(response_type) + "." + std::string(list_key);
  d.fields(json, [&](const std::string& key, const Json& value) {
    if (!equal_fold(key, list_key)) {
      return;
    }
    if (value.is_null()) {
      elements.clear();
      return;
    }
    if (!value.is_array()) {
      d.mismatch(json_kind(value), list_where, "[]" + std::string(element_type));
      return;
    }
    elements.clear();
    for (const Json& item : value) {
      Element& element = elements.emplace_back();
      if (item.is_object()) {
        decode_element(d, item, "." + std::string(list_key) + ".", element);
      } else if (!item.is_null()) {
        d.mismatch(json_kind(item), list_where, element_type);
      }
    }
  });
  if (!d.error.empty()) {
    return fail(d.error);
  }
  return elements;
}

void decode_container(GoDecoder& d, const Json& item, const std::string& where, Container& c) {
  d.fields(item, [&](const std::string& key, const Json& value) {
    if (equal_fold(key, "groups")) {
      c.groups.clear();
      d.string_list(value, c.groups, where + "groups");
    } else if (equal_fold(key, "server_uuid")) {
      d.string(value, c.server_uuid, where + "server_uuid");
    } else if (equal_fold(key, "vm_alias")) {
      d.string(value, c.vm_alias, where + "vm_alias");
    } else if (equal_fold(key, "vm_brand")) {
      d.string(value, c.vm_brand, where + "vm_brand");
    } else if (equal_fold(key, "vm_image_uuid")) {
      d.string(value, c.vm_image_uuid, where + "vm_image_uuid");
    } else if (equal_fold(key, "vm_uuid")) {
      d.string(value, c.vm_uuid, where + "vm_uuid");
    }
  });
}

void decode_compute_node(GoDecoder& d, const Json& item, const std::string& where, ComputeNode& cn) {
  d.fields(item, [&](const std::string& key, const Json& value) {
    if (equal_fold(key, "server_uuid")) {
      d.string(value, cn.server_uuid, where + "server_uuid");
    } else if (equal_fold(key, "server_hostname")) {
      d.string(value, cn.server_hostname, where + "server_hostname");
    }
  });
}

// "<uuid>.<dns_suffix>:<port>", plain formatting: no brackets, as v2.45.
std::string address_of(const std::string& uuid, const Config& config) {
  return fmt::format("{}.{}:{}", uuid, config.dns_suffix, config.port);
}

} // namespace

void Config::validate(yaml::Checker& c) const {
  if (role != "container" && role != "cn") {
    c.error_at("role", "triton SD configuration requires role to be 'container' or 'cn'");
    return;
  }
  if (account.empty()) {
    c.error("triton SD configuration requires an account");
    return;
  }
  if (dns_suffix.empty()) {
    c.error("triton SD configuration requires a dns_suffix");
    return;
  }
  if (endpoint.empty()) {
    c.error("triton SD configuration requires an endpoint");
    return;
  }
  if (refresh_interval.ms <= 0) {
    c.error_at("refresh_interval", "triton SD configuration requires RefreshInterval to be a positive integer");
    return;
  }
}

std::unique_ptr<SdConfig> parse_config(yaml::Decoder& d, yaml::Node n) { return parse_config_of<Config>(d, n); }

std::string discovery_url(const Config& config) {
  std::string url = fmt::format("https://{}:{}/v{}/{}discover", config.endpoint, config.port, config.version,
                                config.role == "cn" ? "gz/" : "");
  if (!config.groups.empty()) {
    std::string joined;
    for (size_t i = 0; i < config.groups.size(); ++i) {
      joined += (i == 0 ? "" : ",") + config.groups[i];
    }
    url += "?groups=" + util::query_escape(joined);
  }
  return url;
}

Result<model::TargetGroup> group_from_response(std::string_view body, const Config& config, const std::string& url) {
  model::TargetGroup group;
  group.source = url;
  if (config.role == "cn") {
    Result<std::vector<ComputeNode>> nodes = decode_list<ComputeNode>(
        body, "ComputeNodeDiscoveryResponse", "cns", k_compute_node_type, decode_compute_node);
    if (!nodes) {
      return fail("an error occurred unmarshaling the compute node discovery response json: " + nodes.error());
    }
    for (const ComputeNode& cn : *nodes) {
      model::Labels& target = group.targets.emplace_back();
      target.set(k_machine_id_label, cn.server_uuid);
      target.set(k_machine_alias_label, cn.server_hostname);
      target.set("__address__", address_of(cn.server_uuid, config));
    }
    return group;
  }
  Result<std::vector<Container>> containers =
      decode_list<Container>(body, "DiscoveryResponse", "containers", k_container_type, decode_container);
  if (!containers) {
    return fail("an error occurred unmarshaling the discovery response json: " + containers.error());
  }
  for (const Container& c : *containers) {
    model::Labels& target = group.targets.emplace_back();
    target.set(k_machine_id_label, c.vm_uuid);
    target.set(k_machine_alias_label, c.vm_alias);
    target.set(k_machine_brand_label, c.vm_brand);
    target.set(k_machine_image_label, c.vm_image_uuid);
    target.set(k_server_id_label, c.server_uuid);
    target.set("__address__", address_of(c.vm_uuid, config));
    if (!c.groups.empty()) {
      std::string groups = ",";
      for (const std::string& name : c.groups) {
        groups += name + ",";
      }
      target.set(k_groups_label, groups);
    }
  }
  return group;
}

Discovery::Discovery(const Config& config, std::unique_ptr<net::HttpClient> client)
    : m_config(config), m_url(discovery_url(config)),
      m_timeout(std::max<int64_t>(config.refresh_interval.ms, 1)), m_client(std::move(client)) {}

Result<std::unique_ptr<Discovery>> Discovery::make(const Config& config) {
  net::HttpClientConfig http;
  http.tls_config = config.tls_config;
  http.enable_http2 = false; // a Go Transport with its own TLS config speaks HTTP/1.1
  Result<std::unique_ptr<net::HttpClient>> client = net::HttpClient::make(http);
  if (!client) {
    return fail(client.error());
  }
  return std::unique_ptr<Discovery>(new Discovery(config, std::move(*client)));
}

Result<std::vector<model::TargetGroup>> Discovery::refresh(std::stop_token stop) {
  net::HttpHeaders headers = {{"User-Agent", std::string(k_user_agent)}};
  Result<net::HttpResponse> response = m_client->get(m_url, headers, m_timeout, std::move(stop));
  if (!response) {
    return fail("an error occurred when requesting targets from the discovery endpoint: " + response.error());
  }
  Result<model::TargetGroup> group = group_from_response(response->body, m_config, m_url);
  if (!group) {
    return fail(group.error());
  }
  return std::vector<model::TargetGroup>{std::move(*group)};
}

Result<std::unique_ptr<Discoverer>> Config::make_discoverer(const DiscovererOptions& /*options*/) const {
  return make_refresh_discoverer<Discovery>(*this, refresh_interval.ms);
}

} // namespace sdscope::discovery::triton
