// aws_sd (the unified key): each role's config is the role mechanism's
// defaults with this block's values over them, and its discoverer is the
// role's own (checked against a fake MSK endpoint).

#include <doctest/doctest.h>

#include "aws_fake.h"
#include "discovery/aws.h"
#include "discovery/ec2.h"
#include "discovery/ecs.h"
#include "discovery/msk.h"
#include "discovery/rds.h"
#include "test_util.h"

using namespace sdscope;
using namespace std::chrono_literals;
namespace aws = sdscope::discovery::aws;
using nlohmann::json;

TEST_SUITE("discovery::aws") {
  TEST_CASE("aws_sd: role configs take the role's defaults and the non-empty values given") {
    aws::Config c;
    c.role = "ecs";
    c.access.region = "eu-west-1";
    c.access.endpoint = "http://127.0.0.1:1";
    c.access.access_key = "AK";
    c.access.external_id = "ext";
    c.clusters = {"arn:c"};
    c.port = 9100;
    c.http_client.follow_redirects = false;
    auto ecs = c.role_config();
    REQUIRE(ecs);
    const auto& e = dynamic_cast<const discovery::ecs::Config&>(*ecs);
    CHECK(e.access.region == "eu-west-1");
    CHECK(e.access.endpoint == "http://127.0.0.1:1");
    CHECK(e.access.access_key == "AK");
    CHECK(e.access.external_id == "ext");
    CHECK(e.clusters == std::vector<std::string>{"arn:c"});
    CHECK(e.port == 9100);
    CHECK(e.request_concurrency == 20); // ECS's default, not settable here
    CHECK_FALSE(e.http_client.follow_redirects);
    CHECK(e.refresh_interval.ms == 60000);

    c.role = "rds";
    c.filters.push_back(discovery::ec2::Filter{"engine", {"aurora"}});
    auto rds = c.role_config();
    REQUIRE(rds);
    const auto& r = dynamic_cast<const discovery::rds::Config&>(*rds);
    CHECK(r.request_concurrency == 10);
    REQUIRE(r.filters.size() == 1);
    CHECK(r.filters[0]->name == "engine");
    CHECK(r.clusters == std::vector<std::string>{"arn:c"});

    c.role = "ec2";
    auto ec2 = c.role_config();
    REQUIRE(ec2);
    CHECK(dynamic_cast<const discovery::ec2::Config&>(*ec2).filters.size() == 1);
    c.role = "lightsail";
    CHECK(c.role_config());
    c.role = "elasticache";
    CHECK(c.role_config());
    c.role = "nope";
    CHECK_FALSE(c.role_config());
    auto bad = c.make_discoverer({});
    REQUIRE_FALSE(bad);
    CHECK(bad.error() == "unknown AWS SD role \"nope\"");
  }

  TEST_CASE("aws_sd: role msk runs MSK discovery") {
    test::FakeAws kafka{"kafka", test::AwsProtocol::rest_json};
    kafka.on([](const test::AwsCall& call, httplib::Response& res) {
      if (call.path == "/api/v2/clusters") {
        test::FakeAws::rest_answer(
            res, {{"clusterInfoList",
                   {{{"clusterArn", "arn:k"}, {"clusterName", "events"}, {"clusterType", "PROVISIONED"}}}}});
      } else {
        test::FakeAws::rest_answer(
            res, {{"nodeInfoList", {{{"nodeARN", "n"}, {"brokerNodeInfo", {{"endpoints", {"127.0.0.81"}}}}}}}});
      }
    });
    auto decoded = test::decode_sd("aws", "role: msk\nregion: eu-west-1\nendpoint: " + kafka.url() +
                                              "\naccess_key: " + test::k_aws_key_id + "\nsecret_key: " +
                                              test::k_aws_secret + "\nport: 9404\n");
    REQUIRE(decoded.config);
    test::RecordingSink sink;
    {
      test::RunningDiscoverer running(decoded.config->make_discoverer({}), sink);
      REQUIRE(sink.wait_for_reports(1));
      CHECK(sink.report(0) == "");
    }
    REQUIRE(sink.update_count() == 1);
    REQUIRE(sink.updates[0][0]->targets.size() == 1);
    CHECK(sink.updates[0][0]->targets[0].get("__address__") == "127.0.0.81:9404");
    CHECK(sink.updates[0][0]->source == "eu-west-1");
    CHECK(discovery::find_mechanism("aws")->discovers);
    for (const test::AwsCall& call : kafka.calls()) {
      CHECK(call.signature_ok);
    }
  }
}
