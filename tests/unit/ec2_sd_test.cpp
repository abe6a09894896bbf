// ec2_sd: the mapping of DescribeInstances pages and the discoverer against
// a loopback EC2 Query API that checks the SigV4 signature of every request.
#include <doctest/doctest.h>

#include <atomic>
#include <mutex>

#include "aws_fixture.h"
#include "discovery/ec2.h"
#include "loopback_server.h"
#include "test_util.h"

using namespace sdscope;
using namespace sdscope::discovery;

namespace {

const char* const k_page_1 = R"(<?xml version="1.0" encoding="UTF-8"?>
<DescribeInstancesResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/">
  <requestId>req-1</requestId>
  <reservationSet><item>
    <reservationId>r-1</reservationId><ownerId>123456789012</ownerId>
    <instancesSet>
      <item>
        <instanceId>i-1</instanceId><imageId>ami-1</imageId>
        <instanceState><code>16</code><name>running</name></instanceState>
        <privateDnsName>ip-10-0-0-1.ec2.internal</privateDnsName><dnsName>ec2-1.compute.amazonaws.com</dnsName>
        <instanceType>t3.micro</instanceType>
        <placement><availabilityZone>us-east-1a</availabilityZone></placement>
        <platform>windows</platform>
        <privateIpAddress>127.0.0.1</privateIpAddress><ipAddress>203.0.113.1</ipAddress>
        <subnetId>subnet-1</subnetId><vpcId>vpc-1</vpcId><architecture>x86_64</architecture>
        <instanceLifecycle>spot</instanceLifecycle>
        <networkInterfaceSet>
          <item><subnetId>subnet-1</subnetId><ipv6AddressesSet><item><ipv6Address>2001:db8::1</ipv6Address></item></ipv6AddressesSet></item>
          <item><subnetId>subnet-2</subnetId><ipv6AddressesSet><item><ipv6Address>2001:db8::2</ipv6Address></item></ipv6AddressesSet></item>
          <item><subnetId>subnet-1</subnetId></item>
          <item><ipv6AddressesSet><item><ipv6Address>2001:db8::9</ipv6Address></item></ipv6AddressesSet></item>
        </networkInterfaceSet>
        <tagSet><item><key>Name</key><value>web-1</value></item><item><key>team.owner-x</key><value>sre</value></item><item><key>novalue</key></item></tagSet>
      </item>
      <item>
        <instanceId>i-stopped</instanceId><imageId>ami-1</imageId>
        <instanceState><code>80</code><name>stopped</name></instanceState>
        <instanceType>t3.micro</instanceType>
        <placement><availabilityZone>us-east-1a</availabilityZone></placement>
      </item>
    </instancesSet>
  </item></reservationSet>
  <nextToken>page-2</nextToken>
</DescribeInstancesResponse>)";

const char* const k_page_2 = R"(<DescribeInstancesResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/">
  <reservationSet><item>
    <instancesSet><item>
      <instanceId>i-2</instanceId><imageId>ami-2</imageId>
      <instanceState><name>pending</name></instanceState>
      <privateDnsName></privateDnsName>
      <instanceType>m5.large</instanceType>
      <placement><availabilityZone>us-east-1z</availabilityZone></placement>
      <privateIpAddress>127.0.0.2</privateIpAddress>
    </item></instancesSet>
  </item></reservationSet>
</DescribeInstancesResponse>)";

const char* const k_zones = R"(<DescribeAvailabilityZonesResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/">
  <availabilityZoneInfo><item><zoneName>us-east-1a</zoneName><zoneId>use1-az6</zoneId></item>
  <item><zoneName>us-east-1b</zoneName><zoneId>use1-az1</zoneId></item></availabilityZoneInfo>
</DescribeAvailabilityZonesResponse>)";

model::Labels instance_1(const std::string& zone_id) {
  return {{"__address__", "127.0.0.1:9100"},
          {"__meta_ec2_ami", "ami-1"},
          {"__meta_ec2_architecture", "x86_64"},
          {"__meta_ec2_availability_zone", "us-east-1a"},
          {"__meta_ec2_availability_zone_id", zone_id},
          {"__meta_ec2_instance_id", "i-1"},
          {"__meta_ec2_instance_lifecycle", "spot"},
          {"__meta_ec2_instance_state", "running"},
          {"__meta_ec2_instance_type", "t3.micro"},
          {"__meta_ec2_ipv6_addresses", ",2001:db8::1,2001:db8::2,"},
          {"__meta_ec2_owner_id", "123456789012"},
          {"__meta_ec2_platform", "windows"},
          {"__meta_ec2_primary_subnet_id", "subnet-1"},
          {"__meta_ec2_private_dns_name", "ip-10-0-0-1.ec2.internal"},
          {"__meta_ec2_private_ip", "127.0.0.1"},
          {"__meta_ec2_public_dns_name", "ec2-1.compute.amazonaws.com"},
          {"__meta_ec2_public_ip", "203.0.113.1"},
          {"__meta_ec2_region", "us-east-1"},
          {"__meta_ec2_subnet_id", ",subnet-1,subnet-2,"},
          {"__meta_ec2_tag_Name", "web-1"},
          {"__meta_ec2_tag_team_owner_x", "sre"},
          {"__meta_ec2_vpc_id", "vpc-1"}};
}

model::Labels instance_2() {
  return {{"__address__", "127.0.0.2:9100"},
          {"__meta_ec2_ami", "ami-2"},
          {"__meta_ec2_availability_zone", "us-east-1z"},
          {"__meta_ec2_availability_zone_id", ""},
          {"__meta_ec2_instance_id", "i-2"},
          {"__meta_ec2_instance_state", "pending"},
          {"__meta_ec2_instance_type", "m5.large"},
          {"__meta_ec2_private_dns_name", ""},
          {"__meta_ec2_private_ip", "127.0.0.2"},
          {"__meta_ec2_region", "us-east-1"}};
}

std::map<std::string, std::string> form(const std::string& body) {
  std::map<std::string, std::string> out;
  httplib::Params params;
  httplib::detail::parse_query_text(body, params);
  for (const auto& [k, v] : params) {
    out[k] = v;
  }
  return out;
}

// A loopback EC2 (and STS) endpoint: checks every request's signature and
// form, answers by Action, and can be told to fail.
struct Ec2Fixture {
  httplib::Server server;
  test::LoopbackServer loopback;
  int port = 0;
  std::mutex mutex;
  std::vector<std::map<std::string, std::string>> forms; // EC2 requests, in order
  std::vector<std::string> problems;
  std::atomic<int> fail_status = 0;   // answer DescribeInstances with this status
  std::atomic<int> failures_left = -1; // -1: always
  std::atomic<bool> malformed = false;
  std::atomic<int> delay_ms = 0;
  std::atomic<int> sts_calls = 0;
  std::atomic<int> zone_calls = 0;
  std::map<std::string, std::string> secrets{{"AKIDEC2", "ec2-secret"}, {"ASIAROLE", "role-secret"}};

  Ec2Fixture() {
    server.Post("/", [this](const httplib::Request& req, httplib::Response& res) { handle(req, res); });
    server.Post("/sts/", [this](const httplib::Request& req, httplib::Response& res) {
      ++sts_calls;
      if (!test::aws::check_signature(req, secrets, "us-east-1", "sts").empty()) {
        test::aws::reply_query_signature_error(res);
        return;
      }
      res.set_content("<AssumeRoleResponse><AssumeRoleResult><Credentials><AccessKeyId>ASIAROLE</AccessKeyId>"
                      "<SecretAccessKey>role-secret</SecretAccessKey><SessionToken>role-token</SessionToken>"
                      "<Expiration>2099-01-01T00:00:00Z</Expiration></Credentials></AssumeRoleResult>"
                      "</AssumeRoleResponse>",
                      "text/xml");
    });
    port = loopback.start(server);
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port); }

  void handle(const httplib::Request& req, httplib::Response& res) {
    std::map<std::string, std::string> f = form(req.body);
    {
      std::lock_guard lock(mutex);
      std::string problem = test::aws::check_signature(req, secrets, "us-east-1", "ec2");
      if (req.get_header_value("Content-Type") != "application/x-www-form-urlencoded; charset=utf-8") {
        problem = "content type " + req.get_header_value("Content-Type");
      }
      if (f["Version"] != "2016-11-15") {
        problem = "version " + f["Version"];
      }
      if (!problem.empty()) {
        problems.push_back(problem);
        test::aws::reply_ec2_signature_error(res);
        return;
      }
    }
    if (f["Action"] == "DescribeAvailabilityZones") {
      ++zone_calls;
      res.set_content(k_zones, "text/xml;charset=UTF-8");
      return;
    }
    {
      std::lock_guard lock(mutex);
      forms.push_back(f);
    }
    if (delay_ms > 0) {
      std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms.load()));
    }
    if (fail_status != 0 && failures_left != 0) {
      if (failures_left > 0) {
        --failures_left;
      }
      res.status = fail_status;
      if (fail_status == 403) {
        res.set_content("<Response><Errors><Error><Code>UnauthorizedOperation</Code><Message>You are not authorized "
                        "to perform this operation.</Message></Error></Errors><RequestID>req-403</RequestID>"
                        "</Response>",
                        "text/xml");
      } else {
        res.set_content("<Response><Errors><Error><Code>InternalError</Code><Message>An internal error has occurred"
                        "</Message></Error></Errors><RequestID>req-500</RequestID></Response>",
                        "text/xml");
      }
      return;
    }
    if (malformed) {
      res.set_content("<DescribeInstancesResponse><reservationSet>", "text/xml");
      return;
    }
    res.set_content(f["NextToken"] == "page-2" ? k_page_2 : k_page_1, "text/xml;charset=UTF-8");
  }
};

ec2::Config config_for(const Ec2Fixture& fx, const std::string& secret = "ec2-secret") {
  ec2::Config config;
  config.access.endpoint = fx.url();
  config.access.region = "us-east-1";
  config.access.access_key = "AKIDEC2";
  config.access.secret_key.value = secret;
  config.port = 9100;
  return config;
}

std::unique_ptr<ec2::Discovery> make(const ec2::Config& config, const DiscovererOptions& options = {},
                                     aws::RetryPolicy retry = {}) {
  auto d = ec2::Discovery::make(config, options, retry);
  REQUIRE_MESSAGE(d, (d ? "" : d.error()));
  return std::move(*d);
}

} // namespace

TEST_SUITE("ec2_sd") {

TEST_CASE("ec2_sd: a page maps to v2.45's labels; instances without a private IP are skipped") {
  std::string next;
  auto targets = ec2::targets_from_page(k_page_1, "us-east-1", 9100, {{"us-east-1a", "use1-az6"}}, next);
  REQUIRE_MESSAGE(targets, (targets ? "" : targets.error()));
  REQUIRE(targets->size() == 1);
  CHECK((*targets)[0] == instance_1("use1-az6"));
  CHECK(next == "page-2");
  targets = ec2::targets_from_page(k_page_2, "us-east-1", 9100, {}, next);
  REQUIRE(targets);
  CHECK(*targets == std::vector<model::Labels>{instance_2()});
  CHECK(next == "");

  targets = ec2::targets_from_page("<DescribeInstancesResponse>", "us-east-1", 80, {}, next);
  REQUIRE(!targets);
  CHECK(targets.error().starts_with("SerializationError: failed decoding EC2 Query response\n\tstatus code: 200"));
}

TEST_CASE("ec2_sd: filters become Filter.N.Name and Filter.N.Value.M") {
  std::vector<std::optional<ec2::Filter>> filters{ec2::Filter{"tag:Env", {"prod", "stage"}},
                                                  ec2::Filter{"instance-state-name", {"running"}}};
  CHECK(ec2::describe_instances_params(filters, "tok") ==
        std::vector<std::pair<std::string, std::string>>{{"Filter.1.Name", "tag:Env"},
                                                         {"Filter.1.Value.1", "prod"},
                                                         {"Filter.1.Value.2", "stage"},
                                                         {"Filter.2.Name", "instance-state-name"},
                                                         {"Filter.2.Value.1", "running"},
                                                         {"NextToken", "tok"}});
}

TEST_CASE("ec2_sd: refresh signs every request, follows nextToken and sends the filters") {
  Ec2Fixture fx;
  ec2::Config config = config_for(fx);
  config.filters = {ec2::Filter{"tag:Env", {"prod"}}};
  auto discovery = make(config);
  auto groups = discovery->refresh({});
  REQUIRE_MESSAGE(groups, (groups ? "" : groups.error()));
  REQUIRE(groups->size() == 1);
  CHECK((*groups)[0].source == "us-east-1");
  CHECK((*groups)[0].targets == std::vector<model::Labels>{instance_1("use1-az6"), instance_2()});
  std::lock_guard lock(fx.mutex);
  CHECK(fx.problems.empty());
  REQUIRE(fx.forms.size() == 2);
  CHECK(fx.forms[0] == std::map<std::string, std::string>{{"Action", "DescribeInstances"},
                                                          {"Filter.1.Name", "tag:Env"},
                                                          {"Filter.1.Value.1", "prod"},
                                                          {"Version", "2016-11-15"}});
  CHECK(fx.forms[1]["NextToken"] == "page-2");
  CHECK(fx.zone_calls == 1);
}

TEST_CASE("ec2_sd: zone IDs are asked for until that works once") {
  Ec2Fixture fx;
  auto discovery = make(config_for(fx));
  REQUIRE(discovery->refresh({}));
  REQUIRE(discovery->refresh({}));
  CHECK(fx.zone_calls == 1);
}

TEST_CASE("ec2_sd: a wrong signature gets EC2's AuthFailure, reported without the secret") {
  Ec2Fixture fx;
  auto discovery = make(config_for(fx, "wrong-secret"));
  auto groups = discovery->refresh({});
  REQUIRE(!groups);
  CHECK(groups.error() == "could not describe instances: AuthFailure: AWS was not able to validate the provided "
                          "access credentials\n\tstatus code: 401, request id: b1f4c5d6-0000-4000-8000-000000000001");
  CHECK(groups.error().find("wrong-secret") == std::string::npos);
  std::lock_guard lock(fx.mutex);
  CHECK(fx.problems.size() == 2); // zones (ignored) and instances, not retried
}

TEST_CASE("ec2_sd: AuthFailure/UnauthorizedOperation make the next refresh assume the role again") {
  Ec2Fixture fx;
  ec2::Config config = config_for(fx);
  config.access.role_arn = "arn:aws:iam::123456789012:role/prom";
  auto discovery = make(config, DiscovererOptions{{{"sts", fx.url() + "/sts"}}});
  REQUIRE(discovery->refresh({}));
  REQUIRE(discovery->refresh({}));
  CHECK(fx.sts_calls == 1); // cached until they expire
  fx.fail_status = 403;
  auto failed = discovery->refresh({});
  REQUIRE(!failed);
  CHECK(failed.error() == "could not describe instances: UnauthorizedOperation: You are not authorized to perform "
                          "this operation.\n\tstatus code: 403, request id: req-403");
  fx.fail_status = 0;
  REQUIRE(discovery->refresh({}));
  CHECK(fx.sts_calls == 2);
  std::lock_guard lock(fx.mutex);
  CHECK(fx.problems.empty());
}

TEST_CASE("ec2_sd: 5xx is retried as SDK v1 does, then fails") {
  Ec2Fixture fx;
  fx.fail_status = 500;
  fx.failures_left = 2;
  auto discovery = make(config_for(fx));
  auto groups = discovery->refresh({});
  REQUIRE_MESSAGE(groups, (groups ? "" : groups.error()));
  CHECK((*groups)[0].targets.size() == 2);

  fx.failures_left = -1;
  groups = discovery->refresh({});
  REQUIRE(!groups);
  CHECK(groups.error() == "could not describe instances: InternalError: An internal error has occurred\n"
                          "\tstatus code: 500, request id: req-500");
  std::lock_guard lock(fx.mutex);
  CHECK(fx.forms.size() == 4 + 4); // 2 failures + 2 pages, then 1 + 3 retries
}

TEST_CASE("ec2_sd: malformed body, unreachable endpoint and timeout fail the refresh") {
  Ec2Fixture fx;
  fx.malformed = true;
  auto discovery = make(config_for(fx));
  auto groups = discovery->refresh({});
  REQUIRE(!groups);
  CHECK(groups.error().starts_with("could not describe instances: SerializationError: failed decoding EC2 Query "
                                   "response"));

  ec2::Config closed = config_for(fx);
  {
    httplib::Server unused;
    test::LoopbackServer gone;
    closed.access.endpoint = "http://127.0.0.1:" + std::to_string(gone.start(unused));
  }
  groups = make(closed)->refresh({});
  REQUIRE(!groups);
  CHECK(groups.error().starts_with("could not describe instances: RequestError: send request failed\ncaused by: "
                                   "Post \"http://127.0.0.1:"));

  fx.malformed = false;
  fx.delay_ms = 1500;
  ec2::Config slow = config_for(fx);
  slow.refresh_interval = model::Duration::seconds(1);
  groups = make(slow, {}, aws::RetryPolicy{0})->refresh({});
  REQUIRE(!groups);
  CHECK(groups.error().starts_with("could not describe instances: RequestError: send request failed"));
}

TEST_CASE("ec2_sd: an empty region comes from the instance identity document") {
  httplib::Server imds;
  imds.Put("/latest/api/token", [](const httplib::Request&, httplib::Response& res) {
    res.set_content("t", "text/plain");
  });
  imds.Get("/latest/dynamic/instance-identity/document", [](const httplib::Request& req, httplib::Response& res) {
    res.status = req.get_header_value("X-aws-ec2-metadata-token") == "t" ? 200 : 401;
    res.set_content(R"({"region":"eu-central-1","instanceId":"i-0"})", "application/json");
  });
  test::LoopbackServer server;
  std::string imds_url = "http://127.0.0.1:" + std::to_string(server.start(imds));
  Ec2Fixture fx;
  ec2::Config config = config_for(fx);
  config.access.region.clear();
  auto d = ec2::Discovery::make(config, DiscovererOptions{{{"imds", imds_url}}});
  REQUIRE_MESSAGE(d, (d ? "" : d.error()));
  auto groups = (*d)->refresh({});
  REQUIRE(!groups); // signed for eu-central-1, which the fixture rejects
  CHECK(groups.error().find("AuthFailure") != std::string::npos);
  server.stop();
  auto none = ec2::Discovery::make(config, DiscovererOptions{{{"imds", imds_url}}});
  REQUIRE(!none);
  CHECK(none.error() == "EC2 SD configuration requires a region");
}

TEST_CASE("ec2_sd: a failure after a success keeps the last targets") {
  Ec2Fixture fx;
  ec2::Config config = config_for(fx);
  config.refresh_interval = model::Duration::seconds(1);
  test::RecordingSink sink;
  test::RunningDiscoverer running(config.make_discoverer({}), sink);
  REQUIRE(sink.wait_for_reports(1));
  CHECK(sink.report(0) == "");
  REQUIRE(sink.update_count() == 1);
  fx.fail_status = 400; // not retried
  REQUIRE(sink.wait_for_reports(2));
  CHECK(sink.report(1).starts_with("could not describe instances: InternalError"));
  CHECK(sink.update_count() == 1);
  CHECK(sink.updates[0][0]->targets.size() == 2);
}

} // TEST_SUITE
