// marathon_sd: tasks of the applications of a Marathon (Mesos) cluster
// (discovery/marathon/marathon.go in Prometheus v2.45; spec/sd-platforms.md
// §9).
//
// Each refresh is one GET <server>/v2/apps/?embed=apps.tasks to one of the
// servers, picked at random as v2.45 does (no failover: a down server fails
// that refresh and the next tick picks again). Auth is the usual HTTP client
// config, or auth_token / auth_token_file sent as "Authorization:
// token=<token>" (DC/OS's form); the file is re-read on every request. Any
// 2xx is accepted. The apps are mapped to one group per app id; apps gone
// since the last successful refresh are sent as empty groups. Marathon API:
// https://mesosphere.github.io/marathon/api-console/index.html
//
// v2.45 sets no request timeout, so a hung server stalls its discoverer for
// good; here a request gets the refresh interval, then fails and is retried
// at the next tick (targets are kept meanwhile, as on any failure).
#include "discovery/marathon.h"

#include <map>

#include <fmt/format.h>

#include "discovery/marathon_apps.h"
#include "util/os_file.h"
#include "util/strings.h"

namespace sdscope::discovery::marathon {

namespace {

constexpr std::string_view k_app_label = "__meta_marathon_app";
constexpr std::string_view k_image_label = "__meta_marathon_image";
constexpr std::string_view k_task_label = "__meta_marathon_task";
constexpr std::string_view k_port_index_label = "__meta_marathon_port_index";
constexpr std::string_view k_app_label_prefix = "__meta_marathon_app_label_";
constexpr std::string_view k_port_mapping_label_prefix = "__meta_marathon_port_mapping_label_";
constexpr std::string_view k_port_definition_label_prefix = "__meta_marathon_port_definition_label_";

void add_labels(model::Labels& labels, std::string_view prefix, const StringMap& map) {
  for (const auto& [name, value] : map) {
    labels.set(std::string(prefix) + util::sanitize_label_name(name), value);
  }
}

// The app's port list and each port's labels (targetsForApp in v2.45): port
// mappings (where a container network means the container port), else port
// definitions (their port only with requirePorts: otherwise it is the
// service port, not the one the task listens on). A 0 is taken from the task.
std::vector<model::Labels> targets_for_app(const App& app) {
  std::vector<uint32_t> ports;
  std::vector<const StringMap*> port_labels;
  std::string_view prefix;
  const std::vector<PortMapping>& mappings = !app.port_mappings.empty() ? app.port_mappings : app.docker_port_mappings;
  if (!mappings.empty()) {
    for (const PortMapping& pm : mappings) {
      ports.push_back(app.container_net() ? pm.container_port : pm.host_port);
      port_labels.push_back(&pm.labels);
    }
    prefix = k_port_mapping_label_prefix;
  } else if (!app.port_definitions.empty()) {
    for (const PortDefinition& pd : app.port_definitions) {
      ports.push_back(app.require_ports ? pd.port : 0);
      port_labels.push_back(&pd.labels);
    }
    prefix = k_port_definition_label_prefix;
  }

  std::vector<model::Labels> targets;
  for (const Task& task : app.tasks) {
    // Host networking: the first task with ports gives every later task's
    // list (Marathon keeps them equal across tasks), without labels.
    if (ports.empty() && !task.ports.empty()) {
      ports = task.ports;
    }
    bool use_ip = app.container_net() && !task.ip_addresses.empty();
    const std::string& host = use_ip ? task.ip_addresses[0] : task.host;
    for (size_t i = 0; i < ports.size(); ++i) {
      uint32_t port = ports[i];
      if (port == 0 && task.ports.size() == ports.size()) {
        port = task.ports[i];
      }
      model::Labels& target = targets.emplace_back();
      target.set("__address__", util::join_host_port(host, std::to_string(port)));
      target.set(k_task_label, task.id);
      target.set(k_port_index_label, std::to_string(i));
      if (!port_labels.empty()) {
        add_labels(target, prefix, *port_labels[i]);
      }
    }
  }
  return targets;
}

model::TargetGroup group_for_app(const App& app) {
  model::TargetGroup group;
  group.source = app.id;
  group.targets = targets_for_app(app);
  group.labels.set(k_app_label, app.id);
  group.labels.set(k_image_label, app.image);
  add_labels(group.labels, k_app_label_prefix, app.labels);
  return group;
}

} // namespace

void Config::validate(yaml::Checker& c) {
  if (servers.empty()) {
    c.error("marathon_sd: must contain at least one Marathon server");
    return;
  }
  bool token = !auth_token.empty() || !auth_token_file.empty();
  if (!auth_token.empty() && !auth_token_file.empty()) {
    c.error_at("auth_token_file", "marathon_sd: at most one of auth_token & auth_token_file must be configured");
    return;
  }
  if (http_client.basic_auth && token) {
    c.error_at("basic_auth", "marathon_sd: at most one of basic_auth, auth_token & auth_token_file must be configured");
    return;
  }
  if ((!http_client.bearer_token.empty() || !http_client.bearer_token_file.empty()) && token) {
    c.error("marathon_sd: at most one of bearer_token, bearer_token_file, auth_token & auth_token_file must be "
            "configured");
    return;
  }
  if (http_client.authorization && token) {
    c.error_at("authorization", "marathon_sd: at most one of auth_token, auth_token_file & authorization must be "
                                "configured");
    return;
  }
  if (!http_client.validate(c)) {
    return;
  }
  check_refresh_interval(c, refresh_interval.ms);
}

std::unique_ptr<SdConfig> parse_config(yaml::Decoder& d, yaml::Node n) { return parse_config_of<Config>(d, n); }

Result<std::vector<model::TargetGroup>> groups_from_apps(std::string_view body) {
  Result<std::vector<App>> apps = parse_apps(body);
  if (!apps) {
    return fail(apps.error());
  }
  std::vector<model::TargetGroup> groups;
  std::map<std::string, size_t> index; // v2.45 keys its groups by Source
  for (const App& app : *apps) {
    model::TargetGroup group = group_for_app(app);
    auto [at, added] = index.emplace(group.source, groups.size());
    if (added) {
      groups.push_back(std::move(group));
    } else {
      groups[at->second] = std::move(group);
    }
  }
  return groups;
}

Discovery::Discovery(const Config& config, std::unique_ptr<net::HttpClient> client)
    : m_servers(config.servers), m_token(config.auth_token.value), m_token_file(config.auth_token_file),
      m_timeout(std::max<int64_t>(config.refresh_interval.ms, 1)), m_client(std::move(client)),
      m_random(std::random_device{}()) {}

Result<std::unique_ptr<Discovery>> Discovery::make(const Config& config) {
  Result<std::unique_ptr<net::HttpClient>> client = net::HttpClient::make(config.http_client);
  if (!client) {
    return fail(client.error());
  }
  std::unique_ptr<Discovery> discovery(new Discovery(config, std::move(*client)));
  if (!discovery->m_token_file.empty()) {
    if (Result<std::string> token = discovery->authorization(); !token) { // fail fast, as v2.45 does
      return fail(token.error());
    }
  }
  return discovery;
}

// The Authorization header value, "" for none; the token file is read on
// every request so a rotated token takes effect.
Result<std::string> Discovery::authorization() const {
  if (!m_token.empty()) {
    return "token=" + m_token;
  }
  if (m_token_file.empty()) {
    return std::string();
  }
  Result<std::string> text = util::os_read_file(m_token_file);
  if (!text) {
    return fail(fmt::format("unable to read auth token file {}: {}", m_token_file, text.error()));
  }
  return "token=" + util::trim_space(*text);
}

Result<std::vector<model::TargetGroup>> Discovery::refresh(std::stop_token stop) {
  std::string url = m_servers[std::uniform_int_distribution<size_t>(0, m_servers.size() - 1)(m_random)] +
                    std::string(k_apps_path);
  Result<std::string> token = authorization();
  if (!token) { // v2.45 fails in the round tripper, so inside client.Do's wording
    return fail(fmt::format("Get {}: {}", util::go_quote(url), token.error()));
  }
  net::HttpHeaders headers;
  if (!token->empty()) {
    headers.emplace_back("Authorization", *token);
  }
  Result<net::HttpResponse> response = m_client->get(url, headers, m_timeout, std::move(stop));
  if (!response) {
    return fail(response.error());
  }
  if (response->status < 200 || response->status >= 300) {
    return fail(fmt::format("non 2xx status '{}' response during marathon service discovery", response->status));
  }
  Result<std::vector<model::TargetGroup>> groups = groups_from_apps(response->body);
  if (!groups) {
    return fail(fmt::format("{}: {}", util::go_quote(url), groups.error()));
  }
  std::set<std::string> sources;
  for (const model::TargetGroup& group : *groups) {
    sources.insert(group.source);
  }
  for (const std::string& source : m_last_sources) {
    if (!sources.contains(source)) {
      model::TargetGroup vanished;
      vanished.source = source;
      groups->push_back(std::move(vanished));
    }
  }
  m_last_sources = std::move(sources);
  return groups;
}

Result<std::unique_ptr<Discoverer>> Config::make_discoverer(const DiscovererOptions& /*options*/) const {
  return make_refresh_discoverer<Discovery>(*this, refresh_interval.ms);
}

} // namespace sdscope::discovery::marathon
