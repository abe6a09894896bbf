#pragma once

// The Azure Resource Manager side of azure_sd as Prometheus v2.45 sees it
// (legacy autorest SDK, compute and network API version 2018-10-01):
// decoding the list and network-interface bodies, resource IDs, the error
// texts autorest builds, and the mapping of one VM to its target.

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "model/labels.h"
#include "util/result.h"

namespace sdscope::discovery::azure {

// The api-version the 2018-10-01 SDK packages put on every first request.
inline constexpr std::string_view k_api_version = "2018-10-01";

// A VM or a scale-set VM, the fields v2.45 keeps.
struct VirtualMachine {
  std::string id;
  std::string name;
  std::string computer_name;
  std::string type;
  std::string location;
  std::string os_type;
  std::string scale_set; // "" for a standalone VM
  std::string size;
  std::map<std::string, std::string> tags;
  std::vector<std::string> network_interfaces; // NIC resource IDs, in order
};

struct ScaleSet {
  std::string id;
  std::string name;
};

// One page of a list call: its values and the absolute URL of the next
// page ("" on the last).
template <class T> struct Page {
  std::vector<T> values;
  std::string next_link;
};

// A list body of virtual machines (scale_set "" for
// virtualMachines, the scale set's name for its virtualMachines). Fails
// with Go's decoding texts, or where a field v2.45 dereferences unchecked
// (id, name, type, location, properties.storageProfile.osDisk, a NIC id)
// is missing: v2.45 crashes there, here the refresh fails.
Result<Page<VirtualMachine>> parse_vm_page(std::string_view body, const std::string& scale_set);
Result<Page<ScaleSet>> parse_scale_set_page(std::string_view body);

struct IpConfiguration {
  bool has_properties = false;
  std::optional<std::string> private_ip;
  std::optional<std::string> public_ip; // publicIPAddress.properties.ipAddress
};

struct NetworkInterface {
  bool has_properties = false;
  std::optional<bool> primary;
  std::vector<IpConfiguration> ip_configurations;
};

Result<NetworkInterface> parse_network_interface(std::string_view body);

// What v2.45 takes from a resource ID: the lower-cased resource group.
// IDs must have 9 or 11 '/'-separated parts, else
// `invalid ID '<id>'. Refusing to create azureResource`.
Result<std::string> resource_group_of(std::string_view id);

// The error autorest's azure.WithErrorUnlessStatusCode makes of a non-2xx
// ARM response: `autorest/azure: Service returned an error. Status=<n>
// Code="..." Message="..."` (or why the body cannot be parsed).
std::string service_error(long status, std::string_view content_type, std::string_view body);

// The outcome of fetching one NIC: its body decoded, or not found (404).
struct NicLookup {
  bool not_found = false;
  NetworkInterface nic;
};
using NicFetcher = std::function<Result<NicLookup>(const std::string& nic_id)>;

// The fixed labels of every target.
struct LabelContext {
  std::string subscription_id;
  std::string tenant_id;
  int port = 80;
};

// The target of one VM (pure but for fetch_nic): walks its NICs in order
// until the primary one and takes the first IP configuration's addresses.
// No target (nullopt) when a NIC is gone (404), the VM looks deallocated
// (a NIC without `primary`) or no primary NIC has an IP configuration.
// Fails on a bad VM ID, a NIC fetch error or a primary NIC whose first IP
// configuration has no private IP.
Result<std::optional<model::Labels>> target_for_vm(const VirtualMachine& vm, const LabelContext& context,
                                                   const NicFetcher& fetch_nic);

} // namespace sdscope::discovery::azure
