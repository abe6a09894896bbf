#pragma once

// The wire format of Kuma's MADS over xDS REST: the DiscoveryRequest body
// Prometheus v2.45 posts and the DiscoveryResponse it decodes (protobuf
// JSON of envoy.service.discovery.v3 and kuma.observability.v1).

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "util/result.h"

namespace sdscope::discovery::kuma {

// The resource type Prometheus asks for and accepts.
inline constexpr std::string_view k_type_url = "type.googleapis.com/kuma.observability.v1.MonitoringAssignment";
// The message name in it.
inline constexpr std::string_view k_assignment_name = "kuma.observability.v1.MonitoringAssignment";

// kuma.observability.v1.MonitoringAssignment (Kuma's mads.proto).
struct Assignment {
  struct Target {
    std::string name, scheme, address, metrics_path;
    std::map<std::string, std::string> labels;
  };
  std::string mesh, service;
  std::vector<Target> targets;
  std::map<std::string, std::string> labels;
};

// An entry of DiscoveryResponse.resources: a google.protobuf.Any holding
// an Assignment (or, with another resolvable @type, nothing usable).
struct Resource {
  std::string type_url; // the Any's @type
  Assignment assignment;
};

// envoy.service.discovery.v3.DiscoveryResponse, the fields used.
struct DiscoveryResponse {
  std::string version_info, nonce, type_url;
  std::vector<Resource> resources;
};

// The protobuf-JSON body of the DiscoveryRequest v2.45 posts (proto field
// names, empty fields left out, compact).
std::string request_body(std::string_view version_info, std::string_view response_nonce, std::string_view node_id);

// Decodes a DiscoveryResponse body as protojson does with v2.45's options:
// either field name style, unknown fields skipped, Any resolved by @type
// among the types Prometheus registers. Fails with protojson's texts
// (without its line:column).
Result<DiscoveryResponse> parse_response(std::string_view body);

} // namespace sdscope::discovery::kuma
