// uyuni_sd: monitoring endpoints of systems managed by Uyuni / SUSE Manager,
// read over XML-RPC (discovery/uyuni/uyuni.go in Prometheus v2.45;
// spec/sd-platforms.md §14).
//
// Every call is a POST of an XML-RPC methodCall to <server>/rpc/api
// (Content-Type text/xml, Go's default User-Agent, as the kolo/xmlrpc client
// sends it); a status outside 2xx fails the call. A refresh:
//   1. auth.login(username, password, 600) -> session token, only when the
//      token is older than 5 minutes (half its lifetime) or the previous
//      refresh failed after logging in;
//   2. system.listSystemGroupsForSystemsWithEntitlement(token, entitlement)
//      -> [{id, system_groups: [{id, name}]}];
//   3. system.monitoring.listEndpoints(token, [system ids])
//      -> [{system_id, endpoint_name, port, path, module, exporter_name,
//      tls_enabled}];
//   4. system.getNetworkForSystems(token, [system ids])
//      -> [{system_id, hostname, primary_fqdn, ip}].
// No auth.logout: the token expires on the server. One group, Source = the
// API URL, one target per endpoint. Uyuni API:
// https://www.uyuni-project.org/uyuni-docs-api/uyuni/api/index.html
//
// v2.45 sets no timeout on these calls (and ignores cancellation); here each
// call gets the refresh interval and stops when asked. The system ids are
// sent in ascending order (v2.45's come from a Go map, in random order). The
// password is in the login request only; it is masked should an answer
// echo it into an error.
#include "discovery/uyuni.h"

#include <algorithm>
#include <map>

#include <fmt/format.h>

#include "discovery/xmlrpc.h"
#include "model/url.h"
#include "util/strings.h"

namespace sdscope::discovery::uyuni {

namespace {

constexpr std::string_view k_api_path = "/rpc/api";
constexpr std::string_view k_user_agent = "Go-http-client/1.1"; // kolo/xmlrpc sets none
constexpr int64_t k_token_seconds = 600;
constexpr auto k_relogin_after = std::chrono::seconds(k_token_seconds / 2);

constexpr std::string_view k_minion_hostname_label = "__meta_uyuni_minion_hostname";
constexpr std::string_view k_primary_fqdn_label = "__meta_uyuni_primary_fqdn";
constexpr std::string_view k_system_id_label = "__meta_uyuni_system_id";
constexpr std::string_view k_groups_label = "__meta_uyuni_groups";
constexpr std::string_view k_endpoint_name_label = "__meta_uyuni_endpoint_name";
constexpr std::string_view k_exporter_label = "__meta_uyuni_exporter";
constexpr std::string_view k_proxy_module_label = "__meta_uyuni_proxy_module";
constexpr std::string_view k_metrics_path_label = "__meta_uyuni_metrics_path";
constexpr std::string_view k_scheme_label = "__meta_uyuni_scheme";

constexpr std::string_view k_groups_error = "unable to get the managed system groups information of monitored clients";
constexpr std::string_view k_endpoints_error = "unable to get endpoints information";
constexpr std::string_view k_network_error = "unable to get the systems network information";

using util::xml::Element;

struct Endpoint {
  int64_t system_id = 0;
  std::string endpoint_name;
  int64_t port = 0;
  std::string path;
  std::string module;
  std::string exporter_name;
  bool tls_enabled = false;
};

struct Network {
  std::string hostname;
  std::string primary_fqdn;
};

// Reads an answer's result as an array of structs, member() filling one
// item; errors as net/rpc gives them.
template <class Item, class Member>
Result<std::vector<Item>> struct_array(std::string_view body, Member member) {
  Result<xmlrpc::Answer> answer = xmlrpc::read_answer(body);
  if (!answer) {
    return fail(answer.error());
  }
  std::vector<Item> items;
  Result<void> ok = xmlrpc::decode_array(*answer->value, [&](const Element& value) -> Result<void> {
    Item& item = items.emplace_back();
    return xmlrpc::decode_struct(value, [&](std::string_view name, const Element& v) { return member(item, name, v); });
  });
  if (!ok) {
    return fail("reading body " + ok.error());
  }
  return items;
}

// system id -> its group names, the last entry of an id winning.
Result<std::map<int64_t, std::vector<std::string>>> decode_system_groups(std::string_view body) {
  struct Entry {
    int64_t id = 0;
    std::vector<std::string> names;
  };
  Result<std::vector<Entry>> entries =
      struct_array<Entry>(body, [](Entry& entry, std::string_view name, const Element& v) -> Result<void> {
        if (name == "id") {
          return xmlrpc::decode_int(v, entry.id);
        }
        if (name != "system_groups") {
          return {};
        }
        entry.names.clear(); // a repeated member replaces the list
        return xmlrpc::decode_array(v, [&entry](const Element& group) -> Result<void> {
          std::string& group_name = entry.names.emplace_back();
          int64_t group_id = 0;
          return xmlrpc::decode_struct(group, [&](std::string_view field, const Element& fv) -> Result<void> {
            if (field == "id") {
              return xmlrpc::decode_int(fv, group_id);
            }
            if (field == "name") {
              return xmlrpc::decode_string(fv, group_name);
            }
            return {};
          });
        });
      });
  if (!entries) {
    return fail(fmt::format("{}: {}", k_groups_error, entries.error()));
  }
  std::map<int64_t, std::vector<std::string>> groups;
  for (Entry& entry : *entries) {
    groups[entry.id] = std::move(entry.names);
  }
  return groups;
}

Result<std::vector<Endpoint>> decode_endpoints(std::string_view body) {
  Result<std::vector<Endpoint>> endpoints =
      struct_array<Endpoint>(body, [](Endpoint& e, std::string_view name, const Element& v) -> Result<void> {
        if (name == "system_id") {
          return xmlrpc::decode_int(v, e.system_id);
        }
        if (name == "endpoint_name") {
          return xmlrpc::decode_string(v, e.endpoint_name);
        }
        if (name == "port") {
          return xmlrpc::decode_int(v, e.port);
        }
        if (name == "path") {
          return xmlrpc::decode_string(v, e.path);
        }
        if (name == "module") {
          return xmlrpc::decode_string(v, e.module);
        }
        if (name == "exporter_name") {
          return xmlrpc::decode_string(v, e.exporter_name);
        }
        if (name == "tls_enabled") {
          return xmlrpc::decode_bool(v, e.tls_enabled);
        }
        return {};
      });
  if (!endpoints) {
    return fail(fmt::format("{}: {}", k_endpoints_error, endpoints.error()));
  }
  return endpoints;
}

// system id -> its network details, the last entry of an id winning.
Result<std::map<int64_t, Network>> decode_network(std::string_view body) {
  struct Entry {
    int64_t system_id = 0;
    Network network;
    std::string ip;
  };
  Result<std::vector<Entry>> entries =
      struct_array<Entry>(body, [](Entry& e, std::string_view name, const Element& v) -> Result<void> {
        if (name == "system_id") {
          return xmlrpc::decode_int(v, e.system_id);
        }
        if (name == "hostname") {
          return xmlrpc::decode_string(v, e.network.hostname);
        }
        if (name == "primary_fqdn") {
          return xmlrpc::decode_string(v, e.network.primary_fqdn);
        }
        if (name == "ip") { // unused, but Go checks its type
          return xmlrpc::decode_string(v, e.ip);
        }
        return {};
      });
  if (!entries) {
    return fail(fmt::format("{}: {}", k_network_error, entries.error()));
  }
  std::map<int64_t, Network> networks;
  for (Entry& entry : *entries) {
    networks[entry.system_id] = std::move(entry.network);
  }
  return networks;
}

model::Labels target_for_endpoint(const Endpoint& endpoint, const std::vector<std::string>& group_names,
                                  const Network& network, std::string_view separator) {
  std::string groups;
  for (size_t i = 0; i < group_names.size(); ++i) {
    if (i > 0) {
      groups += separator;
    }
    groups += group_names[i];
  }
  model::Labels target;
  target.set("__address__", fmt::format("{}:{}", network.hostname, endpoint.port)); // no IPv6 brackets
  target.set(k_minion_hostname_label, network.hostname);
  target.set(k_primary_fqdn_label, network.primary_fqdn);
  target.set(k_system_id_label, std::to_string(endpoint.system_id));
  target.set(k_groups_label, groups);
  target.set(k_endpoint_name_label, endpoint.endpoint_name);
  target.set(k_exporter_label, endpoint.exporter_name);
  target.set(k_proxy_module_label, endpoint.module);
  target.set(k_metrics_path_label, endpoint.path);
  target.set(k_scheme_label, endpoint.tls_enabled ? "https" : "http");
  return target;
}

std::vector<model::TargetGroup> make_groups(const std::map<int64_t, std::vector<std::string>>& system_groups,
                                            const std::vector<Endpoint>& endpoints,
                                            const std::map<int64_t, Network>& networks, std::string_view separator,
                                            const std::string& source) {
  static const std::vector<std::string> no_groups;
  static const Network no_network;
  model::TargetGroup group;
  group.source = source;
  for (const Endpoint& endpoint : endpoints) {
    auto groups = system_groups.find(endpoint.system_id);
    auto network = networks.find(endpoint.system_id);
    group.targets.push_back(target_for_endpoint(endpoint, groups == system_groups.end() ? no_groups : groups->second,
                                                network == networks.end() ? no_network : network->second,
                                                separator));
  }
  std::vector<model::TargetGroup> result;
  result.push_back(std::move(group));
  return result;
}

std::vector<int64_t> ids_of(const std::map<int64_t, std::vector<std::string>>& system_groups) {
  std::vector<int64_t> ids;
  for (const auto& entry : system_groups) {
    ids.push_back(entry.first);
  }
  return ids;
}

} // namespace

void Config::validate(yaml::Checker& c) const {
  // v2.45 does not validate the inline HTTP client here (fixed in 2.48).
  if (server.empty()) {
    c.error("Uyuni SD configuration requires server host");
    return;
  }
  model::Url parsed;
  if (std::string message = model::parse_url(server, parsed); !message.empty()) {
    c.error_at("server", "Uyuni Server URL is not valid: " + message);
    return;
  }
  if (username.empty()) {
    c.error("Uyuni SD configuration requires a username");
    return;
  }
  if (password.empty()) {
    c.error("Uyuni SD configuration requires a password");
    return;
  }
  check_refresh_interval(c, refresh_interval.ms);
}

std::unique_ptr<SdConfig> parse_config(yaml::Decoder& d, yaml::Node n) { return parse_config_of<Config>(d, n); }

std::string api_url(const std::string& server) {
  model::Url parsed;
  model::parse_url(server, parsed);
  std::string_view text = server;
  size_t path_begin = 0;
  if (size_t authority = text.find("://"); authority != std::string_view::npos && !parsed.scheme.empty()) {
    path_begin = std::min(text.size(), text.find_first_of("/?#", authority + 3));
  } else if (!parsed.opaque.empty()) {
    return server; // "host:port" parses as scheme and opaque; Go's String() ignores the path then
  }
  size_t path_end = std::min(text.size(), text.find_first_of("?#", path_begin));
  std::string_view path = text.substr(path_begin, path_end - path_begin);
  std::string joined = util::clean_path(path.empty() ? std::string(k_api_path) : std::string(path) + "/" + std::string(k_api_path));
  return std::string(text.substr(0, path_begin)) + joined + std::string(text.substr(path_end));
}

Result<std::vector<int64_t>> system_ids(std::string_view system_groups_answer) {
  Result<std::map<int64_t, std::vector<std::string>>> groups = decode_system_groups(system_groups_answer);
  if (!groups) {
    return fail(groups.error());
  }
  return ids_of(*groups);
}

Result<std::vector<model::TargetGroup>> groups_from_answers(const Answers& answers, std::string_view separator,
                                                            const std::string& source) {
  Result<std::map<int64_t, std::vector<std::string>>> groups = decode_system_groups(answers.system_groups);
  if (!groups) {
    return fail(groups.error());
  }
  Result<std::vector<Endpoint>> endpoints = decode_endpoints(answers.endpoints);
  if (!endpoints) {
    return fail(endpoints.error());
  }
  Result<std::map<int64_t, Network>> networks = decode_network(answers.network);
  if (!networks) {
    return fail(networks.error());
  }
  return make_groups(*groups, *endpoints, *networks, separator, source);
}

Discovery::Discovery(const Config& config, std::unique_ptr<net::HttpClient> client)
    : m_url(api_url(config.server)), m_username(config.username), m_password(config.password.value),
      m_entitlement(config.entitlement), m_separator(config.separator),
      m_timeout(std::max<int64_t>(config.refresh_interval.ms, 1)), m_client(std::move(client)) {}

Result<std::unique_ptr<Discovery>> Discovery::make(const Config& config) {
  Result<std::unique_ptr<net::HttpClient>> client = net::HttpClient::make(config.http_client);
  if (!client) {
    return fail(client.error());
  }
  return std::unique_ptr<Discovery>(new Discovery(config, std::move(*client)));
}

// One XML-RPC call; returns the answer body of a 2xx response.
Result<std::string> Discovery::call(std::string_view /*method*/, const std::string& body, std::stop_token stop) {
  net::HttpHeaders headers = {{"Content-Type", "text/xml"}, {"User-Agent", std::string(k_user_agent)}};
  Result<net::HttpResponse> response = m_client->post(m_url, headers, body, m_timeout, std::move(stop));
  if (!response) {
    return fail(response.error());
  }
  if (response->status < 200 || response->status >= 300) {
    return fail(fmt::format("request error: bad status code - {}", response->status));
  }
  return std::move(response->body);
}

Result<std::vector<model::TargetGroup>> Discovery::discover(std::stop_token stop) {
  using Clock = std::chrono::steady_clock;
  if (Clock::now() > m_token_expiry) {
    std::string request = xmlrpc::encode_call("auth.login", {m_username, m_password, k_token_seconds});
    Result<std::string> body = call("auth.login", request, stop);
    std::string token;
    if (body) {
      Result<xmlrpc::Answer> answer = xmlrpc::read_answer(*body);
      if (!answer) {
        body = fail(answer.error());
      } else if (Result<void> ok = xmlrpc::decode_string(*answer->value, token); !ok) {
        body = fail("reading body " + ok.error());
      }
    }
    if (!body) {
      return fail("unable to login to Uyuni API: " + body.error());
    }
    m_token = std::move(token);
    m_token_expiry = Clock::now() + k_relogin_after;
  }

  auto fail_and_relogin = [this](std::string message) {
    m_token_expiry = Clock::now() - Clock::duration(1); // log in again next time
    return fail(std::move(message));
  };
  Result<std::string> groups_body = call(
      "system.listSystemGroupsForSystemsWithEntitlement",
      xmlrpc::encode_call("system.listSystemGroupsForSystemsWithEntitlement", {m_token, m_entitlement}), stop);
  if (!groups_body) {
    return fail_and_relogin(fmt::format("{}: {}", k_groups_error, groups_body.error()));
  }
  Result<std::map<int64_t, std::vector<std::string>>> system_groups = decode_system_groups(*groups_body);
  if (!system_groups) {
    return fail_and_relogin(system_groups.error());
  }
  std::vector<int64_t> ids = ids_of(*system_groups);

  Result<std::string> endpoints_body = call(
      "system.monitoring.listEndpoints", xmlrpc::encode_call("system.monitoring.listEndpoints", {m_token, ids}), stop);
  if (!endpoints_body) {
    return fail_and_relogin(fmt::format("{}: {}", k_endpoints_error, endpoints_body.error()));
  }
  Result<std::vector<Endpoint>> endpoints = decode_endpoints(*endpoints_body);
  if (!endpoints) {
    return fail_and_relogin(endpoints.error());
  }

  Result<std::string> network_body = call(
      "system.getNetworkForSystems", xmlrpc::encode_call("system.getNetworkForSystems", {m_token, ids}), stop);
  if (!network_body) {
    return fail_and_relogin(fmt::format("{}: {}", k_network_error, network_body.error()));
  }
  Result<std::map<int64_t, Network>> networks = decode_network(*network_body);
  if (!networks) {
    return fail_and_relogin(networks.error());
  }
  return make_groups(*system_groups, *endpoints, *networks, m_separator, m_url);
}

Result<std::vector<model::TargetGroup>> Discovery::refresh(std::stop_token stop) {
  Result<std::vector<model::TargetGroup>> groups = discover(std::move(stop));
  if (!groups && !m_password.empty()) { // an answer may echo the login request
    std::string message = groups.error();
    for (size_t at = message.find(m_password); at != std::string::npos; at = message.find(m_password, at)) {
      message.replace(at, m_password.size(), "<secret>");
      at += 8;
    }
    return fail(std::move(message));
  }
  return groups;
}

Result<std::unique_ptr<Discoverer>> Config::make_discoverer(const DiscovererOptions& /*options*/) const {
  return make_refresh_discoverer<Discovery>(*this, refresh_interval.ms);
}

} // namespace sdscope::discovery::uyuni
