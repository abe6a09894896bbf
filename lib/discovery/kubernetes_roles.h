#pragma once

// The pure part of kubernetes_sd: one Kubernetes object (as decoded JSON)
// to its target group, per role, as discovery/kubernetes/{pod,service,
// node,ingress,endpoints,endpointslice}.go in Prometheus v2.45 build them
// (spec/sd-platforms.md §1.7-§1.12). Roles that join other objects (pods,
// services, nodes) read them through lookups into the informers' stores.

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "model/labels.h"
#include "util/strings.h"

namespace sdscope::discovery::kubernetes {

using util::sanitize_label_name;

using util::join_host_port;

// The group Source of an object: "pod/<ns>/<name>", "svc/<ns>/<name>",
// "node/<name>" (role is the SD role name).
std::string object_source(std::string_view role, std::string_view namespace_, std::string_view name);

// An object of another informer's store by key ("<ns>/<name>", or
// "<name>" for nodes); nullptr when the store does not hold it.
using ObjectLookup = std::function<std::shared_ptr<const nlohmann::json>(const std::string& key)>;

// The stores a role joins to its own objects. nodes is empty unless
// attach_metadata.node is set.
struct Joined {
  ObjectLookup services;
  ObjectLookup pods;
  ObjectLookup nodes;
};

// Role pod: an empty group (Source only) when the pod has no IP yet. With
// nodes (attach_metadata.node), the group also gets the node's name and
// labels when the node is known.
model::TargetGroup pod_group(const nlohmann::json& pod, const ObjectLookup& nodes = {});

// Role service: one target per declared port.
model::TargetGroup service_group(const nlohmann::json& service);

// Role node: nothing when the node has no address (Prometheus then sends no
// group at all, leaving any earlier one in place).
std::optional<model::TargetGroup> node_group(const nlohmann::json& node);

// Role ingress (networking.k8s.io v1 or v1beta1, which agree on the fields
// read): one target per rule and path.
model::TargetGroup ingress_group(const nlohmann::json& ingress);

// Role endpoints: one target per subset port and address (ready ones, then
// not-ready ones), joined with the Service of the same name and the
// targeted pods, plus a target for every container port of those pods that
// no endpoint port covered.
model::TargetGroup endpoints_group(const nlohmann::json& endpoints, const Joined& joined);

// The discovery.k8s.io API version of EndpointSlice objects: v1beta1 keeps
// an endpoint's topology under "topology", v1 under "deprecatedTopology".
enum class EndpointSliceApi { v1, v1beta1 };

// Role endpointslice: one target per endpoint, port and address, joined
// like endpoints_group (the Service named by the kubernetes.io/service-name
// label).
model::TargetGroup endpointslice_group(const nlohmann::json& slice, const Joined& joined, EndpointSliceApi api);

// The kubernetes.io/service-name label of a slice, if it has one.
std::optional<std::string> endpointslice_service_name(const nlohmann::json& slice);

// The nodes an object is indexed under for attach_metadata.node (a node
// change re-sends the objects on it): a pod's spec.nodeName; for endpoints
// (ready addresses only) and slices, the nodeName of Pod targets and the
// name of Node targets.
std::vector<std::string> pod_node_names(const nlohmann::json& pod);
std::vector<std::string> endpoints_node_names(const nlohmann::json& endpoints);
std::vector<std::string> endpointslice_node_names(const nlohmann::json& slice);

} // namespace sdscope::discovery::kubernetes
