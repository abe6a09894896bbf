// msk_sd (Prometheus 3.10+): the broker and controller nodes of Amazon MSK
// provisioned clusters, in Prometheus 3.14 discovery/aws/msk.go;
// spec/sd-cloud.md §2.10. API: Amazon MSK REST-JSON (service "kafka",
// SigV4) through aws_service: ListClustersV2 (GET /api/v2/clusters) or
// DescribeClusterV2 (GET /api/v2/clusters/<arn>) per configured cluster,
// then ListNodes (GET /v1/clusters/<arn>/nodes) per cluster, all paged by
// nextToken. Any error fails the refresh. Upstream runs the per-cluster
// calls concurrently (request_concurrency); here they run in turn. The SDK
// sets no request timeout; here each request gets the refresh interval
// (the credential test 10 s).
#include "discovery/msk.h"

#include <cmath>

#include <fmt/format.h>

#include "util/strings.h"

namespace sdscope::discovery::msk {

namespace {

constexpr std::chrono::milliseconds k_credential_test_timeout{10000};

// The JSON value at a path of object members, or nullptr (absent or null).
const Json* at(const Json& v, std::initializer_list<std::string_view> path) {
  const Json* cur = &v;
  for (std::string_view key : path) {
    if (!cur->is_object()) {
      return nullptr;
    }
    auto it = cur->find(key);
    if (it == cur->end() || it->is_null()) {
      return nullptr;
    }
    cur = &*it;
  }
  return cur;
}

// A string member ("" when absent); a value of another type is an error,
// as the SDK's deserializer fails on it.
Result<std::string> str(const Json& v, std::initializer_list<std::string_view> path) {
  const Json* e = at(v, path);
  if (e == nullptr) {
    return std::string();
  }
  if (!e->is_string()) {
    return fail(fmt::format("expected a string, got {}", json_kind(*e)));
  }
  return e->get<std::string>();
}

} // namespace

void Config::validate(yaml::Checker& c) {
  check_refresh_interval(c, refresh_interval.ms);
  http_client.validate(c);
}

std::unique_ptr<SdConfig> parse_config(yaml::Decoder& d, yaml::Node n) { return parse_config_of<Config>(d, n); }

Result<std::vector<model::Labels>> cluster_targets(const Json& cluster, const std::vector<Json>& nodes, int port) {
  model::Labels base;
  std::string error;
  auto s = [&](const Json& v, std::initializer_list<std::string_view> path) {
    Result<std::string> r = str(v, path);
    if (!r) {
      if (error.empty()) {
        error = r.error();
      }
      return std::string();
    }
    return *r;
  };
  base.set("__meta_msk_cluster_name", s(cluster, {"clusterName"}));
  base.set("__meta_msk_cluster_arn", s(cluster, {"clusterArn"}));
  base.set("__meta_msk_cluster_state", s(cluster, {"state"}));
  base.set("__meta_msk_cluster_type", s(cluster, {"clusterType"}));
  base.set("__meta_msk_cluster_version", s(cluster, {"currentVersion"}));
  base.set("__meta_msk_cluster_kafka_version", s(cluster, {"provisioned", "currentBrokerSoftwareInfo", "kafkaVersion"}));
  if (at(cluster, {"provisioned", "currentBrokerSoftwareInfo", "configurationArn"})) {
    base.set("__meta_msk_cluster_configuration_arn",
             s(cluster, {"provisioned", "currentBrokerSoftwareInfo", "configurationArn"}));
  }
  if (const Json* revision = at(cluster, {"provisioned", "currentBrokerSoftwareInfo", "configurationRevision"})) {
    if (!revision->is_number_integer()) {
      return fail(fmt::format("expected an integer configurationRevision, got {}", revision->dump()));
    }
    base.set("__meta_msk_cluster_configuration_revision", std::to_string(revision->get<int64_t>()));
  }
  auto enabled = [&](std::string_view exporter) -> std::optional<std::string> {
    const Json* e = at(cluster, {"provisioned", "openMonitoring", "prometheus", exporter});
    if (e == nullptr) {
      return std::nullopt; // Open Monitoring off: no label
    }
    const Json* flag = at(*e, {"enabledInBroker"});
    return flag != nullptr && flag->is_boolean() && flag->get<bool>() ? "true" : "false";
  };
  if (auto jmx = enabled("jmxExporter")) {
    base.set("__meta_msk_cluster_jmx_exporter_enabled", *jmx);
  }
  if (const Json* tags = at(cluster, {"tags"}); tags != nullptr && tags->is_object()) {
    for (const auto& [key, value] : tags->items()) {
      if (value.is_string()) {
        base.set("__meta_msk_cluster_tag_" + util::sanitize_label_name(key), value.get<std::string>());
      }
    }
  }
  std::optional<std::string> node_exporter = enabled("nodeExporter");

  std::vector<model::Labels> targets;
  for (const Json& node : nodes) {
    model::Labels labels = base;
    labels.set("__meta_msk_node_arn", s(node, {"nodeARN"}));
    labels.set("__meta_msk_node_added_time", s(node, {"addedToClusterTime"}));
    labels.set("__meta_msk_node_instance_type", s(node, {"instanceType"}));
    const Json* broker = at(node, {"brokerNodeInfo"});
    const Json* controller = at(node, {"controllerNodeInfo"});
    const Json* endpoints = nullptr;
    std::string index_label;
    if (broker != nullptr) {
      labels.set("__meta_msk_node_type", "BROKER");
      labels.set("__meta_msk_node_attached_eni", s(*broker, {"attachedENIId"}));
      double id = 0;
      if (const Json* b = at(*broker, {"brokerId"}); b != nullptr && b->is_number()) {
        id = b->get<double>();
      }
      labels.set("__meta_msk_broker_id", fmt::format("{:.0f}", id));
      labels.set("__meta_msk_broker_client_subnet", s(*broker, {"clientSubnet"}));
      labels.set("__meta_msk_broker_client_vpc_ip", s(*broker, {"clientVpcIpAddress"}));
      if (node_exporter) {
        labels.set("__meta_msk_broker_node_exporter_enabled", *node_exporter);
      }
      endpoints = at(*broker, {"endpoints"});
      index_label = "__meta_msk_broker_endpoint_index";
    } else if (controller != nullptr) {
      labels.set("__meta_msk_node_type", "CONTROLLER");
      endpoints = at(*controller, {"endpoints"});
      index_label = "__meta_msk_controller_endpoint_index";
    } else {
      continue; // neither kind: skipped
    }
    if (endpoints == nullptr || !endpoints->is_array()) {
      continue;
    }
    for (size_t i = 0; i < endpoints->size(); ++i) {
      const Json& endpoint = (*endpoints)[i];
      if (!endpoint.is_string()) {
        return fail(fmt::format("expected a string endpoint, got {}", json_kind(endpoint)));
      }
      model::Labels target = labels;
      target.set(index_label, std::to_string(i));
      target.set("__address__", util::join_host_port(endpoint.get<std::string>(), std::to_string(port)));
      targets.push_back(std::move(target));
    }
  }
  if (!error.empty()) {
    return fail(error);
  }
  return targets;
}

Discovery::Discovery(const Config& config, std::unique_ptr<aws_service::Client> client)
    : m_config(config), m_client(std::move(client)) {}

Result<std::unique_ptr<Discovery>> Discovery::make(const Config& config, DiscoveryOptions options) {
  auto client = aws_service::Client::make(aws_service::k_kafka, config.access, config.access.endpoint,
                                          config.http_client, std::chrono::milliseconds(config.refresh_interval.ms),
                                          options.client);
  if (!client) {
    return fail(client.error());
  }
  return std::unique_ptr<Discovery>(new Discovery(config, std::move(*client)));
}

Result<Json> Discovery::get(std::string_view operation, const std::string& path, const aws_service::Params& query,
                            std::stop_token stop) {
  return m_client->rest_get(operation, path, query, std::chrono::milliseconds(m_config.refresh_interval.ms),
                            std::move(stop));
}

Result<std::vector<model::TargetGroup>> Discovery::refresh(std::stop_token stop) {
  Result<std::string> region = m_client->region(stop);
  if (!region) {
    return fail(region.error());
  }
  if (!m_checked) { // upstream's client set-up tests the credentials once
    Result<Json> check = m_client->rest_get("ListClustersV2", "/api/v2/clusters", {}, k_credential_test_timeout, stop);
    if (!check) {
      return fail("MSK credential test failed: " + check.error());
    }
    m_checked = true;
  }

  std::vector<Json> clusters;
  if (!m_config.clusters.empty()) {
    for (const std::string& arn : m_config.clusters) {
      Result<Json> answer =
          get("DescribeClusterV2", "/api/v2/clusters/" + aws_service::escape_path_segment(arn), {}, stop);
      if (!answer) {
        return fail(fmt::format("could not describe cluster {}: {}", arn, answer.error()));
      }
      const Json* info = at(*answer, {"clusterInfo"});
      if (info == nullptr) {
        continue;
      }
      // Only provisioned clusters have broker nodes; others are skipped
      // (upstream logs a warning).
      if (Result<std::string> type = str(*info, {"clusterType"}); !type || *type != "PROVISIONED") {
        continue;
      }
      clusters.push_back(*info);
    }
  } else {
    std::string next;
    do {
      aws_service::Params query{{"clusterTypeFilter", "PROVISIONED"}, {"maxResults", "100"}};
      if (!next.empty()) {
        query.emplace_back("nextToken", next);
      }
      Result<Json> answer = get("ListClustersV2", "/api/v2/clusters", query, stop);
      if (!answer) {
        return fail("could not list clusters: " + answer.error());
      }
      if (const Json* list = at(*answer, {"clusterInfoList"}); list != nullptr && list->is_array()) {
        for (const Json& c : *list) {
          clusters.push_back(c);
        }
      }
      Result<std::string> token = str(*answer, {"nextToken"});
      next = token ? *token : "";
    } while (!next.empty());
  }

  model::TargetGroup group;
  group.source = *region;
  for (const Json& cluster : clusters) {
    std::string arn = str(cluster, {"clusterArn"}).value_or("");
    std::vector<Json> nodes;
    std::string next;
    do {
      aws_service::Params query{{"maxResults", "100"}};
      if (!next.empty()) {
        query.emplace_back("nextToken", next);
      }
      Result<Json> answer =
          get("ListNodes", "/v1/clusters/" + aws_service::escape_path_segment(arn) + "/nodes", query, stop);
      if (!answer) {
        return fail(fmt::format("could not list nodes for cluster {}: {}", arn, answer.error()));
      }
      if (const Json* list = at(*answer, {"nodeInfoList"}); list != nullptr && list->is_array()) {
        for (const Json& n : *list) {
          nodes.push_back(n);
        }
      }
      Result<std::string> token = str(*answer, {"nextToken"});
      next = token ? *token : "";
    } while (!next.empty());
    Result<std::vector<model::Labels>> targets = cluster_targets(cluster, nodes, m_config.port);
    if (!targets) {
      return fail(fmt::format("cluster {}: {}", arn, targets.error()));
    }
    for (model::Labels& t : *targets) {
      group.targets.push_back(std::move(t));
    }
  }
  return std::vector<model::TargetGroup>{std::move(group)};
}

Result<std::unique_ptr<Discoverer>> Config::make_discoverer(const DiscovererOptions& options) const {
  DiscoveryOptions hooks;
  hooks.client = aws_service::client_options(options);
  return make_refresh_discoverer<Discovery>(*this, refresh_interval.ms, hooks);
}

} // namespace sdscope::discovery::msk
