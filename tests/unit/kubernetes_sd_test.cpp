// kubernetes_sd: the per-role mappings, and the discoverer against a
// loopback fixture API server that serves LIST and a chunked WATCH.

#include <httplib.h> // CPPHTTPLIB_OPENSSL_SUPPORT comes from its pkg-config flags

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include "discovery/kubernetes.h"
#include "discovery/kubernetes_discovery.h"
#include "discovery/kubernetes_informer.h"
#include "discovery/kubernetes_roles.h"
#include "test_util.h"
#include "loopback_server.h"

using namespace sdscope;
using namespace std::chrono_literals;
namespace k8s = sdscope::discovery::kubernetes;
using nlohmann::json;

namespace {

model::Labels labels(std::initializer_list<model::Labels::Pair> pairs) { return model::Labels(pairs); }

// A fake API server on 127.0.0.1 for some collections ("pods", "services",
// "endpointslices", ...), each under its API path. Every change bumps the
// one resourceVersion and becomes a watch event of the object's collection
// (by its kind); a watch streams the events after its resourceVersion as
// they happen. Requests without the bearer token get 401.
using Collections = std::vector<std::pair<std::string, std::string>>;

class FakeApi {
public:
  explicit FakeApi(std::string collection, std::string api = "/api/v1")
      : FakeApi({{std::move(api), std::move(collection)}}) {}
  // (API path, collection) pairs; the first is where objects of an unknown
  // kind go.
  explicit FakeApi(const Collections& collections)
      : m_default(collections.at(0).second) {
    for (const auto& [api, collection] : collections) {
      m_objects[collection];
      std::string pattern = "/prefix" + api + R"((?:/namespaces/([^/]+))?/)" + collection;
      m_server.Get(pattern, [this, collection](const httplib::Request& req, httplib::Response& res) {
        serve(req, res, collection);
      });
    }
    m_server.Get("/prefix/version", [this](const httplib::Request& req, httplib::Response& res) {
      std::lock_guard lock(m_mutex);
      m_requests.push_back(req.target);
      res.set_content(json{{"major", "1"}, {"gitVersion", git_version}}.dump(), "application/json");
    });
    m_server.set_keep_alive_timeout(1);
    m_port = m_serving.start(m_server);
  }
  ~FakeApi() {
    {
      std::lock_guard lock(m_mutex);
      m_shutdown = true;
    }
    m_changed.notify_all();
    m_serving.stop();
  }

  std::string url() const { return "http://127.0.0.1:" + std::to_string(m_port) + "/prefix/"; }

  // Applies an ADDED, MODIFIED or DELETED change of object.
  void apply(const std::string& type, json object) {
    std::lock_guard lock(m_mutex);
    object["metadata"]["resourceVersion"] = std::to_string(++m_version);
    std::string collection = collection_of(object);
    std::string key = key_of(object);
    if (type == "DELETED") {
      m_objects[collection].erase(key);
    } else {
      m_objects[collection][key] = object;
    }
    m_events.push_back({m_version, collection, json{{"type", type}, {"object", object}}.dump()});
    m_changed.notify_all();
  }
  // Changes the store without any event, then ends open watches with a
  // 410 Expired ERROR event; later watches and resumed lists from an
  // older version get 410 too.
  void expire_with(const std::string& type, json object) {
    std::lock_guard lock(m_mutex);
    object["metadata"]["resourceVersion"] = std::to_string(++m_version);
    std::map<std::string, json>& objects = m_objects[collection_of(object)];
    if (type == "DELETED") {
      objects.erase(key_of(object));
    } else {
      objects[key_of(object)] = object;
    }
    m_compacted = m_version;
    m_changed.notify_all();
  }
  // Fails every request (of collection only, if given) with status; 0 ends it.
  void set_failing(int status, const std::string& collection = "") {
    std::lock_guard lock(m_mutex);
    m_failing = status;
    m_failing_collection = collection;
  }
  std::string git_version = "v1.26.2"; // set before discovery starts
  size_t page_size = 0;                 // > 0: lists are paged (limit/continue), as a real server may page them

  std::vector<std::string> requests() {
    std::lock_guard lock(m_mutex);
    return m_requests;
  }

private:
  struct Event {
    long long version;
    std::string collection;
    std::string line;
  };

  std::string collection_of(const json& object) const {
    static const std::map<std::string, std::string> k_collections = {
        {"Pod", "pods"},           {"Service", "services"},
        {"Node", "nodes"},         {"Endpoints", "endpoints"},
        {"Ingress", "ingresses"},  {"EndpointSlice", "endpointslices"}};
    auto it = k_collections.find(object.value("kind", ""));
    return it != k_collections.end() && m_objects.contains(it->second) ? it->second : m_default;
  }

  static std::string key_of(const json& object) {
    return object["metadata"].value("namespace", "") + "/" + object["metadata"].value("name", "");
  }

  void status(httplib::Response& res, int code, const std::string& reason, const std::string& message) {
    res.status = code;
    res.set_content(json{{"kind", "Status"}, {"apiVersion", "v1"}, {"metadata", json::object()},
                         {"status", "Failure"}, {"message", message}, {"reason", reason}, {"code", code}}
                        .dump(),
                    "application/json");
  }

  void serve(const httplib::Request& req, httplib::Response& res, const std::string& collection) {
    std::unique_lock lock(m_mutex);
    m_requests.push_back(req.target);
    if (req.get_header_value("Authorization") != "Bearer s3cret" ||
        req.get_header_value("Accept").find("json") == std::string::npos) {
      status(res, 401, "Unauthorized", "Unauthorized");
      return;
    }
    if (m_failing != 0 && (m_failing_collection.empty() || m_failing_collection == collection)) {
      status(res, m_failing, "InternalError", "fixture failure");
      return;
    }
    std::string namespace_ = req.matches[1];
    std::string version = req.get_param_value("resourceVersion");
    bool old = !version.empty() && version != "0" && std::stoll(version) < m_compacted;
    if (req.get_param_value("watch") != "true") {
      if (old) {
        status(res, 410, "Expired", "too old resource version: " + version);
        return;
      }
      json items = json::array();
      for (const auto& [key, object] : m_objects[collection]) {
        if (namespace_.empty() || object["metadata"].value("namespace", "") == namespace_) {
          items.push_back(object);
        }
      }
      json metadata = {{"resourceVersion", std::to_string(m_version)}};
      if (page_size > 0) { // the continue token is the offset of the next page
        size_t offset = req.has_param("continue") ? std::stoul(req.get_param_value("continue")) : 0;
        size_t total = items.size();
        size_t end = std::min(total, offset + page_size);
        items = json(std::vector<json>(items.begin() + static_cast<long>(offset), items.begin() + static_cast<long>(end)));
        if (end < total) {
          metadata["continue"] = std::to_string(end);
        }
      }
      res.set_content(json{{"kind", "List"}, {"apiVersion", "v1"}, {"metadata", metadata}, {"items", items}}.dump(),
                      "application/json");
      return;
    }
    long long from = std::stoll(version);
    long long compacted_at_start = m_compacted;
    res.set_chunked_content_provider("application/json", [this, from, namespace_, collection, compacted_at_start](
                                                              size_t, httplib::DataSink& sink) mutable {
      std::unique_lock inner(m_mutex);
      long long sent = from;
      while (!m_shutdown && sink.is_writable()) {
        if (from < m_compacted || m_compacted != compacted_at_start) {
          std::string line = json{{"type", "ERROR"},
                                  {"object",
                                   {{"kind", "Status"}, {"code", 410}, {"reason", "Expired"},
                                    {"message", "too old resource version"}}}}
                                 .dump() +
                             "\n";
          sink.write(line.data(), line.size());
          break;
        }
        for (const Event& e : m_events) {
          if (e.version > sent) {
            json event = json::parse(e.line);
            sent = e.version;
            if (e.collection != collection ||
                (!namespace_.empty() && event["object"]["metadata"].value("namespace", "") != namespace_)) {
              continue;
            }
            std::string text = e.line + "\n";
            sink.write(text.data(), text.size());
          }
        }
        m_changed.wait_for(inner, 20ms);
      }
      sink.done();
      return true;
    });
  }

  std::string m_default;
  httplib::Server m_server;
  test::LoopbackServer m_serving;
  int m_port = 0;
  std::mutex m_mutex;
  std::condition_variable m_changed;
  std::map<std::string, std::map<std::string, json>> m_objects; // by collection, then key
  std::vector<Event> m_events;
  long long m_version = 100;
  long long m_compacted = 0;
  int m_failing = 0;
  std::string m_failing_collection;
  bool m_shutdown = false;
  std::vector<std::string> m_requests;
};

// Keeps the latest group per Source and every report.
class Collector : public discovery::Sink {
public:
  using discovery::Sink::update;
  void update(std::vector<std::shared_ptr<const model::TargetGroup>> groups) override {
    std::lock_guard lock(m_mutex);
    for (auto& g : groups) {
      latest[g->source] = *g;
    }
    m_changed.notify_all();
  }
  void report(std::string error) override {
    std::lock_guard lock(m_mutex);
    reports.push_back(std::move(error));
    m_changed.notify_all();
  }
  template <class Pred> bool wait(Pred pred, std::chrono::milliseconds limit = 5s) {
    std::unique_lock lock(m_mutex);
    return m_changed.wait_for(lock, limit, pred);
  }
  // Latest addresses of source ("-" when the group is empty or unknown).
  std::vector<std::string> addresses(const std::string& source) {
    std::vector<std::string> out;
    auto it = latest.find(source);
    if (it == latest.end() || it->second.targets.empty()) {
      return {"-"};
    }
    for (const model::Labels& t : it->second.targets) {
      out.emplace_back(t.get("__address__"));
    }
    return out;
  }

  std::map<std::string, model::TargetGroup> latest;
  std::vector<std::string> reports;

private:
  std::mutex m_mutex;
  std::condition_variable m_changed;
};

json pod(const std::string& ns, const std::string& name, const std::string& ip, int port) {
  return {{"kind", "Pod"},
          {"apiVersion", "v1"},
          {"metadata", {{"name", name}, {"namespace", ns}, {"uid", "u-" + name}}},
          {"spec",
           {{"nodeName", "n1"},
            {"containers", {{{"name", "c"}, {"image", "img"}, {"ports", {{{"containerPort", port}, {"protocol", "TCP"}}}}}}}}},
          {"status", {{"phase", "Running"}, {"podIP", ip}}}};
}

// A store lookup over fixed objects.
k8s::ObjectLookup lookup(std::map<std::string, json> objects) {
  auto shared = std::make_shared<const std::map<std::string, json>>(std::move(objects));
  return [shared](const std::string& key) -> std::shared_ptr<const json> {
    auto it = shared->find(key);
    return it == shared->end() ? nullptr : std::make_shared<const json>(it->second);
  };
}

model::Labels merged(model::Labels base, const std::vector<model::Labels::Pair>& more) {
  for (const auto& [name, value] : more) {
    base.set(name, value);
  }
  return base;
}

json service_web() {
  return {{"kind", "Service"},
          {"apiVersion", "v1"},
          {"metadata", {{"name", "web"}, {"namespace", "ns1"}, {"labels", {{"tier", "front"}}}}},
          {"spec", {{"ports", {{{"port", 80}, {"protocol", "TCP"}}}}}}};
}

// Two regular containers declaring 8080, one also 9090, and an init
// container with a port.
json pod_web_1() {
  return json::parse(R"({"kind": "Pod", "apiVersion": "v1",
    "metadata": {"name": "web-1", "namespace": "ns1", "uid": "u1", "labels": {"app": "web"}},
    "spec": {"nodeName": "n1",
      "containers": [
        {"name": "c", "image": "img:1", "ports": [{"name": "http", "containerPort": 8080, "protocol": "TCP"},
                                                  {"name": "metrics", "containerPort": 9090, "protocol": "TCP"}]},
        {"name": "side", "image": "side:2", "ports": [{"name": "alt", "containerPort": 8080, "protocol": "UDP"}]}],
      "initContainers": [{"name": "init", "image": "init:3", "ports": [{"containerPort": 7000}]}]},
    "status": {"phase": "Running", "podIP": "10.0.0.5", "hostIP": "192.168.0.1",
      "conditions": [{"type": "Ready", "status": "True"}]}})");
}

// The pod-level labels of pod_web_1 on an endpoint target.
model::Labels web_1_labels() {
  return {{"__meta_kubernetes_pod_host_ip", "192.168.0.1"}, {"__meta_kubernetes_pod_ip", "10.0.0.5"},
          {"__meta_kubernetes_pod_label_app", "web"},       {"__meta_kubernetes_pod_labelpresent_app", "true"},
          {"__meta_kubernetes_pod_name", "web-1"},          {"__meta_kubernetes_pod_node_name", "n1"},
          {"__meta_kubernetes_pod_phase", "Running"},       {"__meta_kubernetes_pod_ready", "true"},
          {"__meta_kubernetes_pod_uid", "u1"}};
}

json node_n1(const std::string& zone) {
  return {{"kind", "Node"},
          {"apiVersion", "v1"},
          {"metadata", {{"name", "n1"}, {"labels", {{"zone", zone}}}, {"annotations", {{"note", "x"}}}}},
          {"status",
           {{"addresses", {{{"type", "InternalIP"}, {"address", "192.168.0.1"}}}},
            {"daemonEndpoints", {{"kubeletEndpoint", {{"Port", 10250}}}}}}}};
}

k8s::Config config_for(const FakeApi& api, const std::string& role) {
  k8s::Config config;
  model::Url url;
  REQUIRE(model::parse_url(api.url(), url) == "");
  config.api_server = url;
  config.role.value = role;
  config.http_client.bearer_token.value = "s3cret";
  return config;
}

// Runs a discoverer with short retry pauses on its own thread until destroyed.
struct Running : test::RunningDiscoverer {
  Running(const k8s::Config& config, Collector& sink)
      : RunningDiscoverer(k8s::make_discovery(config, k8s::Timing{20ms, 100ms, false, 50ms}), sink) {}
};

} // namespace

TEST_SUITE("discovery::kubernetes") {
  TEST_CASE("kubernetes sanitize_label_name and join_host_port") {
    CHECK(k8s::sanitize_label_name("app.kubernetes.io/name") == "app_kubernetes_io_name");
    CHECK(k8s::sanitize_label_name("é-x") == "__x");     // one '_' per code point
    CHECK(k8s::sanitize_label_name("a\xff" "b") == "a_b"); // an invalid byte is one '_'
    CHECK(k8s::join_host_port("10.0.0.1", "80") == "10.0.0.1:80");
    CHECK(k8s::join_host_port("fe80::1", "80") == "[fe80::1]:80");
  }

  TEST_CASE("kubernetes parse_watch_event: only an integer code 410 in an ERROR event means the version is gone") {
    auto gone = [](std::string_view code) {
      auto event = k8s::parse_watch_event(R"({"type":"ERROR","object":{"kind":"Status","code":)" + std::string(code) +
                                          "}}");
      REQUIRE(event);
      return event->gone;
    };
    CHECK(gone("410"));
    CHECK_FALSE(gone("500"));
    CHECK_FALSE(gone("410.5"));
    CHECK_FALSE(gone("3.3e25")); // found by the fuzzer: converting it to an int was undefined
    CHECK_FALSE(gone("\"410\""));
  }

  TEST_CASE("kubernetes pod_group: every label of a pod, containers then init containers") {
    json pod = json::parse(R"({
      "metadata": {"name": "web-1", "namespace": "ns1", "uid": "u1",
        "labels": {"app.kubernetes.io/name": "web", "empty": ""},
        "annotations": {"note": "x"},
        "ownerReferences": [{"kind": "Node", "name": "other"},
                            {"kind": "ReplicaSet", "name": "web-7d9", "controller": true}]},
      "spec": {"nodeName": "n1",
        "containers": [{"name": "c", "image": "img:1", "ports": [
            {"name": "http", "containerPort": 8080, "protocol": "TCP"},
            {"containerPort": 9090, "protocol": "UDP"}]},
          {"name": "side", "image": "side:2"}],
        "initContainers": [{"name": "init", "image": "init:3"}]},
      "status": {"phase": "Running", "podIP": "10.0.0.5", "hostIP": "192.168.0.1",
        "conditions": [{"type": "Ready", "status": "True"}],
        "containerStatuses": [{"name": "c", "containerID": "containerd://abc"}],
        "initContainerStatuses": [{"name": "init", "containerID": "containerd://def"}]}})");
    model::TargetGroup group = k8s::pod_group(pod);
    CHECK(group.source == "pod/ns1/web-1");
    CHECK(group.labels == labels({{"__meta_kubernetes_namespace", "ns1"},
                                  {"__meta_kubernetes_pod_annotation_note", "x"},
                                  {"__meta_kubernetes_pod_annotationpresent_note", "true"},
                                  {"__meta_kubernetes_pod_controller_kind", "ReplicaSet"},
                                  {"__meta_kubernetes_pod_controller_name", "web-7d9"},
                                  {"__meta_kubernetes_pod_host_ip", "192.168.0.1"},
                                  {"__meta_kubernetes_pod_ip", "10.0.0.5"},
                                  {"__meta_kubernetes_pod_label_app_kubernetes_io_name", "web"},
                                  {"__meta_kubernetes_pod_labelpresent_app_kubernetes_io_name", "true"},
                                  {"__meta_kubernetes_pod_labelpresent_empty", "true"},
                                  {"__meta_kubernetes_pod_name", "web-1"},
                                  {"__meta_kubernetes_pod_node_name", "n1"},
                                  {"__meta_kubernetes_pod_phase", "Running"},
                                  {"__meta_kubernetes_pod_ready", "true"},
                                  {"__meta_kubernetes_pod_uid", "u1"}}));
    REQUIRE(group.targets.size() == 4);
    CHECK(group.targets[0] == labels({{"__address__", "10.0.0.5:8080"},
                                      {"__meta_kubernetes_pod_container_id", "containerd://abc"},
                                      {"__meta_kubernetes_pod_container_image", "img:1"},
                                      {"__meta_kubernetes_pod_container_init", "false"},
                                      {"__meta_kubernetes_pod_container_name", "c"},
                                      {"__meta_kubernetes_pod_container_port_name", "http"},
                                      {"__meta_kubernetes_pod_container_port_number", "8080"},
                                      {"__meta_kubernetes_pod_container_port_protocol", "TCP"}}));
    CHECK(group.targets[1] == labels({{"__address__", "10.0.0.5:9090"},
                                      {"__meta_kubernetes_pod_container_id", "containerd://abc"},
                                      {"__meta_kubernetes_pod_container_image", "img:1"},
                                      {"__meta_kubernetes_pod_container_init", "false"},
                                      {"__meta_kubernetes_pod_container_name", "c"},
                                      {"__meta_kubernetes_pod_container_port_number", "9090"},
                                      {"__meta_kubernetes_pod_container_port_protocol", "UDP"}}));
    CHECK(group.targets[2] == labels({{"__address__", "10.0.0.5"},
                                      {"__meta_kubernetes_pod_container_image", "side:2"},
                                      {"__meta_kubernetes_pod_container_init", "false"},
                                      {"__meta_kubernetes_pod_container_name", "side"}}));
    CHECK(group.targets[3] == labels({{"__address__", "10.0.0.5"},
                                      {"__meta_kubernetes_pod_container_id", "containerd://def"},
                                      {"__meta_kubernetes_pod_container_image", "init:3"},
                                      {"__meta_kubernetes_pod_container_init", "true"},
                                      {"__meta_kubernetes_pod_container_name", "init"}}));

    // No Ready condition gives "unknown"; no pod IP gives an empty group.
    pod["status"].erase("conditions");
    CHECK(k8s::pod_group(pod).labels.get("__meta_kubernetes_pod_ready") == "unknown");
    pod["status"].erase("podIP");
    CHECK(k8s::pod_group(pod) == model::TargetGroup{{}, {}, "pod/ns1/web-1"});
  }

  TEST_CASE("kubernetes service_group: cluster IP, external name and load balancer services") {
    json service = json::parse(R"({
      "metadata": {"name": "web", "namespace": "ns1", "labels": {"a-b": "1"}, "annotations": {"c": "2"}},
      "spec": {"type": "LoadBalancer", "clusterIP": "10.1.0.1", "loadBalancerIP": "1.2.3.4",
        "externalName": "ignored",
        "ports": [{"name": "http", "port": 80, "protocol": "TCP"}, {"port": 53, "protocol": "UDP"}]}})");
    model::TargetGroup group = k8s::service_group(service);
    CHECK(group.source == "svc/ns1/web");
    CHECK(group.labels == labels({{"__meta_kubernetes_namespace", "ns1"},
                                  {"__meta_kubernetes_service_annotation_c", "2"},
                                  {"__meta_kubernetes_service_annotationpresent_c", "true"},
                                  {"__meta_kubernetes_service_label_a_b", "1"},
                                  {"__meta_kubernetes_service_labelpresent_a_b", "true"},
                                  {"__meta_kubernetes_service_name", "web"}}));
    REQUIRE(group.targets.size() == 2);
    CHECK(group.targets[0] == labels({{"__address__", "web.ns1.svc:80"},
                                      {"__meta_kubernetes_service_cluster_ip", "10.1.0.1"},
                                      {"__meta_kubernetes_service_loadbalancer_ip", "1.2.3.4"},
                                      {"__meta_kubernetes_service_port_name", "http"},
                                      {"__meta_kubernetes_service_port_number", "80"},
                                      {"__meta_kubernetes_service_port_protocol", "TCP"},
                                      {"__meta_kubernetes_service_type", "LoadBalancer"}}));
    CHECK(group.targets[1].get("__address__") == "web.ns1.svc:53");

    service["spec"]["type"] = "ExternalName";
    group = k8s::service_group(service);
    CHECK(group.targets[0] == labels({{"__address__", "web.ns1.svc:80"},
                                      {"__meta_kubernetes_service_external_name", "ignored"},
                                      {"__meta_kubernetes_service_port_name", "http"},
                                      {"__meta_kubernetes_service_port_number", "80"},
                                      {"__meta_kubernetes_service_port_protocol", "TCP"},
                                      {"__meta_kubernetes_service_type", "ExternalName"}}));
    service["spec"].erase("ports");
    CHECK(k8s::service_group(service).targets.empty());
  }

  TEST_CASE("kubernetes node_group: address preference, kubelet Port, no address means no group") {
    json node = json::parse(R"({
      "metadata": {"name": "n1", "labels": {"zone": "a"}, "annotations": {"x/y": "z"}},
      "spec": {"providerID": "aws:///eu-west-1a/i-1"},
      "status": {"addresses": [{"type": "Hostname", "address": "n1"},
                               {"type": "ExternalIP", "address": "1.2.3.4"},
                               {"type": "ExternalIP", "address": "1.2.3.5"}],
                 "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}}}})");
    std::optional<model::TargetGroup> group = k8s::node_group(node);
    REQUIRE(group);
    CHECK(group->source == "node/n1");
    CHECK(group->labels == labels({{"__meta_kubernetes_node_annotation_x_y", "z"},
                                   {"__meta_kubernetes_node_annotationpresent_x_y", "true"},
                                   {"__meta_kubernetes_node_label_zone", "a"},
                                   {"__meta_kubernetes_node_labelpresent_zone", "true"},
                                   {"__meta_kubernetes_node_name", "n1"},
                                   {"__meta_kubernetes_node_provider_id", "aws:///eu-west-1a/i-1"}}));
    REQUIRE(group->targets.size() == 1);
    CHECK(group->targets[0] == labels({{"__address__", "1.2.3.4:10250"},
                                       {"__meta_kubernetes_node_address_ExternalIP", "1.2.3.4"},
                                       {"__meta_kubernetes_node_address_Hostname", "n1"},
                                       {"instance", "n1"}}));

    node["status"]["addresses"].push_back({{"type", "InternalIP"}, {"address", "fe80::1"}});
    node["status"]["daemonEndpoints"]["kubeletEndpoint"] = {{"port", 10250}}; // lowercase: ignored
    CHECK(k8s::node_group(node)->targets[0].get("__address__") == "[fe80::1]:0");

    node["status"]["addresses"] = json::array();
    CHECK(!k8s::node_group(node));
  }

  TEST_CASE("kubernetes ingress_group: paths, TLS host patterns, class name") {
    json ingress = json::parse(R"({
      "metadata": {"name": "web", "namespace": "ns1", "labels": {"l": "1"}, "annotations": {"a": "2"}},
      "spec": {"ingressClassName": "nginx",
        "tls": [{"hosts": ["other.example.com"]}, {"hosts": ["*.example.com"]}],
        "rules": [
          {"host": "www.example.com", "http": {"paths": [{"path": "/api"}, {"path": ""}]}},
          {"host": "a.b.example.com"},
          {"host": "empty.example.com", "http": {"paths": []}},
          {"http": {"paths": [{"path": "/x"}]}}]}})");
    model::TargetGroup group = k8s::ingress_group(ingress);
    CHECK(group.source == "ingress/ns1/web");
    CHECK(group.labels == labels({{"__meta_kubernetes_ingress_annotation_a", "2"},
                                  {"__meta_kubernetes_ingress_annotationpresent_a", "true"},
                                  {"__meta_kubernetes_ingress_class_name", "nginx"},
                                  {"__meta_kubernetes_ingress_label_l", "1"},
                                  {"__meta_kubernetes_ingress_labelpresent_l", "true"},
                                  {"__meta_kubernetes_ingress_name", "web"},
                                  {"__meta_kubernetes_namespace", "ns1"}}));
    REQUIRE(group.targets.size() == 4);
    CHECK(group.targets[0] == labels({{"__address__", "www.example.com"},
                                      {"__meta_kubernetes_ingress_host", "www.example.com"},
                                      {"__meta_kubernetes_ingress_path", "/api"},
                                      {"__meta_kubernetes_ingress_scheme", "https"}}));
    CHECK(group.targets[1].get("__meta_kubernetes_ingress_path") == "/");
    // "*.example.com" needs as many labels as the host.
    CHECK(group.targets[2] == labels({{"__address__", "a.b.example.com"},
                                      {"__meta_kubernetes_ingress_host", "a.b.example.com"},
                                      {"__meta_kubernetes_ingress_path", "/"},
                                      {"__meta_kubernetes_ingress_scheme", "http"}}));
    CHECK(group.targets[3] == labels({{"__meta_kubernetes_ingress_path", "/x"},
                                      {"__meta_kubernetes_ingress_scheme", "http"}}));
  }

  TEST_CASE("kubernetes endpoints_group: service and pod metadata, container ports, extra targets") {
    json endpoints = json::parse(R"({
      "metadata": {"name": "web", "namespace": "ns1", "labels": {"app": "web"}, "annotations": {"not": "used"}},
      "subsets": [
        {"addresses": [{"ip": "10.0.0.5", "hostname": "h1", "nodeName": "n1",
                        "targetRef": {"kind": "Pod", "namespace": "ns1", "name": "web-1"}}],
         "notReadyAddresses": [{"ip": "10.0.0.6", "targetRef": {"kind": "Pod", "namespace": "ns1", "name": "gone"}}],
         "ports": [{"name": "http", "port": 8080, "protocol": "TCP"}]},
        {"addresses": [{"ip": "192.168.0.1", "targetRef": {"kind": "Node", "name": "n1"}}],
         "ports": [{"port": 10250, "protocol": "TCP"}]},
        {"addresses": [{"ip": "10.0.0.9"}]}]})");
    k8s::Joined joined{lookup({{"ns1/web", service_web()}}), lookup({{"ns1/web-1", pod_web_1()}}), {}};
    model::TargetGroup group = k8s::endpoints_group(endpoints, joined);
    CHECK(group.source == "endpoints/ns1/web");
    CHECK(group.labels == labels({{"__meta_kubernetes_endpoints_label_app", "web"},
                                  {"__meta_kubernetes_endpoints_labelpresent_app", "true"},
                                  {"__meta_kubernetes_endpoints_name", "web"},
                                  {"__meta_kubernetes_namespace", "ns1"},
                                  {"__meta_kubernetes_service_label_tier", "front"},
                                  {"__meta_kubernetes_service_labelpresent_tier", "true"},
                                  {"__meta_kubernetes_service_name", "web"}}));
    REQUIRE(group.targets.size() == 4);
    // Both containers declare 8080: the last one scanned wins, with the
    // endpoint port's protocol.
    CHECK(group.targets[0] == merged(web_1_labels(), {{"__address__", "10.0.0.5:8080"},
                                                      {"__meta_kubernetes_endpoint_address_target_kind", "Pod"},
                                                      {"__meta_kubernetes_endpoint_address_target_name", "web-1"},
                                                      {"__meta_kubernetes_endpoint_hostname", "h1"},
                                                      {"__meta_kubernetes_endpoint_node_name", "n1"},
                                                      {"__meta_kubernetes_endpoint_port_name", "http"},
                                                      {"__meta_kubernetes_endpoint_port_protocol", "TCP"},
                                                      {"__meta_kubernetes_endpoint_ready", "true"},
                                                      {"__meta_kubernetes_pod_container_image", "side:2"},
                                                      {"__meta_kubernetes_pod_container_name", "side"},
                                                      {"__meta_kubernetes_pod_container_port_name", "alt"},
                                                      {"__meta_kubernetes_pod_container_port_number", "8080"},
                                                      {"__meta_kubernetes_pod_container_port_protocol", "TCP"}}));
    // A not-ready address whose pod is not in the store.
    CHECK(group.targets[1] == labels({{"__address__", "10.0.0.6:8080"},
                                      {"__meta_kubernetes_endpoint_address_target_kind", "Pod"},
                                      {"__meta_kubernetes_endpoint_address_target_name", "gone"},
                                      {"__meta_kubernetes_endpoint_port_name", "http"},
                                      {"__meta_kubernetes_endpoint_port_protocol", "TCP"},
                                      {"__meta_kubernetes_endpoint_ready", "false"}}));
    CHECK(group.targets[2] == labels({{"__address__", "192.168.0.1:10250"},
                                      {"__meta_kubernetes_endpoint_address_target_kind", "Node"},
                                      {"__meta_kubernetes_endpoint_address_target_name", "n1"},
                                      {"__meta_kubernetes_endpoint_port_protocol", "TCP"},
                                      {"__meta_kubernetes_endpoint_ready", "true"}}));
    // The pod's regular-container port no endpoint port covered (the init
    // container's is not considered).
    CHECK(group.targets[3] == merged(web_1_labels(), {{"__address__", "10.0.0.5:9090"},
                                                      {"__meta_kubernetes_pod_container_image", "img:1"},
                                                      {"__meta_kubernetes_pod_container_name", "c"},
                                                      {"__meta_kubernetes_pod_container_port_name", "metrics"},
                                                      {"__meta_kubernetes_pod_container_port_number", "9090"},
                                                      {"__meta_kubernetes_pod_container_port_protocol", "TCP"}}));

    // attach_metadata.node: by nodeName, else by a Node targetRef.
    joined.nodes = lookup({{"n1", node_n1("a")}});
    group = k8s::endpoints_group(endpoints, joined);
    REQUIRE(group.targets.size() == 4);
    for (size_t i : {0, 2}) {
      CHECK(group.targets[i].get("__meta_kubernetes_node_name") == "n1");
      CHECK(group.targets[i].get("__meta_kubernetes_node_label_zone") == "a");
      CHECK(group.targets[i].get("__meta_kubernetes_node_labelpresent_zone") == "true");
      CHECK(!group.targets[i].has("__meta_kubernetes_node_annotation_note")); // v2.45: no node annotations
    }
    CHECK(!group.targets[1].has("__meta_kubernetes_node_name"));
    CHECK(k8s::endpoints_node_names(endpoints) == std::vector<std::string>{"n1", "n1"});

    // Without the service, and with the pod gone, only the endpoint labels.
    group = k8s::endpoints_group(endpoints, {});
    CHECK(group.labels.size() == 4);
    CHECK(group.targets.size() == 3);
    CHECK(!group.targets[0].has("__meta_kubernetes_pod_name"));
  }

  TEST_CASE("kubernetes endpointslice_group: conditions, topology, ports without numbers, v1 and v1beta1") {
    json slice = json::parse(R"({
      "metadata": {"name": "web-x1", "namespace": "ns1", "labels": {"kubernetes.io/service-name": "web"}},
      "addressType": "IPv4",
      "endpoints": [
        {"addresses": ["10.0.0.5"], "conditions": {"ready": true, "serving": true, "terminating": false},
         "hostname": "h1", "nodeName": "n1", "targetRef": {"kind": "Pod", "namespace": "ns1", "name": "web-1"},
         "deprecatedTopology": {"topology.kubernetes.io/zone": "z1"}, "topology": {"beta": "b"}},
        {"addresses": ["192.168.0.1"], "conditions": {"ready": false}, "targetRef": {"kind": "Node", "name": "n1"}}],
      "ports": [{"name": "http", "port": 8080, "protocol": "TCP", "appProtocol": "http"},
                {"name": "any", "protocol": "UDP"}]})");
    k8s::Joined joined{lookup({{"ns1/web", service_web()}}), lookup({{"ns1/web-1", pod_web_1()}}), {}};
    model::TargetGroup group = k8s::endpointslice_group(slice, joined, k8s::EndpointSliceApi::v1);
    CHECK(group.source == "endpointslice/ns1/web-x1");
    CHECK(group.labels == labels({{"__meta_kubernetes_endpointslice_address_type", "IPv4"},
                                  {"__meta_kubernetes_endpointslice_name", "web-x1"},
                                  {"__meta_kubernetes_namespace", "ns1"},
                                  {"__meta_kubernetes_service_label_tier", "front"},
                                  {"__meta_kubernetes_service_labelpresent_tier", "true"},
                                  {"__meta_kubernetes_service_name", "web"}}));
    REQUIRE(group.targets.size() == 5);
    model::Labels first_endpoint = {
        {"__meta_kubernetes_endpointslice_address_target_kind", "Pod"},
        {"__meta_kubernetes_endpointslice_address_target_name", "web-1"},
        {"__meta_kubernetes_endpointslice_endpoint_conditions_ready", "true"},
        {"__meta_kubernetes_endpointslice_endpoint_conditions_serving", "true"},
        {"__meta_kubernetes_endpointslice_endpoint_conditions_terminating", "false"},
        {"__meta_kubernetes_endpointslice_endpoint_hostname", "h1"},
        {"__meta_kubernetes_endpointslice_endpoint_topology_present_topology_kubernetes_io_zone", "true"},
        {"__meta_kubernetes_endpointslice_endpoint_topology_topology_kubernetes_io_zone", "z1"}};
    // The matching container port's own protocol, unlike role endpoints.
    CHECK(group.targets[0] == merged(merged(web_1_labels(), first_endpoint.pairs()),
                                     {{"__address__", "10.0.0.5:8080"},
                                      {"__meta_kubernetes_endpointslice_port", "8080"},
                                      {"__meta_kubernetes_endpointslice_port_app_protocol", "http"},
                                      {"__meta_kubernetes_endpointslice_port_name", "http"},
                                      {"__meta_kubernetes_endpointslice_port_protocol", "TCP"},
                                      {"__meta_kubernetes_pod_container_image", "side:2"},
                                      {"__meta_kubernetes_pod_container_name", "side"},
                                      {"__meta_kubernetes_pod_container_port_name", "alt"},
                                      {"__meta_kubernetes_pod_container_port_number", "8080"},
                                      {"__meta_kubernetes_pod_container_port_protocol", "UDP"}}));
    // A port without a number: the bare address, and no container match.
    CHECK(group.targets[1] == merged(merged(web_1_labels(), first_endpoint.pairs()),
                                     {{"__address__", "10.0.0.5"},
                                      {"__meta_kubernetes_endpointslice_port_name", "any"},
                                      {"__meta_kubernetes_endpointslice_port_protocol", "UDP"}}));
    CHECK(group.targets[2] == labels({{"__address__", "192.168.0.1:8080"},
                                      {"__meta_kubernetes_endpointslice_address_target_kind", "Node"},
                                      {"__meta_kubernetes_endpointslice_address_target_name", "n1"},
                                      {"__meta_kubernetes_endpointslice_endpoint_conditions_ready", "false"},
                                      {"__meta_kubernetes_endpointslice_port", "8080"},
                                      {"__meta_kubernetes_endpointslice_port_app_protocol", "http"},
                                      {"__meta_kubernetes_endpointslice_port_name", "http"},
                                      {"__meta_kubernetes_endpointslice_port_protocol", "TCP"}}));
    CHECK(group.targets[3].get("__address__") == "192.168.0.1");
    CHECK(group.targets[4] == merged(web_1_labels(), {{"__address__", "10.0.0.5:9090"},
                                                      {"__meta_kubernetes_pod_container_image", "img:1"},
                                                      {"__meta_kubernetes_pod_container_name", "c"},
                                                      {"__meta_kubernetes_pod_container_port_name", "metrics"},
                                                      {"__meta_kubernetes_pod_container_port_number", "9090"},
                                                      {"__meta_kubernetes_pod_container_port_protocol", "TCP"}}));

    // v1beta1 keeps the topology under "topology".
    group = k8s::endpointslice_group(slice, joined, k8s::EndpointSliceApi::v1beta1);
    CHECK(group.targets[0].get("__meta_kubernetes_endpointslice_endpoint_topology_beta") == "b");
    CHECK(!group.targets[0].has("__meta_kubernetes_endpointslice_endpoint_topology_topology_kubernetes_io_zone"));

    // attach_metadata.node: a Node targetRef, else nodeName.
    joined.nodes = lookup({{"n1", node_n1("a")}});
    group = k8s::endpointslice_group(slice, joined, k8s::EndpointSliceApi::v1);
    for (size_t i : {0, 1, 2, 3}) {
      CHECK(group.targets[i].get("__meta_kubernetes_node_label_zone") == "a");
    }
    CHECK(!group.targets[4].has("__meta_kubernetes_node_name"));
    CHECK(k8s::endpointslice_node_names(slice) == std::vector<std::string>{"n1", "n1"});
    CHECK(k8s::endpointslice_service_name(slice) == "web");

    // The service is looked up in the slice's namespace only.
    slice["metadata"]["namespace"] = "ns2";
    group = k8s::endpointslice_group(slice, joined, k8s::EndpointSliceApi::v1);
    CHECK(!group.labels.has("__meta_kubernetes_service_name"));
  }

  TEST_CASE("kubernetes pod_group: IPv6 pod addresses are bracketed; a host network pod is a pod like any") {
    json pod = pod_web_1();
    pod["status"]["podIP"] = "fd00::5";
    model::TargetGroup v6 = k8s::pod_group(pod);
    CHECK(v6.labels.get("__meta_kubernetes_pod_ip") == "fd00::5");
    REQUIRE(v6.targets.size() == 4);
    CHECK(v6.targets[0].get("__address__") == "[fd00::5]:8080");
    pod["spec"]["hostNetwork"] = true;
    pod["status"]["podIP"] = "192.168.0.1"; // the node's address, as for every host network pod
    model::TargetGroup host = k8s::pod_group(pod);
    CHECK(host.labels.get("__meta_kubernetes_pod_ip") == host.labels.get("__meta_kubernetes_pod_host_ip"));
    CHECK(host.targets[1].get("__address__") == "192.168.0.1:9090");
  }

  TEST_CASE("kubernetes pod_group with attach_metadata.node: node name and labels when the node is known") {
    k8s::ObjectLookup nodes = lookup({{"n1", node_n1("a")}});
    model::TargetGroup group = k8s::pod_group(pod_web_1(), nodes);
    CHECK(group.labels.get("__meta_kubernetes_node_name") == "n1");
    CHECK(group.labels.get("__meta_kubernetes_node_label_zone") == "a");
    CHECK(group.labels.get("__meta_kubernetes_node_labelpresent_zone") == "true");
    CHECK(!group.labels.has("__meta_kubernetes_node_annotation_note"));
    json elsewhere = pod_web_1();
    elsewhere["spec"]["nodeName"] = "n2";
    CHECK(k8s::pod_group(elsewhere, nodes) == k8s::pod_group(elsewhere));
  }

  TEST_CASE("kubernetes discoverer: ingress probes /version, then lists v1 or v1beta1") {
    json ingress = {{"kind", "Ingress"},
                    {"apiVersion", "networking.k8s.io/v1"},
                    {"metadata", {{"name", "web"}, {"namespace", "ns1"}}},
                    {"spec", {{"rules", {{{"host", "web.example.com"}}}}}}};
    {
      FakeApi api("ingresses", "/apis/networking.k8s.io/v1");
      api.git_version = "v1.19.0-rc.1+k3s1"; // a pre-release of 1.19 counts as 1.19
      api.apply("ADDED", ingress);
      Collector sink;
      Running running(config_for(api, "ingress"), sink);
      REQUIRE(sink.wait([&] { return !sink.reports.empty(); }));
      CHECK(sink.reports == std::vector<std::string>{""});
      CHECK(sink.addresses("ingress/ns1/web") == std::vector<std::string>{"web.example.com"});
      std::vector<std::string> requests = api.requests();
      REQUIRE(requests.size() >= 2);
      CHECK(requests[0] == "/prefix/version");
      CHECK(requests[1] == "/prefix/apis/networking.k8s.io/v1/ingresses?limit=500&resourceVersion=0");
    }
    {
      FakeApi api("ingresses", "/apis/networking.k8s.io/v1beta1");
      api.git_version = "v2.0.0"; // v2.45 compares major and minor each on its own: minor 0 < 19
      api.apply("ADDED", ingress);
      Collector sink;
      Running running(config_for(api, "ingress"), sink);
      REQUIRE(sink.wait([&] { return !sink.reports.empty(); }));
      CHECK(sink.reports == std::vector<std::string>{""});
      CHECK(sink.addresses("ingress/ns1/web") == std::vector<std::string>{"web.example.com"});
    }
    {
      FakeApi api("ingresses", "/apis/networking.k8s.io/v1");
      api.git_version = "1.26"; // not strict semver: retried, nothing discovered
      Collector sink;
      Running running(config_for(api, "ingress"), sink);
      REQUIRE(sink.wait([&] { return !sink.reports.empty(); }));
      CHECK(sink.reports[0] ==
            "Failed to check networking.k8s.io/v1 availability: illegal version string \"1.26\"");
      CHECK(sink.latest.empty());
    }
  }

  TEST_CASE("kubernetes make_discoverer: an unknown role and an unusable HTTP client are clear errors") {
    FakeApi api("pods");
    auto unknown = k8s::make_discovery(config_for(api, "daemonset"));
    REQUIRE(!unknown);
    CHECK(unknown.error() == "sdscope cannot run kubernetes discovery for role \"daemonset\" yet");
    k8s::Config config = config_for(api, "pod");
    config.http_client.tls_config.ca_file = "/nonexistent/ca.pem";
    auto d = config.make_discoverer({});
    REQUIRE(!d);
    CHECK(d.error().find("unable to load specified CA cert /nonexistent/ca.pem") == 0);
  }

  TEST_CASE("kubernetes discoverer: a paged list is followed through its continue tokens") {
    FakeApi api("pods");
    api.page_size = 2;
    for (int i = 1; i <= 5; ++i) {
      api.apply("ADDED", pod("ns1", "p" + std::to_string(i), "10.0.0." + std::to_string(i), 80));
    }
    Collector sink;
    auto d = config_for(api, "pod").make_discoverer({});
    REQUIRE_MESSAGE(d, (d ? "" : d.error()));
    std::jthread runner([&](std::stop_token stop) { (*d)->run(stop, sink); });
    REQUIRE(sink.wait([&] { return !sink.reports.empty(); }));
    for (int i = 1; i <= 5; ++i) {
      CHECK(sink.addresses("pod/ns1/p" + std::to_string(i)) ==
            std::vector<std::string>{"10.0.0." + std::to_string(i) + ":80"});
    }
    runner.request_stop();
    runner.join();
    std::vector<std::string> lists;
    for (const std::string& r : api.requests()) {
      if (r.find("watch=true") == std::string::npos) {
        lists.push_back(r);
      }
    }
    CHECK(lists == std::vector<std::string>{"/prefix/api/v1/pods?limit=500&resourceVersion=0",
                                            "/prefix/api/v1/pods?continue=2&limit=500",
                                            "/prefix/api/v1/pods?continue=4&limit=500"});
  }

  TEST_CASE("kubernetes discoverer: pods are listed, then followed through the watch") {
    FakeApi api("pods");
    api.apply("ADDED", pod("ns1", "a", "10.0.0.1", 80));
    api.apply("ADDED", pod("ns1", "b", "10.0.0.2", 80));
    k8s::Config config = config_for(api, "pod");
    config.selectors.push_back({{"pod"}, "app=web", "spec.nodeName=n1"});
    Collector sink;
    auto d = config.make_discoverer({});
    REQUIRE_MESSAGE(d, (d ? "" : d.error()));
    std::jthread runner([&](std::stop_token stop) { (*d)->run(stop, sink); });

    REQUIRE(sink.wait([&] { return !sink.reports.empty(); }));
    CHECK_MESSAGE(sink.reports == std::vector<std::string>{""}, sink.reports[0]);
    CHECK(sink.addresses("pod/ns1/a") == std::vector<std::string>{"10.0.0.1:80"});
    CHECK(sink.addresses("pod/ns1/b") == std::vector<std::string>{"10.0.0.2:80"});

    api.apply("ADDED", pod("ns1", "c", "10.0.0.3", 80));
    CHECK(sink.wait([&] { return sink.addresses("pod/ns1/c") == std::vector<std::string>{"10.0.0.3:80"}; }));
    api.apply("MODIFIED", pod("ns1", "a", "10.0.0.9", 81));
    CHECK(sink.wait([&] { return sink.addresses("pod/ns1/a") == std::vector<std::string>{"10.0.0.9:81"}; }));
    api.apply("DELETED", pod("ns1", "b", "10.0.0.2", 80));
    CHECK(sink.wait([&] { return sink.addresses("pod/ns1/b") == std::vector<std::string>{"-"}; }));
    CHECK(sink.latest["pod/ns1/b"] == model::TargetGroup{{}, {}, "pod/ns1/b"});

    auto start = std::chrono::steady_clock::now();
    runner.request_stop();
    runner.join();
    CHECK(std::chrono::steady_clock::now() - start < 1s);

    std::vector<std::string> requests = api.requests();
    REQUIRE(requests.size() >= 2);
    CHECK(requests[0] ==
          "/prefix/api/v1/pods?fieldSelector=spec.nodeName%3Dn1&labelSelector=app%3Dweb&limit=500&resourceVersion=0");
    CHECK(requests[1].starts_with("/prefix/api/v1/pods?allowWatchBookmarks=true&fieldSelector=spec.nodeName%3Dn1&"
                                  "labelSelector=app%3Dweb&resourceVersion=102&timeoutSeconds="));
    CHECK(requests[1].ends_with("&watch=true"));
    CHECK(sink.reports == std::vector<std::string>{""});
  }

  TEST_CASE("kubernetes discoverer: 410 Gone relists, and vanished objects are sent empty") {
    FakeApi api("services");
    json service = {{"kind", "Service"},
                    {"apiVersion", "v1"},
                    {"metadata", {{"name", "web"}, {"namespace", "ns1"}}},
                    {"spec", {{"ports", {{{"port", 80}, {"protocol", "TCP"}}}}}}};
    json other = service;
    other["metadata"]["name"] = "db";
    api.apply("ADDED", service);
    api.apply("ADDED", other);
    k8s::Config config = config_for(api, "service");
    config.namespaces.names = {"ns1"};
    Collector sink;
    Running running(config, sink);
    REQUIRE(sink.wait([&] { return !sink.reports.empty(); }));
    CHECK(sink.addresses("svc/ns1/web") == std::vector<std::string>{"web.ns1.svc:80"});
    CHECK(sink.addresses("svc/ns1/db") == std::vector<std::string>{"db.ns1.svc:80"});

    // The deletion is never sent as an event: only the relist shows it.
    api.expire_with("DELETED", other);
    CHECK(sink.wait([&] { return sink.addresses("svc/ns1/db") == std::vector<std::string>{"-"}; }));
    CHECK(sink.addresses("svc/ns1/web") == std::vector<std::string>{"web.ns1.svc:80"});
    CHECK(sink.reports == std::vector<std::string>{""}); // Gone is not an error

    std::vector<std::string> requests = api.requests();
    bool resumed = false, consistent = false;
    for (const std::string& r : requests) {
      CHECK(r.starts_with("/prefix/api/v1/namespaces/ns1/services?"));
      resumed = resumed || r == "/prefix/api/v1/namespaces/ns1/services?resourceVersion=102";
      consistent = consistent || r == "/prefix/api/v1/namespaces/ns1/services?limit=500";
    }
    CHECK(resumed);    // relist from the last version first...
    CHECK(consistent); // ...which is expired too, so a consistent list
  }

  TEST_CASE("kubernetes discoverer: list errors are reported and retried, keeping the last groups") {
    FakeApi api("nodes");
    json node = {{"kind", "Node"},
                 {"apiVersion", "v1"},
                 {"metadata", {{"name", "n1"}}},
                 {"status",
                  {{"addresses", {{{"type", "InternalIP"}, {"address", "192.168.0.1"}}}},
                   {"daemonEndpoints", {{"kubeletEndpoint", {{"Port", 10250}}}}}}}};
    api.set_failing(500);
    k8s::Config config = config_for(api, "node");
    config.namespaces.names = {"a", "b"}; // nodes are cluster-scoped: one informer
    Collector sink;
    Running running(config, sink);
    REQUIRE(sink.wait([&] { return !sink.reports.empty(); }));
    CHECK(sink.reports[0] == "failed to list *v1.Node: fixture failure");
    CHECK(sink.latest.empty());

    api.set_failing(0);
    api.apply("ADDED", node);
    REQUIRE(sink.wait([&] { return sink.reports.back().empty(); }));
    CHECK(sink.addresses("node/n1") == std::vector<std::string>{"192.168.0.1:10250"});
    CHECK(sink.latest["node/n1"].targets[0].get("instance") == "n1");

    // A watch failure leads to a relist; while it fails, the groups stay.
    api.set_failing(500);
    api.expire_with("MODIFIED", node);
    REQUIRE(sink.wait([&] { return !sink.reports.back().empty(); }));
    CHECK(sink.addresses("node/n1") == std::vector<std::string>{"192.168.0.1:10250"});
    api.set_failing(0);
    CHECK(sink.wait([&] { return sink.reports.back().empty(); }));
    for (const std::string& r : api.requests()) {
      CHECK(r.starts_with("/prefix/api/v1/nodes?"));
    }
    CHECK(running.stop() < 1s);
  }

  TEST_CASE("kubernetes discoverer: one informer per namespace; a missing token is a 401") {
    FakeApi api("pods");
    api.apply("ADDED", pod("ns1", "a", "10.0.0.1", 80));
    api.apply("ADDED", pod("ns2", "b", "10.0.0.2", 80));
    api.apply("ADDED", pod("ns3", "c", "10.0.0.3", 80));
    k8s::Config config = config_for(api, "pod");
    config.namespaces.names = {"ns1", "ns2"};
    Collector sink;
    {
      Running running(config, sink);
      REQUIRE(sink.wait([&] { return !sink.reports.empty(); }));
      CHECK(sink.reports == std::vector<std::string>{""});
      CHECK(sink.latest.size() == 2);
      CHECK(sink.addresses("pod/ns1/a") == std::vector<std::string>{"10.0.0.1:80"});
      CHECK(sink.addresses("pod/ns2/b") == std::vector<std::string>{"10.0.0.2:80"});
      api.apply("ADDED", pod("ns2", "d", "10.0.0.4", 80));
      api.apply("ADDED", pod("ns3", "e", "10.0.0.5", 80));
      CHECK(sink.wait([&] { return sink.latest.contains("pod/ns2/d"); }));
      CHECK(!sink.latest.contains("pod/ns3/e"));
    }

    config.http_client.bearer_token.value = "wrong";
    Collector denied;
    Running running(config, denied);
    REQUIRE(denied.wait([&] { return !denied.reports.empty(); }));
    CHECK(denied.reports[0] == "failed to list *v1.Pod: Unauthorized");
  }

  TEST_CASE("kubernetes discoverer: endpoints joins services and pods once all three are listed") {
    FakeApi api(Collections{{"/api/v1", "endpoints"}, {"/api/v1", "services"}, {"/api/v1", "pods"}});
    json endpoints = json::parse(R"({"kind": "Endpoints", "apiVersion": "v1",
      "metadata": {"name": "web", "namespace": "ns1"},
      "subsets": [{"addresses": [{"ip": "10.0.0.5", "targetRef": {"kind": "Pod", "namespace": "ns1", "name": "web-1"}}],
                   "ports": [{"name": "http", "port": 8080, "protocol": "TCP"}]}]})");
    api.apply("ADDED", endpoints);
    api.apply("ADDED", service_web());
    api.apply("ADDED", pod_web_1());
    api.set_failing(500, "pods"); // no group until the pods are listed too
    k8s::Config config = config_for(api, "endpoints");
    config.namespaces.names = {"ns1"};
    config.selectors.push_back({{"pod"}, "app=web", ""});
    Collector sink;
    Running running(config, sink);
    REQUIRE(sink.wait([&] { return !sink.reports.empty(); }));
    CHECK(sink.reports[0] == "failed to list *v1.Pod: fixture failure");
    std::this_thread::sleep_for(100ms);
    CHECK(sink.wait([&] { return sink.latest.empty(); }, 0ms));

    api.set_failing(0);
    REQUIRE(sink.wait([&] { return sink.reports.back().empty(); }));
    CHECK(sink.addresses("endpoints/ns1/web") == std::vector<std::string>{"10.0.0.5:8080", "10.0.0.5:9090"});
    model::TargetGroup group = sink.latest["endpoints/ns1/web"];
    CHECK(group.labels.get("__meta_kubernetes_service_label_tier") == "front");
    CHECK(group.targets[0].get("__meta_kubernetes_pod_name") == "web-1");
    CHECK(group.targets[0].get("__meta_kubernetes_pod_container_name") == "side");

    // A service change re-sends the endpoints group of the same name.
    json service = service_web();
    service["metadata"]["labels"]["tier"] = "back";
    api.apply("MODIFIED", service);
    CHECK(sink.wait([&] {
      return sink.latest["endpoints/ns1/web"].labels.get("__meta_kubernetes_service_label_tier") == "back";
    }));
    api.apply("DELETED", service);
    CHECK(sink.wait([&] { return !sink.latest["endpoints/ns1/web"].labels.has("__meta_kubernetes_service_name"); }));
    api.apply("DELETED", endpoints);
    CHECK(sink.wait([&] { return sink.addresses("endpoints/ns1/web") == std::vector<std::string>{"-"}; }));

    std::set<std::string> lists;
    for (const std::string& r : api.requests()) {
      if (r.find("watch=true") == std::string::npos) {
        lists.insert(r);
      }
    }
    CHECK(lists == std::set<std::string>{
                       "/prefix/api/v1/namespaces/ns1/endpoints?limit=500&resourceVersion=0",
                       "/prefix/api/v1/namespaces/ns1/pods?labelSelector=app%3Dweb&limit=500&resourceVersion=0",
                       "/prefix/api/v1/namespaces/ns1/services?limit=500&resourceVersion=0"});
  }

  TEST_CASE("kubernetes discoverer: endpointslice probes /version for discovery.k8s.io v1 or v1beta1") {
    json slice = json::parse(R"({"kind": "EndpointSlice", "apiVersion": "discovery.k8s.io/v1",
      "metadata": {"name": "web-x1", "namespace": "ns1", "labels": {"kubernetes.io/service-name": "web"}},
      "addressType": "IPv4",
      "endpoints": [{"addresses": ["10.0.0.7"], "conditions": {"ready": true},
                     "deprecatedTopology": {"zone": "v1"}, "topology": {"zone": "v1beta1"}}],
      "ports": [{"name": "http", "port": 8080, "protocol": "TCP"}]})");
    for (auto [git_version, api_path] : {std::pair{"v1.26.2", "/apis/discovery.k8s.io/v1"},
                                         std::pair{"v1.20.15", "/apis/discovery.k8s.io/v1beta1"}}) {
      CAPTURE(git_version);
      FakeApi api(Collections{{api_path, "endpointslices"}, {"/api/v1", "services"}, {"/api/v1", "pods"}});
      api.git_version = git_version;
      api.apply("ADDED", slice);
      Collector sink;
      Running running(config_for(api, "endpointslice"), sink);
      REQUIRE(sink.wait([&] { return !sink.reports.empty(); }));
      CHECK(sink.reports == std::vector<std::string>{""});
      CHECK(sink.addresses("endpointslice/ns1/web-x1") == std::vector<std::string>{"10.0.0.7:8080"});
      std::string_view version = std::string_view(api_path).substr(std::string_view(api_path).rfind('/') + 1);
      CHECK(sink.latest["endpointslice/ns1/web-x1"].targets[0].get(
                "__meta_kubernetes_endpointslice_endpoint_topology_zone") == version);
      std::vector<std::string> requests = api.requests();
      REQUIRE(!requests.empty());
      CHECK(requests[0] == "/prefix/version");
      CHECK(std::count(requests.begin(), requests.end(),
                       "/prefix" + std::string(api_path) + "/endpointslices?limit=500&resourceVersion=0") == 1);

      // A service event re-sends the slices labelled with its name.
      api.apply("ADDED", service_web());
      CHECK(sink.wait([&] {
        return sink.latest["endpointslice/ns1/web-x1"].labels.get("__meta_kubernetes_service_label_tier") == "front";
      }));

      // Errors name the Go type of the version in use.
      FakeApi failing(Collections{{api_path, "endpointslices"}, {"/api/v1", "services"}, {"/api/v1", "pods"}});
      failing.git_version = git_version;
      failing.set_failing(500, "endpointslices");
      Collector failed;
      Running failing_run(config_for(failing, "endpointslice"), failed);
      REQUIRE(failed.wait([&] { return !failed.reports.empty(); }));
      CHECK(failed.reports[0].find("failed to list *" + std::string(version) + ".EndpointSlice: ") == 0);
    }
  }

  TEST_CASE("kubernetes discoverer: attach_metadata.node lists nodes and re-sends on node changes") {
    SUBCASE("role pod: one node informer shared by the namespaces") {
      FakeApi api(Collections{{"/api/v1", "pods"}, {"/api/v1", "nodes"}});
      api.apply("ADDED", pod_web_1());
      api.apply("ADDED", node_n1("a"));
      k8s::Config config = config_for(api, "pod");
      config.attach_metadata.node = true;
      config.namespaces.names = {"ns1", "ns2"};
      Collector sink;
      Running running(config, sink);
      REQUIRE(sink.wait([&] { return !sink.reports.empty(); }));
      CHECK(sink.reports == std::vector<std::string>{""});
      CHECK(sink.latest["pod/ns1/web-1"].labels.get("__meta_kubernetes_node_label_zone") == "a");
      api.apply("MODIFIED", node_n1("b"));
      CHECK(sink.wait(
          [&] { return sink.latest["pod/ns1/web-1"].labels.get("__meta_kubernetes_node_label_zone") == "b"; }));
      std::vector<std::string> requests = api.requests();
      CHECK(std::count(requests.begin(), requests.end(), "/prefix/api/v1/nodes?limit=500&resourceVersion=0") == 1);
    }
    SUBCASE("role endpointslice: node labels on the targets of that node") {
      json slice = json::parse(R"({"kind": "EndpointSlice", "apiVersion": "discovery.k8s.io/v1",
        "metadata": {"name": "web-x1", "namespace": "ns1", "labels": {"kubernetes.io/service-name": "web"}},
        "addressType": "IPv4",
        "endpoints": [{"addresses": ["10.0.0.5"], "nodeName": "n1",
                       "targetRef": {"kind": "Pod", "namespace": "ns1", "name": "web-1"}}],
        "ports": [{"port": 8080, "protocol": "TCP"}]})");
      FakeApi api(Collections{{"/apis/discovery.k8s.io/v1", "endpointslices"},
                               {"/api/v1", "services"},
                               {"/api/v1", "pods"},
                               {"/api/v1", "nodes"}});
      api.apply("ADDED", slice);
      api.apply("ADDED", pod_web_1());
      api.apply("ADDED", node_n1("a"));
      k8s::Config config = config_for(api, "endpointslice");
      config.attach_metadata.node = true;
      Collector sink;
      Running running(config, sink);
      REQUIRE(sink.wait([&] { return !sink.reports.empty(); }));
      CHECK(sink.reports == std::vector<std::string>{""});
      model::TargetGroup group = sink.latest["endpointslice/ns1/web-x1"];
      REQUIRE(group.targets.size() == 2);
      CHECK(group.targets[0].get("__meta_kubernetes_node_label_zone") == "a");
      CHECK(!group.targets[1].has("__meta_kubernetes_node_name")); // the extra container-port target
      api.apply("MODIFIED", node_n1("b"));
      CHECK(sink.wait([&] {
        return sink.latest["endpointslice/ns1/web-x1"].targets[0].get("__meta_kubernetes_node_label_zone") == "b";
      }));
    }
  }
}
