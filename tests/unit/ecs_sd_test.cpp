// ecs_sd: the task mapping (pure), and the discoverer against fake ECS and
// EC2 endpoints that check every request's SigV4 signature and operation.

#include <atomic>
#include <thread>

#include <doctest/doctest.h>

#include "aws_fake.h"
#include "discovery/ecs.h"
#include "test_util.h"

using namespace sdscope;
using namespace std::chrono_literals;
namespace ecs = sdscope::discovery::ecs;
using nlohmann::json;

namespace {

constexpr const char* k_cluster_arn = "arn:aws:ecs:eu-west-1:123456789012:cluster/prod";

ecs::ClusterState sample_state() {
  ecs::ClusterState s;
  s.cluster = {k_cluster_arn, "prod", {{"team", "a"}, {"cost-center", "42"}}};
  s.services_by_name["web"] = {"arn:aws:ecs:eu-west-1:123456789012:service/prod/web", "web", "ACTIVE", {{"tier", "front"}}};
  ecs::Task awsvpc;
  awsvpc.arn = "arn:task/1";
  awsvpc.group = "service:web";
  awsvpc.task_definition_arn = "arn:taskdef/web:3";
  awsvpc.launch_type = "FARGATE";
  awsvpc.availability_zone = "eu-west-1a";
  awsvpc.desired_status = "RUNNING";
  awsvpc.last_status = "RUNNING";
  awsvpc.health_status = "HEALTHY";
  awsvpc.platform_family = "Linux";
  awsvpc.has_eni = true;
  awsvpc.eni_private_ip = "10.0.0.5";
  awsvpc.eni_subnet_id = "subnet-1";
  awsvpc.eni_id = "eni-1";
  awsvpc.tags = {{"app.kubernetes/name", "web"}};
  ecs::Task bridge;
  bridge.arn = "arn:task/2";
  bridge.group = "family:batch";
  bridge.task_definition_arn = "arn:taskdef/batch:1";
  bridge.launch_type = "EC2";
  bridge.container_instance_arn = "arn:ci/1";
  ecs::Task no_ip; // neither ENI nor host IP: skipped
  no_ip.arn = "arn:task/3";
  no_ip.group = "service:web";
  no_ip.container_instance_arn = "arn:ci/unknown";
  s.tasks = {awsvpc, bridge, no_ip};
  s.public_ip_of_eni["eni-1"] = "203.0.113.7";
  s.ec2_instance_of_container_instance["arn:ci/1"] = "i-1";
  s.host_instances["i-1"] = {"10.0.1.9", "198.51.100.2", "subnet-9", "m5.large", {{"Name", "host-1"}}};
  return s;
}

} // namespace

TEST_SUITE("discovery::ecs") {
  TEST_CASE("ecs_sd: cluster_targets maps awsvpc and bridge tasks, skips tasks without an IP") {
    std::vector<model::Labels> targets = ecs::cluster_targets(sample_state(), "eu-west-1", 9100);
    REQUIRE(targets.size() == 2);
    CHECK(targets[0] == model::Labels{
                            {"__address__", "10.0.0.5:9100"},
                            {"__meta_ecs_availability_zone", "eu-west-1a"},
                            {"__meta_ecs_cluster", "prod"},
                            {"__meta_ecs_cluster_arn", k_cluster_arn},
                            {"__meta_ecs_desired_status", "RUNNING"},
                            {"__meta_ecs_health_status", "HEALTHY"},
                            {"__meta_ecs_ip_address", "10.0.0.5"},
                            {"__meta_ecs_last_status", "RUNNING"},
                            {"__meta_ecs_launch_type", "FARGATE"},
                            {"__meta_ecs_network_mode", "awsvpc"},
                            {"__meta_ecs_platform_family", "Linux"},
                            {"__meta_ecs_public_ip", "203.0.113.7"},
                            {"__meta_ecs_region", "eu-west-1"},
                            {"__meta_ecs_service", "web"},
                            {"__meta_ecs_service_arn", "arn:aws:ecs:eu-west-1:123456789012:service/prod/web"},
                            {"__meta_ecs_service_status", "ACTIVE"},
                            {"__meta_ecs_subnet_id", "subnet-1"},
                            {"__meta_ecs_tag_cluster_cost_center", "42"},
                            {"__meta_ecs_tag_cluster_team", "a"},
                            {"__meta_ecs_tag_service_tier", "front"},
                            {"__meta_ecs_tag_task_app_kubernetes_name", "web"},
                            {"__meta_ecs_task_arn", "arn:task/1"},
                            {"__meta_ecs_task_definition", "arn:taskdef/web:3"},
                            {"__meta_ecs_task_group", "service:web"},
                        });
    // Bridge mode: the host's addresses; a standalone task has no service labels.
    CHECK(targets[1] == model::Labels{
                            {"__address__", "10.0.1.9:9100"},
                            {"__meta_ecs_cluster", "prod"},
                            {"__meta_ecs_cluster_arn", k_cluster_arn},
                            {"__meta_ecs_container_instance_arn", "arn:ci/1"},
                            {"__meta_ecs_ec2_instance_id", "i-1"},
                            {"__meta_ecs_ec2_instance_private_ip", "10.0.1.9"},
                            {"__meta_ecs_ec2_instance_public_ip", "198.51.100.2"},
                            {"__meta_ecs_ec2_instance_type", "m5.large"},
                            {"__meta_ecs_ip_address", "10.0.1.9"},
                            {"__meta_ecs_launch_type", "EC2"},
                            {"__meta_ecs_network_mode", "bridge"},
                            {"__meta_ecs_public_ip", "198.51.100.2"},
                            {"__meta_ecs_region", "eu-west-1"},
                            {"__meta_ecs_subnet_id", "subnet-9"},
                            {"__meta_ecs_tag_cluster_cost_center", "42"},
                            {"__meta_ecs_tag_cluster_team", "a"},
                            {"__meta_ecs_tag_ec2_Name", "host-1"},
                            {"__meta_ecs_task_arn", "arn:task/2"},
                            {"__meta_ecs_task_definition", "arn:taskdef/batch:1"},
                            {"__meta_ecs_task_group", "family:batch"},
                        });
  }

  TEST_CASE("ecs_sd: awsvpc tasks on EC2 get the host's type and IPs; IPv6 addresses are bracketed") {
    ecs::ClusterState s = sample_state();
    s.tasks.resize(1);
    s.tasks[0].container_instance_arn = "arn:ci/1";
    s.tasks[0].eni_private_ip = "2001:db8::5";
    std::vector<model::Labels> targets = ecs::cluster_targets(s, "eu-west-1", 80);
    REQUIRE(targets.size() == 1);
    CHECK(targets[0].get("__address__") == "[2001:db8::5]:80");
    CHECK(targets[0].get("__meta_ecs_ip_address") == "2001:db8::5");
    CHECK(targets[0].get("__meta_ecs_public_ip") == "203.0.113.7"); // the ENI's, not the host's
    CHECK(targets[0].get("__meta_ecs_subnet_id") == "subnet-1");
    CHECK(targets[0].get("__meta_ecs_ec2_instance_type") == "m5.large");
    CHECK(targets[0].get("__meta_ecs_ec2_instance_private_ip") == "10.0.1.9");
    CHECK(targets[0].get("__meta_ecs_tag_ec2_Name") == "host-1");
  }

  TEST_CASE("ecs_sd: decoders read the API members and reject wrong types") {
    auto tasks = ecs::parse_describe_tasks(json::parse(R"({"tasks":[{"taskArn":"t","group":"service:s",
      "attachments":[{"type":"Other","details":[{"name":"privateIPv4Address","value":"1.1.1.1"}]},
                     {"type":"ElasticNetworkInterface","details":[{"name":"privateIPv4Address","value":"10.0.0.1"},
                      {"name":"networkInterfaceId","value":"eni-9"},{"name":"subnetId","value":"s-1"}]}],
      "tags":[{"key":"k","value":"v"},{"key":"only-key"}]}]})"));
    REQUIRE(tasks);
    REQUIRE(tasks->size() == 1);
    CHECK((*tasks)[0].has_eni);
    CHECK((*tasks)[0].eni_private_ip == "10.0.0.1");
    CHECK((*tasks)[0].eni_id == "eni-9");
    CHECK((*tasks)[0].tags == ecs::Tags{{"k", "v"}});
    CHECK_FALSE(ecs::parse_describe_tasks(json::parse(R"({"tasks":[{"taskArn":5}]})")));
    CHECK_FALSE(ecs::parse_describe_clusters(json::parse(R"({"clusters":"x"})")));

    auto root = util::xml::parse(R"(<DescribeInstancesResponse><reservationSet><item><instancesSet>
      <item><instanceId>i-1</instanceId><privateIpAddress>10.0.0.9</privateIpAddress><instanceType>t3.micro</instanceType>
        <tagSet><item><key>Name</key><value>n</value></item></tagSet></item>
      <item><instanceId>i-2</instanceId></item></instancesSet></item></reservationSet>
      <nextToken>tok</nextToken></DescribeInstancesResponse>)");
    REQUIRE(root);
    std::map<std::string, ecs::HostInstance> hosts;
    auto next = ecs::parse_describe_instances(*root, hosts);
    REQUIRE(next);
    CHECK(*next == "tok");
    REQUIRE(hosts.size() == 1); // i-2 has no private IP
    CHECK(hosts["i-1"].instance_type == "t3.micro");
    CHECK(hosts["i-1"].tags.at("Name") == "n");
  }
}

namespace {

// Fake ECS and EC2 endpoints with one cluster: a Fargate service task, a
// bridge-mode task on an EC2 host and a standalone awsvpc task; cluster
// listing and EC2 DescribeInstances answer in two pages.
struct EcsWorld {
  test::FakeAws ecs{"ecs", test::AwsProtocol::json};
  test::FakeAws ec2{"ec2", test::AwsProtocol::ec2_query};
  std::atomic<int> fail_status{0}; // non-zero: every ECS call fails with it
  std::atomic<int> delay_ms{0};

  EcsWorld() {
    ecs.on([this](const test::AwsCall& call, httplib::Response& res) {
      std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms.load()));
      if (int status = fail_status.load(); status != 0 && call.json.contains("maxResults")) {
        ecs.error_answer(res, status, status == 403 ? "AccessDeniedException" : "ServerException",
                         status == 403 ? "User is not authorized to perform: ecs:ListClusters" : "internal");
        return;
      }
      const std::string& op = call.operation;
      if (op == "DescribeClusters" && !call.json.contains("clusters")) {
        test::FakeAws::json_answer(res, {{"clusters", json::array()}});
      } else if (op == "ListClusters") {
        if (!call.json.contains("nextToken")) {
          test::FakeAws::json_answer(res, {{"clusterArns", json::array()}, {"nextToken", "page2"}});
        } else {
          test::FakeAws::json_answer(res, {{"clusterArns", {k_cluster_arn}}});
        }
      } else if (op == "DescribeClusters") {
        test::FakeAws::json_answer(res, {{"clusters", {{{"clusterArn", k_cluster_arn}, {"clusterName", "prod"},
                                                        {"tags", {{{"key", "env"}, {"value", "prod"}}}}}}}});
      } else if (op == "ListServices") {
        test::FakeAws::json_answer(res, {{"serviceArns", {"arn:svc/web"}}});
      } else if (op == "ListTasks") {
        test::FakeAws::json_answer(res, {{"taskArns", {"arn:task/1", "arn:task/2", "arn:task/3"}}});
      } else if (op == "DescribeServices") {
        test::FakeAws::json_answer(
            res, {{"services", {{{"serviceArn", "arn:svc/web"}, {"serviceName", "web"}, {"status", "ACTIVE"}}}}});
      } else if (op == "DescribeTasks") {
        json eni = {{"type", "ElasticNetworkInterface"},
                    {"details", {{{"name", "privateIPv4Address"}, {"value", "127.0.0.11"}},
                                 {{"name", "networkInterfaceId"}, {"value", "eni-1"}}}}};
        test::FakeAws::json_answer(
            res, {{"tasks",
                   {{{"taskArn", "arn:task/1"}, {"group", "service:web"}, {"launchType", "FARGATE"},
                     {"attachments", {eni}}},
                    {{"taskArn", "arn:task/2"}, {"group", "service:web"}, {"launchType", "EC2"},
                     {"containerInstanceArn", "arn:ci/1"}},
                    {{"taskArn", "arn:task/3"}, {"group", "family:job"}, {"launchType", "EC2"},
                     {"containerInstanceArn", "arn:ci/2"}}}}});
      } else if (op == "DescribeContainerInstances") {
        test::FakeAws::json_answer(res, {{"containerInstances",
                                          {{{"containerInstanceArn", "arn:ci/1"}, {"ec2InstanceId", "i-1"}},
                                           {{"containerInstanceArn", "arn:ci/2"}, {"ec2InstanceId", "i-2"}}}}});
      } else {
        ecs.error_answer(res, 400, "InvalidParameterException", "unexpected " + op);
      }
    });
    ec2.on([](const test::AwsCall& call, httplib::Response& res) {
      if (call.operation == "DescribeNetworkInterfaces") {
        test::FakeAws::ec2_answer(res, "DescribeNetworkInterfaces",
                                  "<networkInterfaceSet><item><networkInterfaceId>eni-1</networkInterfaceId>"
                                  "<association><publicIp>127.0.0.99</publicIp></association></item>"
                                  "</networkInterfaceSet>");
      } else if (call.operation == "DescribeInstances" && !call.params.contains("NextToken")) {
        test::FakeAws::ec2_answer(res, "DescribeInstances",
                                  "<reservationSet><item><instancesSet><item><instanceId>i-1</instanceId>"
                                  "<privateIpAddress>127.0.0.21</privateIpAddress><instanceType>m5.large"
                                  "</instanceType></item></instancesSet></item></reservationSet>"
                                  "<nextToken>more</nextToken>");
      } else if (call.operation == "DescribeInstances") {
        test::FakeAws::ec2_answer(res, "DescribeInstances",
                                  "<reservationSet><item><instancesSet><item><instanceId>i-2</instanceId>"
                                  "<privateIpAddress>127.0.0.22</privateIpAddress></item></instancesSet></item>"
                                  "</reservationSet>");
      } else {
        res.status = 400;
      }
    });
  }

  ecs::Config config(int refresh_seconds = 30) const {
    ecs::Config c;
    c.access.region = "eu-west-1";
    c.access.endpoint = ecs.url();
    c.access.access_key = test::k_aws_key_id;
    c.access.secret_key.value = test::k_aws_secret;
    c.port = 9100;
    c.refresh_interval = model::Duration::seconds(refresh_seconds);
    return c;
  }
  ecs::DiscoveryOptions options() const {
    ecs::DiscoveryOptions o;
    o.ecs.retry_delay = 1ms;
    o.ec2.retry_delay = 1ms;
    o.ec2.endpoint = ec2.url();
    return o;
  }
  std::unique_ptr<ecs::Discovery> discovery(const ecs::Config& c) const {
    auto d = ecs::Discovery::make(c, options());
    REQUIRE_MESSAGE(d, (d ? "" : d.error()));
    return std::move(*d);
  }
};

} // namespace

TEST_SUITE("discovery::ecs") {
  TEST_CASE("ecs_sd: a refresh makes the ECS and EC2 calls, signed, and maps the tasks") {
    EcsWorld world;
    auto d = world.discovery(world.config());
    auto groups = d->refresh({});
    REQUIRE_MESSAGE(groups, (groups ? "" : groups.error()));
    REQUIRE(groups->size() == 1);
    CHECK((*groups)[0].source == "eu-west-1");
    std::vector<model::Labels> targets = (*groups)[0].targets;
    REQUIRE(targets.size() == 3);
    CHECK(targets[0].get("__address__") == "127.0.0.11:9100");
    CHECK(targets[0].get("__meta_ecs_public_ip") == "127.0.0.99");
    CHECK(targets[0].get("__meta_ecs_service") == "web");
    CHECK(targets[0].get("__meta_ecs_tag_cluster_env") == "prod");
    CHECK(targets[1].get("__address__") == "127.0.0.21:9100");
    CHECK(targets[1].get("__meta_ecs_network_mode") == "bridge");
    CHECK(targets[1].get("__meta_ecs_ec2_instance_type") == "m5.large");
    CHECK(targets[2].get("__address__") == "127.0.0.22:9100"); // from DescribeInstances' second page
    CHECK_FALSE(targets[2].has("__meta_ecs_service"));

    std::vector<test::AwsCall> calls = world.ecs.calls();
    std::vector<std::string> ops;
    for (const test::AwsCall& c : calls) {
      CHECK(c.signature_ok);
      CHECK(c.method == "POST");
      CHECK(c.path == "/");
      CHECK(c.scope.find("/eu-west-1/ecs/aws4_request") != std::string::npos);
      ops.push_back(c.operation);
    }
    CHECK(ops == std::vector<std::string>{"DescribeClusters", "ListClusters", "ListClusters", "DescribeClusters",
                                          "ListServices", "ListTasks", "DescribeServices", "DescribeTasks",
                                          "DescribeContainerInstances"});
    CHECK(calls[0].json == json::object()); // the credential test
    CHECK(calls[1].json == json{{"maxResults", 100}});
    CHECK(calls[2].json == json{{"maxResults", 100}, {"nextToken", "page2"}});
    CHECK(calls[3].json == json{{"clusters", {k_cluster_arn}}, {"include", {"TAGS"}}});
    CHECK(calls[4].json == json{{"cluster", k_cluster_arn}, {"maxResults", 100}});
    CHECK(calls[7].json == json{{"cluster", k_cluster_arn},
                                {"include", {"TAGS"}},
                                {"tasks", {"arn:task/1", "arn:task/2", "arn:task/3"}}});

    std::vector<test::AwsCall> ec2_calls = world.ec2.calls();
    REQUIRE(ec2_calls.size() == 3);
    for (const test::AwsCall& c : ec2_calls) {
      CHECK(c.signature_ok);
      CHECK(c.params.at("Version") == "2016-11-15");
      CHECK(c.scope.find("/eu-west-1/ec2/aws4_request") != std::string::npos);
    }
    CHECK(ec2_calls[0].operation == "DescribeNetworkInterfaces");
    CHECK(ec2_calls[0].params.at("NetworkInterfaceId.1") == "eni-1");
    CHECK(ec2_calls[1].params.at("InstanceId.1") == "i-1");
    CHECK(ec2_calls[1].params.at("InstanceId.2") == "i-2");
    CHECK(ec2_calls[2].params.at("NextToken") == "more");

    // The credential test runs once.
    world.ecs.clear();
    REQUIRE(d->refresh({}));
    CHECK(world.ecs.operations().front() == "ListClusters");
  }

  TEST_CASE("ecs_sd: configured clusters skip ListClusters; no clusters is one empty group") {
    EcsWorld world;
    ecs::Config c = world.config();
    c.clusters = {k_cluster_arn};
    auto d = world.discovery(c);
    auto groups = d->refresh({});
    REQUIRE(groups);
    CHECK((*groups)[0].targets.size() == 3);
    for (const std::string& op : world.ecs.operations()) {
      CHECK(op != "ListClusters");
    }

    world.ecs.on([](const test::AwsCall&, httplib::Response& res) {
      test::FakeAws::json_answer(res, {{"clusterArns", json::array()}, {"clusters", json::array()}});
    });
    auto empty = world.discovery(world.config())->refresh({});
    REQUIRE(empty);
    REQUIRE(empty->size() == 1);
    CHECK((*empty)[0].source == "eu-west-1");
    CHECK((*empty)[0].targets.empty());
  }

  TEST_CASE("ecs_sd: a failing EC2 lookup leaves the cluster out but the refresh succeeds") {
    EcsWorld world;
    world.ec2.expect_secret("another secret"); // every EC2 call now fails (AuthFailure)
    auto groups = world.discovery(world.config())->refresh({});
    REQUIRE_MESSAGE(groups, (groups ? "" : groups.error()));
    CHECK((*groups)[0].targets.empty());
  }

  TEST_CASE("ecs_sd: a wrong signature gets AWS's answer and fails the credential test") {
    EcsWorld world;
    world.ecs.expect_secret("not the client's secret");
    auto groups = world.discovery(world.config())->refresh({});
    REQUIRE_FALSE(groups);
    CHECK(groups.error().starts_with("ECS credential test failed: operation error ECS: DescribeClusters, "));
    CHECK(groups.error().find("InvalidSignatureException") != std::string::npos);
    CHECK(groups.error().find(test::k_aws_secret) == std::string::npos);
  }

  TEST_CASE("ecs_sd: failures: 403, 500 after retries, malformed body, unreachable, timeout") {
    EcsWorld world;
    auto d = world.discovery(world.config());
    world.fail_status = 403;
    auto denied = d->refresh({});
    REQUIRE_FALSE(denied);
    CHECK(denied.error().starts_with("could not list clusters: operation error ECS: ListClusters, "
                                     "AccessDeniedException: User is not authorized"));

    world.fail_status = 500;
    world.ecs.clear();
    auto server_error = d->refresh({});
    REQUIRE_FALSE(server_error);
    CHECK(server_error.error().find("ServerException: internal") != std::string::npos);
    CHECK(world.ecs.operations().size() == 3); // 3 attempts in all

    world.fail_status = 0;
    world.ecs.on([](const test::AwsCall&, httplib::Response& res) {
      res.set_content("{not json", "application/x-amz-json-1.1");
    });
    auto malformed = world.discovery(world.config())->refresh({});
    REQUIRE_FALSE(malformed);
    CHECK(malformed.error().find("deserialization failed") != std::string::npos);

    ecs::Config unreachable = world.config();
    world.ecs.stop();
    auto down = world.discovery(unreachable)->refresh({});
    REQUIRE_FALSE(down);
    CHECK(down.error().starts_with("ECS credential test failed: operation error ECS: DescribeClusters, "));
  }

  TEST_CASE("ecs_sd: a request gets the refresh interval at most") {
    EcsWorld world;
    auto d = world.discovery(world.config(1));
    REQUIRE(d->refresh({})); // the credential test passes quickly
    world.delay_ms = 2500;
    auto start = std::chrono::steady_clock::now();
    auto slow = d->refresh({});
    REQUIRE_FALSE(slow);
    CHECK(std::chrono::steady_clock::now() - start < 9s);
    world.delay_ms = 0;
  }

  TEST_CASE("ecs_sd: a failure after a success keeps the last targets (Discoverer)") {
    EcsWorld world;
    // Through the config, as sdscope runs it; endpoints["ec2"] moves the
    // EC2 calls to the fake (tests only).
    discovery::DiscovererOptions options;
    options.endpoints["ec2"] = world.ec2.url();
    test::RecordingSink sink;
    {
      test::RunningDiscoverer running(world.config(1).make_discoverer(options), sink);
      REQUIRE(sink.wait_for_reports(1));
      CHECK(sink.report(0) == "");
      world.fail_status = 403;
      REQUIRE(sink.wait_for_reports(2));
      CHECK(sink.report(1).find("AccessDeniedException") != std::string::npos);
    }
    REQUIRE(sink.update_count() == 1);
    CHECK(sink.updates[0][0]->targets.size() == 3);
  }

  TEST_CASE("ecs_sd: the registry runs it") {
    auto r = test::decode_sd("ecs", "region: eu-west-1\nendpoint: http://127.0.0.1:1\n");
    REQUIRE(r.config);
    CHECK(discovery::find_mechanism("ecs")->discovers);
  }
}
