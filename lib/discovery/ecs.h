#pragma once

#include <map>
#include <memory>
#include <optional>
#include <stop_token>
#include <string>
#include <vector>

#include "discovery/aws_service.h"
#include "discovery/ec2.h"
#include "discovery/sd_config.h"
#include "model/duration.h"
#include "net/http_config.h"

namespace sdscope::discovery::ecs {

// ecs_sd_configs (Prometheus 3.8+).
struct Config : SdConfigBase<Config> {
  static constexpr std::string_view k_mechanism = "ecs";
  static constexpr std::string_view k_go_type = "aws.plain";
  ec2::AwsAccess access;
  std::vector<std::string> clusters; // full cluster ARNs; empty: every cluster
  int port = 80;
  model::Duration refresh_interval = model::Duration::seconds(60);
  int request_concurrency = 20;
  net::HttpClientConfig http_client;

  template <class V> void fields(V& v) {
    v.inline_(access);
    v("clusters", clusters);
    v("port", port);
    v("refresh_interval", refresh_interval);
    v("request_concurrency", request_concurrency);
    v.inline_(http_client);
  }
  void validate(yaml::Checker& c);
  bool operator==(const Config&) const = default;
  Result<std::unique_ptr<Discoverer>> make_discoverer(const DiscovererOptions& options) const override;
};

std::unique_ptr<SdConfig> parse_config(yaml::Decoder& d, yaml::Node n);

// What one refresh learned about a cluster, as the ECS and EC2 APIs answer
// (only the members the labels use).
using Tags = std::vector<std::pair<std::string, std::string>>; // key and value both set

struct Cluster {
  std::string arn;
  std::string name;
  Tags tags;
};

struct Service {
  std::string arn;
  std::string name;
  std::optional<std::string> status;
  Tags tags;
};

struct Task {
  std::string arn, group, task_definition_arn, launch_type, availability_zone, desired_status, last_status,
      health_status;
  std::optional<std::string> platform_family, platform_version, container_instance_arn;
  // The first attachment of type ElasticNetworkInterface (awsvpc mode).
  bool has_eni = false;
  std::string eni_private_ip, eni_subnet_id, eni_id;
  Tags tags;
};

struct HostInstance { // an EC2 instance running container instances
  std::string private_ip, public_ip, subnet_id, instance_type;
  std::map<std::string, std::string> tags;
};

struct ClusterState {
  Cluster cluster;
  std::map<std::string, Service> services_by_name;
  std::vector<Task> tasks;
  std::map<std::string, std::string> ec2_instance_of_container_instance;
  std::map<std::string, std::string> public_ip_of_eni;
  std::map<std::string, HostInstance> host_instances; // by EC2 instance ID
};

// The targets of one cluster's tasks (tasks without an IP are left out).
std::vector<model::Labels> cluster_targets(const ClusterState& state, const std::string& region, int port);

// Decoders of the API answers (AWS JSON 1.1 and EC2 Query XML).
Result<std::vector<Cluster>> parse_describe_clusters(const Json& body);
Result<std::vector<Service>> parse_describe_services(const Json& body);
Result<std::vector<Task>> parse_describe_tasks(const Json& body);
Result<std::map<std::string, std::string>> parse_describe_container_instances(const Json& body);
// DescribeInstances: host instances by ID (those with a private IP); NextToken.
Result<std::string> parse_describe_instances(const util::xml::Element& root,
                                             std::map<std::string, HostInstance>& out);
// DescribeNetworkInterfaces: public IPs by ENI ID; NextToken.
Result<std::string> parse_describe_network_interfaces(const util::xml::Element& root,
                                                      std::map<std::string, std::string>& out);

// Test hooks: clients whose endpoints and retry delay tests choose.
struct DiscoveryOptions {
  aws_service::ClientOptions ecs, ec2;
};

class Discovery {
public:
  static Result<std::unique_ptr<Discovery>> make(const Config& config, DiscoveryOptions options = {});
  Result<std::vector<model::TargetGroup>> refresh(std::stop_token stop);

private:
  Discovery(const Config& config, std::unique_ptr<aws_service::Client> ecs, std::unique_ptr<aws_service::Client> ec2);
  Result<Json> ecs_call(std::string_view operation, const Json& body, std::stop_token stop);
  Result<std::vector<std::string>> list(std::string_view operation, std::string_view member, const Json& request,
                                        std::stop_token stop);
  Result<ClusterState> cluster_state(Cluster cluster, const std::vector<std::string>& service_arns,
                                     const std::vector<std::string>& task_arns, std::stop_token stop);

  Config m_config;
  std::unique_ptr<aws_service::Client> m_ecs;
  std::unique_ptr<aws_service::Client> m_ec2;
  bool m_checked = false; // the first refresh's credential test passed
};

} // namespace sdscope::discovery::ecs
