// kubernetes_sd discovery for one config block: per namespace, the
// informers one Prometheus role-discoverer uses (kubernetes_informer.cpp),
// the queue of keys whose groups it rebuilds from their stores, and the
// synced/failed bookkeeping behind Sink::report (spec/sd-platforms.md
// §1.3, §1.5). Roles ingress and (in v2.45) endpointslice first ask
// GET /version which API group version the server has.
#include "discovery/kubernetes_discovery.h"

#include <algorithm>
#include <cctype>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include "discovery/kubernetes_informer.h"
#include "discovery/kubernetes_kubeconfig.h"
#include "discovery/kubernetes_roles.h"
#include "util/strings.h"

namespace sdscope::discovery::kubernetes {

namespace {

constexpr Resource k_pods{"pod", "/api/v1", "pods", "*v1.Pod", true};
constexpr Resource k_services{"service", "/api/v1", "services", "*v1.Service", true};
constexpr Resource k_nodes{"node", "/api/v1", "nodes", "*v1.Node", false};
constexpr Resource k_endpoints{"endpoints", "/api/v1", "endpoints", "*v1.Endpoints", true};
constexpr Resource k_endpoint_slices{"endpointslice", "/apis/discovery.k8s.io/v1", "endpointslices",
                                     "*v1.EndpointSlice", true, "/apis/discovery.k8s.io/v1beta1", 21};
constexpr Resource k_ingresses{"ingress", "/apis/networking.k8s.io/v1", "ingresses", "*v1.Ingress", true,
                               "/apis/networking.k8s.io/v1beta1", 19};

// One object of the role's own collection to its group (none: send nothing).
using BuildFn = std::optional<model::TargetGroup> (*)(const nlohmann::json&, const Joined&, EndpointSliceApi);
// The nodes an object is indexed under for attach_metadata.node.
using NodeIndexFn = std::vector<std::string> (*)(const nlohmann::json&);

// Which own objects a Service change re-queues.
enum class OnService {
  nothing,
  same_name,    // the one of the same namespace and name (endpoints)
  service_label // every one whose kubernetes.io/service-name is the service's name, any namespace (v2.45)
};

// What a role reads and how its groups are made and re-triggered.
struct RoleLayout {
  std::string_view name;
  const Resource& own;
  BuildFn build;
  bool joins_services_and_pods;
  NodeIndexFn node_index; // nullptr: attach_metadata.node does not apply
  OnService on_service;
};

constexpr RoleLayout k_roles[] = {
    {"pod", k_pods,
     [](const nlohmann::json& o, const Joined& j, EndpointSliceApi) -> std::optional<model::TargetGroup> {
       return pod_group(o, j.nodes);
     },
     false, &pod_node_names, OnService::nothing},
    {"service", k_services,
     [](const nlohmann::json& o, const Joined&, EndpointSliceApi) -> std::optional<model::TargetGroup> {
       return service_group(o);
     },
     false, nullptr, OnService::nothing},
    {"node", k_nodes,
     [](const nlohmann::json& o, const Joined&, EndpointSliceApi) { return node_group(o); }, false, nullptr,
     OnService::nothing},
    {"ingress", k_ingresses,
     [](const nlohmann::json& o, const Joined&, EndpointSliceApi) -> std::optional<model::TargetGroup> {
       return ingress_group(o);
     },
     false, nullptr, OnService::nothing},
    {"endpoints", k_endpoints,
     [](const nlohmann::json& o, const Joined& j, EndpointSliceApi) -> std::optional<model::TargetGroup> {
       return endpoints_group(o, j);
     },
     true, &endpoints_node_names, OnService::same_name},
    {"endpointslice", k_endpoint_slices,
     [](const nlohmann::json& o, const Joined& j, EndpointSliceApi api) -> std::optional<model::TargetGroup> {
       return endpointslice_group(o, j, api);
     },
     true, &endpointslice_node_names, OnService::service_label},
};

// How an informer's store relates to a role watch reading it.
enum class Relation { own, services, pods, nodes };

ObjectLookup lookup_in(const ObjectStore& store) {
  return [&store](const std::string& key) { return store.get(key); };
}

std::string name_of_key(const std::string& key) {
  size_t slash = key.find('/');
  return slash == std::string::npos ? key : key.substr(slash + 1);
}

// One Prometheus role-discoverer (one per namespace): the stores it reads
// and a de-duplicating FIFO queue of own keys to rebuild, which waits until
// every informer it uses has listed.
class RoleWatch {
public:
  RoleWatch(const RoleLayout& role, const ObjectStore& own) : m_role(role), m_own(own) {}

  void join(size_t informer, Relation relation, const ObjectStore& store) {
    m_unlisted.insert(informer);
    if (relation == Relation::services) {
      m_joined.services = lookup_in(store);
    } else if (relation == Relation::pods) {
      m_joined.pods = lookup_in(store);
    } else if (relation == Relation::nodes) {
      m_joined.nodes = lookup_in(store);
    }
  }
  void use_api(EndpointSliceApi api) { m_api = api; }

  // The own keys to rebuild when keys of a store of that relation changed.
  std::vector<std::string> affected(Relation relation, const std::vector<std::string>& keys) const {
    if (relation == Relation::own) {
      return keys;
    }
    std::vector<std::string> own;
    for (const std::string& key : keys) {
      std::vector<std::string> more;
      if (relation == Relation::services) {
        more = on_service(key);
      } else if (relation == Relation::nodes && m_role.node_index != nullptr) {
        more = m_own.keys_where([&](const nlohmann::json& object) {
          std::vector<std::string> nodes = m_role.node_index(object);
          return std::find(nodes.begin(), nodes.end(), key) != nodes.end();
        });
      } // pod changes re-queue nothing in v2.45
      own.insert(own.end(), more.begin(), more.end());
    }
    return own;
  }

  void enqueue(const std::vector<std::string>& keys) {
    for (const std::string& key : keys) {
      if (m_queued.insert(key).second) {
        m_queue.push_back(key);
      }
    }
  }

  void mark_listed(size_t informer) { m_unlisted.erase(informer); }

  // The groups of the queued keys once every informer has listed (the
  // queue then empties), else none.
  std::vector<model::TargetGroup> take_groups() {
    std::vector<model::TargetGroup> groups;
    if (!m_unlisted.empty()) {
      return groups;
    }
    for (const std::string& key : m_queue) {
      if (std::optional<model::TargetGroup> group = group_of(key)) {
        groups.push_back(std::move(*group));
      }
    }
    m_queue.clear();
    m_queued.clear();
    return groups;
  }

private:
  std::vector<std::string> on_service(const std::string& service_key) const {
    switch (m_role.on_service) {
    case OnService::same_name:
      if (m_own.get(service_key)) {
        return {service_key};
      }
      return {};
    case OnService::service_label: {
      std::string name = name_of_key(service_key);
      return m_own.keys_where(
          [&](const nlohmann::json& slice) { return endpointslice_service_name(slice) == name; });
    }
    case OnService::nothing:
      break;
    }
    return {};
  }

  // A deleted object's group has only its Source.
  std::optional<model::TargetGroup> group_of(const std::string& key) const {
    if (std::shared_ptr<const nlohmann::json> object = m_own.get(key)) {
      return m_role.build(*object, m_joined, m_api);
    }
    size_t slash = key.find('/');
    model::TargetGroup gone;
    gone.source = object_source(m_role.name, slash == std::string::npos ? "" : key.substr(0, slash), name_of_key(key));
    return gone;
  }

  const RoleLayout& m_role;
  const ObjectStore& m_own;
  Joined m_joined;
  EndpointSliceApi m_api = EndpointSliceApi::v1;
  std::set<size_t> m_unlisted;
  std::vector<std::string> m_queue;
  std::set<std::string> m_queued;
};

// utilversion.ParseSemantic of gitVersion ("v1.26.2", pre-release and
// build suffixes allowed), then v2.45's test: major >= 1 and minor >=
// min_minor, each on its own (so v2.0.0 is "older" than v1.19.0).
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
  return parts[0] >= 1 && parts[1] >= min_minor;
}

class Discovery : public Discoverer, public InformerEvents {
public:
  Discovery(const RoleLayout& role, Timing timing) : m_role(role), m_timing(timing) {}

  // An informer of resource in namespace_ ("" for all or cluster-scoped);
  // returns its index.
  Result<size_t> add_informer(const Config& config, const std::string& base, const Resource& resource,
                              const std::string& namespace_) {
    m_base = base;
    m_http_client = config.http_client;
    Result<std::unique_ptr<net::HttpClient>> client = net::HttpClient::make(config.http_client);
    if (!client) {
      return fail(client.error());
    }
    std::map<std::string, std::string> selectors;
    for (const SelectorConfig& selector : config.selectors) {
      if (selector.role.value == resource.kind) {
        selectors = {{"fieldSelector", selector.field}, {"labelSelector", selector.label}};
      }
    }
    std::string url = base + std::string(resource.api_path) +
                      (namespace_.empty() ? "" : "/namespaces/" + namespace_) + "/" + std::string(resource.collection);
    m_informers.push_back(std::make_unique<Informer>(*this, m_informers.size(), resource, std::move(url),
                                                     std::move(selectors), std::move(*client)));
    m_routes.emplace_back();
    return m_informers.size() - 1;
  }

  // A role-discoverer whose own objects come from informer own.
  RoleWatch& add_role_watch(size_t own) {
    m_watches.push_back(std::make_unique<RoleWatch>(m_role, m_informers[own]->store()));
    RoleWatch& watch = *m_watches.back();
    join(watch, own, Relation::own);
    return watch;
  }

  void join(RoleWatch& watch, size_t informer, Relation relation) {
    watch.join(informer, relation, m_informers[informer]->store());
    m_routes[informer].push_back({&watch, relation});
  }

  void run(std::stop_token stop, Sink& sink) override {
    {
      std::lock_guard lock(m_mutex);
      m_sink = &sink;
      m_synced.assign(m_informers.size(), false);
      m_failing.assign(m_informers.size(), false);
      m_reported_synced = false;
    }
    if (!m_role.own.old_api_path.empty() && !probe_api_version(stop, sink)) {
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
    const Resource& own = m_role.own;
    while (true) {
      Result<bool> current = server_at_least(stop);
      if (stop.stop_requested()) {
        return false;
      }
      if (current) {
        for (const std::unique_ptr<Informer>& informer : m_informers) {
          informer->use_api_path(own.api_path, *current ? own.api_path : own.old_api_path);
        }
        for (const std::unique_ptr<RoleWatch>& watch : m_watches) {
          watch->use_api(*current ? EndpointSliceApi::v1 : EndpointSliceApi::v1beta1);
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
        m_timing.list_timeout, stop);
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
    return at_least(body["gitVersion"].get<std::string>(), m_role.own.min_minor);
  }

  void changed(size_t index, std::vector<std::string> keys) override {
    std::lock_guard lock(m_mutex);
    route(index, keys, false);
  }

  // An informer's list went through.
  void listed(size_t index, std::vector<std::string> keys) override {
    std::lock_guard lock(m_mutex);
    route(index, keys, true);
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
  struct Route {
    RoleWatch* watch;
    Relation relation;
  };

  // Queues what changed keys of informer index affect in every role watch
  // reading it, and sends the groups of those watches that have listed.
  void route(size_t index, const std::vector<std::string>& keys, bool listed) {
    for (const Route& route : m_routes[index]) {
      route.watch->enqueue(route.watch->affected(route.relation, keys));
      if (listed) {
        route.watch->mark_listed(index);
      }
      if (std::vector<model::TargetGroup> groups = route.watch->take_groups(); !groups.empty()) {
        m_sink->update(std::move(groups));
      }
    }
  }

  const RoleLayout& m_role;
  Timing m_timing;
  std::string m_base;
  net::HttpClientConfig m_http_client;
  std::vector<std::unique_ptr<Informer>> m_informers;
  std::vector<std::unique_ptr<RoleWatch>> m_watches;
  std::vector<std::vector<Route>> m_routes; // by informer index
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

const RoleLayout* find_role(std::string_view name) {
  for (const RoleLayout& role : k_roles) {
    if (role.name == name) {
      return &role;
    }
  }
  return nullptr;
}

// The informers and role watches of Prometheus' Discovery.Run for role
// (spec/sd-platforms.md §1.3): per namespace the role's own collection,
// plus services and pods for the endpoints roles; with
// attach_metadata.node also nodes, one informer shared by all namespaces
// for role pod, one per namespace for the endpoints roles.
Result<void> add_role_watches(Discovery& discovery, const RoleLayout& role, const Config& config,
                              const std::string& base, std::vector<std::string> namespaces) {
  if (namespaces.empty() || !role.own.namespaced) {
    namespaces = {""};
  }
  bool attach_nodes = config.attach_metadata.node && role.node_index != nullptr;
  std::optional<size_t> shared_nodes;
  if (attach_nodes && !role.joins_services_and_pods) {
    Result<size_t> nodes = discovery.add_informer(config, base, k_nodes, "");
    if (!nodes) {
      return fail(nodes.error());
    }
    shared_nodes = *nodes;
  }
  for (const std::string& namespace_ : namespaces) {
    std::vector<std::pair<const Resource*, Relation>> layout = {{&role.own, Relation::own}};
    if (role.joins_services_and_pods) {
      layout.emplace_back(&k_services, Relation::services);
      layout.emplace_back(&k_pods, Relation::pods);
      if (attach_nodes) {
        layout.emplace_back(&k_nodes, Relation::nodes);
      }
    }
    RoleWatch* watch = nullptr;
    for (const auto& [resource, relation] : layout) {
      Result<size_t> index = discovery.add_informer(config, base, *resource, resource->namespaced ? namespace_ : "");
      if (!index) {
        return fail(index.error());
      }
      if (relation == Relation::own) {
        watch = &discovery.add_role_watch(*index);
      } else {
        discovery.join(*watch, *index, relation);
      }
    }
    if (shared_nodes) {
      discovery.join(*watch, *shared_nodes, Relation::nodes);
    }
  }
  return {};
}

} // namespace

Result<std::unique_ptr<Discoverer>> make_discovery(const Config& config, const Timing& timing,
                                                   const InClusterEnvironment& in_cluster) {
  const RoleLayout* role = find_role(config.role.value);
  if (role == nullptr) {
    return fail("sdscope cannot run kubernetes discovery for role " + util::go_quote(config.role.value) + " yet");
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
  const model::Url& server = connection->server;
  std::string base = server.scheme + "://" + server.host + server.path;
  while (!base.empty() && base.back() == '/') {
    base.pop_back();
  }
  // The informers read the HTTP client settings from the config.
  Config connected = config;
  connected.http_client = std::move(connection->http_client);
  auto discovery = std::make_unique<Discovery>(*role, timing);
  if (Result<void> added = add_role_watches(*discovery, *role, connected, base, std::move(namespaces)); !added) {
    return fail(added.error());
  }
  return std::unique_ptr<Discoverer>(std::move(discovery));
}

} // namespace sdscope::discovery::kubernetes
