// hetzner_sd: the hcloud and robot mappings (pure), and both roles against a
// loopback fake of the Hetzner Cloud and Robot APIs that checks every
// request.

#include <chrono>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "cloud_api_fixture.h"
#include "discovery/hetzner.h"
#include "test_util.h"

using namespace sdscope;
using namespace std::chrono_literals;
namespace hetzner = sdscope::discovery::hetzner;
using Answer = test::FakeCloudApi::Answer;

namespace {

// Hetzner Cloud's answer to a missing or wrong token.
const char* const k_hcloud_unauthorized =
    R"({"error":{"code":"unauthorized","message":"unable to authenticate","details":{}}})";
// Robot's answer to wrong credentials.
const char* const k_robot_unauthorized = R"({"error":{"status":401,"code":"UNAUTHORIZED","message":"Unauthorized"}})";

const char* const k_server_a = R"({
  "id": 42, "name": "web-1", "status": "running", "created": "2023-01-01T00:00:00+00:00",
  "public_net": {"ipv4": {"ip": "127.0.0.11", "blocked": false, "dns_ptr": "x"},
                 "ipv6": {"ip": "2001:db8:0:1::/64", "blocked": false}},
  "private_net": [{"network": 7, "ip": "10.0.0.2", "alias_ips": []}, {"network": 99, "ip": "10.9.0.2"}],
  "server_type": {"id": 1, "name": "cx21", "cores": 2, "cpu_type": "shared", "memory": 4.5, "disk": 40},
  "datacenter": {"id": 3, "name": "fsn1-dc14", "location": {"name": "fsn1", "network_zone": "eu-central"}},
  "location": {"name": "hel1", "network_zone": "eu-north"},
  "image": {"id": 5, "name": "ubuntu-22.04", "description": "Ubuntu 22.04", "os_flavor": "ubuntu", "os_version": "22.04"},
  "labels": {"env": "prod", "app.kubernetes.io/name": "web", "flag": ""}})";

const char* const k_server_b = R"({
  "id": 43, "name": "bare", "status": "off",
  "public_net": {"ipv4": null, "ipv6": null},
  "private_net": [],
  "server_type": {"name": "cx11", "cores": 1, "cpu_type": "dedicated", "memory": 2, "disk": 20},
  "datacenter": {"name": "nbg1-dc3", "location": {"name": "nbg1", "network_zone": "eu-central"}},
  "image": null, "labels": {}})";

std::string servers_page(const std::string& servers, const std::string& next) {
  return R"({"servers":[)" + servers + R"(],"meta":{"pagination":{"page":1,"per_page":50,"next_page":)" + next +
         "}}}";
}
const std::string k_networks_page =
    R"({"networks":[{"id":7,"name":"my-net.private","ip_range":"10.0.0.0/16"}],"meta":{"pagination":{"next_page":null}}})";

model::Labels server_a_labels(int port = 80) {
  return {{"__address__", "127.0.0.11:" + std::to_string(port)},
          {"__meta_hetzner_datacenter", "fsn1-dc14"},
          {"__meta_hetzner_hcloud_cpu_cores", "2"},
          {"__meta_hetzner_hcloud_cpu_type", "shared"},
          {"__meta_hetzner_hcloud_datacenter_location", "fsn1"},
          {"__meta_hetzner_hcloud_datacenter_location_network_zone", "eu-central"},
          {"__meta_hetzner_hcloud_disk_size_gb", "40"},
          {"__meta_hetzner_hcloud_image_description", "Ubuntu 22.04"},
          {"__meta_hetzner_hcloud_image_name", "ubuntu-22.04"},
          {"__meta_hetzner_hcloud_image_os_flavor", "ubuntu"},
          {"__meta_hetzner_hcloud_image_os_version", "22.04"},
          {"__meta_hetzner_hcloud_label_app_kubernetes_io_name", "web"},
          {"__meta_hetzner_hcloud_label_env", "prod"},
          {"__meta_hetzner_hcloud_labelpresent_app_kubernetes_io_name", "true"},
          {"__meta_hetzner_hcloud_labelpresent_env", "true"},
          {"__meta_hetzner_hcloud_labelpresent_flag", "true"},
          {"__meta_hetzner_hcloud_memory_size_gb", "4"},
          {"__meta_hetzner_hcloud_private_ipv4_my_net_private", "10.0.0.2"},
          {"__meta_hetzner_hcloud_server_type", "cx21"},
          {"__meta_hetzner_public_ipv4", "127.0.0.11"},
          {"__meta_hetzner_public_ipv6_network", "2001:db8:0:1::/64"},
          {"__meta_hetzner_role", "hcloud"},
          {"__meta_hetzner_server_id", "42"},
          {"__meta_hetzner_server_name", "web-1"},
          {"__meta_hetzner_server_status", "running"}};
}

model::Labels server_b_labels() {
  return {{"__address__", "<nil>:80"},
          {"__meta_hetzner_datacenter", "nbg1-dc3"},
          {"__meta_hetzner_hcloud_cpu_cores", "1"},
          {"__meta_hetzner_hcloud_cpu_type", "dedicated"},
          {"__meta_hetzner_hcloud_datacenter_location", "nbg1"},
          {"__meta_hetzner_hcloud_datacenter_location_network_zone", "eu-central"},
          {"__meta_hetzner_hcloud_disk_size_gb", "20"},
          {"__meta_hetzner_hcloud_memory_size_gb", "2"},
          {"__meta_hetzner_hcloud_server_type", "cx11"},
          {"__meta_hetzner_public_ipv4", "<nil>"},
          {"__meta_hetzner_public_ipv6_network", "<nil>"},
          {"__meta_hetzner_role", "hcloud"},
          {"__meta_hetzner_server_id", "43"},
          {"__meta_hetzner_server_name", "bare"},
          {"__meta_hetzner_server_status", "off"}};
}

const char* const k_robot_servers = R"([
  {"server": {"server_ip": "127.0.0.21", "server_ipv6_net": "2a01:4f8:111:4221::", "server_number": 321,
              "server_name": "server1", "product": "DS 3000", "dc": "NBG1-DC1", "traffic": "5 TB",
              "status": "ready", "cancelled": false, "paid_until": "2010-09-02",
              "ip": ["127.0.0.21"],
              "subnet": [{"ip": "127.0.0.0", "mask": "29"}, {"ip": "2a01:4f8:111:4221::", "mask": "64"}]}},
  {"server": {"server_ip": "127.0.0.22", "server_number": 421, "server_name": "server2", "product": "X5",
              "dc": "FSN1-DC10", "status": "in process", "cancelled": true, "subnet": null}}])";

model::Labels robot_a_labels(int port = 80) {
  return {{"__address__", "127.0.0.21:" + std::to_string(port)},
          {"__meta_hetzner_datacenter", "nbg1-dc1"},
          {"__meta_hetzner_public_ipv4", "127.0.0.21"},
          {"__meta_hetzner_public_ipv6_network", "2a01:4f8:111:4221::/64"},
          {"__meta_hetzner_robot_cancelled", "false"},
          {"__meta_hetzner_robot_product", "DS 3000"},
          {"__meta_hetzner_role", "robot"},
          {"__meta_hetzner_server_id", "321"},
          {"__meta_hetzner_server_name", "server1"},
          {"__meta_hetzner_server_status", "ready"}};
}

// A fake Hetzner Cloud API under /v1 that wants `Bearer good-token` and
// serves servers on two pages (the second only with page=2).
void serve_hcloud(test::FakeCloudApi& api) {
  api.set([](const test::FakeCloudApi::Request& r) -> Answer {
    if (r.authorization != "Bearer good-token") {
      return {401, k_hcloud_unauthorized};
    }
    if (r.path == "/v1/servers" && r.query.find("page=1&") != std::string::npos) {
      return {200, servers_page(k_server_a, "2")};
    }
    if (r.path == "/v1/servers" && r.query.find("page=2&") != std::string::npos) {
      return {200, servers_page(k_server_b, "null")};
    }
    if (r.path == "/v1/networks") {
      return {200, k_networks_page};
    }
    return {404, R"({"error":{"code":"not_found","message":"not found","details":{}}})"};
  });
}

hetzner::Config config_of(const std::string& yaml) {
  test::SdResult r = test::decode_sd("hetzner", yaml);
  for (const std::string& error : r.errors) { // lint notes (fields newer than v2.45) are fine
    REQUIRE_MESSAGE(error.find(": warning: ") != std::string::npos, error);
  }
  return dynamic_cast<const hetzner::Config&>(*r.config);
}

std::unique_ptr<hetzner::HcloudDiscovery> hcloud_discovery(const std::string& yaml, const test::FakeCloudApi& api) {
  auto d = hetzner::HcloudDiscovery::make(config_of(yaml), api.url() + "/v1/");
  REQUIRE_MESSAGE(d, (d ? "" : d.error()));
  return std::move(*d);
}

std::unique_ptr<hetzner::RobotDiscovery> robot_discovery(const std::string& yaml, const test::FakeCloudApi& api) {
  auto d = hetzner::RobotDiscovery::make(config_of(yaml), api.url());
  REQUIRE_MESSAGE(d, (d ? "" : d.error()));
  return std::move(*d);
}

std::string refresh_error(const auto& discovery) {
  auto groups = discovery->refresh({});
  REQUIRE(!groups);
  return groups.error();
}

} // namespace

TEST_SUITE("hetzner_sd") {
  TEST_CASE("hcloud_group: every label, private networks by id, servers without IPs or image") {
    std::vector<std::string> servers = {servers_page(k_server_a, "2"), servers_page(k_server_b, "null")};
    std::vector<std::string> networks = {k_networks_page};
    auto group = hetzner::hcloud_group(servers, networks, 80);
    REQUIRE_MESSAGE(group, (group ? "" : group.error()));
    CHECK(group->source == "hetzner");
    CHECK(group->labels.empty());
    REQUIRE(group->targets.size() == 2);
    CHECK(group->targets[0] == server_a_labels());
    CHECK(group->targets[1] == server_b_labels());

    // IPv6 networks are printed masked and canonical, IPv4 canonical.
    std::string odd = R"({"id":1,"public_net":{"ipv4":{"ip":"::ffff:127.0.0.9"},"ipv6":{"ip":"2001:DB8:0:0:1::5/64"}},
                          "server_type":{"memory":0.99}})";
    group = hetzner::hcloud_group(std::vector<std::string>{servers_page(odd, "null")}, {}, 9100);
    REQUIRE(group);
    CHECK(group->targets[0].get("__address__") == "127.0.0.9:9100");
    CHECK(group->targets[0].get("__meta_hetzner_public_ipv6_network") == "2001:db8::/64");
    CHECK(group->targets[0].get("__meta_hetzner_hcloud_memory_size_gb") == "0");

    group = hetzner::hcloud_group(std::vector<std::string>{R"({"servers":[]})"}, {}, 80);
    REQUIRE(group);
    CHECK(group->targets.empty());
  }

  TEST_CASE("hcloud_group: bodies Go's decoder rejects") {
    auto check_error = [](const std::string& body, const std::string& want) {
      auto group = hetzner::hcloud_group(std::vector<std::string>{body}, {}, 80);
      REQUIRE(!group);
      CHECK(group.error() == want);
    };
    check_error("[]", "json: cannot unmarshal array into Go value of type schema.ServerListResponse");
    check_error(R"({"servers":[{"id":"42"}]})",
                "json: cannot unmarshal string into Go struct field Server.servers.id of type int");
    check_error(R"({"servers":[{"server_type":{"memory":"4"}}]})",
                "json: cannot unmarshal string into Go struct field ServerType.servers.server_type.memory of type "
                "float32");
    check_error(R"({"servers":[{"public_net":{"ipv4":{"ip":1}}}]})",
                "json: cannot unmarshal number into Go struct field ServerPublicNetIPv4.servers.public_net.ipv4.ip "
                "of type string");
    check_error("", "unexpected end of JSON input");
    auto syntax = hetzner::hcloud_group(std::vector<std::string>{"{"}, {}, 80);
    REQUIRE(!syntax);
    CHECK(syntax.error().starts_with("invalid JSON: "));
  }

  TEST_CASE("robot_group: every label, the first non-IPv4 subnet, lower-cased datacenter") {
    auto group = hetzner::robot_group(k_robot_servers, 80);
    REQUIRE_MESSAGE(group, (group ? "" : group.error()));
    CHECK(group->source == "hetzner");
    REQUIRE(group->targets.size() == 2);
    CHECK(group->targets[0] == robot_a_labels());
    CHECK(group->targets[1] == model::Labels{{"__address__", "127.0.0.22:80"},
                                             {"__meta_hetzner_datacenter", "fsn1-dc10"},
                                             {"__meta_hetzner_public_ipv4", "127.0.0.22"},
                                             {"__meta_hetzner_robot_cancelled", "true"},
                                             {"__meta_hetzner_robot_product", "X5"},
                                             {"__meta_hetzner_role", "robot"},
                                             {"__meta_hetzner_server_id", "421"},
                                             {"__meta_hetzner_server_name", "server2"},
                                             {"__meta_hetzner_server_status", "in process"}});

    auto check_error = [](const std::string& body, const std::string& want) {
      auto g = hetzner::robot_group(body, 80);
      REQUIRE(!g);
      CHECK(g.error() == want);
    };
    check_error("{}", "json: cannot unmarshal object into Go value of type hetzner.serversList");
    check_error(R"([{"server":{"server_number":"1"}}])",
                "json: cannot unmarshal string into Go struct field .server.server_number of type int");
    check_error(R"([{"server":{"cancelled":"no"}}])",
                "json: cannot unmarshal string into Go struct field .server.cancelled of type bool");
  }

  TEST_CASE("hcloud refresh: every request (path, query, token, user agent), two pages of servers") {
    test::FakeCloudApi api;
    serve_hcloud(api);
    auto discovery = hcloud_discovery("role: hcloud\nbearer_token: good-token\nport: 9100\n", api);
    auto groups = discovery->refresh({});
    REQUIRE_MESSAGE(groups, (groups ? "" : groups.error()));
    REQUIRE(groups->size() == 1);
    REQUIRE((*groups)[0].targets.size() == 2);
    CHECK((*groups)[0].targets[0] == server_a_labels(9100));

    std::vector<test::FakeCloudApi::Request> seen = api.take();
    REQUIRE(seen.size() == 3);
    CHECK(seen[0].path == "/v1/servers");
    CHECK(seen[0].query == "page=1&per_page=50");
    CHECK(seen[1].path == "/v1/servers");
    CHECK(seen[1].query == "page=2&per_page=50");
    CHECK(seen[2].path == "/v1/networks");
    CHECK(seen[2].query == "page=1&per_page=50");
    for (const auto& r : seen) {
      CHECK(r.authorization == "Bearer good-token");
      CHECK(r.user_agent == "Prometheus/2.45.0 hcloud-go/1.45.1");
    }
  }

  TEST_CASE("hcloud refresh: label_selector (3.5) is sent on the server list only; authorization block") {
    test::FakeCloudApi api;
    serve_hcloud(api);
    auto discovery = hcloud_discovery(
        "role: hcloud\nlabel_selector: env=prod,tier in (a b)\nauthorization:\n  credentials: good-token\n", api);
    REQUIRE(discovery->refresh({}));
    std::vector<test::FakeCloudApi::Request> seen = api.take();
    REQUIRE(seen.size() == 3);
    CHECK(seen[0].query == "label_selector=env%3Dprod%2Ctier+in+%28a+b%29&page=1&per_page=50");
    CHECK(seen[2].query == "page=1&per_page=50");
  }

  TEST_CASE("hcloud refresh: a wrong or missing token gets Hetzner's 401 and fails") {
    test::FakeCloudApi api;
    serve_hcloud(api);
    CHECK(refresh_error(hcloud_discovery("role: hcloud\nbearer_token: bad-token\n", api)) ==
          "unable to authenticate (unauthorized)");
    CHECK(refresh_error(hcloud_discovery("role: hcloud\n", api)) == "unable to authenticate (unauthorized)");
    CHECK(api.take()[1].authorization == "<absent>");
  }

  TEST_CASE("hcloud refresh: failures") {
    test::FakeCloudApi api;
    auto discovery = hcloud_discovery("role: hcloud\nbearer_token: t\nrefresh_interval: 600ms\n", api);
    api.set([](const auto&) { return Answer{500, "oops", "text/plain"}; });
    CHECK(refresh_error(discovery) == "hcloud: server responded with status code 500");
    api.set([](const auto&) {
      return Answer{503, R"({"error":{"code":"unavailable","message":"service unavailable","details":{}}})"};
    });
    CHECK(refresh_error(discovery) == "service unavailable (unavailable)");
    api.set([](const auto&) { return Answer{200, R"({"servers":[], "meta": {"pagination": {"next_page": "2"}}})"}; });
    CHECK(refresh_error(discovery) == "hcloud: error reading response meta data: json: cannot unmarshal string into "
                                      "Go struct field MetaPagination.meta.pagination.next_page of type int");
    api.set([](const auto&) { return Answer{200, R"({"servers": {}})"}; });
    CHECK(refresh_error(discovery) ==
          "json: cannot unmarshal object into Go struct field ServerListResponse.servers of type []schema.Server");
    api.set([](const auto&) { return Answer{200, "{", "text/plain"}; });
    CHECK(refresh_error(discovery).starts_with("invalid JSON: "));

    // Retried with hcloud-go's backoff while the retries fit the timeout.
    int calls = 0;
    api.set([&calls](const auto& r) {
      if (++calls == 1) {
        return Answer{429, R"({"error":{"code":"rate_limit_exceeded","message":"limit","details":{}}})"};
      }
      return r.path == "/v1/servers" ? Answer{200, R"({"servers":[]})"} : Answer{200, R"({"networks":[]})"};
    });
    auto groups = discovery->refresh({});
    REQUIRE_MESSAGE(groups, (groups ? "" : groups.error()));
    CHECK(api.take().size() >= 3);
    api.set([](const auto&) {
      return Answer{429, R"({"error":{"code":"rate_limit_exceeded","message":"limit exceeded","details":{}}})"};
    });
    CHECK(refresh_error(discovery) == "limit exceeded (rate_limit_exceeded)");
    CHECK(api.take().size() == 2); // 500ms fit into 600ms, 1s more would not

    api.set([](const auto&) { return Answer{200, R"({"servers":[]})"}; });
    api.set_delay(900ms);
    auto start = std::chrono::steady_clock::now();
    std::string slow = refresh_error(discovery);
    CHECK(std::chrono::steady_clock::now() - start < 850ms);
    CHECK(slow.starts_with("Get \"" + api.url() + "/v1/servers?page=1&per_page=50\": "));
    CHECK(slow.find("context deadline exceeded") != std::string::npos);
    api.set_delay(0ms);

    std::string url = api.url();
    api.stop();
    CHECK(refresh_error(discovery).starts_with("Get \"" + url + "/v1/servers?page=1&per_page=50\": "));
  }

  TEST_CASE("robot refresh: GET /server with basic auth; wrong credentials get Robot's 401") {
    test::FakeCloudApi api;
    api.set([](const test::FakeCloudApi::Request& r) -> Answer {
      if (r.authorization != "Basic dXNlcjpwYXNz") { // user:pass
        return {401, k_robot_unauthorized};
      }
      return r.path == "/server" ? Answer{200, k_robot_servers} : Answer{404, "{}"};
    });
    auto discovery = robot_discovery("role: robot\nbasic_auth: {username: user, password: pass}\nport: 9100\n", api);
    auto groups = discovery->refresh({});
    REQUIRE_MESSAGE(groups, (groups ? "" : groups.error()));
    REQUIRE((*groups)[0].targets.size() == 2);
    CHECK((*groups)[0].targets[0] == robot_a_labels(9100));
    std::vector<test::FakeCloudApi::Request> seen = api.take();
    REQUIRE(seen.size() == 1);
    CHECK(seen[0].path == "/server");
    CHECK(seen[0].query == "");
    CHECK(seen[0].user_agent == "Prometheus/2.45.0");

    CHECK(refresh_error(robot_discovery("role: robot\nbasic_auth: {username: user, password: wrong}\n", api)) ==
          "non 2xx status '401' response during hetzner service discovery with role robot");
  }

  TEST_CASE("robot refresh: failures") {
    test::FakeCloudApi api;
    auto discovery = robot_discovery("role: robot\nbasic_auth: {username: u, password: p}\nrefresh_interval: 300ms\n",
                                     api);
    api.set([](const auto&) { return Answer{500, R"({"error":{"status":500,"code":"INTERNAL_ERROR"}})"}; });
    CHECK(refresh_error(discovery) == "non 2xx status '500' response during hetzner service discovery with role robot");
    api.set([](const auto&) { return Answer{200, "[{"}; });
    CHECK(refresh_error(discovery).starts_with("invalid JSON: "));
    api.set([](const auto&) { return Answer{200, "[]"}; });
    auto empty = discovery->refresh({});
    REQUIRE(empty);
    CHECK((*empty)[0] == model::TargetGroup{{}, {}, "hetzner"});
    api.set_delay(600ms);
    std::string slow = refresh_error(discovery);
    CHECK(slow.find("context deadline exceeded") != std::string::npos);
    api.set_delay(0ms);
    std::string url = api.url();
    api.stop();
    CHECK(refresh_error(discovery).starts_with("Get \"" + url + "/server\": "));
  }

  TEST_CASE("make_discoverer: the endpoints hook, failures reported, the last good targets kept") {
    test::FakeCloudApi api;
    serve_hcloud(api);
    hetzner::Config config = config_of("role: hcloud\nbearer_token: good-token\nrefresh_interval: 1s\n");
    discovery::DiscovererOptions options;
    options.endpoints[std::string(hetzner::k_hcloud_endpoint_key)] = api.url() + "/v1";
    test::RecordingSink sink;
    test::RunningDiscoverer running(config.make_discoverer(options), sink);
    REQUIRE(sink.wait_for_reports(1));
    CHECK(sink.report(0) == "");
    REQUIRE(sink.update_count() == 1);
    CHECK(sink.updates[0][0]->targets.size() == 2);

    api.set([](const auto&) { return Answer{401, k_hcloud_unauthorized}; });
    REQUIRE(sink.wait_for_reports(2));
    CHECK(sink.report(1) == "unable to authenticate (unauthorized)");
    CHECK(sink.update_count() == 1); // nothing sent: the two servers stay

    serve_hcloud(api);
    REQUIRE(sink.wait_for_reports(3));
    CHECK(sink.report(2) == "");
    CHECK(sink.update_count() == 2);
    CHECK(running.stop() < 500ms);

    test::FakeCloudApi robot_api;
    robot_api.set([](const auto&) { return Answer{200, k_robot_servers}; });
    hetzner::Config robot = config_of("role: robot\nbasic_auth: {username: u, password: p}\n");
    options.endpoints[std::string(hetzner::k_robot_endpoint_key)] = robot_api.url();
    test::RecordingSink robot_sink;
    test::RunningDiscoverer robot_running(robot.make_discoverer(options), robot_sink);
    REQUIRE(robot_sink.wait_for_reports(1));
    CHECK(robot_sink.report(0) == "");
    CHECK(robot_api.take()[0].path == "/server");
  }

  TEST_CASE("make_discoverer: an unreadable CA file is an error") {
    hetzner::Config config = config_of("role: robot\nbasic_auth: {username: u, password: p}\n");
    config.http_client.tls_config.ca_file = "/nonexistent/ca.pem";
    discovery::DiscovererOptions options;
    options.endpoints["hetzner_robot"] = "http://127.0.0.1:1";
    auto discoverer = config.make_discoverer(options);
    REQUIRE(!discoverer);
    CHECK(discoverer.error() ==
          "unable to load specified CA cert /nonexistent/ca.pem: open /nonexistent/ca.pem: no such file or directory");
  }
}
