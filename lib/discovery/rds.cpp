// rds_sd (Prometheus 3.11+): the DB instances of RDS DB clusters, in
// Prometheus 3.14 discovery/aws/rds.go; spec/sd-cloud.md §2.12. API: Amazon
// RDS Query API (Version 2014-10-31, SigV4 service "rds") through
// aws_service: DescribeDBClusters (all, paged by Marker, or one call per
// configured identifier) and, per cluster, DescribeDBInstances filtered by
// db-cluster-id plus the configured filters. Any error fails the refresh.
// Upstream runs the per-identifier calls concurrently (request_concurrency);
// here they run in turn. The SDK sets no request timeout; here each
// request gets the refresh interval (the credential test 10 s).
#include "discovery/rds.h"

#include <span>

#include <fmt/format.h>

#include "util/strings.h"

namespace sdscope::discovery::rds {

namespace {

constexpr std::string_view k_version = "2014-10-31";
constexpr std::chrono::milliseconds k_credential_test_timeout{10000};

struct Member {
  std::string_view name;   // the API member
  std::string_view suffix; // the label after __meta_rds_cluster_ / __meta_rds_instance_
};

// Scalar members copied as they are (booleans true/false, numbers in
// decimal); members ending in "Time" are timestamps, printed in RFC 3339.
constexpr Member k_cluster_members[] = {
    {"DBClusterArn", "arn"},
    {"DBClusterIdentifier", "identifier"},
    {"ActivityStreamKinesisStreamName", "activity_stream_kinesis_stream_name"},
    {"ActivityStreamKmsKeyId", "activity_stream_kms_key_id"},
    {"ActivityStreamMode", "activity_stream_mode"},
    {"ActivityStreamStatus", "activity_stream_status"},
    {"AllocatedStorage", "allocated_storage"},
    {"AutoMinorVersionUpgrade", "auto_minor_version_upgrade"},
    {"AutomaticRestartTime", "automatic_restart_time"},
    {"AwsBackupRecoveryPointArn", "aws_backup_recovery_point_arn"},
    {"BacktrackConsumedChangeRecords", "backtrack_consumed_change_records"},
    {"BacktrackWindow", "backtrack_window"},
    {"BackupRetentionPeriod", "backup_retention_period"},
    {"Capacity", "capacity"},
    {"CharacterSetName", "character_set_name"},
    {"CloneGroupId", "clone_group_id"},
    {"ClusterCreateTime", "cluster_create_time"},
    {"ClusterScalabilityType", "cluster_scalability_type"},
    {"CopyTagsToSnapshot", "copy_tags_to_snapshot"},
    {"CrossAccountClone", "cross_account_clone"},
    {"DBClusterInstanceClass", "instance_class"},
    {"DBClusterParameterGroup", "parameter_group"},
    {"DBSubnetGroup", "subnet_group"},
    {"DBSystemId", "db_system_id"},
    {"DatabaseInsightsMode", "database_insights_mode"},
    {"DatabaseName", "database_name"},
    {"DbClusterResourceId", "resource_id"},
    {"DeletionProtection", "deletion_protection"},
    {"EarliestBacktrackTime", "earliest_backtrack_time"},
    {"EarliestRestorableTime", "earliest_restorable_time"},
    {"Endpoint", "endpoint"},
    {"Engine", "engine"},
    {"EngineLifecycleSupport", "engine_lifecycle_support"},
    {"EngineMode", "engine_mode"},
    {"EngineVersion", "engine_version"},
    {"GlobalClusterIdentifier", "global_cluster_identifier"},
    {"GlobalWriteForwardingRequested", "global_write_forwarding_requested"},
    {"GlobalWriteForwardingStatus", "global_write_forwarding_status"},
    {"HostedZoneId", "hosted_zone_id"},
    {"HttpEndpointEnabled", "http_endpoint_enabled"},
    {"IAMDatabaseAuthenticationEnabled", "iam_database_authentication_enabled"},
    {"IOOptimizedNextAllowedModificationTime", "io_optimized_next_allowed_modification_time"},
    {"Iops", "iops"},
    {"KmsKeyId", "kms_key_id"},
    {"LatestRestorableTime", "latest_restorable_time"},
    {"LocalWriteForwardingStatus", "local_write_forwarding_status"},
    {"MasterUsername", "master_username"},
    {"MonitoringInterval", "monitoring_interval"},
    {"MonitoringRoleArn", "monitoring_role_arn"},
    {"MultiAZ", "multi_az"},
    {"NetworkType", "network_type"},
    {"PercentProgress", "percent_progress"},
    {"PerformanceInsightsEnabled", "performance_insights_enabled"},
    {"PerformanceInsightsKMSKeyId", "performance_insights_kms_key_id"},
    {"PerformanceInsightsRetentionPeriod", "performance_insights_retention_period"},
    {"Port", "port"},
    {"PreferredBackupWindow", "preferred_backup_window"},
    {"PreferredMaintenanceWindow", "preferred_maintenance_window"},
    {"PubliclyAccessible", "publicly_accessible"},
    {"ReaderEndpoint", "reader_endpoint"},
    {"ReplicationSourceIdentifier", "replication_source_identifier"},
    {"ServerlessV2PlatformVersion", "serverless_v2_platform_version"},
    {"Status", "status"},
    {"StorageEncrypted", "storage_encrypted"},
    {"StorageEncryptionType", "storage_encryption_type"},
    {"StorageThroughput", "storage_throughput"},
    {"StorageType", "storage_type"},
    {"UpgradeRolloutOrder", "upgrade_rollout_order"},
};

constexpr Member k_instance_members[] = {
    {"DBInstanceArn", "arn"},
    {"DBInstanceIdentifier", "identifier"},
    {"ActivityStreamEngineNativeAuditFieldsIncluded", "activity_stream_engine_native_audit_fields_included"},
    {"ActivityStreamKinesisStreamName", "activity_stream_kinesis_stream_name"},
    {"ActivityStreamKmsKeyId", "activity_stream_kms_key_id"},
    {"ActivityStreamMode", "activity_stream_mode"},
    {"ActivityStreamPolicyStatus", "activity_stream_policy_status"},
    {"ActivityStreamStatus", "activity_stream_status"},
    {"AllocatedStorage", "allocated_storage"},
    {"AutoMinorVersionUpgrade", "auto_minor_version_upgrade"},
    {"AutomaticRestartTime", "automatic_restart_time"},
    {"AutomationMode", "automation_mode"},
    {"AvailabilityZone", "availability_zone"},
    {"AwsBackupRecoveryPointArn", "aws_backup_recovery_point_arn"},
    {"BackupRetentionPeriod", "backup_retention_period"},
    {"BackupTarget", "backup_target"},
    {"CACertificateIdentifier", "ca_certificate_identifier"},
    {"CharacterSetName", "character_set_name"},
    {"CopyTagsToSnapshot", "copy_tags_to_snapshot"},
    {"CustomIamInstanceProfile", "custom_iam_instance_profile"},
    {"CustomerOwnedIpEnabled", "customer_owned_ip_enabled"},
    {"DBClusterIdentifier", "db_cluster_identifier"},
    {"DBInstanceClass", "class"},
    {"DBInstanceStatus", "status"},
    {"DBName", "db_name"},
    {"DbInstancePort", "port"},
    {"DbiResourceId", "resource_id"},
    {"DedicatedLogVolume", "dedicated_log_volume"},
    {"DeletionProtection", "deletion_protection"},
    {"Engine", "engine"},
    {"EngineLifecycleSupport", "engine_lifecycle_support"},
    {"EngineVersion", "engine_version"},
    {"EnhancedMonitoringResourceArn", "enhanced_monitoring_resource_arn"},
    {"IAMDatabaseAuthenticationEnabled", "iam_database_authentication_enabled"},
    {"InstanceCreateTime", "instance_create_time"},
    {"Iops", "iops"},
    {"IsStorageConfigUpgradeAvailable", "is_storage_config_upgrade_available"},
    {"KmsKeyId", "kms_key_id"},
    {"LatestRestorableTime", "latest_restorable_time"},
    {"LicenseModel", "license_model"},
    {"MasterUsername", "master_username"},
    {"MaxAllocatedStorage", "max_allocated_storage"},
    {"MonitoringInterval", "monitoring_interval"},
    {"MonitoringRoleArn", "monitoring_role_arn"},
    {"MultiAZ", "multi_az"},
    {"MultiTenant", "multi_tenant"},
    {"NcharCharacterSetName", "nchar_character_set_name"},
    {"NetworkType", "network_type"},
    {"PercentProgress", "percent_progress"},
    {"PerformanceInsightsEnabled", "performance_insights_enabled"},
    {"PerformanceInsightsKMSKeyId", "performance_insights_kms_key_id"},
    {"PerformanceInsightsRetentionPeriod", "performance_insights_retention_period"},
    {"PreferredBackupWindow", "preferred_backup_window"},
    {"PreferredMaintenanceWindow", "preferred_maintenance_window"},
    {"PromotionTier", "promotion_tier"},
    {"PubliclyAccessible", "publicly_accessible"},
    {"ReadReplicaSourceDBClusterIdentifier", "read_replica_source_db_cluster_identifier"},
    {"ReadReplicaSourceDBInstanceIdentifier", "read_replica_source_db_instance_identifier"},
    {"ReplicaMode", "replica_mode"},
    {"ResumeFullAutomationModeTime", "resume_full_automation_mode_time"},
    {"SecondaryAvailabilityZone", "secondary_availability_zone"},
    {"StorageEncrypted", "storage_encrypted"},
    {"StorageEncryptionType", "storage_encryption_type"},
    {"StorageThroughput", "storage_throughput"},
    {"StorageType", "storage_type"},
    {"StorageVolumeStatus", "storage_volume_status"},
    {"TdeCredentialArn", "tde_credential_arn"},
    {"Timezone", "timezone"},
    {"UpgradeRolloutOrder", "upgrade_rollout_order"},
    {"DBSystemId", "db_system_id"},
    {"DatabaseInsightsMode", "database_insights_mode"},
};

void set_member(model::Labels& labels, std::string_view prefix, const util::xml::Element& e, std::string_view member,
                std::string_view suffix) {
  std::optional<std::string> value = aws_service::text(e, {member});
  if (!value) {
    return;
  }
  if (member.ends_with("Time")) {
    *value = aws_service::rfc3339(*value);
  }
  labels.set(fmt::format("{}{}", prefix, suffix), *value);
}

void add_members(model::Labels& labels, std::string_view prefix, const util::xml::Element& e,
                 std::span<const Member> members) {
  for (const Member& m : members) {
    set_member(labels, prefix, e, m.name, m.suffix);
  }
}

void add_tags(model::Labels& labels, std::string_view prefix, const util::xml::Element& e) {
  const util::xml::Element* list = aws_service::child(e, "TagList");
  if (list == nullptr) {
    return;
  }
  for (const util::xml::Element* tag : aws_service::children(*list, "Tag")) {
    std::optional<std::string> key = aws_service::text(*tag, {"Key"});
    std::optional<std::string> value = aws_service::text(*tag, {"Value"});
    if (key && value) {
      labels.set(fmt::format("{}tag_{}", prefix, util::sanitize_label_name(*key)), *value);
    }
  }
}

} // namespace

void Config::validate(yaml::Checker& c) {
  check_refresh_interval(c, refresh_interval.ms);
  http_client.validate(c);
}

std::unique_ptr<SdConfig> parse_config(yaml::Decoder& d, yaml::Node n) { return parse_config_of<Config>(d, n); }

std::vector<model::Labels> cluster_targets(const util::xml::Element& cluster,
                                           const std::vector<util::xml::Element>& instances, int port) {
  constexpr std::string_view k_cluster = "__meta_rds_cluster_";
  constexpr std::string_view k_instance = "__meta_rds_instance_";
  model::Labels cluster_labels;
  add_members(cluster_labels, k_cluster, cluster, k_cluster_members);
  add_tags(cluster_labels, k_cluster, cluster);

  std::map<std::string, std::string> writers; // instance identifier -> IsClusterWriter
  if (const util::xml::Element* members = aws_service::child(cluster, "DBClusterMembers")) {
    for (const util::xml::Element* m : aws_service::children(*members, "DBClusterMember")) {
      std::optional<std::string> id = aws_service::text(*m, {"DBInstanceIdentifier"});
      std::optional<std::string> writer = aws_service::text(*m, {"IsClusterWriter"});
      if (id && writer) {
        writers[*id] = *writer;
      }
    }
  }

  std::vector<model::Labels> targets;
  for (const util::xml::Element& instance : instances) {
    model::Labels labels = cluster_labels;
    add_members(labels, k_instance, instance, k_instance_members);
    if (std::optional<std::string> id = aws_service::text(instance, {"DBInstanceIdentifier"})) {
      if (auto w = writers.find(*id); w != writers.end()) {
        labels.set(fmt::format("{}is_cluster_writer", k_instance), w->second);
      }
    }
    for (std::string_view endpoint : {"Endpoint", "ListenerEndpoint"}) {
      const util::xml::Element* e = aws_service::child(instance, endpoint);
      if (e == nullptr) {
        continue;
      }
      std::string prefix = fmt::format("{}{}_", k_instance, endpoint == "Endpoint" ? "endpoint" : "listener_endpoint");
      set_member(labels, prefix, *e, "Address", "address");
      set_member(labels, prefix, *e, "HostedZoneId", "hosted_zone_id");
      set_member(labels, prefix, *e, "Port", "port");
    }
    if (const util::xml::Element* subnet = aws_service::child(instance, "DBSubnetGroup")) {
      set_member(labels, k_instance, *subnet, "DBSubnetGroupName", "subnet_group");
    }
    add_tags(labels, k_instance, instance);
    if (const util::xml::Element* e = aws_service::child(instance, "Endpoint")) {
      std::optional<std::string> address = aws_service::text(*e, {"Address"});
      if (address && aws_service::text(*e, {"Port"})) {
        labels.set("__address__", util::join_host_port(*address, std::to_string(port)));
      }
    }
    targets.push_back(std::move(labels));
  }
  return targets;
}

Discovery::Discovery(const Config& config, std::unique_ptr<aws_service::Client> client)
    : m_config(config), m_client(std::move(client)) {}

Result<std::unique_ptr<Discovery>> Discovery::make(const Config& config, DiscoveryOptions options) {
  auto client = aws_service::Client::make(aws_service::k_rds, config.access, config.access.endpoint,
                                          config.http_client, std::chrono::milliseconds(config.refresh_interval.ms),
                                          options.client);
  if (!client) {
    return fail(client.error());
  }
  return std::unique_ptr<Discovery>(new Discovery(config, std::move(*client)));
}

Result<std::vector<util::xml::Element>> Discovery::describe(std::string_view operation, std::string_view list,
                                                             std::string_view item, aws_service::Params params,
                                                             std::stop_token stop) {
  std::vector<util::xml::Element> all;
  params.emplace_back("MaxRecords", "100");
  std::string marker;
  for (;;) {
    aws_service::Params page_params = params;
    if (!marker.empty()) {
      page_params.emplace_back("Marker", marker);
    }
    Result<util::xml::Element> answer = m_client->query_call(
        operation, k_version, page_params, std::chrono::milliseconds(m_config.refresh_interval.ms), stop);
    if (!answer) {
      return fail(answer.error());
    }
    if (const util::xml::Element* items = aws_service::child(*answer, list)) {
      for (const util::xml::Element* e : aws_service::children(*items, item)) {
        all.push_back(*e);
      }
    }
    marker = aws_service::text(*answer, {"Marker"}).value_or("");
    if (marker.empty()) {
      return all;
    }
  }
}

Result<std::vector<model::TargetGroup>> Discovery::refresh(std::stop_token stop) {
  Result<std::string> region = m_client->region(stop);
  if (!region) {
    return fail(region.error());
  }
  if (!m_checked) { // upstream's client set-up tests the credentials once
    Result<util::xml::Element> check =
        m_client->query_call("DescribeDBClusters", k_version, {}, k_credential_test_timeout, stop);
    if (!check) {
      return fail("RDS credential test failed: " + check.error());
    }
    m_checked = true;
  }

  std::map<std::string, util::xml::Element> clusters; // upstream's map, keyed by ARN or configured value
  if (m_config.clusters.empty()) {
    auto all = describe("DescribeDBClusters", "DBClusters", "DBCluster", {}, stop);
    if (!all) {
      return fail(fmt::format("error describing all DB clusters: failed to describe DB clusters: {}", all.error()));
    }
    for (util::xml::Element& c : *all) {
      if (std::optional<std::string> arn = aws_service::text(c, {"DBClusterArn"})) {
        clusters.insert_or_assign(*arn, std::move(c));
      }
    }
  } else {
    for (const std::string& id : m_config.clusters) {
      auto found = describe("DescribeDBClusters", "DBClusters", "DBCluster", {{"DBClusterIdentifier", id}}, stop);
      if (!found) {
        return fail(
            fmt::format("error describing DB clusters: failed to describe DB cluster {}: {}", id, found.error()));
      }
      if (found->empty()) {
        return fail(fmt::format("error describing DB clusters: no DB cluster found for ARN {}", id));
      }
      clusters.insert_or_assign(id, std::move(found->back()));
    }
  }

  model::TargetGroup group;
  group.source = *region;
  for (const auto& [key, cluster] : clusters) {
    std::string arn = aws_service::text(cluster, {"DBClusterArn"}).value_or("");
    aws_service::Params params{{"Filters.Filter.1.Name", "db-cluster-id"}, {"Filters.Filter.1.Values.Value.1", arn}};
    int n = 2;
    for (const std::optional<ec2::Filter>& f : m_config.filters) {
      if (!f) {
        continue;
      }
      params.emplace_back(fmt::format("Filters.Filter.{}.Name", n), f->name);
      for (size_t v = 0; v < f->values.size(); ++v) {
        params.emplace_back(fmt::format("Filters.Filter.{}.Values.Value.{}", n, v + 1), f->values[v]);
      }
      ++n;
    }
    auto instances = describe("DescribeDBInstances", "DBInstances", "DBInstance", params, stop);
    if (!instances) {
      return fail(fmt::format("error describing DB instances: failed to describe DB instances for cluster ARN {}: {}",
                              arn, instances.error()));
    }
    for (model::Labels& target : cluster_targets(cluster, *instances, m_config.port)) {
      group.targets.push_back(std::move(target));
    }
  }
  return std::vector<model::TargetGroup>{std::move(group)};
}

Result<std::unique_ptr<Discoverer>> Config::make_discoverer(const DiscovererOptions& options) const {
  DiscoveryOptions hooks;
  hooks.client = aws_service::client_options(options);
  return make_refresh_discoverer<Discovery>(*this, refresh_interval.ms, hooks);
}

} // namespace sdscope::discovery::rds
