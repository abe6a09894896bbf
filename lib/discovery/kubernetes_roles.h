#pragma once

// The pure part of kubernetes_sd: one Kubernetes object (as decoded JSON)
// to its target group, per role, as discovery/kubernetes/{pod,service,
// node,ingress}.go in Prometheus v2.45 build them (spec/sd-platforms.md §1.7-§1.9, §1.12).

#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "model/labels.h"
#include "util/strings.h"

namespace sdscope::discovery::kubernetes {

// strutil.SanitizeLabelName: every code point outside [a-zA-Z0-9_] (and
// every invalid UTF-8 byte) becomes one '_'.
std::string sanitize_label_name(std::string_view name);

using util::join_host_port;

// The group Source of an object: "pod/<ns>/<name>", "svc/<ns>/<name>",
// "node/<name>" (role is the SD role name).
std::string object_source(std::string_view role, std::string_view namespace_, std::string_view name);

// Role pod: an empty group (Source only) when the pod has no IP yet.
model::TargetGroup pod_group(const nlohmann::json& pod);

// Role service: one target per declared port.
model::TargetGroup service_group(const nlohmann::json& service);

// Role node: nothing when the node has no address (Prometheus then sends no
// group at all, leaving any earlier one in place).
std::optional<model::TargetGroup> node_group(const nlohmann::json& node);

// Role ingress (networking.k8s.io v1 or v1beta1, which agree on the fields
// read): one target per rule and path.
model::TargetGroup ingress_group(const nlohmann::json& ingress);

} // namespace sdscope::discovery::kubernetes
