// kubernetes_sd roles pod, service and node: the labels Prometheus v2.45
// derives from one object (discovery/kubernetes/{pod,service,node}.go). The
// objects come as the API server's JSON; a field of the wrong type reads as
// unset here, where client-go would refuse the whole response.
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

// <prefix>label_<k>, <prefix>labelpresent_<k> and the same for annotations.
void add_object_meta(model::Labels& labels, std::string_view prefix, const nlohmann::json& metadata) {
  for (std::string_view kind : {"label", "annotation"}) {
    const nlohmann::json& map = field(metadata, std::string(kind) + "s");
    if (!map.is_object()) {
      continue;
    }
    for (const auto& [key, value] : map.items()) {
      std::string name = sanitize_label_name(key);
      labels.set(std::string(prefix) + std::string(kind) + "_" + name, value.is_string() ? value.get<std::string>() : "");
      labels.set(std::string(prefix) + std::string(kind) + "present_" + name, "true");
    }
  }
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

model::Labels pod_labels(const nlohmann::json& pod) {
  const nlohmann::json& metadata = field(pod, "metadata");
  const nlohmann::json& status = field(pod, "status");
  model::Labels labels;
  labels.set(k_namespace_label, text(metadata, "namespace"));
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

std::string sanitize_label_name(std::string_view name) {
  std::string out;
  out.reserve(name.size());
  for (size_t i = 0; i < name.size();) {
    auto byte = static_cast<unsigned char>(name[i]);
    if (std::isalnum(byte) != 0 || byte == '_') {
      out += static_cast<char>(byte);
      ++i;
      continue;
    }
    // One '_' per code point: skip a valid sequence's continuation bytes.
    size_t width = 1;
    size_t want = byte >= 0xF0 && byte <= 0xF4 ? 4 : byte >= 0xE0 && byte <= 0xEF ? 3 : byte >= 0xC2 && byte <= 0xDF ? 2 : 1;
    if (want > 1 && i + want <= name.size()) {
      bool valid = true;
      for (size_t k = 1; k < want; ++k) {
        valid = valid && (static_cast<unsigned char>(name[i + k]) & 0xC0) == 0x80;
      }
      if (valid) {
        width = want;
      }
    }
    out += '_';
    i += width;
  }
  return out;
}

std::string object_source(std::string_view role, std::string_view namespace_, std::string_view name) {
  if (role == "node") {
    return "node/" + std::string(name);
  }
  return std::string(role == "service" ? "svc" : role) + "/" + std::string(namespace_) + "/" + std::string(name);
}

model::TargetGroup pod_group(const nlohmann::json& pod) {
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
        std::string number_text = number(port, "containerPort");
        model::Labels target = base;
        target.set("__address__", join_host_port(ip, number_text));
        target.set(k_pod_port_number, number_text);
        target.set(k_pod_port_name, text(port, "name"));
        target.set(k_pod_port_protocol, text(port, "protocol"));
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
  group.labels.set(k_namespace_label, namespace_);
  group.labels.set(k_service_name, name);
  add_object_meta(group.labels, k_service_prefix, metadata);
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

} // namespace sdscope::discovery::kubernetes
