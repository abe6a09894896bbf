// elasticache_sd: the serverless cache / cache cluster mapping (pure), and
// the discoverer against a fake ElastiCache Query endpoint that checks every
// request's signature.

#include <atomic>
#include <thread>

#include <doctest/doctest.h>

#include "aws_fake.h"
#include "discovery/elasticache.h"
#include "test_util.h"

using namespace sdscope;
using namespace std::chrono_literals;
namespace elasticache = sdscope::discovery::elasticache;

namespace {

constexpr const char* k_serverless_xml = R"(<member>
  <ServerlessCacheName>sessions</ServerlessCacheName><Description>d</Description>
  <CreateTime>2024-05-06T07:08:09.5Z</CreateTime><Status>available</Status><Engine>valkey</Engine>
  <MajorEngineVersion>8</MajorEngineVersion><FullEngineVersion>8.0</FullEngineVersion>
  <CacheUsageLimits><DataStorage><Maximum>10</Maximum><Unit>GB</Unit></DataStorage>
    <ECPUPerSecond><Minimum>1000</Minimum></ECPUPerSecond></CacheUsageLimits>
  <SecurityGroupIds><SecurityGroupId>sg-1</SecurityGroupId><SecurityGroupId>sg-2</SecurityGroupId></SecurityGroupIds>
  <Endpoint><Address>127.0.0.51</Address><Port>6379</Port></Endpoint>
  <ReaderEndpoint><Address>reader.example</Address><Port>6380</Port></ReaderEndpoint>
  <ARN>arn:aws:elasticache:eu-west-1:1:serverlesscache:sessions</ARN>
  <SubnetIds><SubnetId>subnet-1</SubnetId></SubnetIds><SnapshotRetentionLimit>3</SnapshotRetentionLimit>
</member>)";

constexpr const char* k_cluster_xml = R"(<CacheCluster>
  <CacheClusterId>redis-001</CacheClusterId><CacheClusterStatus>available</CacheClusterStatus>
  <CacheNodeType>cache.t4g.small</CacheNodeType><Engine>redis</Engine><EngineVersion>7.1</EngineVersion>
  <NumCacheNodes>1</NumCacheNodes><CacheClusterCreateTime>2024-01-02T03:04:05Z</CacheClusterCreateTime>
  <CacheParameterGroup><CacheParameterGroupName>default.redis7</CacheParameterGroupName></CacheParameterGroup>
  <ReplicationGroupId>redis</ReplicationGroupId><TransitEncryptionEnabled>true</TransitEncryptionEnabled>
  <SecurityGroups><member><SecurityGroupId>sg-9</SecurityGroupId><Status>active</Status></member></SecurityGroups>
  <LogDeliveryConfigurations><LogDeliveryConfiguration><LogType>slow-log</LogType><DestinationType>cloudwatch-logs</DestinationType>
    <DestinationDetails><CloudWatchLogsDetails><LogGroup>lg</LogGroup></CloudWatchLogsDetails></DestinationDetails>
    <LogFormat>json</LogFormat><Status>active</Status></LogDeliveryConfiguration></LogDeliveryConfigurations>
  <PendingModifiedValues><CacheNodeIdsToRemove><CacheNodeId>0002</CacheNodeId><CacheNodeId>0003</CacheNodeId></CacheNodeIdsToRemove></PendingModifiedValues>
  <CacheNodes>
    <CacheNode><CacheNodeId>0001</CacheNodeId><CacheNodeStatus>available</CacheNodeStatus>
      <CacheNodeCreateTime>2024-01-02T03:04:05Z</CacheNodeCreateTime>
      <Endpoint><Address>127.0.0.61</Address><Port>6379</Port></Endpoint>
      <ParameterGroupStatus>in-sync</ParameterGroupStatus><CustomerAvailabilityZone>eu-west-1a</CustomerAvailabilityZone></CacheNode>
    <CacheNode><CacheNodeId>0002</CacheNodeId></CacheNode>
  </CacheNodes>
  <ARN>arn:aws:elasticache:eu-west-1:1:cluster:redis-001</ARN>
</CacheCluster>)";

util::xml::Element parse(const std::string& text) {
  auto e = util::xml::parse(text);
  REQUIRE_MESSAGE(e, (e ? "" : e.error()));
  return *e;
}

} // namespace

TEST_SUITE("discovery::elasticache") {
  TEST_CASE("elasticache_sd: serverless cache labels and address") {
    model::Labels t = elasticache::serverless_cache_target(parse(k_serverless_xml), {{"env:name", "prod"}});
    constexpr std::string_view p = "__meta_elasticache_serverless_cache_";
    auto l = [&](std::string_view s) { return std::string(p) + std::string(s); };
    CHECK(t == model::Labels{
                   {"__address__", "127.0.0.51:6379"},
                   {"__meta_elasticache_deployment_option", "serverless"},
                   {l("arn"), "arn:aws:elasticache:eu-west-1:1:serverlesscache:sessions"},
                   {l("cache_usage_limit_data_storagemaximum"), "10"},
                   {l("cache_usage_limit_data_storageunit"), "GB"},
                   {l("cache_usage_limit_ecpu_per_secondminimum"), "1000"},
                   {l("create_time"), "2024-05-06T07:08:09Z"},
                   {l("description"), "d"},
                   {l("endpoint_address"), "127.0.0.51"},
                   {l("endpoint_port"), "6379"},
                   {l("endpoint_reader_address"), "reader.example"},
                   {l("endpoint_reader_port"), "6380"},
                   {l("engine"), "valkey"},
                   {l("full_engine_version"), "8.0"},
                   {l("major_engine_version"), "8"},
                   {l("name"), "sessions"},
                   {l("security_group_id_0"), "sg-1"},
                   {l("security_group_id_1"), "sg-2"},
                   {l("snapshot_retention_limit"), "3"},
                   {l("status"), "available"},
                   {l("subnet_id_0"), "subnet-1"},
                   {l("tag_env_name"), "prod"},
               });
  }

  TEST_CASE("elasticache_sd: cache cluster labels, one target per node") {
    std::vector<model::Labels> targets = elasticache::cache_cluster_targets(parse(k_cluster_xml), {{"team", "x"}});
    REQUIRE(targets.size() == 2);
    constexpr std::string_view p = "__meta_elasticache_cache_cluster_";
    auto l = [&](std::string_view s) { return std::string(p) + std::string(s); };
    CHECK(targets[0] == model::Labels{
                            {"__address__", "127.0.0.61:6379"},
                            {l("arn"), "arn:aws:elasticache:eu-west-1:1:cluster:redis-001"},
                            {l("cache_cluster_create_time"), "2024-01-02T03:04:05Z"},
                            {l("cache_cluster_id"), "redis-001"},
                            {l("cache_cluster_status"), "available"},
                            {l("cache_node_type"), "cache.t4g.small"},
                            {l("cache_parameter_group"), "default.redis7"},
                            {l("engine"), "redis"},
                            {l("engine_version"), "7.1"},
                            {l("log_delivery_configuration_destination_type_0"), "cloudwatch-logs"},
                            {l("log_delivery_configuration_log_format_0"), "json"},
                            {l("log_delivery_configuration_log_group_0"), "lg"},
                            {l("log_delivery_configuration_log_type_0"), "slow-log"},
                            {l("log_delivery_configuration_status_0"), "active"},
                            {l("node_availability_zone"), "eu-west-1a"},
                            {l("node_create_time"), "2024-01-02T03:04:05Z"},
                            {l("node_endpoint_address"), "127.0.0.61"},
                            {l("node_endpoint_port"), "6379"},
                            {l("node_id"), "0001"},
                            {l("node_parameter_group_status"), "in-sync"},
                            {l("node_status"), "available"},
                            {l("num_cache_nodes"), "1"},
                            {l("pending_modified_values_cache_node_ids_to_remove"), "0002,0003"},
                            {l("replication_group_id"), "redis"},
                            {l("security_group_membership_id_0"), "sg-9"},
                            {l("security_group_membership_status_0"), "active"},
                            {l("tag_team"), "x"},
                            {l("transit_encryption_enabled"), "true"},
                            {"__meta_elasticache_deployment_option", "node"},
                        });
    CHECK_FALSE(targets[1].has("__address__"));
    CHECK(targets[1].get("__meta_elasticache_cache_cluster_node_id") == "0002");
  }

  TEST_CASE("elasticache_sd: configured ARNs split by resource type") {
    std::vector<std::string> serverless, clusters;
    elasticache::split_clusters({"arn:aws:elasticache:eu-west-1:1:serverlesscache:sessions",
                                 "arn:aws:elasticache:eu-west-1:1:replicationgroup:redis", "short:arn",
                                 "arn:aws:elasticache:eu-west-1:1:cluster:c1", ""},
                                serverless, clusters);
    CHECK(serverless == std::vector<std::string>{"sessions"});
    CHECK(clusters == std::vector<std::string>{"redis"});
  }
}

namespace {

struct ElastiCacheWorld {
  test::FakeAws api{"elasticache", test::AwsProtocol::query};
  std::atomic<int> fail_status{0};
  std::atomic<int> delay_ms{0};
  std::atomic<bool> malformed{false};

  ElastiCacheWorld() {
    api.on([this](const test::AwsCall& call, httplib::Response& res) {
      std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms.load()));
      bool listing = call.params.contains("MaxResults") || call.params.contains("MaxRecords");
      if (int status = fail_status.load(); status != 0 && listing) {
        api.error_answer(res, status, status == 403 ? "AccessDenied" : "InternalFailure",
                         status == 403 ? "not authorized" : "internal");
        return;
      }
      if (malformed.load() && listing) {
        res.set_content("<DescribeServerlessCachesResponse>", "text/xml");
        return;
      }
      const std::string& op = call.operation;
      if (op == "DescribeServerlessCaches") {
        if (!call.params.contains("NextToken")) {
          test::FakeAws::xml_answer(res, op, "<ServerlessCaches/><NextToken>s2</NextToken>");
        } else {
          test::FakeAws::xml_answer(res, op, std::string("<ServerlessCaches>") + k_serverless_xml + "</ServerlessCaches>");
        }
      } else if (op == "DescribeCacheClusters") {
        if (!listing || call.params.at("ShowCacheClustersNotInReplicationGroups") == "true") {
          test::FakeAws::xml_answer(res, op, "<CacheClusters/>");
        } else if (!call.params.contains("Marker")) {
          test::FakeAws::xml_answer(res, op, "<CacheClusters/><Marker>c2</Marker>");
        } else {
          test::FakeAws::xml_answer(res, op, std::string("<CacheClusters>") + k_cluster_xml + "</CacheClusters>");
        }
      } else if (op == "ListTagsForResource") {
        test::FakeAws::xml_answer(res, op,
                                  "<TagList><Tag><Key>of</Key><Value>" + call.params.at("ResourceName") +
                                      "</Value></Tag></TagList>");
      } else {
        api.error_answer(res, 400, "InvalidAction", "unexpected");
      }
    });
  }
  elasticache::Config config(int refresh_seconds = 30) const {
    elasticache::Config c;
    c.access.region = "eu-west-1";
    c.access.endpoint = api.url();
    c.access.access_key = test::k_aws_key_id;
    c.access.secret_key.value = test::k_aws_secret;
    c.refresh_interval = model::Duration::seconds(refresh_seconds);
    return c;
  }
  std::unique_ptr<elasticache::Discovery> discovery(const elasticache::Config& c) const {
    elasticache::DiscoveryOptions o;
    o.client.retry_delay = 1ms;
    auto d = elasticache::Discovery::make(c, o);
    REQUIRE_MESSAGE(d, (d ? "" : d.error()));
    return std::move(*d);
  }
};

} // namespace

TEST_SUITE("discovery::elasticache") {
  TEST_CASE("elasticache_sd: a refresh pages both kinds twice, lists tags, all signed") {
    ElastiCacheWorld world;
    auto groups = world.discovery(world.config())->refresh({});
    REQUIRE_MESSAGE(groups, (groups ? "" : groups.error()));
    REQUIRE(groups->size() == 1);
    CHECK((*groups)[0].source == "eu-west-1");
    const std::vector<model::Labels>& targets = (*groups)[0].targets;
    REQUIRE(targets.size() == 3);
    CHECK(targets[0].get("__address__") == "127.0.0.51:6379");
    CHECK(targets[0].get("__meta_elasticache_serverless_cache_tag_of") ==
          "arn:aws:elasticache:eu-west-1:1:serverlesscache:sessions");
    CHECK(targets[1].get("__address__") == "127.0.0.61:6379");
    CHECK(targets[1].get("__meta_elasticache_cache_cluster_tag_of") ==
          "arn:aws:elasticache:eu-west-1:1:cluster:redis-001");

    std::vector<test::AwsCall> calls = world.api.calls();
    std::vector<std::string> ops;
    for (const test::AwsCall& c : calls) {
      CHECK(c.signature_ok);
      CHECK(c.params.at("Version") == "2015-02-02");
      CHECK(c.scope.find("/eu-west-1/elasticache/aws4_request") != std::string::npos);
      ops.push_back(c.operation);
    }
    std::vector<std::string> pass = {"DescribeServerlessCaches", "DescribeServerlessCaches", "DescribeCacheClusters",
                                     "DescribeCacheClusters", "DescribeCacheClusters"};
    std::vector<std::string> want = {"DescribeCacheClusters"};
    want.insert(want.end(), pass.begin(), pass.end());
    want.insert(want.end(), {"ListTagsForResource", "ListTagsForResource"});
    want.insert(want.end(), pass.begin(), pass.end());
    CHECK(ops == want);
    CHECK(calls[1].params.at("MaxResults") == "50");
    CHECK(calls[2].params.at("NextToken") == "s2");
    CHECK(calls[3].params == std::map<std::string, std::string>{{"Action", "DescribeCacheClusters"},
                                                                {"MaxRecords", "100"},
                                                                {"ShowCacheClustersNotInReplicationGroups", "false"},
                                                                {"ShowCacheNodeInfo", "true"},
                                                                {"Version", "2015-02-02"}});
    CHECK(calls[4].params.at("Marker") == "c2");
    CHECK(calls[5].params.at("ShowCacheClustersNotInReplicationGroups") == "true");
  }

  TEST_CASE("elasticache_sd: configured ARNs query by name and ID") {
    ElastiCacheWorld world;
    elasticache::Config c = world.config();
    c.clusters = {"arn:aws:elasticache:eu-west-1:1:replicationgroup:redis-001"};
    auto groups = world.discovery(c)->refresh({});
    REQUIRE_MESSAGE(groups, (groups ? "" : groups.error()));
    std::vector<test::AwsCall> calls = world.api.calls();
    bool by_id = false;
    for (const test::AwsCall& call : calls) {
      if (call.operation == "DescribeCacheClusters" && call.params.contains("CacheClusterId")) {
        by_id = true;
        CHECK(call.params.at("CacheClusterId") == "redis-001");
        CHECK_FALSE(call.params.contains("Marker"));
      }
    }
    CHECK(by_id);
  }

  TEST_CASE("elasticache_sd: failures: wrong signature, 403, 500 after retries, malformed, unreachable, timeout") {
    ElastiCacheWorld world;
    world.api.expect_secret("other");
    auto bad = world.discovery(world.config())->refresh({});
    REQUIRE_FALSE(bad);
    CHECK(bad.error().starts_with("elasticache credential test failed: operation error ElastiCache: "
                                  "DescribeCacheClusters, SignatureDoesNotMatch: "));
    world.api.expect_secret(test::k_aws_secret);

    auto d = world.discovery(world.config(1));
    world.fail_status = 403;
    auto denied = d->refresh({});
    REQUIRE_FALSE(denied);
    CHECK(denied.error().starts_with("failed to describe serverless caches: failed to describe serverless caches: "
                                     "operation error ElastiCache: DescribeServerlessCaches, AccessDenied: "));
    world.fail_status = 500;
    world.api.clear();
    REQUIRE_FALSE(d->refresh({}));
    CHECK(world.api.calls().size() == 3);
    world.fail_status = 0;
    world.malformed = true;
    auto malformed = d->refresh({});
    REQUIRE_FALSE(malformed);
    CHECK(malformed.error().find("deserialization failed") != std::string::npos);
    world.malformed = false;
    world.delay_ms = 2500;
    auto start = std::chrono::steady_clock::now();
    REQUIRE_FALSE(d->refresh({}));
    CHECK(std::chrono::steady_clock::now() - start < 9s);
    world.delay_ms = 0;

    elasticache::Config down = world.config();
    world.api.stop();
    auto unreachable = world.discovery(down)->refresh({});
    REQUIRE_FALSE(unreachable);
    CHECK(unreachable.error().starts_with("elasticache credential test failed: "));
  }

  TEST_CASE("elasticache_sd: a failure after a success keeps the last targets (Discoverer)") {
    ElastiCacheWorld world;
    std::shared_ptr<elasticache::Discovery> d = world.discovery(world.config(1));
    test::RecordingSink sink;
    {
      test::RunningDiscoverer running(
          std::unique_ptr<discovery::Discoverer>(std::make_unique<discovery::RefreshDiscoverer>(
              1000, [d](std::stop_token stop) { return d->refresh(std::move(stop)); })),
          sink);
      REQUIRE(sink.wait_for_reports(1));
      CHECK(sink.report(0) == "");
      world.fail_status = 403;
      REQUIRE(sink.wait_for_reports(2));
      CHECK(sink.report(1).find("AccessDenied") != std::string::npos);
    }
    REQUIRE(sink.update_count() == 1);
    CHECK(sink.updates[0][0]->targets.size() == 3);
    CHECK(discovery::find_mechanism("elasticache")->discovers);
  }
}
