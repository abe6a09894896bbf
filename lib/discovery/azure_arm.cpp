// azure_sd's Azure Resource Manager bodies and mapping, as Prometheus v2.45
// (discovery/azure/azure.go) reads them through the autorest SDK packages
// compute/mgmt/2018-10-01 and network/mgmt/2018-10-01. Those packages decode
// resources with their own UnmarshalJSON (keys matched exactly) around
// plain structs (keys matched case-insensitively by encoding/json); type
// errors are worded as Go's, wrapped as autorest's ByUnmarshallingJSON
// does. ARM REST reference:
// https://learn.microsoft.com/rest/api/compute/virtual-machines/list-all
#include "discovery/azure_arm.h"

#include <fmt/format.h>

#include "discovery/go_json.h"
#include "util/strings.h"

namespace sdscope::discovery::azure {

namespace {

constexpr std::string_view k_label_prefix = "__meta_azure_";

// Decoding into the SDK's structs: a type mismatch is recorded once (Go's
// wording), a missing field that v2.45 dereferences is recorded as such.
class ArmDecoder {
public:
  GoDecoder d;
  std::string missing;

  void require(bool present, std::string_view what) {
    if (!present && missing.empty()) {
      missing = std::string(what);
    }
  }

  // A member of a plain struct, by encoding/json's case-insensitive match.
  template <class Fn> void plain_object(const Json& v, std::string_view where, std::string_view type, Fn fn) {
    if (v.is_null()) {
      return;
    }
    if (!v.is_object()) {
      d.mismatch(json_kind(v), where, type);
      return;
    }
    for (const auto& [key, value] : v.items()) {
      fn(key, value);
    }
  }

  // A resource with the SDK's own UnmarshalJSON: it first decodes into
  // map[string]*json.RawMessage, then each known key (exact case) alone.
  template <class Fn> void resource(const Json& v, Fn fn) {
    if (v.is_null()) {
      return;
    }
    if (!v.is_object()) {
      d.mismatch(json_kind(v), "", "map[string]*json.RawMessage");
      return;
    }
    for (const auto& [key, value] : v.items()) {
      if (!value.is_null()) {
        fn(key, value);
      }
    }
  }

  void tags(const Json& v, std::map<std::string, std::string>& out) {
    if (!v.is_object()) {
      d.mismatch(json_kind(v), "", "map[string]*string");
      return;
    }
    for (const auto& [key, value] : v.items()) {
      d.string(value, out[key], "");
    }
  }

  // properties of a VM or scale-set VM (VirtualMachineProperties or
  // VirtualMachineScaleSetVMProperties, plain structs).
  void vm_properties(const Json& v, VirtualMachine& vm, std::string_view type) {
    bool has_os_disk = false;
    plain_object(v, "", "compute." + std::string(type), [&](const std::string& key, const Json& value) {
      if (equal_fold(key, "hardwareProfile")) {
        plain_object(value, std::string(type) + ".hardwareProfile", "compute.HardwareProfile",
                     [&](const std::string& k, const Json& x) {
                       if (equal_fold(k, "vmSize")) {
                         d.string(x, vm.size, "HardwareProfile.hardwareProfile.vmSize");
                       }
                     });
      } else if (equal_fold(key, "storageProfile")) {
        plain_object(value, std::string(type) + ".storageProfile", "compute.StorageProfile",
                     [&](const std::string& k, const Json& x) {
                       if (!equal_fold(k, "osDisk")) {
                         return;
                       }
                       has_os_disk = !x.is_null();
                       plain_object(x, "StorageProfile.storageProfile.osDisk", "compute.OSDisk",
                                    [&](const std::string& k2, const Json& y) {
                                      if (equal_fold(k2, "osType")) {
                                        d.string(y, vm.os_type, "OSDisk.storageProfile.osDisk.osType");
                                      }
                                    });
                     });
      } else if (equal_fold(key, "osProfile")) {
        plain_object(value, std::string(type) + ".osProfile", "compute.OSProfile",
                     [&](const std::string& k, const Json& x) {
                       if (equal_fold(k, "computerName")) {
                         d.string(x, vm.computer_name, "OSProfile.osProfile.computerName");
                       }
                     });
      } else if (equal_fold(key, "networkProfile")) {
        plain_object(value, std::string(type) + ".networkProfile", "compute.NetworkProfile",
                     [&](const std::string& k, const Json& x) {
                       if (equal_fold(k, "networkInterfaces")) {
                         network_interfaces(x, vm.network_interfaces);
                       }
                     });
      }
    });
    require(has_os_disk, "properties.storageProfile.osDisk");
  }

  void network_interfaces(const Json& v, std::vector<std::string>& out) {
    out.clear();
    if (v.is_null()) {
      return;
    }
    if (!v.is_array()) {
      d.mismatch(json_kind(v), "NetworkProfile.networkProfile.networkInterfaces",
                 "[]compute.NetworkInterfaceReference");
      return;
    }
    for (const Json& item : v) {
      bool has_id = false;
      std::string id;
      resource(item, [&](const std::string& key, const Json& value) {
        if (key == "id") {
          has_id = true;
          d.string(value, id, "");
        }
      });
      require(has_id, "properties.networkProfile.networkInterfaces[].id");
      out.push_back(std::move(id));
    }
  }

  // One VM (compute.VirtualMachine) or scale-set VM
  // (compute.VirtualMachineScaleSetVM).
  VirtualMachine vm(const Json& v, const std::string& scale_set) {
    VirtualMachine vm;
    vm.scale_set = scale_set;
    bool id = false, name = false, type = false, location = false, properties = false;
    std::string_view properties_type = scale_set.empty() ? "VirtualMachineProperties" : "VirtualMachineScaleSetVMProperties";
    resource(v, [&](const std::string& key, const Json& value) {
      if (key == "id") {
        id = true;
        d.string(value, vm.id, "");
      } else if (key == "name") {
        name = true;
        d.string(value, vm.name, "");
      } else if (key == "type") {
        type = true;
        d.string(value, vm.type, "");
      } else if (key == "location") {
        location = true;
        d.string(value, vm.location, "");
      } else if (key == "tags") {
        tags(value, vm.tags);
      } else if (key == "properties") {
        properties = true;
        vm_properties(value, vm, properties_type);
      }
    });
    require(id, "id");
    require(name, "name");
    require(type, "type");
    require(location, "location");
    require(properties, "properties.storageProfile.osDisk");
    return vm;
  }

  ScaleSet scale_set(const Json& v) {
    ScaleSet ss;
    bool id = false, name = false;
    resource(v, [&](const std::string& key, const Json& value) {
      if (key == "id") {
        id = true;
        d.string(value, ss.id, "");
      } else if (key == "name") {
        name = true;
        d.string(value, ss.name, "");
      }
    });
    require(id, "id");
    require(name, "name");
    return ss;
  }

  // A list result (plain struct): value and nextLink.
  template <class T, class Fn>
  Page<T> page(const Json& v, std::string_view list_type, std::string_view item_type, Fn item) {
    Page<T> page;
    plain_object(v, "", "compute." + std::string(list_type), [&](const std::string& key, const Json& value) {
      if (equal_fold(key, "value")) {
        page.values.clear();
        if (value.is_null()) {
          return;
        }
        if (!value.is_array()) {
          d.mismatch(json_kind(value), std::string(list_type) + ".value", "[]compute." + std::string(item_type));
          return;
        }
        for (const Json& element : value) {
          page.values.push_back(item(element));
        }
      } else if (equal_fold(key, "nextLink")) {
        d.string(value, page.next_link, std::string(list_type) + ".nextLink");
      }
    });
    return page;
  }

  void ip_configuration(const Json& v, IpConfiguration& out) {
    resource(v, [&](const std::string& key, const Json& value) {
      if (key != "properties") {
        return;
      }
      out.has_properties = true;
      plain_object(value, "", "network.InterfaceIPConfigurationPropertiesFormat",
                   [&](const std::string& k, const Json& x) {
                     if (equal_fold(k, "privateIPAddress")) {
                       out.private_ip.reset();
                       if (!x.is_null()) {
                         d.string(x, out.private_ip.emplace(),
                                  "InterfaceIPConfigurationPropertiesFormat.privateIPAddress");
                       }
                     } else if (equal_fold(k, "publicIPAddress")) {
                       public_ip(x, out.public_ip);
                     }
                   });
    });
  }

  // A network.PublicIPAddress: its properties.ipAddress, when both exist.
  void public_ip(const Json& v, std::optional<std::string>& out) {
    out.reset();
    resource(v, [&](const std::string& key, const Json& value) {
      if (key != "properties") {
        return;
      }
      plain_object(value, "", "network.PublicIPAddressPropertiesFormat", [&](const std::string& k, const Json& x) {
        if (equal_fold(k, "ipAddress")) {
          out.reset();
          if (!x.is_null()) {
            d.string(x, out.emplace(), "PublicIPAddressPropertiesFormat.ipAddress");
          }
        }
      });
    });
  }

  NetworkInterface nic(const Json& v) {
    NetworkInterface nic;
    resource(v, [&](const std::string& key, const Json& value) {
      if (key != "properties") {
        return;
      }
      nic.has_properties = true;
      plain_object(value, "", "network.InterfacePropertiesFormat", [&](const std::string& k, const Json& x) {
        if (equal_fold(k, "primary")) {
          nic.primary.reset();
          if (x.is_boolean()) {
            nic.primary = x.get<bool>();
          } else if (!x.is_null()) {
            d.mismatch(json_kind(x), "InterfacePropertiesFormat.primary", "bool");
          }
        } else if (equal_fold(k, "ipConfigurations")) {
          nic.ip_configurations.clear();
          if (x.is_null()) {
            return;
          }
          if (!x.is_array()) {
            d.mismatch(json_kind(x), "InterfacePropertiesFormat.ipConfigurations",
                       "[]network.InterfaceIPConfiguration");
            return;
          }
          for (const Json& item : x) {
            ip_configuration(item, nic.ip_configurations.emplace_back());
          }
        }
      });
    });
    return nic;
  }
};

// autorest's ByUnmarshallingJSON: a body of only spaces decodes to the zero
// value; errors carry the body.
template <class T, class Fn> Result<T> decode_body(std::string_view body, Fn fn) {
  auto unmarshal_error = [&](const std::string& error) {
    return fmt::format("Error occurred unmarshalling JSON - Error = '{}' JSON = '{}'", error, body);
  };
  if (body.find_first_not_of(' ') == std::string_view::npos) {
    return T{};
  }
  Result<Json> json = parse_json(body, k_unmarshal_eof);
  if (!json) {
    return fail(unmarshal_error(json.error()));
  }
  ArmDecoder decoder;
  T out = fn(decoder, *json);
  if (!decoder.d.error.empty()) {
    return fail(unmarshal_error(decoder.d.error));
  }
  if (!decoder.missing.empty()) {
    return fail(fmt::format("an ARM resource without {} (Prometheus v2.45 crashes on it)", decoder.missing));
  }
  return out;
}

} // namespace

Result<Page<VirtualMachine>> parse_vm_page(std::string_view body, const std::string& scale_set) {
  std::string_view list_type = scale_set.empty() ? "VirtualMachineListResult" : "VirtualMachineScaleSetVMListResult";
  std::string_view item_type = scale_set.empty() ? "VirtualMachine" : "VirtualMachineScaleSetVM";
  return decode_body<Page<VirtualMachine>>(body, [&](ArmDecoder& decoder, const Json& json) {
    return decoder.page<VirtualMachine>(json, list_type, item_type,
                                        [&](const Json& item) { return decoder.vm(item, scale_set); });
  });
}

Result<Page<ScaleSet>> parse_scale_set_page(std::string_view body) {
  return decode_body<Page<ScaleSet>>(body, [&](ArmDecoder& decoder, const Json& json) {
    return decoder.page<ScaleSet>(json, "VirtualMachineScaleSetListResult", "VirtualMachineScaleSet",
                                  [&](const Json& item) { return decoder.scale_set(item); });
  });
}

Result<NetworkInterface> parse_network_interface(std::string_view body) {
  return decode_body<NetworkInterface>(body,
                                       [&](ArmDecoder& decoder, const Json& json) { return decoder.nic(json); });
}

Result<std::string> resource_group_of(std::string_view id) {
  std::vector<std::string> parts = util::split(id, '/');
  if (parts.size() != 9 && parts.size() != 11) {
    return fail(fmt::format("invalid ID '{}'. Refusing to create azureResource", id));
  }
  return util::to_lower_ascii(parts[4]);
}

std::string service_error(long status, std::string_view content_type, std::string_view body) {
  auto unparsable = [&](std::string_view why) {
    return fmt::format("autorest/azure: error response cannot be parsed: {} error: {}", util::go_quote(body), why);
  };
  if (content_type.find("xml") != std::string_view::npos) {
    return unparsable("XML error bodies are not decoded"); // ARM answers JSON
  }
  Result<Json> json = parse_json(body, k_decoder_eof);
  if (!json) {
    return unparsable(json.error());
  }
  // OData v4 shape {"error": {...}}, else the error object itself.
  const Json* error = json->is_object() && json->contains("error") && (*json)["error"].is_object()
                          ? &(*json)["error"]
                          : json->is_object() ? &*json : nullptr;
  std::string code, message, target;
  if (error != nullptr) {
    for (const auto& [key, value] : error->items()) {
      if (!value.is_string()) {
        continue;
      }
      if (equal_fold(key, "code")) {
        code = value.get<std::string>();
      } else if (equal_fold(key, "message")) {
        message = value.get<std::string>();
      } else if (equal_fold(key, "target")) {
        target = value.get<std::string>();
      }
    }
  }
  std::string text;
  if (message.empty()) { // not OData: the raw body goes into Details
    text = "Code=\"Unknown\" Message=\"Unknown service error\"";
    if (json->is_object() && !json->empty()) {
      text += " Details=[" + nlohmann::json(*json).dump() + "]";
    }
  } else {
    text = fmt::format("Code={} Message={}", util::go_quote(code), util::go_quote(message));
    if (!target.empty()) {
      text += " Target=" + util::go_quote(target);
    }
  }
  return fmt::format("autorest/azure: Service returned an error. Status={} {}", status, text);
}

Result<std::optional<model::Labels>> target_for_vm(const VirtualMachine& vm, const LabelContext& context,
                                                   const NicFetcher& fetch_nic) {
  Result<std::string> resource_group = resource_group_of(vm.id);
  if (!resource_group) {
    return fail(resource_group.error());
  }
  auto label = [](std::string_view key) { return std::string(k_label_prefix) + std::string(key); };
  model::Labels labels;
  labels.set(label("subscription_id"), context.subscription_id);
  labels.set(label("tenant_id"), context.tenant_id);
  labels.set(label("machine_id"), vm.id);
  labels.set(label("machine_name"), vm.name);
  labels.set(label("machine_computer_name"), vm.computer_name);
  labels.set(label("machine_os_type"), vm.os_type);
  labels.set(label("machine_location"), vm.location);
  labels.set(label("machine_resource_group"), *resource_group);
  labels.set(label("machine_size"), vm.size);
  labels.set(label("machine_scale_set"), vm.scale_set);
  for (const auto& [key, value] : vm.tags) {
    labels.set(label("machine_tag_") + util::sanitize_label_name(key), value);
  }

  for (const std::string& nic_id : vm.network_interfaces) {
    Result<NicLookup> lookup = fetch_nic(nic_id);
    if (!lookup) {
      return fail(lookup.error());
    }
    if (lookup->not_found) { // v2.45 logs "Network interface does not exist" and drops the VM
      return std::optional<model::Labels>();
    }
    const NetworkInterface& nic = lookup->nic;
    if (!nic.has_properties) {
      continue;
    }
    // Azure reports no allocation state here; a deallocated VM's NIC has
    // no `primary`, which v2.45 takes as the sign to skip the VM.
    if (!nic.primary) {
      return std::optional<model::Labels>();
    }
    if (!*nic.primary || nic.ip_configurations.empty()) {
      continue;
    }
    // Only the first IP configuration counts.
    const IpConfiguration& ip = nic.ip_configurations.front();
    if (ip.public_ip) {
      labels.set(label("machine_public_ip"), *ip.public_ip);
    }
    if (!ip.private_ip) {
      return fail(fmt::format("unable to find a private IP for VM {}", vm.name));
    }
    labels.set(label("machine_private_ip"), *ip.private_ip);
    labels.set("__address__", util::join_host_port(*ip.private_ip, std::to_string(context.port)));
    return std::optional<model::Labels>(std::move(labels));
  }
  return std::optional<model::Labels>();
}

} // namespace sdscope::discovery::azure
