// linode_sd: the instance mapping (pure), the base URL from LINODE_URL, and
// the discoverer against a loopback fake of the Linode API v4 that checks
// every request: paging, the region filter, event polling.

#include <chrono>
#include <mutex>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "cloud_api_fixture.h"
#include "discovery/linode.h"
#include "test_util.h"

using namespace sdscope;
using namespace std::chrono_literals;
namespace linode = sdscope::discovery::linode;
using Answer = test::FakeCloudApi::Answer;
using Request = test::FakeCloudApi::Request;

namespace {

// Linode's answer to a missing or wrong token.
const char* const k_invalid_token = R"({"errors": [{"reason": "Invalid Token"}]})";

const char* const k_instance_a = R"({
  "id": 26838044, "label": "prometheus-linode-sd-exporter-1", "group": "", "status": "running",
  "created": "2021-05-12T04:23:44", "updated": "2021-05-12T04:23:44", "type": "g6-standard-2",
  "ipv4": ["127.0.0.51", "192.168.170.51", "127.0.0.52"], "ipv6": "2600:3c03::f03c:92ff:fe1a:1382/128",
  "image": "linode/arch", "region": "us-east", "hypervisor": "kvm",
  "specs": {"disk": 81920, "memory": 4096, "vcpus": 2, "gpus": 0, "transfer": 4000},
  "alerts": {"cpu": 180}, "backups": {"enabled": false, "schedule": {"day": null, "window": null}},
  "watchdog_enabled": true, "tags": ["monitoring"]})";

const char* const k_instance_b = R"({
  "id": 26837992, "label": "private-only", "group": "web", "status": "offline", "type": "g6-nanode-1",
  "ipv4": ["192.168.170.60"], "ipv6": "2600:3c04::f03c:92ff:fe1a:fb4c/128", "image": null, "region": "ca-central",
  "hypervisor": "kvm", "specs": {"disk": 25600, "memory": 1024, "vcpus": 1, "gpus": 1, "transfer": 1000},
  "backups": {"enabled": true}, "tags": []})";

const char* const k_instance_no_ipv4 = R"({"id": 1, "label": "none", "ipv4": [], "specs": {}})";

std::string paged(const std::string& items, int page, int pages) {
  return R"({"data": [)" + items + R"(], "page": )" + std::to_string(page) + R"(, "pages": )" + std::to_string(pages) +
         R"(, "results": 3})";
}

const std::string k_ips = paged(R"(
  {"address": "127.0.0.51", "public": true, "rdns": "li1.members.linode.com", "type": "ipv4", "linode_id": 26838044},
  {"address": "192.168.170.51", "public": false, "rdns": null, "type": "ipv4", "linode_id": 26838044},
  {"address": "127.0.0.52", "public": true, "rdns": "null", "type": "ipv4", "linode_id": 26838044},
  {"address": "2600:3c03::f03c:92ff:fe1a:1382", "public": true, "rdns": "v6.example", "type": "ipv6"},
  {"address": "192.168.170.60", "public": false, "rdns": "", "type": "ipv4", "linode_id": 26837992})",
                                1, 1);

model::Labels instance_a_labels(int port = 80, const std::string& sep = ",") {
  return {{"__address__", "127.0.0.51:" + std::to_string(port)},
          {"__meta_linode_backups", "disabled"},
          {"__meta_linode_extra_ips", sep + "127.0.0.52" + sep},
          {"__meta_linode_hypervisor", "kvm"},
          {"__meta_linode_image", "linode/arch"},
          {"__meta_linode_instance_id", "26838044"},
          {"__meta_linode_instance_label", "prometheus-linode-sd-exporter-1"},
          {"__meta_linode_private_ipv4", "192.168.170.51"},
          {"__meta_linode_public_ipv4", "127.0.0.51"},
          {"__meta_linode_public_ipv4_rdns", "li1.members.linode.com"},
          {"__meta_linode_public_ipv6", "2600:3c03::f03c:92ff:fe1a:1382"},
          {"__meta_linode_public_ipv6_rdns", "v6.example"},
          {"__meta_linode_region", "us-east"},
          {"__meta_linode_specs_disk_bytes", "85899345920"},
          {"__meta_linode_specs_memory_bytes", "4294967296"},
          {"__meta_linode_specs_transfer_bytes", "4194304000"},
          {"__meta_linode_specs_vcpus", "2"},
          {"__meta_linode_status", "running"},
          {"__meta_linode_tags", sep + "monitoring" + sep},
          {"__meta_linode_type", "g6-standard-2"}};
}

model::Labels instance_b_labels() {
  return {{"__address__", ":80"},
          {"__meta_linode_backups", "enabled"},
          {"__meta_linode_group", "web"},
          {"__meta_linode_hypervisor", "kvm"},
          {"__meta_linode_instance_id", "26837992"},
          {"__meta_linode_instance_label", "private-only"},
          {"__meta_linode_private_ipv4", "192.168.170.60"},
          {"__meta_linode_region", "ca-central"},
          {"__meta_linode_specs_disk_bytes", "26843545600"},
          {"__meta_linode_specs_memory_bytes", "1073741824"},
          {"__meta_linode_specs_transfer_bytes", "1048576000"},
          {"__meta_linode_specs_vcpus", "1"},
          {"__meta_linode_status", "offline"},
          {"__meta_linode_type", "g6-nanode-1"}};
}

// A fake Linode API v4 that wants `Bearer good-token`: instances on two
// pages, IPs on one, and `events` (a JSON list) as the
// account events.
struct FakeLinode {
  test::FakeCloudApi api;
  explicit FakeLinode(bool token_has_events_scope = true) {
    api.set([this, token_has_events_scope](const Request& r) -> Answer {
      if (r.authorization != "Bearer good-token") {
        return {401, k_invalid_token};
      }
      if (r.path == "/v4/linode/instances") {
        if (r.query == "page_size=500") {
          return {200, paged(std::string(k_instance_a) + "," + k_instance_no_ipv4, 1, 2)};
        }
        return {200, paged(k_instance_b, 2, 2)};
      }
      if (r.path == "/v4/networking/ips") {
        return {200, k_ips};
      }
      if (r.path == "/v4/account/events") {
        if (!token_has_events_scope) {
          return {401, R"({"errors": [{"reason": "Your OAuth token is not authorized to use this endpoint."}]})"};
        }
        std::lock_guard lock(mutex);
        return {200, paged(events, 1, 1)};
      }
      return {404, R"({"errors": [{"reason": "Not found"}]})"};
    });
  }
  void set_events(std::string list) {
    std::lock_guard lock(mutex);
    events = std::move(list);
  }

private:
  std::mutex mutex;
  std::string events;
};

linode::Config config_of(const std::string& yaml) {
  test::SdResult r = test::decode_sd("linode", yaml);
  for (const std::string& error : r.errors) { // lint notes (fields newer than v2.45) are fine
    REQUIRE_MESSAGE(error.find(": warning: ") != std::string::npos, error);
  }
  return dynamic_cast<const linode::Config&>(*r.config);
}

std::unique_ptr<linode::Discovery> discovery_for(const std::string& yaml, const test::FakeCloudApi& api,
                                                 linode::Discovery::Clock clock = std::chrono::system_clock::now) {
  auto d = linode::Discovery::make(config_of(yaml), linode::api_base_url(api.url(), ""), std::move(clock));
  REQUIRE_MESSAGE(d, (d ? "" : d.error()));
  return std::move(*d);
}

std::string refresh_error(std::unique_ptr<linode::Discovery>& discovery) {
  auto groups = discovery->refresh({});
  REQUIRE(!groups);
  return groups.error();
}

std::vector<std::string> paths_of(const std::vector<Request>& requests) {
  std::vector<std::string> out;
  for (const Request& r : requests) {
    out.push_back(r.path + (r.query.empty() ? "" : "?" + r.query));
  }
  return out;
}

} // namespace

TEST_SUITE("linode_sd") {
  TEST_CASE("linode_group: every label, extra IPs, rDNS, instances without IPv4 skipped") {
    linode::Pages pages;
    pages.instances = {paged(std::string(k_instance_a) + "," + k_instance_no_ipv4, 1, 2), paged(k_instance_b, 2, 2)};
    pages.ips = {k_ips};
    auto group = linode::linode_group(pages, 80, ",");
    REQUIRE_MESSAGE(group, (group ? "" : group.error()));
    CHECK(group->source == "Linode");
    REQUIRE(group->targets.size() == 2);
    CHECK(group->targets[0] == instance_a_labels());
    CHECK(group->targets[1] == instance_b_labels());

    group = linode::linode_group(pages, 9100, "|");
    REQUIRE(group);
    CHECK(group->targets[0] == instance_a_labels(9100, "|"));
  }

  TEST_CASE("linode_group: bodies that do not decode") {
    auto check_error = [](const std::string& instances, const std::string& want) {
      linode::Pages pages;
      pages.instances = {instances};
      auto group = linode::linode_group(pages, 80, ",");
      REQUIRE(!group);
      CHECK(group.error() == want);
    };
    check_error(R"({"data": [{"id": "1"}]})", "json: cannot unmarshal string into Go struct field Instance.id of type int");
    check_error(R"({"data": [{"ipv4": ["not-an-ip"]}]})", "invalid IP address: not-an-ip");
    check_error(R"({"data": {}})",
                "json: cannot unmarshal object into Go struct field InstancesPagedResponse.data of type "
                "[]linodego.Instance");
  }

  TEST_CASE("api_base_url: LINODE_URL and LINODE_API_VERSION as linodego reads them") {
    CHECK(linode::api_base_url("", "") == "https://api.linode.com/v4");
    CHECK(linode::api_base_url("http://127.0.0.1:8080", "") == "http://127.0.0.1:8080/v4");
    CHECK(linode::api_base_url("http://127.0.0.1:8080/", "") == "http://127.0.0.1:8080/v4");
    CHECK(linode::api_base_url("http://127.0.0.1:8080/prefix/", "v4beta") == "http://127.0.0.1:8080/prefix/v4beta");
    CHECK(linode::api_base_url("", "v4beta") == "https://api.linode.com/v4beta");
  }

  TEST_CASE("refresh: every request (path, query, token, headers), paging by page/pages") {
    FakeLinode fake;
    auto discovery = discovery_for("bearer_token: good-token\n", fake.api);
    auto groups = discovery->refresh({});
    REQUIRE_MESSAGE(groups, (groups ? "" : groups.error()));
    REQUIRE(groups->size() == 1);
    CHECK((*groups)[0].targets == std::vector<model::Labels>{instance_a_labels(), instance_b_labels()});
    std::vector<Request> seen = fake.api.take();
    CHECK(paths_of(seen) == std::vector<std::string>{"/v4/linode/instances?page_size=500",
                                                     "/v4/linode/instances?page=2&page_size=500",
                                                     "/v4/networking/ips?page_size=500"});
    for (const Request& r : seen) {
      CHECK(r.authorization == "Bearer good-token");
      CHECK(r.accept == "application/json");
      CHECK(r.user_agent == "Prometheus/2.45.0");
      CHECK(r.x_filter == "<absent>");
    }
  }

  TEST_CASE("refresh: region (2.52) sends an X-Filter on every list") {
    FakeLinode fake;
    auto discovery = discovery_for("authorization: {credentials: good-token}\nregion: us-east\n", fake.api);
    REQUIRE(discovery->refresh({}));
    std::vector<Request> seen = fake.api.take();
    REQUIRE(seen.size() == 3);
    for (const Request& r : seen) {
      CHECK(r.x_filter == R"({"region": "us-east"})");
    }
  }

  TEST_CASE("refresh: event polling skips full refreshes until events come or 10 polls passed") {
    FakeLinode fake;
    std::chrono::system_clock::time_point now{std::chrono::seconds(1620793424)}; // 2021-05-12T04:23:44Z
    auto discovery = discovery_for("bearer_token: good-token\n", fake.api, [&now] { return now; });
    auto first = discovery->refresh({});
    REQUIRE(first);
    fake.api.take();

    now += 60s;
    auto second = discovery->refresh({});
    REQUIRE(second);
    CHECK(*second == *first);
    std::vector<Request> seen = fake.api.take();
    REQUIRE(seen.size() == 1); // only the events
    CHECK(paths_of(seen)[0] == "/v4/account/events?page=1&page_size=25");
    CHECK(seen[0].x_filter == R"({"created": {"+gte": "2021-05-12T04:23:44"}})");

    now += 60s;
    REQUIRE(discovery->refresh({}));
    seen = fake.api.take();
    CHECK(seen[0].x_filter == R"({"created": {"+gte": "2021-05-12T04:24:44"}})"); // the previous refresh's time

    fake.set_events(R"({"id": 123, "action": "linode_boot", "created": "2021-05-12T04:25:00"})");
    REQUIRE(discovery->refresh({}));
    CHECK(fake.api.take().size() == 4); // events, then a full refresh
    fake.set_events("");

    // Polls 1..9 without events reuse the groups; the 10th refreshes fully.
    for (int i = 1; i <= 9; ++i) {
      REQUIRE(discovery->refresh({}));
      CHECK(fake.api.take().size() == 1);
    }
    REQUIRE(discovery->refresh({}));
    CHECK(fake.api.take().size() == 4);
  }

  TEST_CASE("refresh: a 401 on events turns polling off; a wrong token fails with Linode's 401") {
    FakeLinode fake(false);
    auto discovery = discovery_for("bearer_token: good-token\n", fake.api);
    REQUIRE(discovery->refresh({}));
    fake.api.take();
    REQUIRE(discovery->refresh({}));
    CHECK(fake.api.take().size() == 4); // the 401 on events, then a full refresh
    REQUIRE(discovery->refresh({}));
    CHECK(fake.api.take().size() == 3); // no more event polls

    auto wrong = discovery_for("bearer_token: bad-token\n", fake.api);
    CHECK(refresh_error(wrong) == "[401] Invalid Token");
  }

  TEST_CASE("refresh: failures") {
    test::FakeCloudApi api;
    auto discovery = discovery_for("bearer_token: t\nrefresh_interval: 300ms\n", api);
    api.set([](const Request&) {
      return Answer{500, R"({"errors": [{"reason": "Internal error"}, {"field": "x", "reason": "bad"}]})"};
    });
    CHECK(refresh_error(discovery) == "[500] Internal error; [x] bad");
    api.set([](const Request&) { return Answer{500, "oops", "text/plain"}; });
    CHECK(refresh_error(discovery) ==
          "[500] Unexpected Content-Type: Expected: application/json, Received: text/plain\nResponse body: oops");
    api.set([](const Request&) { return Answer{502, "<html></html>", "text/html"}; });
    CHECK(refresh_error(discovery) == "[502] Bad Gateway");
    api.set([](const Request&) { return Answer{429, R"({"errors": [{"reason": "Too many requests"}]})"}; });
    CHECK(refresh_error(discovery) == "[429] Too many requests"); // Retry-After 3s does not fit 300ms
    api.set([](const Request&) { return Answer{200, R"({"data": [{"id": "x"}], "pages": 1})"}; });
    CHECK(refresh_error(discovery) ==
          "[002] json: cannot unmarshal string into Go struct field Instance.id of type int");
    api.set([](const Request&) { return Answer{200, "{"}; });
    CHECK(refresh_error(discovery).starts_with("[002] invalid JSON: "));

    // Retried after Retry-After while that fits the timeout (3s without one).
    test::FakeCloudApi api2;
    auto patient = discovery_for("bearer_token: t\nrefresh_interval: 2s\n", api2);
    api2.set([](const Request& r) {
      if (r.path == "/v4/linode/instances") {
        return Answer{503, R"({"errors": [{"reason": "busy"}]})", "application/json", {{"Retry-After", "1"}}};
      }
      return Answer{200, R"({"data": [], "page": 1, "pages": 1})"};
    });
    CHECK(refresh_error(patient) == "[503] busy");
    CHECK(api2.take().size() == 3); // 1s and 1s fit into 2s, a third second would not
    api2.set([](const Request&) { return Answer{503, R"({"errors": [{"reason": "busy"}]})"}; });
    CHECK(refresh_error(patient) == "[503] busy");
    CHECK(api2.take().size() == 1);

    api.set([](const Request&) { return Answer{200, R"({"data": []})"}; });
    api.set_delay(600ms);
    std::string slow = refresh_error(discovery);
    CHECK(slow.starts_with("[002] Get \"" + api.url() + "/v4/linode/instances?page_size=500\": "));
    CHECK(slow.find("context deadline exceeded") != std::string::npos);
    api.set_delay(0ms);

    std::string url = api.url();
    api.stop();
    CHECK(refresh_error(discovery).starts_with("[002] Get \"" + url + "/v4/linode/instances?page_size=500\": "));
  }

  TEST_CASE("refresh: non-JSON 2xx bodies and error answers without errors are empty results, as linodego has it") {
    test::FakeCloudApi api;
    auto discovery = discovery_for("bearer_token: t\n", api);
    api.set([](const Request&) { return Answer{200, "not json", "text/plain"}; });
    auto groups = discovery->refresh({});
    REQUIRE(groups);
    CHECK((*groups)[0] == model::TargetGroup{{}, {}, "Linode"});
  }

  TEST_CASE("make_discoverer: the endpoints hook, failures reported, the last good targets kept") {
    FakeLinode fake;
    linode::Config config = config_of("bearer_token: good-token\nrefresh_interval: 1s\n");
    discovery::DiscovererOptions options;
    options.endpoints[std::string(linode::k_endpoint_key)] = fake.api.url();
    test::RecordingSink sink;
    test::RunningDiscoverer running(config.make_discoverer(options), sink);
    REQUIRE(sink.wait_for_reports(1));
    CHECK(sink.report(0) == "");
    REQUIRE(sink.update_count() == 1);
    CHECK(sink.updates[0][0]->targets.size() == 2);

    fake.api.set([](const Request&) { return Answer{401, k_invalid_token}; });
    REQUIRE(sink.wait_for_reports(2)); // the events 401 turns polling off; the full refresh fails
    CHECK(sink.report(1) == "[401] Invalid Token");
    CHECK(sink.update_count() == 1); // nothing sent: the two instances stay
    CHECK(running.stop() < 500ms);
  }

  TEST_CASE("make_discoverer: LINODE_URL when no endpoint is given") {
    FakeLinode fake;
    setenv("LINODE_URL", fake.api.url().c_str(), 1);
    linode::Config config = config_of("bearer_token: good-token\nrefresh_interval: 1s\n");
    test::RecordingSink sink;
    test::RunningDiscoverer running(config.make_discoverer({}), sink);
    unsetenv("LINODE_URL");
    REQUIRE(sink.wait_for_reports(1));
    CHECK(sink.report(0) == "");
    CHECK(fake.api.take().size() == 3); // two pages of instances, the IPs
  }

  TEST_CASE("make_discoverer: an unreadable CA file is an error") {
    linode::Config config = config_of("bearer_token: t\n");
    config.http_client.tls_config.ca_file = "/nonexistent/ca.pem";
    discovery::DiscovererOptions options;
    options.endpoints["linode"] = "http://127.0.0.1:1";
    auto discoverer = config.make_discoverer(options);
    REQUIRE(!discoverer);
    CHECK(discoverer.error() ==
          "unable to load specified CA cert /nonexistent/ca.pem: open /nonexistent/ca.pem: no such file or directory");
  }
}
