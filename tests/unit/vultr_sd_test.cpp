// vultr_sd: the instance list mapping (pure), and the discoverer against a
// loopback fixture emulating the Vultr API v2 (bearer token checked on
// every request, cursor paging, govultr's retries).

#include <httplib.h> // CPPHTTPLIB_OPENSSL_SUPPORT comes from its pkg-config flags

#include <chrono>
#include <mutex>
#include <thread>

#include <doctest/doctest.h>

#include "discovery/vultr.h"
#include "loopback_server.h"
#include "test_util.h"

using namespace sdscope;
using namespace std::chrono_literals;
namespace vultr = sdscope::discovery::vultr;

namespace {

constexpr const char* k_token = "VULTRAPIKEY0123456789";
// Vultr's answer to a request without a valid API key.
constexpr const char* k_unauthorized_body = R"({"error":"Invalid API token.","status":401})";

// A fake Vultr API on 127.0.0.1: /v2/instances answers from `pages` by
// cursor ("" for the first page); a request without "Bearer <token>" gets
// the API's 401; the first `failures` requests get `failure_status`.
class FakeVultr {
public:
  FakeVultr() {
    m_server.set_keep_alive_timeout(1);
    m_server.Get("/v2/instances", [this](const httplib::Request& req, httplib::Response& res) {
      std::chrono::milliseconds wait;
      {
        std::lock_guard lock(m_mutex);
        targets.push_back(req.target);
        headers = {req.get_header_value("Accept"), req.get_header_value("Content-Type"),
                   req.get_header_value("User-Agent")};
        wait = delay;
        if (req.get_header_value("Authorization") != std::string("Bearer ") + token) {
          res.status = 401;
          res.set_content(k_unauthorized_body, "application/json");
        } else if (failures > 0) {
          --failures;
          res.status = failure_status;
          res.set_content(R"({"error":"server error","status":)" + std::to_string(failure_status) + "}",
                          "application/json");
        } else {
          auto it = pages.find(req.get_param_value("cursor"));
          res.set_content(it == pages.end() ? R"({"instances":[],"meta":{"total":0,"links":{"next":"","prev":""}}})"
                                            : it->second,
                          "application/json");
        }
      }
      std::this_thread::sleep_for(wait);
    });
    port = m_serving.start(m_server);
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port); }
  template <class Fn> void change(Fn fn) {
    std::lock_guard lock(m_mutex);
    fn();
  }
  std::vector<std::string> take_targets() {
    std::lock_guard lock(m_mutex);
    return std::exchange(targets, {});
  }
  void stop() { m_serving.stop(); }

  int port = 0;
  std::string token = k_token;
  std::map<std::string, std::string> pages;
  int failures = 0;
  int failure_status = 500;
  std::chrono::milliseconds delay{0};
  std::vector<std::string> targets;
  std::vector<std::string> headers;

private:
  std::mutex m_mutex;
  httplib::Server m_server;
  test::LoopbackServer m_serving;
};

vultr::Config config_with_token(model::Duration interval = model::Duration::seconds(30)) {
  vultr::Config config;
  net::Authorization auth;
  auth.type = "Bearer";
  auth.credentials.value = k_token;
  config.http_client.authorization = auth;
  config.refresh_interval = interval;
  return config;
}

std::unique_ptr<vultr::Discovery> make_discovery(const vultr::Config& config, const std::string& url) {
  auto d = vultr::Discovery::make(config, url);
  REQUIRE_MESSAGE(d, (d ? "" : d.error()));
  return std::move(*d);
}

const char* const k_instance = R"({
  "id":"dbdbd38c-9884-4c92-95fe-899e50dee717","os":"Marketplace","ram":4096,"disk":128,"main_ip":"127.0.0.5",
  "vcpu_count":2,"region":"ewr","plan":"vhf-2c-4gb","date_created":"2022-03-10T02:25:30+00:00","status":"active",
  "allowed_bandwidth":3000,"netmask_v4":"255.255.254.0","gateway_v4":"127.0.0.1","power_status":"running",
  "server_status":"ok","v6_network":"2001:db8::","v6_main_ip":"2001:db8::5","v6_network_size":64,
  "label":"np-2-eae38a19b0f3","internal_ip":"10.1.96.5","kvm":"https://my.vultr.com/subs/vps/novnc","hostname":"np-2",
  "tag":"","os_id":426,"app_id":0,"image_id":"","firewall_group_id":"","features":["backups","ipv6"],
  "tags":["tag1","tag2"]})";

} // namespace

TEST_SUITE("vultr_sd") {
  TEST_CASE("group_from_instances: every label of v2.45") {
    auto page = vultr::parse_instances_page(std::string(R"({"instances":[)") + k_instance +
                                            R"(,{"id":"bare","main_ip":"::1"}],"meta":{"total":2,"links":{"next":"","prev":""}}})");
    REQUIRE_MESSAGE(page, (page ? "" : page.error()));
    CHECK(page->next.empty());
    auto group = vultr::group_from_instances(page->instances, 9100);
    CHECK(group.source == "Vultr");
    REQUIRE(group.targets.size() == 2);
    const std::string p = "__meta_vultr_instance_";
    CHECK(group.targets[0] == model::Labels{{"__address__", "127.0.0.5:9100"},
                                            {p + "allowed_bandwidth_gb", "3000"},
                                            {p + "disk_gb", "128"},
                                            {p + "features", ",backups,ipv6,"},
                                            {p + "hostname", "np-2"},
                                            {p + "id", "dbdbd38c-9884-4c92-95fe-899e50dee717"},
                                            {p + "internal_ip", "10.1.96.5"},
                                            {p + "label", "np-2-eae38a19b0f3"},
                                            {p + "main_ip", "127.0.0.5"},
                                            {p + "main_ipv6", "2001:db8::5"},
                                            {p + "os", "Marketplace"},
                                            {p + "os_id", "426"},
                                            {p + "plan", "vhf-2c-4gb"},
                                            {p + "ram_mb", "4096"},
                                            {p + "region", "ewr"},
                                            {p + "server_status", "ok"},
                                            {p + "tags", ",tag1,tag2,"},
                                            {p + "vcpu_count", "2"}});
    CHECK(group.targets[1].get("__address__") == "[::1]:9100");
    CHECK(group.targets[1].get(p + "ram_mb") == "0");
    CHECK(!group.targets[1].has(p + "tags"));
  }

  TEST_CASE("parse_instances_page: bodies Go's decoder rejects, and a missing meta.links") {
    auto error_of = [](std::string_view body) {
      auto page = vultr::parse_instances_page(body);
      REQUIRE(!page);
      return page.error();
    };
    CHECK(error_of(R"({"instances":[{"ram":"4096"}],"meta":{"links":{}}})") ==
          "json: cannot unmarshal string into Go struct field Instance.instances.ram of type int");
    CHECK(error_of(R"({"instances":{}})") ==
          "json: cannot unmarshal object into Go struct field instancesBase.instances of type []govultr.Instance");
    CHECK(error_of("") == "unexpected end of JSON input");
    CHECK(error_of(R"({"instances":[]})") == "vultr API response without meta.links (Prometheus v2.45 crashes on it)");
    CHECK(error_of(R"({"instances":[],"meta":{"links":null}})") ==
          "vultr API response without meta.links (Prometheus v2.45 crashes on it)");
  }

  TEST_CASE("refresh: the requests, the bearer token and cursor paging") {
    FakeVultr fx;
    fx.change([&] {
      fx.pages[""] = std::string(R"({"instances":[)") + k_instance +
                     R"(],"meta":{"total":2,"links":{"next":"bmV4dF9fMg==","prev":""}}})";
      fx.pages["bmV4dF9fMg=="] =
          R"({"instances":[{"id":"second","main_ip":"127.0.0.6"}],"meta":{"total":2,"links":{"next":"","prev":"x"}}})";
    });
    auto discovery = make_discovery(config_with_token(), fx.url());
    auto groups = discovery->refresh({});
    REQUIRE_MESSAGE(groups, (groups ? "" : groups.error()));
    REQUIRE(groups->size() == 1);
    REQUIRE((*groups)[0].targets.size() == 2);
    CHECK((*groups)[0].targets[1].get("__address__") == "127.0.0.6:80");
    CHECK(fx.take_targets() ==
          std::vector<std::string>{"/v2/instances?per_page=100", "/v2/instances?cursor=bmV4dF9fMg%3D%3D&per_page=100"});
    CHECK(fx.headers == std::vector<std::string>{"application/json", "application/json", "Prometheus/2.45.0"});

    // A wrong key: the API's 401 body is the error (no retry).
    fx.change([&] { fx.token = "other"; });
    auto denied = discovery->refresh({});
    REQUIRE(!denied);
    CHECK(denied.error() == k_unauthorized_body);
    CHECK(fx.take_targets().size() == 1);
    CHECK(denied.error().find(k_token) == std::string::npos);
  }

  TEST_CASE("refresh: 5xx and 429 are retried three times, then given up") {
    FakeVultr fx;
    auto discovery = make_discovery(config_with_token(), fx.url());
    fx.change([&] { fx.failures = 2; });
    auto recovered = discovery->refresh({});
    REQUIRE_MESSAGE(recovered, (recovered ? "" : recovered.error()));
    CHECK(fx.take_targets().size() == 3);

    fx.change([&] {
      fx.failures = 10;
      fx.failure_status = 503;
    });
    auto start = std::chrono::steady_clock::now();
    auto failed = discovery->refresh({});
    auto took = std::chrono::steady_clock::now() - start;
    REQUIRE(!failed);
    CHECK(failed.error() == R"(gave up after 4 attempts, last error: "{\"error\":\"server error\",\"status\":503}")");
    CHECK(fx.take_targets().size() == 4);
    CHECK(took >= 1300ms); // 333 + 500 + 500 ms apart
    CHECK(took < 3s);

    fx.change([&] {
      fx.failures = 1;
      fx.failure_status = 501; // not retried
    });
    auto not_implemented = discovery->refresh({});
    REQUIRE(!not_implemented);
    CHECK(not_implemented.error() == R"({"error":"server error","status":501})");
  }

  TEST_CASE("refresh: malformed bodies, timeouts and an unreachable API") {
    FakeVultr fx;
    auto discovery = make_discovery(config_with_token(model::Duration{200}), fx.url());
    fx.change([&] { fx.pages[""] = R"({"instances":[)"; });
    auto malformed = discovery->refresh({});
    REQUIRE(!malformed);
    CHECK(malformed.error().find("JSON") != std::string::npos);

    fx.change([&] {
      fx.pages.clear();
      fx.delay = 400ms;
    });
    auto slow = discovery->refresh({}); // each attempt times out after refresh_interval
    REQUIRE(!slow);
    CHECK(slow.error().starts_with("gave up after 4 attempts, last error : Get \"" + fx.url() +
                                   "/v2/instances?per_page=100\": "));
    CHECK(slow.error().find("context deadline exceeded") != std::string::npos);

    std::string url = fx.url();
    fx.stop();
    auto unreachable = discovery->refresh({});
    REQUIRE(!unreachable);
    CHECK(unreachable.error().starts_with("gave up after 4 attempts, last error : Get \"" + url + "/v2/instances"));
  }

  TEST_CASE("make_discoverer: endpoints[\"vultr\"], reports failures and keeps the last good targets") {
    FakeVultr fx;
    fx.change([&] {
      fx.pages[""] = R"({"instances":[{"id":"a","main_ip":"127.0.0.1"}],"meta":{"links":{"next":""}}})";
    });
    discovery::DiscovererOptions options;
    options.endpoints["vultr"] = fx.url() + "/ignored/path"; // govultr resolves /v2/instances against it
    test::RecordingSink sink;
    test::RunningDiscoverer running(config_with_token(model::Duration::seconds(1)).make_discoverer(options), sink);
    REQUIRE(sink.wait_for_reports(1));
    CHECK(sink.report(0) == "");
    REQUIRE(sink.update_count() == 1);
    CHECK(sink.updates[0][0]->targets.size() == 1);

    fx.change([&] { fx.token = "rotated"; });
    REQUIRE(sink.wait_for_reports(2));
    CHECK(sink.report(1) == k_unauthorized_body);
    CHECK(sink.update_count() == 1); // nothing sent: the last targets stay

    fx.change([&] { fx.token = k_token; });
    REQUIRE(sink.wait_for_reports(3));
    CHECK(sink.report(2) == "");
    CHECK(sink.update_count() == 2);
    CHECK(running.stop() < 500ms);
  }
}
