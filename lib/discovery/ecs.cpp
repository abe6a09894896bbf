// ecs_sd (Prometheus 3.8+, 3.10 to 3.14 behaviour): ECS tasks of every
// (or the configured) cluster, in Prometheus 3.14 discovery/aws/ecs.go;
// spec/sd-cloud.md §2.9. APIs: Amazon ECS (AWS JSON 1.1, target prefix
// AmazonEC2ContainerServiceV20141113) and, for the hosts of EC2-launched
// tasks, EC2 DescribeInstances / DescribeNetworkInterfaces (Query). Every
// request SigV4-signed through aws_service.
//
// A refresh: the cluster list (configured ARNs or ListClusters), then for
// all clusters DescribeClusters (batches of 100), ListServices and
// ListTasks; then per cluster with tasks DescribeServices (batches of 10)
// and DescribeTasks (batches of 100), DescribeContainerInstances and the
// EC2 calls. An error before the per-cluster step fails the refresh; an
// error inside it leaves that cluster out (upstream logs it). Upstream runs
// these calls concurrently (request_concurrency); here they run one after
// the other, which changes timing only. The SDK sets no request timeout;
// here each request gets the refresh interval (the credential test 10 s).
#include "discovery/ecs.h"

#include <set>

#include <fmt/format.h>

#include "util/strings.h"

namespace sdscope::discovery::ecs {

namespace {

constexpr std::string_view k_target_prefix = "AmazonEC2ContainerServiceV20141113";
constexpr std::string_view k_prefix = "__meta_ecs_";
constexpr std::chrono::milliseconds k_credential_test_timeout{10000};

// Decoding the JSON members the SDK reads; a member of the wrong type fails
// the call as the SDK's deserializer does.
struct Reader {
  std::string error;

  std::optional<std::string> str(const Json& object, std::string_view key) {
    auto it = object.find(key);
    if (it == object.end() || it->is_null()) {
      return std::nullopt;
    }
    if (!it->is_string()) {
      fail_member(key, *it);
      return std::nullopt;
    }
    return it->get<std::string>();
  }
  std::string value(const Json& object, std::string_view key) { return str(object, key).value_or(""); }
  const Json* array(const Json& object, std::string_view key) {
    auto it = object.find(key);
    if (it == object.end() || it->is_null()) {
      return nullptr;
    }
    if (!it->is_array()) {
      fail_member(key, *it);
      return nullptr;
    }
    return &*it;
  }
  // The objects of an array member (null entries skipped).
  std::vector<const Json*> objects(const Json& object, std::string_view key) {
    std::vector<const Json*> out;
    if (const Json* list = array(object, key)) {
      for (const Json& item : *list) {
        if (item.is_object()) {
          out.push_back(&item);
        } else if (!item.is_null()) {
          fail_member(key, item);
        }
      }
    }
    return out;
  }
  std::vector<std::string> strings(const Json& object, std::string_view key) {
    std::vector<std::string> out;
    if (const Json* list = array(object, key)) {
      for (const Json& item : *list) {
        if (item.is_string()) {
          out.push_back(item.get<std::string>());
        } else if (!item.is_null()) {
          fail_member(key, item);
        }
      }
    }
    return out;
  }
  Tags tags(const Json& object) {
    Tags out;
    for (const Json* tag : objects(object, "tags")) {
      std::optional<std::string> key = str(*tag, "key");
      std::optional<std::string> value = str(*tag, "value");
      if (key && value) {
        out.emplace_back(*key, *value);
      }
    }
    return out;
  }
  void fail_member(std::string_view key, const Json& v) {
    if (error.empty()) {
      error = fmt::format("unexpected {} for member {}", json_kind(v), key);
    }
  }
  template <class T> Result<T> done(T value) {
    if (!error.empty()) {
      return fail(error);
    }
    return value;
  }
};

void add_tags(model::Labels& labels, std::string_view kind, const Tags& tags) {
  for (const auto& [key, value] : tags) {
    labels.set(fmt::format("{}tag_{}_{}", k_prefix, kind, util::sanitize_label_name(key)), value);
  }
}

void set(model::Labels& labels, std::string_view name, std::string_view value) {
  labels.set(std::string(k_prefix) + std::string(name), value);
}

} // namespace

void Config::validate(yaml::Checker& c) {
  // The region is resolved at the first refresh (3.14), so an empty one is
  // not a load-time problem.
  check_refresh_interval(c, refresh_interval.ms);
  http_client.validate(c);
}

std::unique_ptr<SdConfig> parse_config(yaml::Decoder& d, yaml::Node n) { return parse_config_of<Config>(d, n); }

Result<std::vector<Cluster>> parse_describe_clusters(const Json& body) {
  Reader r;
  std::vector<Cluster> clusters;
  for (const Json* c : r.objects(body, "clusters")) {
    std::optional<std::string> arn = r.str(*c, "clusterArn");
    if (!arn) {
      continue; // upstream keys its map by the ARN
    }
    clusters.push_back(Cluster{*arn, r.value(*c, "clusterName"), r.tags(*c)});
  }
  return r.done(std::move(clusters));
}

Result<std::vector<Service>> parse_describe_services(const Json& body) {
  Reader r;
  std::vector<Service> services;
  for (const Json* s : r.objects(body, "services")) {
    std::optional<std::string> arn = r.str(*s, "serviceArn");
    if (!arn) {
      continue;
    }
    services.push_back(Service{*arn, r.value(*s, "serviceName"), r.str(*s, "status"), r.tags(*s)});
  }
  return r.done(std::move(services));
}

Result<std::vector<Task>> parse_describe_tasks(const Json& body) {
  Reader r;
  std::vector<Task> tasks;
  for (const Json* t : r.objects(body, "tasks")) {
    Task task;
    task.arn = r.value(*t, "taskArn");
    task.group = r.value(*t, "group");
    task.task_definition_arn = r.value(*t, "taskDefinitionArn");
    task.launch_type = r.value(*t, "launchType");
    task.availability_zone = r.value(*t, "availabilityZone");
    task.desired_status = r.value(*t, "desiredStatus");
    task.last_status = r.value(*t, "lastStatus");
    task.health_status = r.value(*t, "healthStatus");
    task.platform_family = r.str(*t, "platformFamily");
    task.platform_version = r.str(*t, "platformVersion");
    task.container_instance_arn = r.str(*t, "containerInstanceArn");
    for (const Json* attachment : r.objects(*t, "attachments")) {
      if (r.str(*attachment, "type") != "ElasticNetworkInterface") {
        continue;
      }
      task.has_eni = true;
      for (const Json* detail : r.objects(*attachment, "details")) {
        std::string name = r.value(*detail, "name");
        std::string value = r.value(*detail, "value");
        if (name == "privateIPv4Address") {
          task.eni_private_ip = value;
        } else if (name == "subnetId") {
          task.eni_subnet_id = value;
        } else if (name == "networkInterfaceId") {
          task.eni_id = value;
        }
      }
      break; // the first ENI attachment only
    }
    task.tags = r.tags(*t);
    tasks.push_back(std::move(task));
  }
  return r.done(std::move(tasks));
}

Result<std::map<std::string, std::string>> parse_describe_container_instances(const Json& body) {
  Reader r;
  std::map<std::string, std::string> out;
  for (const Json* ci : r.objects(body, "containerInstances")) {
    std::optional<std::string> arn = r.str(*ci, "containerInstanceArn");
    std::optional<std::string> instance = r.str(*ci, "ec2InstanceId");
    if (arn && instance) {
      out[*arn] = *instance;
    }
  }
  return r.done(std::move(out));
}

Result<std::string> parse_describe_instances(const util::xml::Element& root, std::map<std::string, HostInstance>& out) {
  using namespace aws_service;
  if (const util::xml::Element* reservations = child(root, "reservationSet")) {
    for (const util::xml::Element* reservation : children(*reservations, "item")) {
      const util::xml::Element* instances = child(*reservation, "instancesSet");
      if (instances == nullptr) {
        continue;
      }
      for (const util::xml::Element* instance : children(*instances, "item")) {
        std::optional<std::string> id = text(*instance, {"instanceId"});
        std::optional<std::string> private_ip = text(*instance, {"privateIpAddress"});
        if (!id || !private_ip) {
          continue;
        }
        HostInstance host;
        host.private_ip = *private_ip;
        host.public_ip = text(*instance, {"ipAddress"}).value_or("");
        host.subnet_id = text(*instance, {"subnetId"}).value_or("");
        host.instance_type = text(*instance, {"instanceType"}).value_or("");
        if (const util::xml::Element* tags = child(*instance, "tagSet")) {
          for (const util::xml::Element* tag : children(*tags, "item")) {
            std::optional<std::string> key = text(*tag, {"key"});
            std::optional<std::string> value = text(*tag, {"value"});
            if (key && value) {
              host.tags[*key] = *value;
            }
          }
        }
        out[*id] = std::move(host);
      }
    }
  }
  return text(root, {"nextToken"}).value_or("");
}

Result<std::string> parse_describe_network_interfaces(const util::xml::Element& root,
                                                      std::map<std::string, std::string>& out) {
  using namespace aws_service;
  if (const util::xml::Element* set = child(root, "networkInterfaceSet")) {
    for (const util::xml::Element* eni : children(*set, "item")) {
      std::optional<std::string> id = text(*eni, {"networkInterfaceId"});
      std::optional<std::string> public_ip = text(*eni, {"association", "publicIp"});
      if (id && public_ip) {
        out[*id] = *public_ip;
      }
    }
  }
  return text(root, {"nextToken"}).value_or("");
}

std::vector<model::Labels> cluster_targets(const ClusterState& state, const std::string& region, int port) {
  std::vector<model::Labels> targets;
  auto host_of = [&](const std::string& container_instance) -> std::pair<std::string, const HostInstance*> {
    auto ci = state.ec2_instance_of_container_instance.find(container_instance);
    if (ci == state.ec2_instance_of_container_instance.end()) {
      return {"", nullptr};
    }
    auto host = state.host_instances.find(ci->second);
    return {ci->second, host == state.host_instances.end() ? nullptr : &host->second};
  };
  for (const Task& task : state.tasks) {
    std::string ip, subnet, public_ip, network_mode, instance_id;
    const HostInstance* host = nullptr;
    if (task.has_eni) {
      network_mode = "awsvpc";
      ip = task.eni_private_ip;
      subnet = task.eni_subnet_id;
      if (auto pub = state.public_ip_of_eni.find(task.eni_id); !task.eni_id.empty() && pub != state.public_ip_of_eni.end()) {
        public_ip = pub->second;
      }
      if (task.container_instance_arn) { // awsvpc on EC2: the host's type and IPs as extra labels
        std::tie(instance_id, host) = host_of(*task.container_instance_arn);
      }
    } else if (task.container_instance_arn) { // bridge or host mode: the host's addresses
      network_mode = "bridge";
      std::tie(instance_id, host) = host_of(*task.container_instance_arn);
      if (host != nullptr) {
        ip = host->private_ip;
        public_ip = host->public_ip;
        subnet = host->subnet_id;
      }
    }
    if (ip.empty()) {
      continue;
    }
    model::Labels labels;
    set(labels, "cluster_arn", state.cluster.arn);
    set(labels, "cluster", state.cluster.name);
    set(labels, "task_group", task.group);
    set(labels, "task_arn", task.arn);
    set(labels, "task_definition", task.task_definition_arn);
    set(labels, "ip_address", ip);
    set(labels, "region", region);
    set(labels, "launch_type", task.launch_type);
    set(labels, "availability_zone", task.availability_zone);
    set(labels, "desired_status", task.desired_status);
    set(labels, "last_status", task.last_status);
    set(labels, "health_status", task.health_status);
    set(labels, "network_mode", network_mode);
    set(labels, "subnet_id", subnet);
    if (task.container_instance_arn) {
      set(labels, "container_instance_arn", *task.container_instance_arn);
    }
    set(labels, "ec2_instance_id", instance_id);
    if (host != nullptr) {
      set(labels, "ec2_instance_type", host->instance_type);
      set(labels, "ec2_instance_private_ip", host->private_ip);
      set(labels, "ec2_instance_public_ip", host->public_ip);
    }
    set(labels, "public_ip", public_ip);
    if (task.platform_family) {
      set(labels, "platform_family", *task.platform_family);
    }
    if (task.platform_version) {
      set(labels, "platform_version", *task.platform_version);
    }
    labels.set("__address__", util::join_host_port(ip, std::to_string(port)));
    add_tags(labels, "cluster", state.cluster.tags);
    // A service's task has the group "service:<name>"; a standalone task
    // "family:<name>".
    if (!util::starts_with(task.group, "family:")) {
      std::vector<std::string> parts = util::split(task.group, ':');
      auto service = parts.size() > 1 ? state.services_by_name.find(parts[1]) : state.services_by_name.end();
      if (service != state.services_by_name.end()) {
        set(labels, "service", service->second.name);
        set(labels, "service_arn", service->second.arn);
        if (service->second.status) {
          set(labels, "service_status", *service->second.status);
        }
        add_tags(labels, "service", service->second.tags);
      }
    }
    add_tags(labels, "task", task.tags);
    if (host != nullptr) {
      for (const auto& [key, value] : host->tags) {
        set(labels, "tag_ec2_" + util::sanitize_label_name(key), value);
      }
    }
    targets.push_back(std::move(labels));
  }
  return targets;
}

Discovery::Discovery(const Config& config, std::unique_ptr<aws_service::Client> ecs,
                     std::unique_ptr<aws_service::Client> ec2)
    : m_config(config), m_ecs(std::move(ecs)), m_ec2(std::move(ec2)) {}

Result<std::unique_ptr<Discovery>> Discovery::make(const Config& config, DiscoveryOptions options) {
  auto ecs = aws_service::Client::make(aws_service::k_ecs, config.access, config.access.endpoint, config.http_client,
                                       std::chrono::milliseconds(config.refresh_interval.ms),
                                       options.ecs);
  if (!ecs) {
    return fail(ecs.error());
  }
  // The EC2 client ignores the config's endpoint (upstream passes it to the
  // ECS client only).
  auto ec2 = aws_service::Client::make(aws_service::k_ec2, config.access, "", config.http_client,
                                       std::chrono::milliseconds(config.refresh_interval.ms), options.ec2);
  if (!ec2) {
    return fail(ec2.error());
  }
  return std::unique_ptr<Discovery>(new Discovery(config, std::move(*ecs), std::move(*ec2)));
}

Result<Json> Discovery::ecs_call(std::string_view operation, const Json& body, std::stop_token stop) {
  return m_ecs->json_call(k_target_prefix, operation, body, std::chrono::milliseconds(m_config.refresh_interval.ms),
                          std::move(stop));
}

// A paged list call: the named string array of every page.
Result<std::vector<std::string>> Discovery::list(std::string_view operation, std::string_view member,
                                                 const Json& request, std::stop_token stop) {
  std::vector<std::string> all;
  Json body = request;
  body["maxResults"] = 100;
  for (;;) {
    Result<Json> page = ecs_call(operation, body, stop);
    if (!page) {
      return fail(page.error());
    }
    Reader r;
    for (std::string& item : r.strings(*page, member)) {
      all.push_back(std::move(item));
    }
    std::optional<std::string> next = r.str(*page, "nextToken");
    if (!r.error.empty()) {
      return fail(r.error);
    }
    if (!next) {
      return all;
    }
    body["nextToken"] = *next;
  }
}

namespace {

template <class T> std::vector<std::vector<T>> batches(const std::vector<T>& items, size_t size) {
  std::vector<std::vector<T>> out;
  for (size_t i = 0; i < items.size(); i += size) {
    out.emplace_back(items.begin() + static_cast<std::ptrdiff_t>(i),
                     items.begin() + static_cast<std::ptrdiff_t>(std::min(items.size(), i + size)));
  }
  return out;
}

} // namespace

Result<ClusterState> Discovery::cluster_state(Cluster cluster, const std::vector<std::string>& service_arns,
                                              const std::vector<std::string>& task_arns, std::stop_token stop) {
  ClusterState state;
  state.cluster = std::move(cluster);
  const std::string& arn = state.cluster.arn;
  for (const std::vector<std::string>& batch : batches(service_arns, 10)) {
    Result<Json> answer = ecs_call("DescribeServices", Json{{"cluster", arn}, {"services", batch}, {"include", {"TAGS"}}}, stop);
    if (!answer) {
      return fail(fmt::format("could not describe services for cluster {}: {}", util::go_quote(arn), answer.error()));
    }
    auto services = parse_describe_services(*answer);
    if (!services) {
      return fail(services.error());
    }
    for (Service& s : *services) {
      std::string name = s.name;
      state.services_by_name[name] = std::move(s);
    }
  }
  for (const std::vector<std::string>& batch : batches(task_arns, 100)) {
    Result<Json> answer = ecs_call("DescribeTasks", Json{{"cluster", arn}, {"tasks", batch}, {"include", {"TAGS"}}}, stop);
    if (!answer) {
      return fail(fmt::format("could not describe tasks in cluster {}: {}", util::go_quote(arn), answer.error()));
    }
    auto tasks = parse_describe_tasks(*answer);
    if (!tasks) {
      return fail(tasks.error());
    }
    for (Task& t : *tasks) {
      state.tasks.push_back(std::move(t));
    }
  }
  std::vector<std::string> container_instances, enis;
  for (const Task& task : state.tasks) {
    if (task.container_instance_arn) {
      container_instances.push_back(*task.container_instance_arn);
    }
    if (task.has_eni && !task.eni_id.empty()) {
      enis.push_back(task.eni_id);
    }
  }
  std::chrono::milliseconds timeout(m_config.refresh_interval.ms);
  for (const std::vector<std::string>& batch : batches(container_instances, 100)) {
    Result<Json> answer = ecs_call("DescribeContainerInstances", Json{{"cluster", arn}, {"containerInstances", batch}}, stop);
    if (!answer) {
      return fail("could not describe container instances: " + answer.error());
    }
    auto map = parse_describe_container_instances(*answer);
    if (!map) {
      return fail(map.error());
    }
    state.ec2_instance_of_container_instance.merge(*map);
  }
  // EC2 calls: paged by NextToken, not batched.
  auto ec2_paged = [&](std::string_view operation, std::string_view id_param, const std::vector<std::string>& ids,
                       auto parse) -> Result<void> {
    std::string next;
    do {
      aws_service::Params params;
      for (size_t i = 0; i < ids.size(); ++i) {
        params.emplace_back(fmt::format("{}.{}", id_param, i + 1), ids[i]);
      }
      if (!next.empty()) {
        params.emplace_back("NextToken", next);
      }
      Result<util::xml::Element> answer = m_ec2->query_call(operation, "2016-11-15", params, timeout, stop);
      if (!answer) {
        return fail(answer.error());
      }
      Result<std::string> token = parse(*answer);
      if (!token) {
        return fail(token.error());
      }
      next = *token;
    } while (!next.empty());
    return {};
  };
  if (!enis.empty()) {
    Result<void> done = ec2_paged("DescribeNetworkInterfaces", "NetworkInterfaceId", enis, [&](const util::xml::Element& root) {
      return parse_describe_network_interfaces(root, state.public_ip_of_eni);
    });
    if (!done) {
      return fail("could not describe network interfaces: " + done.error());
    }
  }
  if (!state.ec2_instance_of_container_instance.empty()) {
    std::set<std::string> unique;
    for (const auto& [ci, instance] : state.ec2_instance_of_container_instance) {
      unique.insert(instance);
    }
    std::vector<std::string> ids(unique.begin(), unique.end());
    Result<void> done = ec2_paged("DescribeInstances", "InstanceId", ids, [&](const util::xml::Element& root) {
      return parse_describe_instances(root, state.host_instances);
    });
    if (!done) {
      return fail("could not describe EC2 instances: " + done.error());
    }
  }
  return state;
}

Result<std::vector<model::TargetGroup>> Discovery::refresh(std::stop_token stop) {
  Result<std::string> region = m_ecs->region(stop);
  if (!region) {
    return fail(region.error());
  }
  if (!m_checked) { // upstream's client set-up tests the credentials once
    Result<Json> check = m_ecs->json_call(k_target_prefix, "DescribeClusters", Json::object(), k_credential_test_timeout, stop);
    if (!check) {
      return fail("ECS credential test failed: " + check.error());
    }
    m_checked = true;
  }
  std::vector<std::string> clusters = m_config.clusters;
  if (clusters.empty()) {
    Result<std::vector<std::string>> listed = list("ListClusters", "clusterArns", Json::object(), stop);
    if (!listed) {
      return fail("could not list clusters: " + listed.error());
    }
    clusters = std::move(*listed);
  }
  model::TargetGroup group;
  group.source = *region;
  if (clusters.empty()) {
    return std::vector<model::TargetGroup>{std::move(group)};
  }

  std::map<std::string, Cluster> described;
  for (const std::vector<std::string>& batch : batches(clusters, 100)) {
    Result<Json> answer = ecs_call("DescribeClusters", Json{{"clusters", batch}, {"include", {"TAGS"}}}, stop);
    if (!answer) {
      return fail(fmt::format("could not describe clusters [{}]: {}", fmt::join(batch, " "), answer.error()));
    }
    auto parsed = parse_describe_clusters(*answer);
    if (!parsed) {
      return fail(parsed.error());
    }
    for (Cluster& c : *parsed) {
      std::string arn = c.arn;
      described[arn] = std::move(c);
    }
  }
  std::map<std::string, std::vector<std::string>> services, tasks;
  for (const std::string& arn : clusters) {
    Result<std::vector<std::string>> listed = list("ListServices", "serviceArns", Json{{"cluster", arn}}, stop);
    if (!listed) {
      return fail(fmt::format("could not list services for cluster {}: {}", util::go_quote(arn), listed.error()));
    }
    services[arn] = std::move(*listed);
  }
  for (const std::string& arn : clusters) {
    Result<std::vector<std::string>> listed = list("ListTasks", "taskArns", Json{{"cluster", arn}}, stop);
    if (!listed) {
      return fail(fmt::format("could not list tasks for cluster {}: {}", util::go_quote(arn), listed.error()));
    }
    tasks[arn] = std::move(*listed);
  }
  for (const auto& [arn, task_arns] : tasks) {
    if (task_arns.empty()) {
      continue;
    }
    Cluster cluster;
    if (auto it = described.find(arn); it != described.end()) {
      cluster = it->second;
    } else {
      cluster.arn = arn; // not described: upstream would crash on the missing name
    }
    Result<ClusterState> state = cluster_state(std::move(cluster), services[arn], task_arns, stop);
    if (!state) {
      if (stop.stop_requested()) {
        return fail(state.error());
      }
      continue; // upstream logs it and leaves the cluster out
    }
    for (model::Labels& target : cluster_targets(*state, *region, m_config.port)) {
      group.targets.push_back(std::move(target));
    }
  }
  return std::vector<model::TargetGroup>{std::move(group)};
}

Result<std::unique_ptr<Discoverer>> Config::make_discoverer(const DiscovererOptions& options) const {
  DiscoveryOptions hooks;
  hooks.ecs = aws_service::client_options(options);
  hooks.ec2 = hooks.ecs;
  // ECS's EC2 calls ignore the config's endpoint; tests move them with
  // endpoints["ec2"] (AWS_ENDPOINT_URL_EC2 does it for real).
  if (auto it = options.endpoints.find("ec2"); it != options.endpoints.end()) {
    hooks.ec2.endpoint = it->second;
  }
  return make_refresh_discoverer<Discovery>(*this, refresh_interval.ms, hooks);
}

} // namespace sdscope::discovery::ecs
