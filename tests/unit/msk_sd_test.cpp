// msk_sd: the cluster / node mapping (pure), and the discoverer against a
// fake MSK REST-JSON endpoint that checks every request's signature.

#include <atomic>
#include <thread>

#include <doctest/doctest.h>

#include "aws_fake.h"
#include "discovery/msk.h"
#include "test_util.h"

using namespace sdscope;
using namespace std::chrono_literals;
namespace msk = sdscope::discovery::msk;
using nlohmann::json;

namespace {

constexpr const char* k_arn = "arn:aws:kafka:eu-west-1:1:cluster/events/abcd-1";

discovery::Json cluster_json() {
  return discovery::Json::parse(R"({"clusterArn":"arn:aws:kafka:eu-west-1:1:cluster/events/abcd-1",
    "clusterName":"events","clusterType":"PROVISIONED","state":"ACTIVE","currentVersion":"K3AEGXETSR30VB",
    "tags":{"team":"data","cost-center":"7"},
    "provisioned":{"currentBrokerSoftwareInfo":{"configurationArn":"arn:cfg","configurationRevision":3,"kafkaVersion":"3.6.0"},
      "openMonitoring":{"prometheus":{"jmxExporter":{"enabledInBroker":true},"nodeExporter":{"enabledInBroker":false}}}}})");
}

discovery::Json broker_json(const std::string& host) {
  return discovery::Json::parse(R"({"nodeARN":"arn:node/1","addedToClusterTime":"2024-01-01T00:00:00.000Z",
    "instanceType":"kafka.m5.large","brokerNodeInfo":{"attachedENIId":"eni-1","brokerId":1.0,"clientSubnet":"subnet-1",
    "clientVpcIpAddress":"10.0.0.1","endpoints":[")" + host + R"(","b-1-alt.example"]}})");
}

} // namespace

TEST_SUITE("discovery::msk") {
  TEST_CASE("msk_sd: cluster_targets: one target per broker and controller endpoint") {
    auto controller = discovery::Json::parse(R"({"nodeARN":"arn:node/c","instanceType":"kafka.m5.large",
      "controllerNodeInfo":{"endpoints":["c-1.example"]}})");
    auto neither = discovery::Json::parse(R"({"nodeARN":"arn:node/x"})");
    auto targets = msk::cluster_targets(cluster_json(), {broker_json("b-1.example"), controller, neither}, 9404);
    REQUIRE_MESSAGE(targets, (targets ? "" : targets.error()));
    REQUIRE(targets->size() == 3);
    CHECK((*targets)[0] == model::Labels{
                               {"__address__", "b-1.example:9404"},
                               {"__meta_msk_broker_client_subnet", "subnet-1"},
                               {"__meta_msk_broker_client_vpc_ip", "10.0.0.1"},
                               {"__meta_msk_broker_endpoint_index", "0"},
                               {"__meta_msk_broker_id", "1"},
                               {"__meta_msk_broker_node_exporter_enabled", "false"},
                               {"__meta_msk_cluster_arn", k_arn},
                               {"__meta_msk_cluster_configuration_arn", "arn:cfg"},
                               {"__meta_msk_cluster_configuration_revision", "3"},
                               {"__meta_msk_cluster_jmx_exporter_enabled", "true"},
                               {"__meta_msk_cluster_kafka_version", "3.6.0"},
                               {"__meta_msk_cluster_name", "events"},
                               {"__meta_msk_cluster_state", "ACTIVE"},
                               {"__meta_msk_cluster_tag_cost_center", "7"},
                               {"__meta_msk_cluster_tag_team", "data"},
                               {"__meta_msk_cluster_type", "PROVISIONED"},
                               {"__meta_msk_cluster_version", "K3AEGXETSR30VB"},
                               {"__meta_msk_node_added_time", "2024-01-01T00:00:00.000Z"},
                               {"__meta_msk_node_arn", "arn:node/1"},
                               {"__meta_msk_node_attached_eni", "eni-1"},
                               {"__meta_msk_node_instance_type", "kafka.m5.large"},
                               {"__meta_msk_node_type", "BROKER"},
                           });
    CHECK((*targets)[1].get("__address__") == "b-1-alt.example:9404");
    CHECK((*targets)[1].get("__meta_msk_broker_endpoint_index") == "1");
    CHECK((*targets)[2].get("__address__") == "c-1.example:9404");
    CHECK((*targets)[2].get("__meta_msk_node_type") == "CONTROLLER");
    CHECK((*targets)[2].get("__meta_msk_controller_endpoint_index") == "0");
    CHECK_FALSE((*targets)[2].has("__meta_msk_broker_id"));

    CHECK_FALSE(msk::cluster_targets(discovery::Json::parse(R"({"clusterName":5})"), {}, 80));
  }
}

namespace {

struct MskWorld {
  test::FakeAws kafka{"kafka", test::AwsProtocol::rest_json};
  std::atomic<int> fail_status{0};
  std::atomic<int> delay_ms{0};
  std::atomic<bool> malformed{false};

  MskWorld() {
    kafka.on([this](const test::AwsCall& call, httplib::Response& res) {
      std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms.load()));
      bool listing = call.params.contains("maxResults");
      if (int status = fail_status.load(); status != 0 && listing) {
        kafka.error_answer(res, status, status == 403 ? "AccessDeniedException" : "InternalServerErrorException",
                           status == 403 ? "not authorized" : "internal");
        return;
      }
      if (malformed.load() && listing) {
        res.set_content("[1,", "application/json");
        return;
      }
      std::string escaped_arn = "arn%3Aaws%3Akafka%3Aeu-west-1%3A1%3Acluster%2Fevents%2Fabcd-1";
      if (call.path == "/api/v2/clusters") {
        if (!listing) {
          test::FakeAws::rest_answer(res, {{"clusterInfoList", json::array()}});
        } else if (!call.params.contains("nextToken")) {
          test::FakeAws::rest_answer(res, {{"clusterInfoList", json::array()}, {"nextToken", "c2"}});
        } else {
          test::FakeAws::rest_answer(res, {{"clusterInfoList", {json::parse(cluster_json().dump())}}});
        }
      } else if (call.target.starts_with("/api/v2/clusters/" + escaped_arn)) {
        test::FakeAws::rest_answer(res, {{"clusterInfo", json::parse(cluster_json().dump())}});
      } else if (call.target.starts_with("/v1/clusters/" + escaped_arn + "/nodes")) {
        if (!call.params.contains("nextToken")) {
          test::FakeAws::rest_answer(res, {{"nodeInfoList", {json::parse(broker_json("127.0.0.41").dump())}},
                                           {"nextToken", "n2"}});
        } else {
          test::FakeAws::rest_answer(res, {{"nodeInfoList", {json::parse(broker_json("127.0.0.42").dump())}}});
        }
      } else {
        kafka.error_answer(res, 404, "NotFoundException", "no route " + call.target);
      }
    });
  }
  msk::Config config(int refresh_seconds = 30) const {
    msk::Config c;
    c.access.region = "eu-west-1";
    c.access.endpoint = kafka.url();
    c.access.access_key = test::k_aws_key_id;
    c.access.secret_key.value = test::k_aws_secret;
    c.refresh_interval = model::Duration::seconds(refresh_seconds);
    return c;
  }
  std::unique_ptr<msk::Discovery> discovery(const msk::Config& c) const {
    msk::DiscoveryOptions o;
    o.client.retry_delay = 1ms;
    auto d = msk::Discovery::make(c, o);
    REQUIRE_MESSAGE(d, (d ? "" : d.error()));
    return std::move(*d);
  }
};

} // namespace

TEST_SUITE("discovery::msk") {
  TEST_CASE("msk_sd: a refresh pages clusters and nodes with signed GETs (ARNs escaped in the path)") {
    MskWorld world;
    auto groups = world.discovery(world.config())->refresh({});
    REQUIRE_MESSAGE(groups, (groups ? "" : groups.error()));
    REQUIRE(groups->size() == 1);
    CHECK((*groups)[0].source == "eu-west-1");
    std::vector<std::string> addresses;
    for (const model::Labels& t : (*groups)[0].targets) {
      addresses.emplace_back(t.get("__address__"));
    }
    CHECK(addresses == std::vector<std::string>{"127.0.0.41:80", "b-1-alt.example:80", "127.0.0.42:80",
                                                "b-1-alt.example:80"});
    std::vector<test::AwsCall> calls = world.kafka.calls();
    REQUIRE(calls.size() == 5);
    for (const test::AwsCall& c : calls) {
      CHECK(c.signature_ok);
      CHECK(c.method == "GET");
      CHECK(c.scope.find("/eu-west-1/kafka/aws4_request") != std::string::npos);
    }
    CHECK(calls[0].target == "/api/v2/clusters"); // the credential test
    CHECK(calls[1].params == std::map<std::string, std::string>{{"clusterTypeFilter", "PROVISIONED"},
                                                                {"maxResults", "100"}});
    CHECK(calls[2].params.at("nextToken") == "c2");
    CHECK(calls[3].target ==
          "/v1/clusters/arn%3Aaws%3Akafka%3Aeu-west-1%3A1%3Acluster%2Fevents%2Fabcd-1/nodes?maxResults=100");
    CHECK(calls[4].params.at("nextToken") == "n2");
  }

  TEST_CASE("msk_sd: configured clusters are described by ARN") {
    MskWorld world;
    msk::Config c = world.config();
    c.clusters = {k_arn};
    auto groups = world.discovery(c)->refresh({});
    REQUIRE_MESSAGE(groups, (groups ? "" : groups.error()));
    CHECK((*groups)[0].targets.size() == 4);
    CHECK(world.kafka.calls()[1].target ==
          "/api/v2/clusters/arn%3Aaws%3Akafka%3Aeu-west-1%3A1%3Acluster%2Fevents%2Fabcd-1");
  }

  TEST_CASE("msk_sd: failures: wrong signature, 403, 500 after retries, malformed, unreachable, timeout") {
    MskWorld world;
    world.kafka.expect_secret("other");
    auto bad = world.discovery(world.config())->refresh({});
    REQUIRE_FALSE(bad);
    CHECK(bad.error().starts_with("MSK credential test failed: operation error Kafka: ListClustersV2, "
                                  "InvalidSignatureException: "));
    world.kafka.expect_secret(test::k_aws_secret);

    auto d = world.discovery(world.config(1));
    world.fail_status = 403;
    auto denied = d->refresh({});
    REQUIRE_FALSE(denied);
    CHECK(denied.error().starts_with(
        "could not list clusters: operation error Kafka: ListClustersV2, AccessDeniedException: not authorized"));
    world.fail_status = 500;
    world.kafka.clear();
    REQUIRE_FALSE(d->refresh({}));
    CHECK(world.kafka.calls().size() == 3);
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

    msk::Config down = world.config();
    world.kafka.stop();
    auto unreachable = world.discovery(down)->refresh({});
    REQUIRE_FALSE(unreachable);
    CHECK(unreachable.error().starts_with("MSK credential test failed: "));
  }

  TEST_CASE("msk_sd: a failure after a success keeps the last targets (Discoverer)") {
    MskWorld world;
    std::shared_ptr<msk::Discovery> d = world.discovery(world.config(1));
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
      CHECK(sink.report(1).find("AccessDeniedException") != std::string::npos);
    }
    REQUIRE(sink.update_count() == 1);
    CHECK(sink.updates[0][0]->targets.size() == 4);
    CHECK(discovery::find_mechanism("msk")->discovers);
  }
}
