// consul_sd's mapping: the catalog and health API's JSON into catalog
// entries, target groups and __meta_consul_* labels (discovery/consul/
// consul.go in Prometheus v2.45, hashicorp/consul/api v1.21.0).
//
// GET /v1/catalog/services answers service name -> tags. GET
// /v1/health/service/<name> answers a list of entries: the node (name,
// address, tagged addresses, meta), the service instance (ID, address,
// port, tags, meta, namespace, partition) and its checks. Fields are
// decoded as Go's encoding/json does (case-insensitive names, later keys
// win, the first type mismatch is the error). GET /v1/agent/self answers
// the agent's Config, whose Datacenter names the dc label when none is
// configured. https://developer.hashicorp.com/consul/api-docs
#include "discovery/consul_api.h"

#include <cstdint>

#include <fmt/format.h>

#include "discovery/go_json.h"
#include "util/strings.h"

namespace sdscope::discovery::consul {

namespace {

constexpr std::string_view k_address_label = "__meta_consul_address";
constexpr std::string_view k_datacenter_label = "__meta_consul_dc";
constexpr std::string_view k_health_label = "__meta_consul_health";
constexpr std::string_view k_metadata_prefix = "__meta_consul_metadata_";
constexpr std::string_view k_namespace_label = "__meta_consul_namespace";
constexpr std::string_view k_node_label = "__meta_consul_node";
constexpr std::string_view k_partition_label = "__meta_consul_partition";
constexpr std::string_view k_service_label = "__meta_consul_service";
constexpr std::string_view k_service_address_label = "__meta_consul_service_address";
constexpr std::string_view k_service_id_label = "__meta_consul_service_id";
constexpr std::string_view k_service_metadata_prefix = "__meta_consul_service_metadata_";
constexpr std::string_view k_service_port_label = "__meta_consul_service_port";
constexpr std::string_view k_tagged_address_prefix = "__meta_consul_tagged_address_";
constexpr std::string_view k_tags_label = "__meta_consul_tags";

struct Node {
  std::string name;
  std::string address;
  std::map<std::string, std::string> tagged_addresses;
  std::map<std::string, std::string> meta;
};

struct Service {
  std::string id;
  std::string address;
  int64_t port = 0;
  std::vector<std::string> tags;
  std::map<std::string, std::string> meta;
  std::string namespace_;
  std::string partition;
};

struct Entry {
  Node node;
  Service service;
  std::vector<std::pair<std::string, std::string>> checks; // CheckID, Status
};

void decode_node(GoDecoder& d, const Json& v, Node& out) {
  if (v.is_null()) {
    return;
  }
  if (!v.is_object()) {
    d.mismatch(json_kind(v), "ServiceEntry.Node", "api.Node");
    return;
  }
  d.fields(v, [&](const std::string& key, const Json& value) {
    if (equal_fold(key, "Node")) {
      d.string(value, out.name, "Node.Node.Node");
    } else if (equal_fold(key, "Address")) {
      d.string(value, out.address, "Node.Node.Address");
    } else if (equal_fold(key, "TaggedAddresses")) {
      d.string_map(value, out.tagged_addresses, "Node.Node.TaggedAddresses");
    } else if (equal_fold(key, "Meta")) {
      d.string_map(value, out.meta, "Node.Node.Meta");
    }
  });
}

void decode_service(GoDecoder& d, const Json& v, Service& out) {
  if (v.is_null()) {
    return;
  }
  if (!v.is_object()) {
    d.mismatch(json_kind(v), "ServiceEntry.Service", "api.AgentService");
    return;
  }
  d.fields(v, [&](const std::string& key, const Json& value) {
    if (equal_fold(key, "ID")) {
      d.string(value, out.id, "AgentService.Service.ID");
    } else if (equal_fold(key, "Address")) {
      d.string(value, out.address, "AgentService.Service.Address");
    } else if (equal_fold(key, "Port")) {
      d.integer(value, out.port, "AgentService.Service.Port");
    } else if (equal_fold(key, "Tags")) {
      d.string_list(value, out.tags, "AgentService.Service.Tags");
    } else if (equal_fold(key, "Meta")) {
      d.string_map(value, out.meta, "AgentService.Service.Meta");
    } else if (equal_fold(key, "Namespace")) {
      d.string(value, out.namespace_, "AgentService.Service.Namespace");
    } else if (equal_fold(key, "Partition")) {
      d.string(value, out.partition, "AgentService.Service.Partition");
    }
  });
}

void decode_checks(GoDecoder& d, const Json& v, std::vector<std::pair<std::string, std::string>>& out) {
  if (v.is_null()) {
    return;
  }
  if (!v.is_array()) {
    d.mismatch(json_kind(v), "ServiceEntry.Checks", "api.HealthChecks");
    return;
  }
  for (const Json& check : v) {
    std::pair<std::string, std::string>& id_status = out.emplace_back();
    if (check.is_null()) {
      continue; // a nil *HealthCheck; Go would crash on it later
    }
    if (!check.is_object()) {
      d.mismatch(json_kind(check), "ServiceEntry.Checks", "api.HealthCheck");
      continue;
    }
    d.fields(check, [&](const std::string& key, const Json& value) {
      if (equal_fold(key, "CheckID")) {
        d.string(value, id_status.first, "HealthCheck.Checks.CheckID");
      } else if (equal_fold(key, "Status")) {
        d.string(value, id_status.second, "HealthCheck.Checks.Status");
      }
    });
  }
}

Result<std::vector<Entry>> parse_entries(std::string_view body) {
  Result<Json> json = parse_json(body, k_decoder_eof);
  if (!json) {
    return fail(json.error());
  }
  std::vector<Entry> entries;
  if (json->is_null()) {
    return entries;
  }
  GoDecoder d;
  if (!json->is_array()) {
    d.mismatch(json_kind(*json), "", "[]*api.ServiceEntry");
    return fail(d.error);
  }
  for (const Json& item : *json) {
    if (item.is_null()) {
      continue; // Go keeps a nil entry and would crash on it; skip it
    }
    if (!item.is_object()) {
      d.mismatch(json_kind(item), "", "api.ServiceEntry");
      continue;
    }
    Entry& entry = entries.emplace_back();
    d.fields(item, [&](const std::string& key, const Json& value) {
      if (equal_fold(key, "Node")) {
        decode_node(d, value, entry.node);
      } else if (equal_fold(key, "Service")) {
        decode_service(d, value, entry.service);
      } else if (equal_fold(key, "Checks")) {
        decode_checks(d, value, entry.checks);
      }
    });
  }
  if (!d.error.empty()) {
    return fail(d.error);
  }
  return entries;
}

} // namespace

std::string aggregated_status(const std::vector<std::pair<std::string, std::string>>& checks) {
  bool warning = false;
  bool critical = false;
  bool maintenance = false;
  for (const auto& [id, status] : checks) {
    if (id == "_node_maintenance" || id.starts_with("_service_maintenance:")) {
      maintenance = true;
      continue;
    }
    if (status == "warning") {
      warning = true;
    } else if (status == "critical") {
      critical = true;
    } else if (status != "passing") {
      return "";
    }
  }
  if (maintenance) {
    return "maintenance";
  }
  if (critical) {
    return "critical";
  }
  return warning ? "warning" : "passing";
}

Result<std::map<std::string, std::vector<std::string>>> parse_catalog(std::string_view body) {
  Result<Json> json = parse_json(body, k_decoder_eof);
  if (!json) {
    return fail(json.error());
  }
  std::map<std::string, std::vector<std::string>> services;
  if (json->is_null()) {
    return services;
  }
  GoDecoder d;
  if (!json->is_object()) {
    d.mismatch(json_kind(*json), "", "map[string][]string");
    return fail(d.error);
  }
  for (const auto& [name, tags] : json->items()) {
    std::vector<std::string>& out = services[name];
    out.clear(); // a repeated key replaces the earlier list
    d.string_list(tags, out, "");
  }
  if (!d.error.empty()) {
    return fail(d.error);
  }
  return services;
}

Result<model::TargetGroup> service_group(std::string_view body, const std::string& service,
                                         const std::string& datacenter, const std::string& tag_separator) {
  Result<std::vector<Entry>> entries = parse_entries(body);
  if (!entries) {
    return fail(entries.error());
  }
  model::TargetGroup group;
  group.source = service;
  group.labels.set(k_service_label, service);
  group.labels.set(k_datacenter_label, datacenter);
  group.targets.reserve(entries->size());
  for (const Entry& entry : *entries) {
    const Service& s = entry.service;
    // sep + join(tags, sep) + sep, so ",,", for no tags.
    std::string tags = tag_separator;
    for (size_t i = 0; i < s.tags.size(); ++i) {
      tags += (i == 0 ? "" : tag_separator) + s.tags[i];
    }
    tags += tag_separator;
    model::Labels& target = group.targets.emplace_back();
    target.set("__address__", util::join_host_port(s.address.empty() ? entry.node.address : s.address, std::to_string(s.port)));
    target.set(k_address_label, entry.node.address);
    target.set(k_node_label, entry.node.name);
    target.set(k_namespace_label, s.namespace_);
    target.set(k_partition_label, s.partition);
    target.set(k_tags_label, tags);
    target.set(k_service_address_label, s.address);
    target.set(k_service_port_label, std::to_string(s.port));
    target.set(k_service_id_label, s.id);
    target.set(k_health_label, aggregated_status(entry.checks));
    for (const auto& [key, value] : entry.node.meta) {
      target.set(std::string(k_metadata_prefix) + util::sanitize_label_name(key), value);
    }
    for (const auto& [key, value] : s.meta) {
      target.set(std::string(k_service_metadata_prefix) + util::sanitize_label_name(key), value);
    }
    for (const auto& [key, value] : entry.node.tagged_addresses) {
      target.set(std::string(k_tagged_address_prefix) + util::sanitize_label_name(key), value);
    }
  }
  return group;
}

Result<std::string> datacenter_of(std::string_view body) {
  Result<Json> json = parse_json(body, k_decoder_eof);
  if (!json) {
    return fail(json.error());
  }
  Json value;
  if (!json->is_null()) {
    if (!json->is_object()) {
      return fail("json: cannot unmarshal " + json_kind(*json) +
                  " into Go value of type map[string]map[string]interface {}");
    }
    for (const auto& [section, fields] : json->items()) {
      if (!fields.is_null() && !fields.is_object()) {
        return fail("json: cannot unmarshal " + json_kind(fields) + " into Go value of type map[string]interface {}");
      }
      if (section == "Config") {
        value = fields.is_object() && fields.contains("Datacenter") ? fields["Datacenter"] : Json();
      }
    }
  }
  if (!value.is_string()) {
    return fail("invalid value '" + go_value(value) + "' for Config.Datacenter");
  }
  return value.get<std::string>();
}

} // namespace sdscope::discovery::consul
