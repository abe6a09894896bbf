// kubernetes_sd discovery for one config block: the role's informers (one
// per namespace, kubernetes_informer.cpp) and the synced/failed bookkeeping
// behind Sink::report (spec/sd-platforms.md §1.3, §1.5). Roles ingress
// (and, in v2.45, endpointslice) first ask GET /version which API group
// version the server has.
#include "discovery/kubernetes_discovery.h"

#include <algorithm>
#include <cctype>
#include <mutex>
#include <thread>
#include <vector>

#include "discovery/kubernetes_informer.h"
#include "discovery/kubernetes_kubeconfig.h"
#include "discovery/kubernetes_roles.h"
#include "util/strings.h"

namespace sdscope::discovery::kubernetes {

namespace {

std::optional<model::TargetGroup> pod_fn(const nlohmann::json& o) { return pod_group(o); }
std::optional<model::TargetGroup> service_fn(const nlohmann::json& o) { return service_group(o); }
std::optional<model::TargetGroup> ingress_fn(const nlohmann::json& o) { return ingress_group(o); }

constexpr Resource k_resources[] = {
    {"pod", "/api/v1", "pods", "*v1.Pod", true, &pod_fn},
    {"service", "/api/v1", "services", "*v1.Service", true, &service_fn},
    {"node", "/api/v1", "nodes", "*v1.Node", false, &node_group},
    {"ingress", "/apis/networking.k8s.io/v1", "ingresses", "*v1.Ingress", true, &ingress_fn,
     "/apis/networking.k8s.io/v1beta1", 19},
};

// utilversion.ParseSemantic of gitVersion ("v1.26.2", pre-release and
// build suffixes allowed), then AtLeast(v1.<min_minor>.0).
Result<bool> at_least(const std::string& git_version, int min_minor) {
  std::string_view rest = git_version;
  if (util::starts_with(rest, "v")) {
    rest.remove_prefix(1);
  }
  long parts[3] = {0, 0, 0};
  for (int i = 0; i < 3; ++i) {
    size_t digits = 0;
    while (digits < rest.size() && std::isdigit(static_cast<unsigned char>(rest[digits])) != 0) {
      ++digits;
    }
    if (digits == 0 || (digits > 1 && rest[0] == '0') || digits > 9) {
      return fail("illegal version string " + util::go_quote(git_version));
    }
    parts[i] = std::stol(std::string(rest.substr(0, digits)));
    rest.remove_prefix(digits);
    if (i < 2) {
      if (rest.empty() || rest[0] != '.') {
        return fail("illegal version string " + util::go_quote(git_version));
      }
      rest.remove_prefix(1);
    }
  }
  if (!rest.empty() && rest[0] != '-' && rest[0] != '+') {
    return fail("illegal version string " + util::go_quote(git_version));
  }
  bool pre_release = !rest.empty() && rest[0] == '-';
  if (parts[0] != 1) {
    return parts[0] > 1;
  }
  if (parts[1] != min_minor) {
    return parts[1] > min_minor;
  }
  return parts[2] > 0 || !pre_release;
}

class Discovery : public Discoverer, public InformerEvents {
public:
  Discovery(const Resource& resource, Timing timing) : m_resource(resource), m_timing(timing) {}

  Result<void> add_informer(const Config& config, const std::string& base, const std::string& namespace_) {
    m_base = base;
    m_http_client = config.http_client;
    Result<std::unique_ptr<net::HttpClient>> client = net::HttpClient::make(config.http_client);
    if (!client) {
      return fail(client.error());
    }
    std::map<std::string, std::string> selectors;
    for (const SelectorConfig& selector : config.selectors) {
      if (selector.role.value == m_resource.role) {
        selectors = {{"fieldSelector", selector.field}, {"labelSelector", selector.label}};
      }
    }
    std::string url = base + std::string(m_resource.api_path) +
                      (namespace_.empty() ? "" : "/namespaces/" + namespace_) + "/" +
                      std::string(m_resource.collection);
    m_informers.push_back(std::make_unique<Informer>(*this, m_informers.size(), m_resource, std::move(url),
                                                     std::move(selectors), std::move(*client)));
    return {};
  }

  void run(std::stop_token stop, Sink& sink) override {
    {
      std::lock_guard lock(m_mutex);
      m_sink = &sink;
      m_synced.assign(m_informers.size(), false);
      m_failing.assign(m_informers.size(), false);
      m_reported_synced = false;
    }
    if (!m_resource.old_api_path.empty() && !probe_api_version(stop, sink)) {
      return;
    }
    {
      std::vector<std::jthread> threads;
      for (const std::unique_ptr<Informer>& informer : m_informers) {
        threads.emplace_back([&informer, this](std::stop_token s) { informer->run(s, m_timing); });
      }
      while (sleep_for(stop, std::chrono::hours(1))) {
      }
    } // the jthreads are stopped and joined here
  }

  // Asks GET /version which API group version to use, retrying every
  // probe_retry until it succeeds; false when stopped first.
  bool probe_api_version(std::stop_token stop, Sink& sink) {
    while (true) {
      Result<bool> current = server_at_least(stop);
      if (stop.stop_requested()) {
        return false;
      }
      if (current) {
        for (const std::unique_ptr<Informer>& informer : m_informers) {
          informer->use_api_path(m_resource.api_path, *current ? m_resource.api_path : m_resource.old_api_path);
        }
        return true;
      }
      sink.report("Failed to check networking.k8s.io/v1 availability: " + current.error());
      if (!sleep_for(stop, m_timing.probe_retry)) {
        return false;
      }
    }
  }

  Result<bool> server_at_least(std::stop_token stop) {
    Result<std::unique_ptr<net::HttpClient>> client = net::HttpClient::make(m_http_client);
    if (!client) {
      return fail(client.error());
    }
    Result<net::HttpResponse> response = (*client)->get(
        m_base + "/version", {{"Accept", std::string(k_accept)}, {"User-Agent", std::string(k_user_agent)}},
        std::chrono::milliseconds{0}, stop);
    if (!response) {
      return fail(response.error());
    }
    if (response->status != 200) {
      return fail(status_message(*response));
    }
    nlohmann::json body = nlohmann::json::parse(response->body, nullptr, false);
    if (!body.is_object() || !body.contains("gitVersion") || !body["gitVersion"].is_string()) {
      return fail("cannot decode the /version response");
    }
    return at_least(body["gitVersion"].get<std::string>(), m_resource.min_minor);
  }

  void send(std::vector<model::TargetGroup> groups) override {
    std::lock_guard lock(m_mutex);
    m_sink->update(std::move(groups));
  }

  // An informer's list went through.
  void listed(size_t index) override {
    std::lock_guard lock(m_mutex);
    bool was_failing = m_failing[index];
    m_synced[index] = true;
    m_failing[index] = false;
    bool all_synced = std::find(m_synced.begin(), m_synced.end(), false) == m_synced.end();
    bool none_failing = std::find(m_failing.begin(), m_failing.end(), true) == m_failing.end();
    if (all_synced && none_failing && (!m_reported_synced || was_failing)) {
      m_reported_synced = true;
      m_sink->report("");
    }
  }

  void failed(size_t index, std::string error) override {
    std::lock_guard lock(m_mutex);
    m_failing[index] = true;
    m_sink->report(std::move(error));
  }

private:
  const Resource& m_resource;
  Timing m_timing;
  std::string m_base;
  net::HttpClientConfig m_http_client;
  std::vector<std::unique_ptr<Informer>> m_informers;
  std::mutex m_mutex;
  Sink* m_sink = nullptr;
  std::vector<bool> m_synced, m_failing;
  bool m_reported_synced = false;
};

// The connection mode Prometheus picks in kubernetes.New: kubeconfig_file,
// else in-cluster unless api_server is set.
Result<Connection> connect(const Config& config, const InClusterEnvironment& in_cluster) {
  if (!config.kubeconfig_file.empty()) {
    return kubeconfig_connection(config.kubeconfig_file, in_cluster);
  }
  if (!config.api_server || config.api_server->empty()) {
    return in_cluster_connection(in_cluster);
  }
  return Connection{*config.api_server, config.http_client};
}

const Resource* find_resource(std::string_view role) {
  for (const Resource& resource : k_resources) {
    if (resource.role == role) {
      return &resource;
    }
  }
  return nullptr;
}

} // namespace

Result<std::unique_ptr<Discoverer>> make_discovery(const Config& config, const Timing& timing,
                                                   const InClusterEnvironment& in_cluster) {
  const Resource* resource = find_resource(config.role.value);
  if (resource == nullptr) {
    return fail("sdscope cannot run kubernetes discovery for role " + util::go_quote(config.role.value) + " yet");
  }
  if (config.attach_metadata.node && resource->role == "pod") {
    return fail("sdscope cannot run kubernetes discovery with attach_metadata.node yet");
  }
  Result<Connection> connection = connect(config, in_cluster);
  if (!connection) {
    return fail(connection.error());
  }
  std::vector<std::string> namespaces = config.namespaces.names;
  if (config.namespaces.own_namespace) {
    // Validation allows own_namespace only in-cluster.
    Result<std::string> own = read_own_namespace(in_cluster);
    if (!own) {
      return fail(own.error());
    }
    namespaces.push_back(std::move(*own));
  }
  if (namespaces.empty() || !resource->namespaced) {
    namespaces = {""};
  }
  const model::Url& server = connection->server;
  std::string base = server.scheme + "://" + server.host + server.path;
  while (!base.empty() && base.back() == '/') {
    base.pop_back();
  }
  // The informers read the HTTP client settings from the config.
  Config connected = config;
  connected.http_client = std::move(connection->http_client);
  auto discovery = std::make_unique<Discovery>(*resource, timing);
  for (const std::string& namespace_ : namespaces) {
    if (Result<void> added = discovery->add_informer(connected, base, namespace_); !added) {
      return fail(added.error());
    }
  }
  return std::unique_ptr<Discoverer>(std::move(discovery));
}

} // namespace sdscope::discovery::kubernetes
