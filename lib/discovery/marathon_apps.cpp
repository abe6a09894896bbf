// Decoding Marathon's app list the way Go's encoding/json fills v2.45's
// structs in discovery/marathon/marathon.go: keys match case-insensitively,
// unknown keys are ignored, and every field the structs declare is checked
// for its type (also the ones the mapping never reads: Go fails on those
// too).
#include "discovery/marathon_apps.h"

#include <fmt/format.h>

#include "discovery/go_json.h"
#include "util/strings.h"

namespace sdscope::discovery::marathon {

namespace {

// Go's decoding into v2.45's structs: names match case-insensitively, null
// leaves the zero value, a type mismatch is recorded (the first one wins)
// and decoding goes on. `where` is Go's error context "<struct>.<path>".
class AppDecoder {
public:
  GoDecoder d;

  void uint32(const Json& v, uint32_t& out, const std::string& where) {
    if (v.is_null()) {
      return;
    }
    if (v.is_number_unsigned() && v.get<uint64_t>() <= UINT32_MAX) {
      out = static_cast<uint32_t>(v.get<uint64_t>());
      return;
    }
    if (v.is_number_integer() && v.get<int64_t>() >= 0 && v.get<int64_t>() <= UINT32_MAX) {
      out = static_cast<uint32_t>(v.get<int64_t>());
      return;
    }
    d.mismatch(v.is_number() ? "number " + v.dump() : json_kind(v), where, "uint32");
  }

  void boolean(const Json& v, bool& out, const std::string& where) {
    if (v.is_null()) {
      return;
    }
    if (!v.is_boolean()) {
      d.mismatch(v.is_number() ? "number" : json_kind(v), where, "bool");
      return;
    }
    out = v.get<bool>();
  }

  // A slice of structs: each element decoded by fn(element, out), which
  // reads its fields; `where` names the slice field.
  template <class T, class Fn>
  void list(const Json& v, std::vector<T>& out, const std::string& where, std::string_view type, Fn fn) {
    if (v.is_null()) {
      out.clear();
      return;
    }
    if (!v.is_array()) {
      d.mismatch(json_kind(v), where, "[]marathon." + std::string(type));
      return;
    }
    out.clear();
    for (const Json& item : v) {
      T& element = out.emplace_back();
      if (item.is_null()) {
        continue;
      }
      if (!item.is_object()) {
        d.mismatch(json_kind(item), where, "marathon." + std::string(type));
        continue;
      }
      fn(item, element);
    }
  }

  // A struct field: fn(key, value) for each member; a non-object is a
  // mismatch.
  template <class Fn> void object(const Json& v, const std::string& where, std::string_view type, Fn fn) {
    if (v.is_null()) {
      return;
    }
    if (!v.is_object()) {
      d.mismatch(json_kind(v), where, "marathon." + std::string(type));
      return;
    }
    d.fields(v, fn);
  }

  void port_mappings(const Json& v, std::vector<PortMapping>& out, const std::string& path) {
    std::string w = "portMapping." + path;
    list(v, out, field_where(path), "portMapping", [&](const Json& item, PortMapping& pm) {
      d.fields(item, [&](const std::string& key, const Json& value) {
        if (equal_fold(key, "labels")) {
          d.string_map(value, pm.labels, w + ".labels");
        } else if (equal_fold(key, "containerPort")) {
          uint32(value, pm.container_port, w + ".containerPort");
        } else if (equal_fold(key, "hostPort")) {
          uint32(value, pm.host_port, w + ".hostPort");
        } else if (equal_fold(key, "servicePort")) {
          uint32_t ignored = 0;
          uint32(value, ignored, w + ".servicePort");
        }
      });
    });
  }

  void task(const Json& item, Task& t) {
    const std::string w = "task.apps.tasks";
    d.fields(item, [&](const std::string& key, const Json& value) {
      if (equal_fold(key, "id")) {
        d.string(value, t.id, w + ".id");
      } else if (equal_fold(key, "host")) {
        d.string(value, t.host, w + ".host");
      } else if (equal_fold(key, "ports")) {
        ports(value, t.ports, w + ".ports");
      } else if (equal_fold(key, "ipAddresses")) {
        std::vector<std::pair<std::string, std::string>> addresses;
        list(value, addresses, w + ".ipAddresses", "ipAddress", [&](const Json& a, auto& address) {
          d.fields(a, [&](const std::string& k, const Json& x) {
            if (equal_fold(k, "ipAddress")) {
              d.string(x, address.first, "ipAddress.apps.tasks.ipAddresses.ipAddress");
            } else if (equal_fold(k, "protocol")) {
              d.string(x, address.second, "ipAddress.apps.tasks.ipAddresses.protocol");
            }
          });
        });
        t.ip_addresses.clear();
        for (const auto& address : addresses) {
          t.ip_addresses.push_back(address.first);
        }
      }
    });
  }

  void ports(const Json& v, std::vector<uint32_t>& out, const std::string& where) {
    if (v.is_null()) {
      out.clear();
      return;
    }
    if (!v.is_array()) {
      d.mismatch(json_kind(v), where, "[]uint32");
      return;
    }
    out.clear();
    for (const Json& item : v) {
      uint32(item, out.emplace_back(), where);
    }
  }

  void container(const Json& v, App& app) {
    object(v, "app.apps.container", "container", [&](const std::string& key, const Json& value) {
      if (equal_fold(key, "portMappings")) {
        port_mappings(value, app.port_mappings, "apps.container.portMappings");
      } else if (equal_fold(key, "docker")) {
        object(value, "container.apps.container.docker", "dockerContainer",
               [&](const std::string& k, const Json& x) {
                 if (equal_fold(k, "image")) {
                   d.string(x, app.image, "dockerContainer.apps.container.docker.image");
                 } else if (equal_fold(k, "portMappings")) {
                   port_mappings(x, app.docker_port_mappings, "apps.container.docker.portMappings");
                 }
               });
      }
    });
  }

  void app(const Json& item, App& a) {
    const std::string w = "app.apps";
    d.fields(item, [&](const std::string& key, const Json& value) {
      if (equal_fold(key, "id")) {
        d.string(value, a.id, w + ".id");
      } else if (equal_fold(key, "tasks")) {
        list(value, a.tasks, w + ".tasks", "task", [&](const Json& t, Task& out) { task(t, out); });
      } else if (equal_fold(key, "tasksRunning")) {
        int64_t ignored = 0;
        d.integer(value, ignored, w + ".tasksRunning");
      } else if (equal_fold(key, "labels")) {
        d.string_map(value, a.labels, w + ".labels");
      } else if (equal_fold(key, "container")) {
        container(value, a);
      } else if (equal_fold(key, "portDefinitions")) {
        list(value, a.port_definitions, w + ".portDefinitions", "portDefinition",
             [&](const Json& p, PortDefinition& out) {
               d.fields(p, [&](const std::string& k, const Json& x) {
                 if (equal_fold(k, "labels")) {
                   d.string_map(x, out.labels, "portDefinition.apps.portDefinitions.labels");
                 } else if (equal_fold(k, "port")) {
                   uint32(x, out.port, "portDefinition.apps.portDefinitions.port");
                 }
               });
             });
      } else if (equal_fold(key, "networks")) {
        std::vector<std::pair<std::string, std::string>> networks; // name, mode
        list(value, networks, w + ".networks", "network", [&](const Json& n, auto& network) {
          d.fields(n, [&](const std::string& k, const Json& x) {
            if (equal_fold(k, "name")) {
              d.string(x, network.first, "network.apps.networks.name");
            } else if (equal_fold(k, "mode")) {
              d.string(x, network.second, "network.apps.networks.mode");
            }
          });
        });
        a.network_modes.clear();
        for (const auto& network : networks) {
          a.network_modes.push_back(network.second);
        }
      } else if (equal_fold(key, "requirePorts")) {
        boolean(value, a.require_ports, w + ".requirePorts");
      }
    });
  }

private:
  // The struct holding a port mapping list: container or dockerContainer.
  static std::string field_where(const std::string& path) {
    return (util::starts_with(path, "apps.container.docker") ? "dockerContainer." : "container.") + path;
  }
};

} // namespace

Result<std::vector<App>> parse_apps(std::string_view body) {
  Result<Json> parsed = parse_json(body, k_unmarshal_eof);
  if (!parsed) {
    return fail(parsed.error());
  }
  Json& json = *parsed;
  std::vector<App> apps;
  AppDecoder decoder;
  if (json.is_null()) {
    return apps;
  }
  if (!json.is_object()) {
    decoder.d.mismatch(json_kind(json), "", "marathon.appList");
    return fail(decoder.d.error);
  }
  decoder.d.fields(json, [&](const std::string& key, const Json& value) {
    if (equal_fold(key, "apps")) {
      decoder.list(value, apps, "appList.apps", "app", [&](const Json& item, App& app) { decoder.app(item, app); });
    }
  });
  if (!decoder.d.error.empty()) {
    return fail(decoder.d.error);
  }
  return apps;
}

} // namespace sdscope::discovery::marathon
