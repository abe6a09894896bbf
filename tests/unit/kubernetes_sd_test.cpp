// kubernetes_sd: the per-role mappings, and the discoverer against a
// loopback fixture API server that serves LIST and a chunked WATCH.

#include <httplib.h> // CPPHTTPLIB_OPENSSL_SUPPORT comes from its pkg-config flags

#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <thread>

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include "discovery/kubernetes.h"
#include "discovery/kubernetes_discovery.h"
#include "discovery/kubernetes_roles.h"

using namespace sdscope;
using namespace std::chrono_literals;
namespace k8s = sdscope::discovery::kubernetes;
using nlohmann::json;

namespace {

model::Labels labels(std::initializer_list<model::Labels::Pair> pairs) { return model::Labels(pairs); }

// A fake API server on 127.0.0.1 for one collection ("pods", "services" or
// "nodes"). Every change bumps the resourceVersion and becomes a watch
// event; a watch streams the events after its resourceVersion as they
// happen. Requests without the bearer token get 401.
class FakeApi {
public:
  explicit FakeApi(std::string collection, std::string api = "/api/v1") : m_collection(std::move(collection)) {
    std::string pattern = "/prefix" + api + R"((?:/namespaces/([^/]+))?/)" + m_collection;
    m_server.Get(pattern, [this](const httplib::Request& req, httplib::Response& res) { serve(req, res); });
    m_server.Get("/prefix/version", [this](const httplib::Request& req, httplib::Response& res) {
      std::lock_guard lock(m_mutex);
      m_requests.push_back(req.target);
      res.set_content(json{{"major", "1"}, {"gitVersion", git_version}}.dump(), "application/json");
    });
    m_server.set_keep_alive_timeout(1);
    m_port = m_server.bind_to_any_port("127.0.0.1");
    REQUIRE(m_port > 0);
    m_thread = std::thread([this] { m_server.listen_after_bind(); });
    while (!m_server.is_running()) {
      std::this_thread::sleep_for(1ms);
    }
  }
  ~FakeApi() {
    {
      std::lock_guard lock(m_mutex);
      m_shutdown = true;
    }
    m_changed.notify_all();
    m_server.stop();
    m_thread.join();
  }

  std::string url() const { return "http://127.0.0.1:" + std::to_string(m_port) + "/prefix/"; }

  // Applies an ADDED, MODIFIED or DELETED change of object.
  void apply(const std::string& type, json object) {
    std::lock_guard lock(m_mutex);
    object["metadata"]["resourceVersion"] = std::to_string(++m_version);
    std::string key = key_of(object);
    if (type == "DELETED") {
      m_objects.erase(key);
    } else {
      m_objects[key] = object;
    }
    m_events.emplace_back(m_version, json{{"type", type}, {"object", object}}.dump());
    m_changed.notify_all();
  }
  // Changes the store without any event, then ends open watches with a
  // 410 Expired ERROR event; later watches and resumed lists from an
  // older version get 410 too.
  void expire_with(const std::string& type, json object) {
    std::lock_guard lock(m_mutex);
    object["metadata"]["resourceVersion"] = std::to_string(++m_version);
    if (type == "DELETED") {
      m_objects.erase(key_of(object));
    } else {
      m_objects[key_of(object)] = object;
    }
    m_compacted = m_version;
    m_changed.notify_all();
  }
  void set_failing(int status) {
    std::lock_guard lock(m_mutex);
    m_failing = status;
  }
  std::string git_version = "v1.26.2"; // set before discovery starts

  std::vector<std::string> requests() {
    std::lock_guard lock(m_mutex);
    return m_requests;
  }

private:
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

  void serve(const httplib::Request& req, httplib::Response& res) {
    std::unique_lock lock(m_mutex);
    m_requests.push_back(req.target);
    if (req.get_header_value("Authorization") != "Bearer s3cret" ||
        req.get_header_value("Accept").find("json") == std::string::npos) {
      status(res, 401, "Unauthorized", "Unauthorized");
      return;
    }
    if (m_failing != 0) {
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
      for (const auto& [key, object] : m_objects) {
        if (namespace_.empty() || object["metadata"].value("namespace", "") == namespace_) {
          items.push_back(object);
        }
      }
      res.set_content(json{{"kind", "List"}, {"apiVersion", "v1"},
                           {"metadata", {{"resourceVersion", std::to_string(m_version)}}}, {"items", items}}
                          .dump(),
                      "application/json");
      return;
    }
    long long from = std::stoll(version);
    long long compacted_at_start = m_compacted;
    res.set_chunked_content_provider("application/json", [this, from, namespace_, compacted_at_start](
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
        for (const auto& [event_version, line] : m_events) {
          if (event_version > sent) {
            json event = json::parse(line);
            sent = event_version;
            if (!namespace_.empty() && event["object"]["metadata"].value("namespace", "") != namespace_) {
              continue;
            }
            std::string text = line + "\n";
            sink.write(text.data(), text.size());
          }
        }
        m_changed.wait_for(inner, 20ms);
      }
      sink.done();
      return true;
    });
  }

  std::string m_collection;
  httplib::Server m_server;
  int m_port = 0;
  std::thread m_thread;
  std::mutex m_mutex;
  std::condition_variable m_changed;
  std::map<std::string, json> m_objects;
  std::vector<std::pair<long long, std::string>> m_events;
  long long m_version = 100;
  long long m_compacted = 0;
  int m_failing = 0;
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

k8s::Config config_for(const FakeApi& api, const std::string& role) {
  k8s::Config config;
  model::Url url;
  REQUIRE(model::parse_url(api.url(), url) == "");
  config.api_server = url;
  config.role.value = role;
  config.http_client.bearer_token.value = "s3cret";
  return config;
}

// Runs a discoverer on its own thread until destroyed.
class Running {
public:
  Running(const k8s::Config& config, Collector& sink) {
    auto d = k8s::make_discovery(config, k8s::Timing{20ms, 100ms, false, 50ms});
    REQUIRE_MESSAGE(d, (d ? "" : d.error()));
    m_discoverer = std::move(*d);
    m_thread = std::jthread([this, &sink](std::stop_token stop) { m_discoverer->run(stop, sink); });
  }
  ~Running() { stop(); }
  std::chrono::milliseconds stop() {
    auto start = std::chrono::steady_clock::now();
    if (m_thread.joinable()) {
      m_thread.request_stop();
      m_thread.join();
    }
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start);
  }

private:
  std::unique_ptr<discovery::Discoverer> m_discoverer;
  std::jthread m_thread;
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

  TEST_CASE("kubernetes discoverer: ingress probes /version, then lists v1 or v1beta1") {
    json ingress = {{"kind", "Ingress"},
                    {"apiVersion", "networking.k8s.io/v1"},
                    {"metadata", {{"name", "web"}, {"namespace", "ns1"}}},
                    {"spec", {{"rules", {{{"host", "web.example.com"}}}}}}};
    {
      FakeApi api("ingresses", "/apis/networking.k8s.io/v1");
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
      api.git_version = "v1.18.9";
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

  TEST_CASE("kubernetes make_discoverer: unsupported roles and modes are clear errors") {
    FakeApi api("pods");
    auto check_error = [&](k8s::Config config, const std::string& want) {
      auto d = config.make_discoverer({});
      REQUIRE(!d);
      CHECK(d.error() == want);
    };
    for (std::string role : {"endpoints", "endpointslice"}) {
      check_error(config_for(api, role), "sdscope cannot run kubernetes discovery for role \"" + role + "\" yet");
    }
    k8s::Config config = config_for(api, "pod");
    config.attach_metadata.node = true;
    check_error(config, "sdscope cannot run kubernetes discovery with attach_metadata.node yet");
    config = config_for(api, "pod");
    config.http_client.tls_config.ca_file = "/nonexistent/ca.pem";
    auto d = config.make_discoverer({});
    REQUIRE(!d);
    CHECK(d.error().find("unable to load specified CA cert /nonexistent/ca.pem") == 0);
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
}
