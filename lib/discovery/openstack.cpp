// openstack_sd: Nova hypervisors and instances (Keystone v3/v2.0 token, service
// URLs from its catalog), in Prometheus v2.45 discovery/openstack/
// {openstack,hypervisor,instance}.go; role loadbalancer (Octavia) is 3.2's.
// See spec/sd-cloud.md §12.
//
// A refresh takes a Keystone token (openstack_keystone.cpp) and the compute
// URL of the configured region and interface from its catalog, then:
// hypervisor: GET <compute>os-hypervisors/detail (one page: gophercloud v1
// ignores hypervisors_links); instance: GET <compute>os-floating-ips (one
// page), then GET <compute>servers/detail (?all_tenants=true when
// configured), following servers_links rel=next hrefs until a page has
// none or is empty.
// Every call sends X-Auth-Token and expects 200; a 401 drops the token and
// the call is sent once more with a new one. Nova API:
// https://docs.openstack.org/api-ref/compute/
//
// v2.45 authenticates before every refresh; here a token is re-used until
// it expires (the issue asks tokens to be cached). Each request gets the
// refresh interval as its timeout, as v2.45's http.Client has.
#include "discovery/openstack.h"

#include <cstdlib>

#include <fmt/format.h>

#include "util/strings.h"

namespace sdscope::discovery::openstack {

namespace {

// v2.45's roles; its hook rejects loadbalancer (3.2) like any other value.
bool known_role(std::string_view r) { return r == "hypervisor" || r == "instance"; }

} // namespace

std::string parse_text(std::string_view text, Role& out) {
  out.value = std::string(text);
  out.written = true;
  if (!known_role(text)) {
    return fmt::format("unknown OpenStack SD role {}", util::go_quote(text));
  }
  return "";
}

void Config::validate(yaml::Checker& c) const {
  if (role.value == "loadbalancer") {
    c.warning_at("role", "role \"loadbalancer\" is new in Prometheus 3.2; v2.45 rejects it");
  }
  if (role.written && !known_role(role.value)) {
    return; // already reported while decoding, which stops Prometheus there
  }
  // Order as in v2.45: availability, role, region.
  if (availability != "public" && availability != "internal" && availability != "admin") {
    c.error_at("availability",
               fmt::format("unknown availability {}, must be one of admin, internal or public", availability));
    return;
  }
  if (!role.written) {
    c.error("role missing (one of: instance, hypervisor)");
    return;
  }
  if (region.empty()) {
    c.error_at("region", "openstack SD configuration requires a region");
    return;
  }
  check_refresh_interval(c, refresh_interval.ms);
}

std::unique_ptr<SdConfig> parse_config(yaml::Decoder& d, yaml::Node n) { return parse_config_of<Config>(d, n); }

namespace {

constexpr std::string_view k_hypervisor_id = "__meta_openstack_hypervisor_id";
constexpr std::string_view k_hypervisor_hostname = "__meta_openstack_hypervisor_hostname";
constexpr std::string_view k_hypervisor_host_ip = "__meta_openstack_hypervisor_host_ip";
constexpr std::string_view k_hypervisor_status = "__meta_openstack_hypervisor_status";
constexpr std::string_view k_hypervisor_state = "__meta_openstack_hypervisor_state";
constexpr std::string_view k_hypervisor_type = "__meta_openstack_hypervisor_type";
constexpr std::string_view k_instance_id = "__meta_openstack_instance_id";
constexpr std::string_view k_instance_status = "__meta_openstack_instance_status";
constexpr std::string_view k_instance_name = "__meta_openstack_instance_name";
constexpr std::string_view k_instance_flavor = "__meta_openstack_instance_flavor";
constexpr std::string_view k_project_id = "__meta_openstack_project_id";
constexpr std::string_view k_user_id = "__meta_openstack_user_id";
constexpr std::string_view k_tag_prefix = "__meta_openstack_tag_";
constexpr std::string_view k_address_pool = "__meta_openstack_address_pool";
constexpr std::string_view k_private_ip = "__meta_openstack_private_ip";
constexpr std::string_view k_public_ip = "__meta_openstack_public_ip";

// A response body as the object gophercloud extracts `collection` from;
// `type` names the Go element type for errors.
Result<Json> collection(std::string_view body, std::string_view key, std::string_view type, const Json*& items) {
  Result<Json> json = parse_json(body, k_unmarshal_eof);
  if (!json) {
    return fail(json.error());
  }
  if (!json->is_object()) {
    return fail(fmt::format("json: cannot unmarshal {} into Go value of type struct {{ {} }}", json_kind(*json), key));
  }
  items = nullptr;
  if (auto it = json->find(std::string(key)); it != json->end() && !it->is_null()) {
    if (!it->is_array()) {
      return fail(fmt::format("json: cannot unmarshal {} into Go struct field .{} of type []{}", json_kind(*it), key,
                              type));
    }
    items = &*it;
  }
  return json;
}

// LinkedPageBase.NextPageURL: the rel=next href of body[links_key].
std::string next_link(const Json& body, std::string_view links_key) {
  auto links = body.find(std::string(links_key));
  if (links == body.end() || !links->is_array()) {
    return "";
  }
  for (const Json& link : *links) {
    if (link.is_object() && link.value("rel", Json()).is_string() && link["rel"] == "next" &&
        link.value("href", Json()).is_string()) {
      return link["href"].get<std::string>();
    }
  }
  return "";
}

// Decodes the string fields of an element; `type` is the Go struct for errors.
void read_strings(GoDecoder& d, const Json& element, std::string_view type,
                  std::initializer_list<std::pair<std::string_view, std::string*>> wanted) {
  d.fields(element, [&](const std::string& key, const Json& value) {
    for (const auto& [name, out] : wanted) {
      if (equal_fold(key, name)) {
        d.string(value, *out, fmt::format("{}.{}", type, name));
      }
    }
  });
}

// Go's %T of a decoded interface{} value.
std::string go_type_name(const Json* v) {
  if (v == nullptr || v->is_null()) {
    return "<nil>";
  }
  if (v->is_string()) {
    return "string";
  }
  if (v->is_boolean()) {
    return "bool";
  }
  if (v->is_number()) {
    return "float64";
  }
  return v->is_array() ? "[]interface {}" : "map[string]interface {}";
}

// The checks of gophercloud's Hypervisor.UnmarshalJSON: numbers for the
// version and disk sizes, a JSON string or an object for cpu_info.
Result<void> check_hypervisor_types(const Json& h) {
  auto find = [&](const char* key) -> const Json* {
    auto it = h.find(key);
    return it == h.end() ? nullptr : &*it;
  };
  const Json* cpu = find("cpu_info");
  if (cpu != nullptr && cpu->is_string()) {
    if (!cpu->get<std::string>().empty()) {
      Result<Json> parsed = parse_json(cpu->get<std::string>(), k_unmarshal_eof);
      if (!parsed) {
        return fail(parsed.error());
      }
    }
  } else if (cpu == nullptr || !cpu->is_object()) {
    return fail("CPUInfo has unexpected type: " + go_type_name(cpu));
  }
  for (auto [key, name] : {std::pair{"hypervisor_version", "Hypervisor version"},
                           std::pair{"free_disk_gb", "Free disk GB"}, std::pair{"local_gb", "Local GB"}}) {
    const Json* v = find(key);
    if (v == nullptr || !v->is_number()) {
      return fail(fmt::format("{} has unexpected type: {}", name, go_type_name(v)));
    }
  }
  return {};
}

} // namespace

Result<void> append_hypervisor_targets(std::string_view body, int port, std::vector<model::Labels>& targets) {
  const Json* items = nullptr;
  Result<Json> json = collection(body, "hypervisors", "hypervisors.Hypervisor", items);
  if (!json) {
    return fail(json.error());
  }
  if (items == nullptr) {
    return {};
  }
  GoDecoder d;
  for (const Json& h : *items) {
    if (!h.is_object()) {
      d.mismatch(json_kind(h), "", "hypervisors.Hypervisor");
      break;
    }
    std::string id, hostname, host_ip, status, state, type;
    // gophercloud's Hypervisor takes a string or a number as id.
    if (auto it = h.find("id"); it != h.end()) {
      if (it->is_string()) {
        id = it->get<std::string>();
      } else if (it->is_number()) {
        id = std::to_string(go_int64(it->get<double>()));
      } else if (!it->is_null()) {
        return fail(fmt::format("ID has unexpected type: {}", it->is_boolean() ? "bool" : json_kind(*it)));
      }
    }
    // gophercloud's Hypervisor insists on these, whatever the microversion.
    if (Result<void> typed = check_hypervisor_types(h); !typed) {
      return fail(typed.error());
    }
    read_strings(d, h, "tmp",
                 {{"hypervisor_hostname", &hostname},
                  {"host_ip", &host_ip},
                  {"status", &status},
                  {"state", &state},
                  {"hypervisor_type", &type}});
    model::Labels& labels = targets.emplace_back();
    labels.set("__address__", util::join_host_port(host_ip, std::to_string(port)));
    labels.set(k_hypervisor_id, id);
    labels.set(k_hypervisor_hostname, hostname);
    labels.set(k_hypervisor_host_ip, host_ip);
    labels.set(k_hypervisor_status, status);
    labels.set(k_hypervisor_state, state);
    labels.set(k_hypervisor_type, type);
  }
  if (!d.error.empty()) {
    return fail(d.error);
  }
  return {};
}

Result<FloatingIps> parse_floating_ips(std::string_view body) {
  const Json* items = nullptr;
  Result<Json> json = collection(body, "floating_ips", "floatingips.FloatingIP", items);
  if (!json) {
    return fail(json.error());
  }
  FloatingIps result;
  if (items == nullptr) {
    return result;
  }
  GoDecoder d;
  for (const Json& ip : *items) {
    if (!ip.is_object()) {
      d.mismatch(json_kind(ip), "", "floatingips.FloatingIP");
      break;
    }
    std::string fixed, instance, floating;
    read_strings(d, ip, "tmp", {{"fixed_ip", &fixed}, {"instance_id", &instance}, {"ip", &floating}});
    if (instance.empty() || fixed.empty()) { // not associated
      continue;
    }
    result.by_instance_fixed[{instance, fixed}] = floating;
    result.floating.insert(floating);
  }
  if (!d.error.empty()) {
    return fail(d.error);
  }
  return result;
}

Result<void> append_instance_targets(std::string_view body, const FloatingIps& floating_ips, int port,
                                     std::vector<model::Labels>& targets, std::string& next) {
  const Json* items = nullptr;
  Result<Json> json = collection(body, "servers", "servers.Server", items);
  if (!json) {
    return fail(json.error());
  }
  next = next_link(*json, "servers_links");
  if (items == nullptr) {
    return {};
  }
  GoDecoder d;
  for (const Json& s : *items) {
    if (!s.is_object()) {
      d.mismatch(json_kind(s), "", "servers.Server");
      break;
    }
    std::string id, name, status, tenant, user;
    read_strings(d, s, "tmp",
                 {{"id", &id}, {"name", &name}, {"status", &status}, {"tenant_id", &tenant}, {"user_id", &user}});
    std::map<std::string, std::string> metadata;
    const Json* flavor = nullptr;
    const Json* addresses = nullptr;
    d.fields(s, [&](const std::string& key, const Json& value) {
      if (equal_fold(key, "metadata")) {
        d.string_map(value, metadata, "tmp.metadata");
      } else if (equal_fold(key, "flavor")) {
        flavor = &value;
      } else if (equal_fold(key, "addresses")) {
        addresses = &value;
      }
    });
    for (auto [which, v] : {std::pair{"flavor", flavor}, std::pair{"addresses", addresses}}) {
      if (v != nullptr && !v->is_null() && !v->is_object()) {
        d.mismatch(json_kind(*v), fmt::format("tmp.{}", which), "map[string]interface {}");
      }
    }
    if (!d.error.empty()) {
      break;
    }
    if (addresses == nullptr || !addresses->is_object() || addresses->empty()) {
      continue; // "Got no IP address"
    }
    // v2.45 reads the flavor's id only; a server without a string id is skipped.
    if (flavor == nullptr || !flavor->is_object() || !flavor->contains("id") || !(*flavor)["id"].is_string()) {
      continue;
    }
    model::Labels labels;
    labels.set(k_instance_id, id);
    labels.set(k_instance_status, status);
    labels.set(k_instance_name, name);
    labels.set(k_project_id, tenant);
    labels.set(k_user_id, user);
    labels.set(k_instance_flavor, (*flavor)["id"].get<std::string>());
    for (const auto& [key, value] : metadata) {
      labels.set(std::string(k_tag_prefix) + util::sanitize_label_name(key), value);
    }
    for (const auto& [pool, entries] : addresses->items()) {
      if (!entries.is_array()) {
        continue; // "Invalid type for address, expected array"
      }
      for (const Json& entry : entries) {
        if (!entry.is_object() || !entry.contains("addr") || !entry["addr"].is_string()) {
          continue; // "Invalid type for address, expected dict/string"
        }
        std::string addr = entry["addr"].get<std::string>();
        if (floating_ips.floating.contains(addr)) {
          continue;
        }
        model::Labels& target = targets.emplace_back(labels);
        target.set(k_address_pool, pool);
        target.set(k_private_ip, addr);
        if (auto it = floating_ips.by_instance_fixed.find({id, addr}); it != floating_ips.by_instance_fixed.end()) {
          target.set(k_public_ip, it->second);
        }
        target.set("__address__", util::join_host_port(addr, std::to_string(port)));
      }
    }
  }
  if (!d.error.empty()) {
    return fail(d.error);
  }
  return {};
}

Discovery::Discovery(const Config& config, AuthOptions options, std::unique_ptr<net::HttpClient> client)
    : m_config(config), m_timeout(std::max<int64_t>(config.refresh_interval.ms, 1)), m_client(std::move(client)),
      m_keystone(std::move(options), *m_client, m_timeout) {}

Result<std::unique_ptr<Discovery>> Discovery::make(const Config& config) {
  AuthOptions options;
  if (config.identity_endpoint.empty()) {
    Result<AuthOptions> from_env = auth_options_from_env([](const char* name) {
      const char* value = std::getenv(name);
      return std::string(value != nullptr ? value : "");
    });
    if (!from_env) {
      return fail(from_env.error());
    }
    options = std::move(*from_env);
  } else {
    options.identity_endpoint = config.identity_endpoint;
    options.username = config.username;
    options.userid = config.userid;
    options.password = config.password.value;
    options.tenant_name = config.project_name;
    options.tenant_id = config.project_id;
    options.domain_name = config.domain_name;
    options.domain_id = config.domain_id;
    options.application_credential_name = config.application_credential_name;
    options.application_credential_id = config.application_credential_id;
    options.application_credential_secret = config.application_credential_secret.value;
  }
  net::HttpClientConfig http; // only the TLS settings of the block apply
  http.tls_config = config.tls_config;
  Result<std::unique_ptr<net::HttpClient>> client = net::HttpClient::make(http);
  if (!client) {
    return fail(client.error());
  }
  return std::unique_ptr<Discovery>(new Discovery(config, std::move(options), std::move(*client)));
}

// A GET with the token; a 401 is answered by one new token and one retry.
Result<std::string> Discovery::get(const std::string& url, std::stop_token stop) {
  for (int attempt = 0;; ++attempt) {
    net::HttpHeaders headers = {{"Accept", "application/json"}, {"X-Auth-Token", m_token.id}};
    Result<net::HttpResponse> response = m_client->get(url, headers, m_timeout, stop);
    if (!response) {
      return fail(response.error());
    }
    if (response->status == 401 && attempt == 0) {
      m_keystone.invalidate();
      Result<Token> token = m_keystone.token(stop);
      if (!token) {
        return fail(token.error());
      }
      m_token = std::move(*token);
      continue;
    }
    if (response->status != 200) {
      return fail(unexpected_status_error("GET", url, "[200]", *response));
    }
    return std::move(response->body);
  }
}

// gophercloud v1's hypervisors.List is one page: it never follows
// hypervisors_links (gophercloud issue 3222), and neither does v2.45.
Result<std::vector<model::Labels>> Discovery::hypervisors(const std::string& compute, std::stop_token stop) {
  Result<std::string> body = get(compute + "os-hypervisors/detail", stop);
  if (!body) {
    return fail(body.error());
  }
  std::vector<model::Labels> targets;
  if (Result<void> added = append_hypervisor_targets(*body, m_config.port, targets); !added) {
    return fail(added.error());
  }
  return targets;
}

Result<std::vector<model::Labels>> Discovery::instances(const std::string& compute, std::stop_token stop) {
  Result<std::string> floating_body = get(compute + "os-floating-ips", stop);
  if (!floating_body) {
    return fail(floating_body.error());
  }
  Result<FloatingIps> floating = parse_floating_ips(*floating_body);
  if (!floating) {
    return fail(floating.error());
  }
  std::vector<model::Labels> targets;
  std::set<std::string> seen;
  std::string url = compute + "servers/detail" + (m_config.all_tenants ? "?all_tenants=true" : "");
  while (!url.empty()) {
    if (!seen.insert(url).second) {
      return fail(fmt::format("the server list links back to {}", url));
    }
    Result<std::string> body = get(url, stop);
    if (!body) {
      return fail(body.error());
    }
    // An empty page ends the list (gophercloud's IsEmpty).
    Result<Json> json = parse_json(*body, k_unmarshal_eof);
    bool empty = json && json->is_object() &&
                 (!json->contains("servers") || ((*json)["servers"].is_array() && (*json)["servers"].empty()));
    if (Result<void> added = append_instance_targets(*body, *floating, m_config.port, targets, url); !added) {
      return fail(added.error());
    }
    if (empty) {
      break;
    }
  }
  return targets;
}

Result<std::vector<model::TargetGroup>> Discovery::refresh(std::stop_token stop) {
  Result<Token> token = m_keystone.token(stop);
  if (!token) {
    return fail(fmt::format("could not authenticate to OpenStack: {}", token.error()));
  }
  m_token = std::move(*token);
  Result<std::string> compute = endpoint_url(m_token, "compute", m_config.region, m_config.availability);
  if (!compute) {
    return fail(fmt::format("could not create OpenStack compute session: {}", compute.error()));
  }
  Result<std::vector<model::Labels>> targets =
      m_config.role.value == "hypervisor" ? hypervisors(*compute, stop) : instances(*compute, stop);
  if (!targets) {
    return fail(targets.error());
  }
  model::TargetGroup group;
  group.source = "OS_" + m_config.region;
  group.targets = std::move(*targets);
  return std::vector<model::TargetGroup>{std::move(group)};
}

Result<std::unique_ptr<Discoverer>> Config::make_discoverer(const DiscovererOptions& /*options*/) const {
  return make_refresh_discoverer<Discovery>(*this, refresh_interval.ms);
}

} // namespace sdscope::discovery::openstack
