#pragma once

// Marathon's app list as v2.45's marathon_sd decodes it (Go's encoding/json
// into its structs), for marathon.cpp.

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "util/result.h"

namespace sdscope::discovery::marathon {

using StringMap = std::map<std::string, std::string>;

// The fields of v2.45's structs that the mapping reads.
struct PortMapping {
  StringMap labels;
  uint32_t container_port = 0;
  uint32_t host_port = 0;
};
struct PortDefinition {
  StringMap labels;
  uint32_t port = 0;
};
struct Task {
  std::string id;
  std::string host;
  std::vector<uint32_t> ports;
  std::vector<std::string> ip_addresses;
};
struct App {
  std::string id;
  std::vector<Task> tasks;
  StringMap labels;
  std::string image;
  std::vector<PortMapping> docker_port_mappings; // before Marathon 1.5
  std::vector<PortMapping> port_mappings;        // Marathon 1.5 and later
  std::vector<PortDefinition> port_definitions;
  std::vector<std::string> network_modes;
  bool require_ports = false;

  // The first network is in container mode: tasks are reached at their
  // own IP and container port.
  bool container_net() const { return !network_modes.empty() && network_modes[0] == "container"; }
};

// Decodes the body of GET /v2/apps/?embed=apps.tasks: null is no apps; a
// body that does not fit fails with Go's encoding/json texts (the first type
// mismatch), a syntax error with "invalid JSON: ...".
Result<std::vector<App>> parse_apps(std::string_view body);

} // namespace sdscope::discovery::marathon
