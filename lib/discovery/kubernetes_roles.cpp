// kubernetes_sd roles: the labels Prometheus v2.45 derives from one object
// and the objects it joins (discovery/kubernetes/{pod,service,node,ingress,
// endpoints,endpointslice}.go). The objects come as the API server's JSON;
// a field of the wrong type reads as unset here, where client-go would
// refuse the whole response.
#include "discovery/kubernetes_roles.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <map>
#include <vector>

namespace sdscope::discovery::kubernetes {

namespace {

constexpr std::string_view k_namespace_label = "__meta_kubernetes_namespace";

// Role pod.
constexpr std::string_view k_pod_prefix = "__meta_kubernetes_pod_";
constexpr std::string_view k_pod_name = "__meta_kubernetes_pod_name";
constexpr std::string_view k_pod_ip = "__meta_kubernetes_pod_ip";
constexpr std::string_view k_pod_ready = "__meta_kubernetes_pod_ready";
constexpr std::string_view k_pod_phase = "__meta_kubernetes_pod_phase";
constexpr std::string_view k_pod_node_name = "__meta_kubernetes_pod_node_name";
constexpr std::string_view k_pod_host_ip = "__meta_kubernetes_pod_host_ip";
constexpr std::string_view k_pod_uid = "__meta_kubernetes_pod_uid";
constexpr std::string_view k_pod_controller_kind = "__meta_kubernetes_pod_controller_kind";
constexpr std::string_view k_pod_controller_name = "__meta_kubernetes_pod_controller_name";
constexpr std::string_view k_pod_container_name = "__meta_kubernetes_pod_container_name";
constexpr std::string_view k_pod_container_id = "__meta_kubernetes_pod_container_id";
constexpr std::string_view k_pod_container_image = "__meta_kubernetes_pod_container_image";
constexpr std::string_view k_pod_container_init = "__meta_kubernetes_pod_container_init";
constexpr std::string_view k_pod_port_name = "__meta_kubernetes_pod_container_port_name";
constexpr std::string_view k_pod_port_number = "__meta_kubernetes_pod_container_port_number";
constexpr std::string_view k_pod_port_protocol = "__meta_kubernetes_pod_container_port_protocol";

// Role service.
constexpr std::string_view k_service_prefix = "__meta_kubernetes_service_";
constexpr std::string_view k_service_name = "__meta_kubernetes_service_name";
constexpr std::string_view k_service_port_name = "__meta_kubernetes_service_port_name";
constexpr std::string_view k_service_port_number = "__meta_kubernetes_service_port_number";
constexpr std::string_view k_service_port_protocol = "__meta_kubernetes_service_port_protocol";
constexpr std::string_view k_service_type = "__meta_kubernetes_service_type";
constexpr std::string_view k_service_cluster_ip = "__meta_kubernetes_service_cluster_ip";
constexpr std::string_view k_service_external_name = "__meta_kubernetes_service_external_name";
constexpr std::string_view k_service_loadbalancer_ip = "__meta_kubernetes_service_loadbalancer_ip";

// Role ingress.
constexpr std::string_view k_ingress_prefix = "__meta_kubernetes_ingress_";
constexpr std::string_view k_ingress_name = "__meta_kubernetes_ingress_name";
constexpr std::string_view k_ingress_class_name = "__meta_kubernetes_ingress_class_name";
constexpr std::string_view k_ingress_scheme = "__meta_kubernetes_ingress_scheme";
constexpr std::string_view k_ingress_host = "__meta_kubernetes_ingress_host";
constexpr std::string_view k_ingress_path = "__meta_kubernetes_ingress_path";

// Role endpoints.
constexpr std::string_view k_endpoints_prefix = "__meta_kubernetes_endpoints_";
constexpr std::string_view k_endpoints_name = "__meta_kubernetes_endpoints_name";
constexpr std::string_view k_endpoint_node_name = "__meta_kubernetes_endpoint_node_name";
constexpr std::string_view k_endpoint_hostname = "__meta_kubernetes_endpoint_hostname";
constexpr std::string_view k_endpoint_ready = "__meta_kubernetes_endpoint_ready";
constexpr std::string_view k_endpoint_port_name = "__meta_kubernetes_endpoint_port_name";
constexpr std::string_view k_endpoint_port_protocol = "__meta_kubernetes_endpoint_port_protocol";
constexpr std::string_view k_endpoint_target_kind = "__meta_kubernetes_endpoint_address_target_kind";
constexpr std::string_view k_endpoint_target_name = "__meta_kubernetes_endpoint_address_target_name";

// Role endpointslice.
constexpr std::string_view k_slice_name = "__meta_kubernetes_endpointslice_name";
constexpr std::string_view k_slice_address_type = "__meta_kubernetes_endpointslice_address_type";
constexpr std::string_view k_slice_port_name = "__meta_kubernetes_endpointslice_port_name";
constexpr std::string_view k_slice_port_protocol = "__meta_kubernetes_endpointslice_port_protocol";
constexpr std::string_view k_slice_port = "__meta_kubernetes_endpointslice_port";
constexpr std::string_view k_slice_port_app_protocol = "__meta_kubernetes_endpointslice_port_app_protocol";
constexpr std::string_view k_slice_ready = "__meta_kubernetes_endpointslice_endpoint_conditions_ready";
constexpr std::string_view k_slice_serving = "__meta_kubernetes_endpointslice_endpoint_conditions_serving";
constexpr std::string_view k_slice_terminating = "__meta_kubernetes_endpointslice_endpoint_conditions_terminating";
constexpr std::string_view k_slice_hostname = "__meta_kubernetes_endpointslice_endpoint_hostname";
constexpr std::string_view k_slice_target_kind = "__meta_kubernetes_endpointslice_address_target_kind";
constexpr std::string_view k_slice_target_name = "__meta_kubernetes_endpointslice_address_target_name";
constexpr std::string_view k_slice_topology = "__meta_kubernetes_endpointslice_endpoint_topology_";
constexpr std::string_view k_slice_topology_present = "__meta_kubernetes_endpointslice_endpoint_topology_present_";
constexpr std::string_view k_slice_service_name_label = "kubernetes.io/service-name";

// Role node.
constexpr std::string_view k_node_prefix = "__meta_kubernetes_node_";
constexpr std::string_view k_node_name = "__meta_kubernetes_node_name";
constexpr std::string_view k_node_provider_id = "__meta_kubernetes_node_provider_id";
constexpr std::string_view k_node_address_prefix = "__meta_kubernetes_node_address_";
// nodeAddress's preference; LegacyHostIP is the pre-1.0 type, still honoured.
constexpr std::array<std::string_view, 6> k_node_address_types = {"InternalIP", "InternalDNS", "ExternalIP",
                                                                  "ExternalDNS", "LegacyHostIP", "Hostname"};

const nlohmann::json& field(const nlohmann::json& object, std::string_view key) {
  static const nlohmann::json k_null;
  if (!object.is_object()) {
    return k_null;
  }
  auto it = object.find(key);
  return it == object.end() ? k_null : *it;
}

std::string text(const nlohmann::json& object, std::string_view key) {
  const nlohmann::json& value = field(object, key);
  return value.is_string() ? value.get<std::string>() : std::string();
}

// An integer field as decimal text, "0" when unset (Go's zero value).
std::string number(const nlohmann::json& object, std::string_view key) {
  const nlohmann::json& value = field(object, key);
  if (value.is_number_integer()) {
    return std::to_string(value.get<int64_t>());
  }
  return "0";
}

const nlohmann::json& items(const nlohmann::json& object, std::string_view key) {
  static const nlohmann::json k_empty = nlohmann::json::array();
  const nlohmann::json& value = field(object, key);
  return value.is_array() ? value : k_empty;
}

// An integer field, 0 when unset (Go's zero value).
int64_t integer(const nlohmann::json& object, std::string_view key) {
  const nlohmann::json& value = field(object, key);
  return value.is_number_integer() ? value.get<int64_t>() : 0;
}

// Whether a pointer field of the Go type is set (present and not null).
bool is_set(const nlohmann::json& object, std::string_view key) { return !field(object, key).is_null(); }

// <prefix><k> = value and <present_prefix><k> = "true" for each entry of a
// string map, keys sanitised.
void add_string_map(model::Labels& labels, const std::string& prefix, const std::string& present_prefix,
                    const nlohmann::json& map) {
  if (!map.is_object()) {
    return;
  }
  for (const auto& [key, value] : map.items()) {
    std::string name = sanitize_label_name(key);
    labels.set(prefix + name, value.is_string() ? value.get<std::string>() : "");
    labels.set(present_prefix + name, "true");
  }
}

// <prefix>label_<k> and <prefix>labelpresent_<k> of the object's labels.
void add_object_labels(model::Labels& labels, std::string_view prefix, const nlohmann::json& metadata) {
  add_string_map(labels, std::string(prefix) + "label_", std::string(prefix) + "labelpresent_",
                 field(metadata, "labels"));
}

// add_object_labels and the same for annotations.
void add_object_meta(model::Labels& labels, std::string_view prefix, const nlohmann::json& metadata) {
  add_object_labels(labels, prefix, metadata);
  add_string_map(labels, std::string(prefix) + "annotation_", std::string(prefix) + "annotationpresent_",
                 field(metadata, "annotations"));
}

// addNodeLabels of attach_metadata.node: the node's name and labels (v2.45
// attaches no node annotations), when nodes is in use and knows the node.
void add_node_metadata(model::Labels& labels, const ObjectLookup& nodes, const std::string& node_name) {
  if (!nodes) {
    return;
  }
  std::shared_ptr<const nlohmann::json> node = nodes(node_name);
  if (!node) {
    return;
  }
  labels.set(k_node_name, node_name);
  add_object_labels(labels, k_node_prefix, field(*node, "metadata"));
}

std::string pod_ready(const nlohmann::json& status) {
  for (const nlohmann::json& condition : items(status, "conditions")) {
    if (text(condition, "type") == "Ready") {
      std::string value = text(condition, "status");
      for (char& c : value) {
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      }
      return value;
    }
  }
  return "unknown";
}

std::string container_id(const nlohmann::json& statuses, const std::string& name) {
  for (const nlohmann::json& status : statuses) {
    if (text(status, "name") == name) {
      return text(status, "containerID");
    }
  }
  return "";
}

// The pod-level labels of role pod but __meta_kubernetes_namespace (podLabels,
// which the endpoints roles attach to their targets too).
model::Labels pod_labels(const nlohmann::json& pod) {
  const nlohmann::json& metadata = field(pod, "metadata");
  const nlohmann::json& status = field(pod, "status");
  model::Labels labels;
  labels.set(k_pod_name, text(metadata, "name"));
  labels.set(k_pod_ip, text(status, "podIP"));
  labels.set(k_pod_ready, pod_ready(status));
  labels.set(k_pod_phase, text(status, "phase"));
  labels.set(k_pod_node_name, text(field(pod, "spec"), "nodeName"));
  labels.set(k_pod_host_ip, text(status, "hostIP"));
  labels.set(k_pod_uid, text(metadata, "uid"));
  for (const nlohmann::json& owner : items(metadata, "ownerReferences")) {
    if (field(owner, "controller") == true) { // GetControllerOf: the first one
      labels.set(k_pod_controller_kind, text(owner, "kind"));
      labels.set(k_pod_controller_name, text(owner, "name"));
      break;
    }
  }
  add_object_meta(labels, k_pod_prefix, metadata);
  return labels;
}

// The container's name and image and one of its ports; protocol is passed
// because the endpoints role takes it from the endpoint port instead.
void add_container_port(model::Labels& target, const nlohmann::json& container, const nlohmann::json& port,
                        std::string_view protocol) {
  target.set(k_pod_container_name, text(container, "name"));
  target.set(k_pod_container_image, text(container, "image"));
  target.set(k_pod_port_name, text(port, "name"));
  target.set(k_pod_port_number, number(port, "containerPort"));
  target.set(k_pod_port_protocol, protocol);
}

// serviceLabels: the group labels of role service, which the endpoints
// roles put on their groups when the service is known.
model::Labels service_labels(const nlohmann::json& service) {
  const nlohmann::json& metadata = field(service, "metadata");
  model::Labels labels;
  labels.set(k_namespace_label, text(metadata, "namespace"));
  labels.set(k_service_name, text(metadata, "name"));
  add_object_meta(labels, k_service_prefix, metadata);
  return labels;
}

void merge(model::Labels& into, const model::Labels& from) {
  for (const auto& [name, value] : from) {
    into.set(name, value);
  }
}

std::shared_ptr<const nlohmann::json> find(const ObjectLookup& lookup, const std::string& key) {
  return lookup ? lookup(key) : nullptr;
}

// The pod a targetRef names, if it is a Pod the pod store holds.
std::shared_ptr<const nlohmann::json> referenced_pod(const nlohmann::json& target_ref, const ObjectLookup& pods) {
  if (!target_ref.is_object() || text(target_ref, "kind") != "Pod") {
    return nullptr;
  }
  return find(pods, text(target_ref, "namespace") + "/" + text(target_ref, "name"));
}

// The pods the targets of one endpoints or slice group came from, in the
// order first seen, with the endpoint port numbers used for each.
class SeenPods {
public:
  // Records that a target of pod used port_number (none: a slice port
  // without a number).
  void add(const std::shared_ptr<const nlohmann::json>& pod, std::optional<int64_t> port_number) {
    const nlohmann::json& metadata = field(*pod, "metadata");
    std::string key = text(metadata, "namespace") + "/" + text(metadata, "name");
    auto it = std::find_if(m_pods.begin(), m_pods.end(), [&](const Entry& e) { return e.key == key; });
    if (it == m_pods.end()) {
      m_pods.push_back({key, pod, {}});
      it = std::prev(m_pods.end());
    }
    if (port_number) {
      it->ports.push_back(*port_number);
    }
  }

  // A target for each regular-container port of the seen pods that no
  // endpoint port covered. v2.45 builds it even when the pod has no IP
  // (address ":<port>").
  void add_uncovered_ports(std::vector<model::Labels>& targets) const {
    for (const Entry& entry : m_pods) {
      const nlohmann::json& pod = *entry.pod;
      std::string ip = text(field(pod, "status"), "podIP");
      for (const nlohmann::json& container : items(field(pod, "spec"), "containers")) {
        for (const nlohmann::json& port : items(container, "ports")) {
          int64_t number = integer(port, "containerPort");
          if (std::find(entry.ports.begin(), entry.ports.end(), number) != entry.ports.end()) {
            continue;
          }
          model::Labels target = pod_labels(pod);
          target.set("__address__", join_host_port(ip, std::to_string(number)));
          add_container_port(target, container, port, text(port, "protocol"));
          targets.push_back(std::move(target));
        }
      }
    }
  }

private:
  struct Entry {
    std::string key;
    std::shared_ptr<const nlohmann::json> pod;
    std::vector<int64_t> ports;
  };
  std::vector<Entry> m_pods;
};

// The pod labels of a target's pod, and the container port whose number
// is the endpoint port (scanning every regular container; the last match
// wins).
void add_pod_target_labels(model::Labels& target, const nlohmann::json& pod, std::optional<int64_t> port_number,
                           const std::optional<std::string>& endpoint_protocol) {
  merge(target, pod_labels(pod));
  if (!port_number) {
    return;
  }
  for (const nlohmann::json& container : items(field(pod, "spec"), "containers")) {
    for (const nlohmann::json& port : items(container, "ports")) {
      if (integer(port, "containerPort") == *port_number) {
        add_container_port(target, container, port, endpoint_protocol ? *endpoint_protocol : text(port, "protocol"));
        break;
      }
    }
  }
}

// The node names of an index: Pod targets by nodeName, Node targets by
// name.
void add_indexed_node(std::vector<std::string>& nodes, const nlohmann::json& endpoint) {
  const nlohmann::json& target_ref = field(endpoint, "targetRef");
  if (!target_ref.is_object()) {
    return;
  }
  std::string kind = text(target_ref, "kind");
  if (kind == "Pod" && field(endpoint, "nodeName").is_string()) {
    nodes.push_back(text(endpoint, "nodeName"));
  } else if (kind == "Node") {
    nodes.push_back(text(target_ref, "name"));
  }
}

std::vector<std::string> split_dots(const std::string& s) {
  std::vector<std::string> parts(1);
  for (char c : s) {
    if (c == '.') {
      parts.emplace_back();
    } else {
      parts.back() += c;
    }
  }
  return parts;
}

// matchesHostnamePattern: equal, or "*.rest" with as many labels as host
// and the same labels after the first.
bool matches_hostname_pattern(const std::string& pattern, const std::string& host) {
  if (pattern == host) {
    return true;
  }
  std::vector<std::string> pattern_parts = split_dots(pattern);
  std::vector<std::string> host_parts = split_dots(host);
  if (pattern_parts[0] != "*" || pattern_parts.size() != host_parts.size()) {
    return false;
  }
  return std::equal(pattern_parts.begin() + 1, pattern_parts.end(), host_parts.begin() + 1);
}

} // namespace

std::string object_source(std::string_view role, std::string_view namespace_, std::string_view name) {
  if (role == "node") {
    return "node/" + std::string(name);
  }
  return std::string(role == "service" ? "svc" : role) + "/" + std::string(namespace_) + "/" + std::string(name);
}

model::TargetGroup pod_group(const nlohmann::json& pod, const ObjectLookup& nodes) {
  const nlohmann::json& metadata = field(pod, "metadata");
  const nlohmann::json& spec = field(pod, "spec");
  const nlohmann::json& status = field(pod, "status");
  model::TargetGroup group;
  group.source = object_source("pod", text(metadata, "namespace"), text(metadata, "name"));
  std::string ip = text(status, "podIP");
  if (ip.empty()) {
    return group;
  }
  group.labels = pod_labels(pod);
  group.labels.set(k_namespace_label, text(metadata, "namespace"));
  add_node_metadata(group.labels, nodes, text(spec, "nodeName"));
  for (bool init : {false, true}) {
    const nlohmann::json& statuses = items(status, init ? "initContainerStatuses" : "containerStatuses");
    for (const nlohmann::json& container : items(spec, init ? "initContainers" : "containers")) {
      std::string name = text(container, "name");
      model::Labels base;
      base.set(k_pod_container_name, name);
      base.set(k_pod_container_id, container_id(statuses, name));
      base.set(k_pod_container_image, text(container, "image"));
      base.set(k_pod_container_init, init ? "true" : "false");
      const nlohmann::json& ports = items(container, "ports");
      if (ports.empty()) {
        base.set("__address__", ip);
        group.targets.push_back(std::move(base));
        continue;
      }
      for (const nlohmann::json& port : ports) {
        model::Labels target = base;
        target.set("__address__", join_host_port(ip, number(port, "containerPort")));
        add_container_port(target, container, port, text(port, "protocol"));
        group.targets.push_back(std::move(target));
      }
    }
  }
  return group;
}

model::TargetGroup service_group(const nlohmann::json& service) {
  const nlohmann::json& metadata = field(service, "metadata");
  const nlohmann::json& spec = field(service, "spec");
  std::string name = text(metadata, "name");
  std::string namespace_ = text(metadata, "namespace");
  model::TargetGroup group;
  group.source = object_source("service", namespace_, name);
  group.labels = service_labels(service);
  std::string type = text(spec, "type");
  for (const nlohmann::json& port : items(spec, "ports")) {
    std::string number_text = number(port, "port");
    model::Labels target;
    target.set("__address__", join_host_port(name + "." + namespace_ + ".svc", number_text));
    target.set(k_service_port_name, text(port, "name"));
    target.set(k_service_port_number, number_text);
    target.set(k_service_port_protocol, text(port, "protocol"));
    target.set(k_service_type, type);
    if (type == "ExternalName") {
      target.set(k_service_external_name, text(spec, "externalName"));
    } else {
      target.set(k_service_cluster_ip, text(spec, "clusterIP"));
    }
    if (type == "LoadBalancer") {
      target.set(k_service_loadbalancer_ip, text(spec, "loadBalancerIP"));
    }
    group.targets.push_back(std::move(target));
  }
  return group;
}

std::optional<model::TargetGroup> node_group(const nlohmann::json& node) {
  const nlohmann::json& metadata = field(node, "metadata");
  const nlohmann::json& status = field(node, "status");
  std::map<std::string, std::vector<std::string>> addresses;
  for (const nlohmann::json& address : items(status, "addresses")) {
    addresses[text(address, "type")].push_back(text(address, "address"));
  }
  std::string chosen;
  bool found = false;
  for (std::string_view type : k_node_address_types) {
    if (auto it = addresses.find(std::string(type)); it != addresses.end()) {
      chosen = it->second.front();
      found = true;
      break;
    }
  }
  if (!found) {
    return std::nullopt; // Prometheus: "No node address found"
  }
  std::string name = text(metadata, "name");
  model::TargetGroup group;
  group.source = object_source("node", "", name);
  group.labels.set(k_node_name, name);
  group.labels.set(k_node_provider_id, text(field(node, "spec"), "providerID"));
  add_object_meta(group.labels, k_node_prefix, metadata);
  // The kubelet port's JSON key is "Port", capitalised.
  std::string port = number(field(field(status, "daemonEndpoints"), "kubeletEndpoint"), "Port");
  model::Labels target;
  target.set("__address__", join_host_port(chosen, port));
  target.set("instance", name);
  for (const auto& [type, values] : addresses) {
    target.set(sanitize_label_name(std::string(k_node_address_prefix) + type), values.front());
  }
  group.targets.push_back(std::move(target));
  return group;
}

model::TargetGroup ingress_group(const nlohmann::json& ingress) {
  const nlohmann::json& metadata = field(ingress, "metadata");
  const nlohmann::json& spec = field(ingress, "spec");
  std::string namespace_ = text(metadata, "namespace");
  std::string name = text(metadata, "name");
  model::TargetGroup group;
  group.source = object_source("ingress", namespace_, name);
  group.labels.set(k_ingress_name, name);
  group.labels.set(k_namespace_label, namespace_);
  if (field(spec, "ingressClassName").is_string()) {
    group.labels.set(k_ingress_class_name, text(spec, "ingressClassName"));
  }
  add_object_meta(group.labels, k_ingress_prefix, metadata);
  std::vector<std::string> tls_hosts;
  for (const nlohmann::json& tls : items(spec, "tls")) {
    for (const nlohmann::json& host : items(tls, "hosts")) {
      tls_hosts.push_back(host.is_string() ? host.get<std::string>() : "");
    }
  }
  for (const nlohmann::json& rule : items(spec, "rules")) {
    std::string host = text(rule, "host");
    std::vector<std::string> paths;
    const nlohmann::json& http = field(rule, "http");
    if (!http.is_object()) {
      paths.emplace_back("/"); // a rule without http stands for every path
    }
    for (const nlohmann::json& path : items(http, "paths")) {
      std::string value = text(path, "path");
      paths.push_back(value.empty() ? "/" : value);
    }
    bool https = std::any_of(tls_hosts.begin(), tls_hosts.end(),
                             [&](const std::string& pattern) { return matches_hostname_pattern(pattern, host); });
    for (const std::string& path : paths) {
      model::Labels target;
      target.set("__address__", host);
      target.set(k_ingress_scheme, https ? "https" : "http");
      target.set(k_ingress_host, host);
      target.set(k_ingress_path, path);
      group.targets.push_back(std::move(target));
    }
  }
  return group;
}

model::TargetGroup endpoints_group(const nlohmann::json& endpoints, const Joined& joined) {
  const nlohmann::json& metadata = field(endpoints, "metadata");
  std::string namespace_ = text(metadata, "namespace");
  std::string name = text(metadata, "name");
  model::TargetGroup group;
  group.source = object_source("endpoints", namespace_, name);
  group.labels.set(k_namespace_label, namespace_);
  group.labels.set(k_endpoints_name, name);
  if (std::shared_ptr<const nlohmann::json> service = find(joined.services, namespace_ + "/" + name)) {
    merge(group.labels, service_labels(*service));
  }
  add_object_labels(group.labels, k_endpoints_prefix, metadata); // v2.45: no annotations

  SeenPods seen;
  auto add = [&](const nlohmann::json& address, const nlohmann::json& port, std::string_view ready) {
    int64_t port_number = integer(port, "port");
    model::Labels target;
    target.set("__address__", join_host_port(text(address, "ip"), std::to_string(port_number)));
    target.set(k_endpoint_port_name, text(port, "name"));
    target.set(k_endpoint_port_protocol, text(port, "protocol"));
    target.set(k_endpoint_ready, ready);
    const nlohmann::json& target_ref = field(address, "targetRef");
    if (target_ref.is_object()) {
      target.set(k_endpoint_target_kind, text(target_ref, "kind"));
      target.set(k_endpoint_target_name, text(target_ref, "name"));
    }
    bool has_node_name = is_set(address, "nodeName");
    if (has_node_name) {
      target.set(k_endpoint_node_name, text(address, "nodeName"));
    }
    target.set(k_endpoint_hostname, text(address, "hostname"));
    if (has_node_name) {
      add_node_metadata(target, joined.nodes, text(address, "nodeName"));
    } else if (text(target_ref, "kind") == "Node") {
      add_node_metadata(target, joined.nodes, text(target_ref, "name"));
    }
    if (std::shared_ptr<const nlohmann::json> pod = referenced_pod(target_ref, joined.pods)) {
      add_pod_target_labels(target, *pod, port_number, text(port, "protocol"));
      seen.add(pod, port_number);
    }
    group.targets.push_back(std::move(target));
  };
  for (const nlohmann::json& subset : items(endpoints, "subsets")) {
    for (const nlohmann::json& port : items(subset, "ports")) {
      for (const nlohmann::json& address : items(subset, "addresses")) {
        add(address, port, "true");
      }
      for (const nlohmann::json& address : items(subset, "notReadyAddresses")) {
        add(address, port, "false");
      }
    }
  }
  seen.add_uncovered_ports(group.targets);
  return group;
}

std::optional<std::string> endpointslice_service_name(const nlohmann::json& slice) {
  const nlohmann::json& value = field(field(field(slice, "metadata"), "labels"), k_slice_service_name_label);
  if (!value.is_string()) {
    return std::nullopt;
  }
  return value.get<std::string>();
}

model::TargetGroup endpointslice_group(const nlohmann::json& slice, const Joined& joined, EndpointSliceApi api) {
  const nlohmann::json& metadata = field(slice, "metadata");
  std::string namespace_ = text(metadata, "namespace");
  model::TargetGroup group;
  group.source = object_source("endpointslice", namespace_, text(metadata, "name"));
  group.labels.set(k_namespace_label, namespace_);
  group.labels.set(k_slice_name, text(metadata, "name"));
  group.labels.set(k_slice_address_type, text(slice, "addressType"));
  if (std::optional<std::string> service_name = endpointslice_service_name(slice)) {
    if (std::shared_ptr<const nlohmann::json> service = find(joined.services, namespace_ + "/" + *service_name)) {
      merge(group.labels, service_labels(*service));
    }
  }
  std::string_view topology_key = api == EndpointSliceApi::v1 ? "deprecatedTopology" : "topology";

  SeenPods seen;
  auto add = [&](const std::string& address, const nlohmann::json& endpoint, const nlohmann::json& port) {
    std::optional<int64_t> port_number;
    if (is_set(port, "port")) {
      port_number = integer(port, "port");
    }
    model::Labels target;
    target.set("__address__", port_number ? join_host_port(address, std::to_string(*port_number)) : address);
    target.set(k_slice_port_name, text(port, "name"));
    // v2.45 dereferences the protocol unconditionally (a missing one
    // crashes it); API servers always default it.
    target.set(k_slice_port_protocol, text(port, "protocol"));
    if (port_number) {
      target.set(k_slice_port, std::to_string(*port_number));
    }
    target.set(k_slice_port_app_protocol, text(port, "appProtocol"));
    const nlohmann::json& conditions = field(endpoint, "conditions");
    for (auto [key, label] : {std::pair{"ready", k_slice_ready}, std::pair{"serving", k_slice_serving},
                              std::pair{"terminating", k_slice_terminating}}) {
      if (const nlohmann::json& value = field(conditions, key); value.is_boolean()) {
        target.set(label, value.get<bool>() ? "true" : "false");
      }
    }
    target.set(k_slice_hostname, text(endpoint, "hostname"));
    const nlohmann::json& target_ref = field(endpoint, "targetRef");
    if (target_ref.is_object()) {
      target.set(k_slice_target_kind, text(target_ref, "kind"));
      target.set(k_slice_target_name, text(target_ref, "name"));
    }
    add_string_map(target, std::string(k_slice_topology), std::string(k_slice_topology_present),
                   field(endpoint, topology_key));
    if (text(target_ref, "kind") == "Node") {
      add_node_metadata(target, joined.nodes, text(target_ref, "name"));
    } else if (is_set(endpoint, "nodeName")) {
      add_node_metadata(target, joined.nodes, text(endpoint, "nodeName"));
    }
    if (std::shared_ptr<const nlohmann::json> pod = referenced_pod(target_ref, joined.pods)) {
      add_pod_target_labels(target, *pod, port_number, std::nullopt);
      seen.add(pod, port_number);
    }
    group.targets.push_back(std::move(target));
  };
  for (const nlohmann::json& endpoint : items(slice, "endpoints")) {
    for (const nlohmann::json& port : items(slice, "ports")) {
      for (const nlohmann::json& address : items(endpoint, "addresses")) {
        add(address.is_string() ? address.get<std::string>() : std::string(), endpoint, port);
      }
    }
  }
  seen.add_uncovered_ports(group.targets);
  return group;
}

std::vector<std::string> pod_node_names(const nlohmann::json& pod) {
  return {text(field(pod, "spec"), "nodeName")};
}

std::vector<std::string> endpoints_node_names(const nlohmann::json& endpoints) {
  std::vector<std::string> nodes;
  for (const nlohmann::json& subset : items(endpoints, "subsets")) {
    for (const nlohmann::json& address : items(subset, "addresses")) {
      add_indexed_node(nodes, address);
    }
  }
  return nodes;
}

std::vector<std::string> endpointslice_node_names(const nlohmann::json& slice) {
  std::vector<std::string> nodes;
  for (const nlohmann::json& endpoint : items(slice, "endpoints")) {
    add_indexed_node(nodes, endpoint);
  }
  return nodes;
}

} // namespace sdscope::discovery::kubernetes
