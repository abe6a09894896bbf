// lightsail_sd: the mapping of GetInstances and the discoverer against a
// loopback Lightsail JSON 1.1 API that checks the SigV4 signature of every
// request.
#include <doctest/doctest.h>

#include <atomic>
#include <mutex>

#include "aws_fixture.h"
#include "discovery/lightsail.h"
#include "loopback_server.h"
#include "test_util.h"

using namespace sdscope;
using namespace sdscope::discovery;

namespace {

const char* const k_instances = R"({"instances":[
  {"name":"web-1","arn":"arn:aws:lightsail:us-east-1:1:Instance/1","supportCode":"123/i-1",
   "location":{"availabilityZone":"us-east-1a","regionName":"us-east-1"},
   "blueprintId":"ubuntu_22_04","bundleId":"nano_3_0","state":{"code":16,"name":"running"},
   "privateIpAddress":"127.0.0.1","publicIpAddress":"203.0.113.7","ipv6Addresses":["2001:db8::1","2001:db8::2"],
   "tags":[{"key":"env","value":"prod"},{"key":"team-name","value":"sre"},{"key":"novalue"}]},
  {"name":"db-1","supportCode":"123/i-2","location":{"availabilityZone":"us-east-1b"},
   "blueprintId":"debian_12","bundleId":"micro_3_0","state":{"name":"pending"},
   "privateIpAddress":"127.0.0.2","ipv6Addresses":[],"tags":[]},
  {"name":"no-ip","supportCode":"x","location":{"availabilityZone":"us-east-1a"},"blueprintId":"b","bundleId":"c",
   "state":{"name":"stopped"}}
 ],"nextPageToken":"ignored-by-v2.45"})";

model::Labels web_1() {
  return {{"__address__", "127.0.0.1:9100"},
          {"__meta_lightsail_availability_zone", "us-east-1a"},
          {"__meta_lightsail_blueprint_id", "ubuntu_22_04"},
          {"__meta_lightsail_bundle_id", "nano_3_0"},
          {"__meta_lightsail_instance_name", "web-1"},
          {"__meta_lightsail_instance_state", "running"},
          {"__meta_lightsail_instance_support_code", "123/i-1"},
          {"__meta_lightsail_ipv6_addresses", ",2001:db8::1,2001:db8::2,"},
          {"__meta_lightsail_private_ip", "127.0.0.1"},
          {"__meta_lightsail_public_ip", "203.0.113.7"},
          {"__meta_lightsail_region", "us-east-1"},
          {"__meta_lightsail_tag_env", "prod"},
          {"__meta_lightsail_tag_team_name", "sre"}};
}

model::Labels db_1() {
  return {{"__address__", "127.0.0.2:9100"},
          {"__meta_lightsail_availability_zone", "us-east-1b"},
          {"__meta_lightsail_blueprint_id", "debian_12"},
          {"__meta_lightsail_bundle_id", "micro_3_0"},
          {"__meta_lightsail_instance_name", "db-1"},
          {"__meta_lightsail_instance_state", "pending"},
          {"__meta_lightsail_instance_support_code", "123/i-2"},
          {"__meta_lightsail_private_ip", "127.0.0.2"},
          {"__meta_lightsail_region", "us-east-1"}};
}

struct LightsailFixture {
  httplib::Server server;
  test::LoopbackServer loopback;
  int port = 0;
  std::mutex mutex;
  std::vector<std::string> problems;
  std::atomic<int> calls = 0;
  std::atomic<int> fail_status = 0;
  std::atomic<int> failures_left = -1;
  std::atomic<bool> malformed = false;
  std::atomic<int> delay_ms = 0;

  LightsailFixture() {
    server.Post("/", [this](const httplib::Request& req, httplib::Response& res) {
      ++calls;
      std::string problem = test::aws::check_signature(req, {{"AKIDLS", "ls-secret"}}, "us-east-1", "lightsail");
      if (problem.empty() && (req.get_header_value("X-Amz-Target") != "Lightsail_20161128.GetInstances" ||
                              req.get_header_value("Content-Type") != "application/x-amz-json-1.1" ||
                              req.body != "{}")) {
        problem = "request " + req.get_header_value("X-Amz-Target") + " " + req.body;
      }
      if (!problem.empty()) {
        std::lock_guard lock(mutex);
        problems.push_back(problem);
        test::aws::reply_json_signature_error(res);
        return;
      }
      if (delay_ms > 0) {
        std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms.load()));
      }
      if (fail_status != 0 && failures_left != 0) {
        if (failures_left > 0) {
          --failures_left;
        }
        res.status = fail_status;
        res.set_header("X-Amzn-Requestid", "req-fail");
        res.set_content(fail_status == 403
                            ? R"({"__type":"UnauthorizedOperation","message":"no permission"})"
                            : R"({"__type":"ServiceException","message":"internal"})",
                        "application/x-amz-json-1.1");
        return;
      }
      res.set_content(malformed ? "{\"instances\":" : k_instances, "application/x-amz-json-1.1");
    });
    port = loopback.start(server);
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port); }
};

lightsail::Config config_for(const LightsailFixture& fx, const std::string& secret = "ls-secret") {
  lightsail::Config config;
  config.access.endpoint = fx.url();
  config.access.region = "us-east-1";
  config.access.access_key = "AKIDLS";
  config.access.secret_key.value = secret;
  config.port = 9100;
  return config;
}

std::unique_ptr<lightsail::Discovery> make(const lightsail::Config& config, aws::RetryPolicy retry = {}) {
  auto d = lightsail::Discovery::make(config, {}, retry);
  REQUIRE_MESSAGE(d, (d ? "" : d.error()));
  return std::move(*d);
}

} // namespace

TEST_SUITE("lightsail_sd") {

TEST_CASE("lightsail_sd: GetInstances maps to v2.45's labels; instances without a private IP are skipped") {
  auto targets = lightsail::targets_from_body(k_instances, "us-east-1", 9100);
  REQUIRE_MESSAGE(targets, (targets ? "" : targets.error()));
  CHECK(*targets == std::vector<model::Labels>{web_1(), db_1()});
  auto empty = lightsail::targets_from_body("{}", "us-east-1", 80);
  REQUIRE(empty);
  CHECK(empty->empty());
  CHECK(!lightsail::targets_from_body("[1", "us-east-1", 80));
}

TEST_CASE("lightsail_sd: one signed GetInstances call per refresh; nextPageToken is not followed") {
  LightsailFixture fx;
  auto discovery = make(config_for(fx));
  auto groups = discovery->refresh({});
  REQUIRE_MESSAGE(groups, (groups ? "" : groups.error()));
  REQUIRE(groups->size() == 1);
  CHECK((*groups)[0].source == "us-east-1");
  CHECK((*groups)[0].targets == std::vector<model::Labels>{web_1(), db_1()});
  CHECK(fx.calls == 1);
  std::lock_guard lock(fx.mutex);
  CHECK(fx.problems.empty());
}

TEST_CASE("lightsail_sd: a wrong signature gets Lightsail's error, reported without the secret") {
  LightsailFixture fx;
  auto groups = make(config_for(fx, "wrong-secret"))->refresh({});
  REQUIRE(!groups);
  CHECK(groups.error() == "could not get instances: InvalidSignatureException: The request signature we calculated "
                          "does not match the signature you provided. Check your AWS Secret Access Key and signing "
                          "method. Consult the service documentation for details.\n\tstatus code: 403, request id: "
                          "d00dfeed-0000-4000-8000-000000000003");
  CHECK(groups.error().find("wrong-secret") == std::string::npos);
}

TEST_CASE("lightsail_sd: 403, 5xx (retried), malformed, unreachable and timeout fail the refresh") {
  LightsailFixture fx;
  auto discovery = make(config_for(fx));
  fx.fail_status = 403;
  auto groups = discovery->refresh({});
  REQUIRE(!groups);
  CHECK(groups.error() == "could not get instances: UnauthorizedOperation: no permission\n\tstatus code: 403, "
                          "request id: req-fail");
  CHECK(fx.calls == 1);

  fx.fail_status = 500;
  fx.failures_left = 3;
  groups = discovery->refresh({});
  REQUIRE_MESSAGE(groups, (groups ? "" : groups.error()));
  CHECK(fx.calls == 5);
  fx.failures_left = -1;
  groups = discovery->refresh({});
  REQUIRE(!groups);
  CHECK(groups.error() == "could not get instances: ServiceException: internal\n\tstatus code: 500, request id: "
                          "req-fail");
  CHECK(fx.calls == 9);

  fx.fail_status = 0;
  fx.malformed = true;
  groups = discovery->refresh({});
  REQUIRE(!groups);
  CHECK(groups.error().starts_with("could not get instances: SerializationError: failed decoding JSON RPC response"));

  lightsail::Config closed = config_for(fx);
  {
    httplib::Server unused;
    test::LoopbackServer gone;
    closed.access.endpoint = "http://127.0.0.1:" + std::to_string(gone.start(unused));
  }
  groups = make(closed)->refresh({});
  REQUIRE(!groups);
  CHECK(groups.error().starts_with("could not get instances: RequestError: send request failed\ncaused by: Post "));

  fx.malformed = false;
  fx.delay_ms = 1500;
  lightsail::Config slow = config_for(fx);
  slow.refresh_interval = model::Duration::seconds(1);
  groups = make(slow, aws::RetryPolicy{0})->refresh({});
  REQUIRE(!groups);
  CHECK(groups.error().starts_with("could not get instances: RequestError: send request failed"));
}

TEST_CASE("lightsail_sd: a failure after a success keeps the last targets") {
  LightsailFixture fx;
  lightsail::Config config = config_for(fx);
  config.refresh_interval = model::Duration::seconds(1);
  test::RecordingSink sink;
  test::RunningDiscoverer running(config.make_discoverer({}), sink);
  REQUIRE(sink.wait_for_reports(1));
  CHECK(sink.report(0) == "");
  fx.fail_status = 403;
  REQUIRE(sink.wait_for_reports(2));
  CHECK(sink.report(1).starts_with("could not get instances: UnauthorizedOperation"));
  CHECK(sink.update_count() == 1);
  CHECK(sink.updates[0][0]->targets.size() == 2);
}

} // TEST_SUITE
