// rds_sd: the DB cluster / instance mapping (pure), and the discoverer
// against a fake RDS Query endpoint that checks every request's signature.

#include <atomic>
#include <cstdlib>
#include <mutex>
#include <thread>

#include <doctest/doctest.h>

#include "aws_fake.h"
#include "discovery/rds.h"
#include "test_util.h"

using namespace sdscope;
using namespace std::chrono_literals;
namespace rds = sdscope::discovery::rds;

namespace {

constexpr const char* k_cluster_xml = R"(<DBCluster>
  <DBClusterArn>arn:aws:rds:eu-west-1:1:cluster:db1</DBClusterArn>
  <DBClusterIdentifier>db1</DBClusterIdentifier>
  <Engine>aurora-postgresql</Engine><EngineVersion>15.4</EngineVersion>
  <Status>available</Status><Port>5432</Port><MultiAZ>true</MultiAZ>
  <ClusterCreateTime>2024-03-01T10:20:30.123Z</ClusterCreateTime>
  <DBClusterParameterGroup>pg</DBClusterParameterGroup><DBSubnetGroup>subnets</DBSubnetGroup>
  <DbClusterResourceId>cluster-ABC</DbClusterResourceId><IAMDatabaseAuthenticationEnabled>false</IAMDatabaseAuthenticationEnabled>
  <ActivityStreamStatus></ActivityStreamStatus>
  <DBClusterMembers>
    <DBClusterMember><DBInstanceIdentifier>db1-a</DBInstanceIdentifier><IsClusterWriter>true</IsClusterWriter></DBClusterMember>
    <DBClusterMember><DBInstanceIdentifier>db1-b</DBInstanceIdentifier><IsClusterWriter>false</IsClusterWriter></DBClusterMember>
  </DBClusterMembers>
  <TagList><Tag><Key>team:name</Key><Value>data</Value></Tag></TagList>
</DBCluster>)";

std::string instance_xml(const std::string& id, const std::string& address) {
  return "<DBInstance><DBInstanceIdentifier>" + id + "</DBInstanceIdentifier><DBInstanceArn>arn:aws:rds:eu-west-1:1:db:" +
         id + "</DBInstanceArn><DBInstanceClass>db.r6g.large</DBInstanceClass><DBInstanceStatus>available" +
         "</DBInstanceStatus><Endpoint><Address>" + address + "</Address><Port>5432</Port><HostedZoneId>Z1" +
         "</HostedZoneId></Endpoint><DbInstancePort>0</DbInstancePort><DbiResourceId>db-" + id +
         "</DbiResourceId><DBSubnetGroup><DBSubnetGroupName>subnets</DBSubnetGroupName><VpcId>v</VpcId>" +
         "</DBSubnetGroup><InstanceCreateTime>2024-03-01T10:25:00+01:00</InstanceCreateTime><PromotionTier>1" +
         "</PromotionTier><TagList><Tag><Key>role</Key><Value>" + id + "</Value></Tag></TagList></DBInstance>";
}

util::xml::Element parse(const std::string& text) {
  auto e = util::xml::parse(text);
  REQUIRE_MESSAGE(e, (e ? "" : e.error()));
  return *e;
}

} // namespace

TEST_SUITE("discovery::rds") {
  TEST_CASE("rds_sd: cluster_targets: cluster and instance labels, writer flag, configured port") {
    std::vector<model::Labels> targets = rds::cluster_targets(
        parse(k_cluster_xml), {parse(instance_xml("db1-a", "db1-a.example")), parse("<DBInstance/>")}, 9187);
    REQUIRE(targets.size() == 2);
    CHECK(targets[0] == model::Labels{
                            {"__address__", "db1-a.example:9187"},
                            {"__meta_rds_cluster_arn", "arn:aws:rds:eu-west-1:1:cluster:db1"},
                            {"__meta_rds_cluster_cluster_create_time", "2024-03-01T10:20:30Z"},
                            {"__meta_rds_cluster_engine", "aurora-postgresql"},
                            {"__meta_rds_cluster_engine_version", "15.4"},
                            {"__meta_rds_cluster_iam_database_authentication_enabled", "false"},
                            {"__meta_rds_cluster_identifier", "db1"},
                            {"__meta_rds_cluster_multi_az", "true"},
                            {"__meta_rds_cluster_parameter_group", "pg"},
                            {"__meta_rds_cluster_port", "5432"},
                            {"__meta_rds_cluster_resource_id", "cluster-ABC"},
                            {"__meta_rds_cluster_status", "available"},
                            {"__meta_rds_cluster_subnet_group", "subnets"},
                            {"__meta_rds_cluster_tag_team_name", "data"},
                            {"__meta_rds_instance_arn", "arn:aws:rds:eu-west-1:1:db:db1-a"},
                            {"__meta_rds_instance_class", "db.r6g.large"},
                            {"__meta_rds_instance_endpoint_address", "db1-a.example"},
                            {"__meta_rds_instance_endpoint_hosted_zone_id", "Z1"},
                            {"__meta_rds_instance_endpoint_port", "5432"},
                            {"__meta_rds_instance_identifier", "db1-a"},
                            {"__meta_rds_instance_instance_create_time", "2024-03-01T09:25:00Z"},
                            {"__meta_rds_instance_is_cluster_writer", "true"},
                            {"__meta_rds_instance_port", "0"},
                            {"__meta_rds_instance_promotion_tier", "1"},
                            {"__meta_rds_instance_resource_id", "db-db1-a"},
                            {"__meta_rds_instance_status", "available"},
                            {"__meta_rds_instance_subnet_group", "subnets"},
                            {"__meta_rds_instance_tag_role", "db1-a"},
                        });
    // An instance without an endpoint has no __address__ (Prometheus drops it later).
    CHECK_FALSE(targets[1].has("__address__"));
    CHECK(targets[1].get("__meta_rds_cluster_identifier") == "db1");
  }
}

namespace {

struct RdsWorld {
  test::FakeAws rds{"rds", test::AwsProtocol::query};
  std::atomic<int> fail_status{0};
  std::atomic<int> delay_ms{0};
  std::atomic<bool> malformed{false};

  RdsWorld() {
    rds.on([this](const test::AwsCall& call, httplib::Response& res) {
      std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms.load()));
      if (int status = fail_status.load(); status != 0 && call.params.contains("MaxRecords")) {
        rds.error_answer(res, status, status == 403 ? "AccessDenied" : "InternalFailure",
                         status == 403 ? "not authorized to perform: rds:DescribeDBClusters" : "internal");
        return;
      }
      if (malformed.load() && call.params.contains("MaxRecords")) {
        res.set_content("<DescribeDBClustersResponse><unclosed>", "text/xml");
        return;
      }
      if (call.operation == "DescribeDBClusters") {
        std::string id = call.params.contains("DBClusterIdentifier") ? call.params.at("DBClusterIdentifier") : "";
        if (!call.params.contains("MaxRecords") || id == "missing") {
          test::FakeAws::xml_answer(res, "DescribeDBClusters", "<DBClusters/>");
        } else if (!id.empty() || call.params.contains("Marker")) {
          test::FakeAws::xml_answer(res, "DescribeDBClusters", std::string("<DBClusters>") + k_cluster_xml + "</DBClusters>");
        } else {
          test::FakeAws::xml_answer(res, "DescribeDBClusters", "<DBClusters/><Marker>m1</Marker>");
        }
      } else if (call.operation == "DescribeDBInstances") {
        if (!call.params.contains("Marker")) {
          test::FakeAws::xml_answer(res, "DescribeDBInstances",
                                    "<DBInstances>" + instance_xml("db1-a", "127.0.0.31") + "</DBInstances><Marker>i2</Marker>");
        } else {
          test::FakeAws::xml_answer(res, "DescribeDBInstances",
                                    "<DBInstances>" + instance_xml("db1-b", "127.0.0.32") + "</DBInstances>");
        }
      } else {
        rds.error_answer(res, 400, "InvalidAction", "unexpected");
      }
    });
  }
  rds::Config config(int refresh_seconds = 30) const {
    rds::Config c;
    c.access.region = "eu-west-1";
    c.access.endpoint = rds.url();
    c.access.access_key = test::k_aws_key_id;
    c.access.secret_key.value = test::k_aws_secret;
    c.refresh_interval = model::Duration::seconds(refresh_seconds);
    return c;
  }
  std::unique_ptr<rds::Discovery> discovery(const rds::Config& c) const {
    rds::DiscoveryOptions o;
    o.client.retry_delay = 1ms;
    auto d = rds::Discovery::make(c, o);
    REQUIRE_MESSAGE(d, (d ? "" : d.error()));
    return std::move(*d);
  }
};

} // namespace

TEST_SUITE("discovery::rds") {
  TEST_CASE("rds_sd: a refresh pages clusters and instances, signed, with the filters") {
    RdsWorld world;
    rds::Config c = world.config();
    c.filters.push_back(discovery::ec2::Filter{"engine", {"aurora-postgresql", "aurora-mysql"}});
    auto groups = world.discovery(c)->refresh({});
    REQUIRE_MESSAGE(groups, (groups ? "" : groups.error()));
    REQUIRE(groups->size() == 1);
    CHECK((*groups)[0].source == "eu-west-1");
    REQUIRE((*groups)[0].targets.size() == 2);
    CHECK((*groups)[0].targets[0].get("__address__") == "127.0.0.31:80");
    CHECK((*groups)[0].targets[1].get("__address__") == "127.0.0.32:80");
    CHECK((*groups)[0].targets[1].get("__meta_rds_instance_is_cluster_writer") == "false");

    std::vector<test::AwsCall> calls = world.rds.calls();
    REQUIRE(calls.size() == 5);
    for (const test::AwsCall& call : calls) {
      CHECK(call.signature_ok);
      CHECK(call.params.at("Version") == "2014-10-31");
      CHECK(call.scope.find("/eu-west-1/rds/aws4_request") != std::string::npos);
    }
    CHECK(calls[0].params == std::map<std::string, std::string>{{"Action", "DescribeDBClusters"}, {"Version", "2014-10-31"}});
    CHECK(calls[1].params.at("MaxRecords") == "100");
    CHECK(calls[2].params.at("Marker") == "m1");
    CHECK(calls[3].operation == "DescribeDBInstances");
    CHECK(calls[3].params == std::map<std::string, std::string>{
                                 {"Action", "DescribeDBInstances"},
                                 {"Filters.Filter.1.Name", "db-cluster-id"},
                                 {"Filters.Filter.1.Values.Value.1", "arn:aws:rds:eu-west-1:1:cluster:db1"},
                                 {"Filters.Filter.2.Name", "engine"},
                                 {"Filters.Filter.2.Values.Value.1", "aurora-postgresql"},
                                 {"Filters.Filter.2.Values.Value.2", "aurora-mysql"},
                                 {"MaxRecords", "100"},
                                 {"Version", "2014-10-31"}});
    CHECK(calls[4].params.at("Marker") == "i2");
  }

  TEST_CASE("rds_sd: configured clusters are described one by one; an unknown one fails") {
    RdsWorld world;
    rds::Config c = world.config();
    c.clusters = {"db1"};
    auto groups = world.discovery(c)->refresh({});
    REQUIRE(groups);
    CHECK((*groups)[0].targets.size() == 2);
    CHECK(world.rds.calls()[1].params.at("DBClusterIdentifier") == "db1");

    c.clusters = {"missing"};
    auto missing = world.discovery(c)->refresh({});
    REQUIRE_FALSE(missing);
    CHECK(missing.error() == "error describing DB clusters: no DB cluster found for ARN missing");
  }

  TEST_CASE("rds_sd: failures: wrong signature, 403, 500 after retries, malformed, unreachable, timeout") {
    RdsWorld world;
    world.rds.expect_secret("other");
    auto bad_signature = world.discovery(world.config())->refresh({});
    REQUIRE_FALSE(bad_signature);
    CHECK(bad_signature.error().starts_with(
        "RDS credential test failed: operation error RDS: DescribeDBClusters, SignatureDoesNotMatch: "));
    world.rds.expect_secret(test::k_aws_secret);

    auto d = world.discovery(world.config(1));
    world.fail_status = 403;
    auto denied = d->refresh({});
    REQUIRE_FALSE(denied);
    CHECK(denied.error().starts_with("error describing all DB clusters: failed to describe DB clusters: operation "
                                     "error RDS: DescribeDBClusters, AccessDenied: not authorized"));
    world.fail_status = 500;
    world.rds.clear();
    REQUIRE_FALSE(d->refresh({}));
    CHECK(world.rds.calls().size() == 3);
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

    rds::Config down = world.config();
    world.rds.stop();
    auto unreachable = world.discovery(down)->refresh({});
    REQUIRE_FALSE(unreachable);
    CHECK(unreachable.error().starts_with("RDS credential test failed: operation error RDS: DescribeDBClusters, "));
  }

  TEST_CASE("rds_sd: a failure after a success keeps the last targets (Discoverer)") {
    RdsWorld world;
    std::shared_ptr<rds::Discovery> d = world.discovery(world.config(1));
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
    CHECK(sink.updates[0][0]->targets.size() == 2);
    CHECK(discovery::find_mechanism("rds")->discovers);
  }
}

TEST_SUITE("discovery::rds") {
  TEST_CASE("rds_sd: without a region, the region comes from IMDS (IMDSv2 token) at the first refresh") {
    if (std::getenv("AWS_REGION") != nullptr || std::getenv("AWS_DEFAULT_REGION") != nullptr ||
        std::getenv("AWS_CONFIG_FILE") != nullptr) {
      return; // the environment names a region: IMDS would not be asked
    }
    setenv("AWS_CONFIG_FILE", "/nonexistent/sdscope-test-aws-config", 1);
    httplib::Server imds;
    std::atomic<int> token_puts{0};
    std::string seen_token;
    std::mutex mutex;
    imds.Put("/latest/api/token", [&](const httplib::Request& req, httplib::Response& res) {
      CHECK(req.get_header_value("X-aws-ec2-metadata-token-ttl-seconds") == "21600");
      ++token_puts;
      res.set_content("tok-1", "text/plain");
    });
    imds.Get("/latest/meta-data/placement/region", [&](const httplib::Request& req, httplib::Response& res) {
      std::lock_guard lock(mutex);
      seen_token = req.get_header_value("X-aws-ec2-metadata-token");
      res.set_content("eu-west-1", "text/plain");
    });
    test::LoopbackServer serving;
    int port = serving.start(imds);

    RdsWorld world;
    rds::Config c = world.config();
    c.access.region.clear();
    rds::DiscoveryOptions o;
    o.client.imds_endpoint = "http://127.0.0.1:" + std::to_string(port);
    auto d = rds::Discovery::make(c, o);
    REQUIRE(d);
    auto groups = (*d)->refresh({});
    unsetenv("AWS_CONFIG_FILE");
    REQUIRE_MESSAGE(groups, (groups ? "" : groups.error()));
    CHECK((*groups)[0].source == "eu-west-1");
    CHECK(token_puts == 1);
    std::lock_guard lock(mutex);
    CHECK(seen_token == "tok-1");
    for (const test::AwsCall& call : world.rds.calls()) {
      CHECK(call.signature_ok); // signed for the region IMDS gave
    }
  }
}
