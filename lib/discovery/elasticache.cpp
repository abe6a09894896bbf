// elasticache_sd (Prometheus 3.11+): ElastiCache serverless caches and the
// nodes of cache clusters, in Prometheus 3.14 discovery/aws/elasticache.go;
// spec/sd-cloud.md §2.11. API: Amazon ElastiCache Query API (Version
// 2015-02-02, SigV4 service "elasticache") through aws_service:
// DescribeServerlessCaches, DescribeCacheClusters (both
// ShowCacheClustersNotInReplicationGroups values), ListTagsForResource per
// ARN; then, as 3.14 does, both Describe steps once more, the targets
// coming from that second pass. Any error fails the refresh. Upstream runs
// the calls concurrently (request_concurrency); here they run in turn. The
// SDK sets no request timeout; here each request gets the refresh interval
// (the credential test 10 s).
#include "discovery/elasticache.h"

#include <map>

#include <fmt/format.h>

#include "util/strings.h"

namespace sdscope::discovery::elasticache {

namespace {

constexpr std::string_view k_version = "2015-02-02";
constexpr std::chrono::milliseconds k_credential_test_timeout{10000};
constexpr std::string_view k_serverless = "__meta_elasticache_serverless_cache_";
constexpr std::string_view k_cluster = "__meta_elasticache_cache_cluster_";

using util::xml::Element;

// Sets prefix+suffix from the text at path when present; timestamps
// (time=true) in RFC 3339.
void set(model::Labels& labels, std::string_view prefix, std::string_view suffix, const Element& e,
         std::initializer_list<std::string_view> path, bool time = false) {
  std::optional<std::string> v = aws_service::text(e, path);
  if (v) {
    labels.set(fmt::format("{}{}", prefix, suffix), time ? aws_service::rfc3339(*v) : *v);
  }
}

// The element children of a list member (any member name).
std::vector<const Element*> items(const Element& e, std::string_view list) {
  std::vector<const Element*> out;
  if (const Element* l = aws_service::child(e, list)) {
    for (const Element& c : l->children) {
      out.push_back(&c);
    }
  }
  return out;
}

void add_tags(model::Labels& labels, std::string_view prefix, const Tags& tags) {
  for (const auto& [key, value] : tags) {
    labels.set(fmt::format("{}tag_{}", prefix, util::sanitize_label_name(key)), value);
  }
}

} // namespace

void Config::validate(yaml::Checker& c) {
  check_refresh_interval(c, refresh_interval.ms);
  http_client.validate(c);
}

std::unique_ptr<SdConfig> parse_config(yaml::Decoder& d, yaml::Node n) { return parse_config_of<Config>(d, n); }

void split_clusters(const std::vector<std::string>& clusters, std::vector<std::string>& serverless,
                    std::vector<std::string>& cache_clusters) {
  for (const std::string& arn : clusters) {
    std::vector<std::string> parts = util::split(arn, ':');
    if (arn.empty() || parts.size() < 7) {
      continue; // upstream logs "Skipping invalid ElastiCache ARN"
    }
    if (parts[5] == "serverlesscache") {
      serverless.push_back(parts[6]);
    } else if (parts[5] == "replicationgroup") {
      cache_clusters.push_back(parts[6]);
    }
  }
}

model::Labels serverless_cache_target(const Element& cache, const Tags& tags) {
  model::Labels l;
  l.set("__meta_elasticache_deployment_option", "serverless");
  set(l, k_serverless, "arn", cache, {"ARN"});
  set(l, k_serverless, "name", cache, {"ServerlessCacheName"});
  set(l, k_serverless, "status", cache, {"Status"});
  set(l, k_serverless, "engine", cache, {"Engine"});
  set(l, k_serverless, "full_engine_version", cache, {"FullEngineVersion"});
  set(l, k_serverless, "major_engine_version", cache, {"MajorEngineVersion"});
  set(l, k_serverless, "description", cache, {"Description"});
  set(l, k_serverless, "create_time", cache, {"CreateTime"}, true);
  set(l, k_serverless, "kms_key_id", cache, {"KmsKeyId"});
  set(l, k_serverless, "user_group_id", cache, {"UserGroupId"});
  set(l, k_serverless, "daily_snapshot_time", cache, {"DailySnapshotTime"});
  set(l, k_serverless, "snapshot_retention_limit", cache, {"SnapshotRetentionLimit"});
  set(l, k_serverless, "endpoint_address", cache, {"Endpoint", "Address"});
  set(l, k_serverless, "endpoint_port", cache, {"Endpoint", "Port"});
  set(l, k_serverless, "endpoint_reader_address", cache, {"ReaderEndpoint", "Address"});
  set(l, k_serverless, "endpoint_reader_port", cache, {"ReaderEndpoint", "Port"});
  std::vector<const Element*> groups = items(cache, "SecurityGroupIds");
  for (size_t i = 0; i < groups.size(); ++i) {
    l.set(fmt::format("{}security_group_id_{}", k_serverless, i), groups[i]->text);
  }
  std::vector<const Element*> subnets = items(cache, "SubnetIds");
  for (size_t i = 0; i < subnets.size(); ++i) {
    l.set(fmt::format("{}subnet_id_{}", k_serverless, i), subnets[i]->text);
  }
  if (const Element* storage = aws_service::path(cache, {"CacheUsageLimits", "DataStorage"})) {
    set(l, k_serverless, "cache_usage_limit_data_storagemaximum", *storage, {"Maximum"});
    set(l, k_serverless, "cache_usage_limit_data_storageminimum", *storage, {"Minimum"});
    set(l, k_serverless, "cache_usage_limit_data_storageunit", *storage, {"Unit"});
  }
  if (const Element* ecpu = aws_service::path(cache, {"CacheUsageLimits", "ECPUPerSecond"})) {
    set(l, k_serverless, "cache_usage_limit_ecpu_per_secondmaximum", *ecpu, {"Maximum"});
    set(l, k_serverless, "cache_usage_limit_ecpu_per_secondminimum", *ecpu, {"Minimum"});
  }
  add_tags(l, k_serverless, tags);
  std::optional<std::string> address = aws_service::text(cache, {"Endpoint", "Address"});
  std::optional<std::string> port = aws_service::text(cache, {"Endpoint", "Port"});
  if (address && port) {
    l.set("__address__", util::join_host_port(*address, *port));
  }
  return l;
}

std::vector<model::Labels> cache_cluster_targets(const Element& cluster, const Tags& tags) {
  model::Labels common;
  common.set("__meta_elasticache_deployment_option", "node");
  struct Simple {
    std::string_view suffix, member;
    bool time;
  };
  static constexpr Simple k_simple[] = {
      {"arn", "ARN", false},
      {"cache_cluster_id", "CacheClusterId", false},
      {"cache_cluster_status", "CacheClusterStatus", false},
      {"at_rest_encryption_enabled", "AtRestEncryptionEnabled", false},
      {"auth_token_enabled", "AuthTokenEnabled", false},
      {"auth_token_last_modified", "AuthTokenLastModifiedDate", true},
      {"auto_minor_version_upgrade", "AutoMinorVersionUpgrade", false},
      {"cache_cluster_create_time", "CacheClusterCreateTime", true},
      {"cache_node_type", "CacheNodeType", false},
      {"cache_subnet_group_name", "CacheSubnetGroupName", false},
      {"client_download_landing_page", "ClientDownloadLandingPage", false},
      {"engine", "Engine", false},
      {"engine_version", "EngineVersion", false},
      {"ip_discovery", "IpDiscovery", false},
      {"network_type", "NetworkType", false},
      {"num_cache_nodes", "NumCacheNodes", false},
      {"preferred_availability_zone", "PreferredAvailabilityZone", false},
      {"preferred_maintenance_window", "PreferredMaintenanceWindow", false},
      {"preferred_outpost_arn", "PreferredOutpostArn", false},
      {"replication_group_id", "ReplicationGroupId", false},
      {"replication_group_log_delivery_enabled", "ReplicationGroupLogDeliveryEnabled", false},
      {"snapshot_retention_limit", "SnapshotRetentionLimit", false},
      {"snapshot_window", "SnapshotWindow", false},
      {"transit_encryption_enabled", "TransitEncryptionEnabled", false},
      {"transit_encryption_mode", "TransitEncryptionMode", false},
  };
  for (const Simple& s : k_simple) {
    set(common, k_cluster, s.suffix, cluster, {s.member}, s.time);
  }
  set(common, k_cluster, "cache_parameter_group", cluster, {"CacheParameterGroup", "CacheParameterGroupName"});
  set(common, k_cluster, "configuration_endpoint_address", cluster, {"ConfigurationEndpoint", "Address"});
  set(common, k_cluster, "configuration_endpoint_port", cluster, {"ConfigurationEndpoint", "Port"});
  set(common, k_cluster, "notification_topic_arn", cluster, {"NotificationConfiguration", "TopicArn"});
  set(common, k_cluster, "notification_topic_status", cluster, {"NotificationConfiguration", "TopicStatus"});
  std::vector<const Element*> deliveries = items(cluster, "LogDeliveryConfigurations");
  for (size_t i = 0; i < deliveries.size(); ++i) {
    const Element& d = *deliveries[i];
    std::string p = fmt::format("{}log_delivery_configuration_", k_cluster);
    auto indexed = [&](std::string_view name, std::initializer_list<std::string_view> path) {
      if (std::optional<std::string> v = aws_service::text(d, path)) {
        common.set(fmt::format("{}{}_{}", p, name, i), *v);
      }
    };
    indexed("destination_type", {"DestinationType"});
    indexed("log_format", {"LogFormat"});
    indexed("log_type", {"LogType"});
    indexed("status", {"Status"});
    indexed("message", {"Message"});
    indexed("log_group", {"DestinationDetails", "CloudWatchLogsDetails", "LogGroup"});
    indexed("delivery_stream", {"DestinationDetails", "KinesisFirehoseDetails", "DeliveryStream"});
  }
  if (const Element* pending = aws_service::child(cluster, "PendingModifiedValues")) {
    std::string p = fmt::format("{}pending_modified_values_", k_cluster);
    set(common, p, "auth_token_status", *pending, {"AuthTokenStatus"});
    set(common, p, "cache_node_type", *pending, {"CacheNodeType"});
    set(common, p, "engine_version", *pending, {"EngineVersion"});
    set(common, p, "num_cache_nodes", *pending, {"NumCacheNodes"});
    set(common, p, "transit_encryption_enabled", *pending, {"TransitEncryptionEnabled"});
    set(common, p, "transit_encryption_mode", *pending, {"TransitEncryptionMode"});
    std::vector<std::string> ids;
    for (const Element* id : items(*pending, "CacheNodeIdsToRemove")) {
      ids.push_back(id->text);
    }
    if (!ids.empty()) {
      common.set(p + "cache_node_ids_to_remove", fmt::format("{}", fmt::join(ids, ",")));
    }
  }
  std::vector<const Element*> groups = items(cluster, "SecurityGroups");
  for (size_t i = 0; i < groups.size(); ++i) {
    if (std::optional<std::string> id = aws_service::text(*groups[i], {"SecurityGroupId"})) {
      common.set(fmt::format("{}security_group_membership_id_{}", k_cluster, i), *id);
    }
    if (std::optional<std::string> status = aws_service::text(*groups[i], {"Status"})) {
      common.set(fmt::format("{}security_group_membership_status_{}", k_cluster, i), *status);
    }
  }
  add_tags(common, k_cluster, tags);

  std::vector<model::Labels> targets;
  std::string node_prefix = fmt::format("{}node_", k_cluster);
  for (const Element* node : items(cluster, "CacheNodes")) {
    model::Labels l = common;
    set(l, node_prefix, "id", *node, {"CacheNodeId"});
    set(l, node_prefix, "status", *node, {"CacheNodeStatus"});
    set(l, node_prefix, "create_time", *node, {"CacheNodeCreateTime"}, true);
    set(l, node_prefix, "availability_zone", *node, {"CustomerAvailabilityZone"});
    set(l, node_prefix, "customer_outpost_arn", *node, {"CustomerOutpostArn"});
    set(l, node_prefix, "source_cache_node_id", *node, {"SourceCacheNodeId"});
    set(l, node_prefix, "parameter_group_status", *node, {"ParameterGroupStatus"});
    set(l, node_prefix, "endpoint_address", *node, {"Endpoint", "Address"});
    set(l, node_prefix, "endpoint_port", *node, {"Endpoint", "Port"});
    std::optional<std::string> address = aws_service::text(*node, {"Endpoint", "Address"});
    std::optional<std::string> port = aws_service::text(*node, {"Endpoint", "Port"});
    if (address && port) {
      l.set("__address__", util::join_host_port(*address, *port));
    }
    targets.push_back(std::move(l));
  }
  return targets;
}

Discovery::Discovery(const Config& config, std::unique_ptr<aws_service::Client> client)
    : m_config(config), m_client(std::move(client)) {
  split_clusters(config.clusters, m_serverless_names, m_cache_cluster_ids);
}

Result<std::unique_ptr<Discovery>> Discovery::make(const Config& config, DiscoveryOptions options) {
  auto client = aws_service::Client::make(aws_service::k_elasticache, config.access, config.access.endpoint,
                                          config.http_client, std::chrono::milliseconds(config.refresh_interval.ms),
                                          options.client);
  if (!client) {
    return fail(client.error());
  }
  return std::unique_ptr<Discovery>(new Discovery(config, std::move(*client)));
}

Result<Element> Discovery::call(std::string_view operation, const aws_service::Params& params, std::stop_token stop) {
  return m_client->query_call(operation, k_version, params, std::chrono::milliseconds(m_config.refresh_interval.ms),
                              std::move(stop));
}

Result<std::vector<Element>> Discovery::serverless_caches(std::stop_token stop) {
  std::vector<Element> out;
  auto collect = [&](const Element& answer) {
    for (const Element* c : items(answer, "ServerlessCaches")) {
      out.push_back(*c);
    }
  };
  if (m_serverless_names.empty()) {
    std::string next;
    do {
      aws_service::Params params{{"MaxResults", "50"}};
      if (!next.empty()) {
        params.emplace_back("NextToken", next);
      }
      Result<Element> answer = call("DescribeServerlessCaches", params, stop);
      if (!answer) {
        return fail("failed to describe serverless caches: " + answer.error());
      }
      collect(*answer);
      next = aws_service::text(*answer, {"NextToken"}).value_or("");
    } while (!next.empty());
    return out;
  }
  for (const std::string& name : m_serverless_names) {
    Result<Element> answer = call("DescribeServerlessCaches", {{"MaxResults", "50"}, {"ServerlessCacheName", name}}, stop);
    if (!answer) {
      return fail(fmt::format("failed to describe serverless cache {}: {}", name, answer.error()));
    }
    collect(*answer);
  }
  return out;
}

Result<std::vector<Element>> Discovery::cache_clusters(std::stop_token stop) {
  std::vector<Element> out;
  auto collect = [&](const Element& answer) {
    for (const Element* c : items(answer, "CacheClusters")) {
      out.push_back(*c);
    }
  };
  for (std::string_view not_in_groups : {"false", "true"}) {
    aws_service::Params base{{"MaxRecords", "100"},
                             {"ShowCacheClustersNotInReplicationGroups", std::string(not_in_groups)},
                             {"ShowCacheNodeInfo", "true"}};
    if (m_cache_cluster_ids.empty()) {
      std::string marker;
      do {
        aws_service::Params params = base;
        if (!marker.empty()) {
          params.emplace_back("Marker", marker);
        }
        Result<Element> answer = call("DescribeCacheClusters", params, stop);
        if (!answer) {
          return fail("failed to describe cache clusters: " + answer.error());
        }
        collect(*answer);
        marker = aws_service::text(*answer, {"Marker"}).value_or("");
      } while (!marker.empty());
      continue;
    }
    for (const std::string& id : m_cache_cluster_ids) {
      aws_service::Params params = base;
      params.emplace_back("CacheClusterId", id);
      Result<Element> answer = call("DescribeCacheClusters", params, stop);
      if (!answer) {
        return fail(fmt::format("failed to describe cache cluster {}: {}", id, answer.error()));
      }
      collect(*answer);
    }
  }
  return out;
}

Result<std::vector<model::TargetGroup>> Discovery::refresh(std::stop_token stop) {
  Result<std::string> region = m_client->region(stop);
  if (!region) {
    return fail(region.error());
  }
  if (!m_checked) { // upstream's client set-up tests the credentials once
    Result<Element> check = m_client->query_call("DescribeCacheClusters", k_version, {}, k_credential_test_timeout, stop);
    if (!check) {
      return fail("elasticache credential test failed: " + check.error());
    }
    m_checked = true;
  }
  // First pass: the ARNs whose tags are listed.
  Result<std::vector<Element>> caches = serverless_caches(stop);
  if (!caches) {
    return fail("failed to describe serverless caches: " + caches.error());
  }
  Result<std::vector<Element>> clusters = cache_clusters(stop);
  if (!clusters) {
    return fail("failed to describe cache clusters: " + clusters.error());
  }
  std::map<std::string, Tags> tags_by_arn;
  for (const std::vector<Element>* list : {&*caches, &*clusters}) {
    for (const Element& e : *list) {
      std::optional<std::string> arn = aws_service::text(e, {"ARN"});
      if (!arn || tags_by_arn.contains(*arn)) {
        continue;
      }
      Result<Element> answer = call("ListTagsForResource", {{"ResourceName", *arn}}, stop);
      if (!answer) {
        return fail(fmt::format("failed to list tags for resources: failed to list tags for resource {}: {}", *arn,
                                answer.error()));
      }
      Tags& tags = tags_by_arn[*arn];
      for (const Element* tag : items(*answer, "TagList")) {
        std::optional<std::string> key = aws_service::text(*tag, {"Key"});
        std::optional<std::string> value = aws_service::text(*tag, {"Value"});
        if (key && value) {
          tags.emplace_back(*key, *value);
        }
      }
    }
  }
  // Second pass (3.14 describes both kinds again): the targets.
  caches = serverless_caches(stop);
  if (!caches) {
    return fail("failed to describe serverless caches: " + caches.error());
  }
  clusters = cache_clusters(stop);
  if (!clusters) {
    return fail("failed to describe cache clusters: " + clusters.error());
  }
  model::TargetGroup group;
  group.source = *region;
  auto tags_of = [&](const Element& e) -> const Tags& {
    static const Tags k_none;
    auto it = tags_by_arn.find(aws_service::text(e, {"ARN"}).value_or(""));
    return it == tags_by_arn.end() ? k_none : it->second;
  };
  for (const Element& cache : *caches) {
    group.targets.push_back(serverless_cache_target(cache, tags_of(cache)));
  }
  for (const Element& cluster : *clusters) {
    for (model::Labels& t : cache_cluster_targets(cluster, tags_of(cluster))) {
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

} // namespace sdscope::discovery::elasticache
