// scaleway_sd: the mapping of Instance and Elastic Metal list responses
// (pure), and the discoverer against a loopback fixture emulating the
// Scaleway API (X-Auth-Token checked on every request, paging, the API's
// error bodies).

#include <httplib.h> // CPPHTTPLIB_OPENSSL_SUPPORT comes from its pkg-config flags

#include <chrono>
#include <functional>
#include <map>
#include <mutex>
#include <thread>

#include <doctest/doctest.h>

#include "discovery/scaleway.h"
#include "discovery/scaleway_api.h"
#include "loopback_server.h"
#include "test_util.h"

using namespace sdscope;
using namespace std::chrono_literals;
namespace scaleway = sdscope::discovery::scaleway;

namespace {

constexpr const char* k_secret = "11111111-2222-3333-4444-555555555555";
constexpr const char* k_project = "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee";

// Scaleway's real answer to an unknown secret key.
constexpr const char* k_denied_body =
    R"({"message":"authentication is denied","method":"api_key","reason":"not_found","type":"denied_authentication"})";

struct Answer {
  Answer(int status_ = 200, std::string body_ = "", std::string content_type_ = "application/json",
         std::string total_header_ = "")
      : status(status_), body(std::move(body_)), content_type(std::move(content_type_)),
        total_header(std::move(total_header_)) {}
  int status;
  std::string body;
  std::string content_type;
  std::string total_header; // X-Total-Count, none when empty
};

// A fake Scaleway API on 127.0.0.1: answers GETs by path and `page` from
// `pages`, denies requests without the expected X-Auth-Token as the API
// does, and records each request's target (path?query) and headers.
class FakeScaleway {
public:
  FakeScaleway() {
    m_server.set_keep_alive_timeout(1);
    m_server.Get(".*", [this](const httplib::Request& req, httplib::Response& res) {
      std::chrono::milliseconds wait;
      {
        std::lock_guard lock(m_mutex);
        targets.push_back(req.target);
        user_agent = req.get_header_value("User-Agent");
        wait = delay;
        if (req.get_header_value("X-Auth-Token") != token) {
          res.status = 401;
          res.set_content(k_denied_body, "application/json");
        } else {
          auto it = pages.find(req.path + "#" + req.get_param_value("page"));
          Answer answer = it != pages.end() ? it->second : Answer{200, empty_body(req.path)};
          res.status = answer.status;
          res.set_content(answer.body, answer.content_type.c_str());
          if (!answer.total_header.empty()) {
            res.set_header("X-Total-Count", answer.total_header);
          }
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

  static std::string empty_body(const std::string& path) {
    std::string list = path.ends_with("/offers") ? "offers" : path.ends_with("/os") ? "os" : "servers";
    return R"({")" + list + R"(":[],"total_count":0})";
  }

  int port = 0;
  std::string token = k_secret;
  std::map<std::string, Answer> pages; // "<path>#<page>"
  std::chrono::milliseconds delay{0};
  std::vector<std::string> targets;
  std::string user_agent;

private:
  std::mutex m_mutex;
  httplib::Server m_server;
  test::LoopbackServer m_serving;
};

scaleway::Config config_for(const std::string& api_url, std::string role,
                            model::Duration interval = model::Duration::seconds(30)) {
  scaleway::Config config;
  config.role.value = std::move(role);
  config.role.written = true;
  config.api_url = api_url;
  config.access_key = "SCW0123456789ABCDEFG";
  config.secret_key.value = k_secret;
  config.project_id = k_project;
  config.refresh_interval = interval;
  return config;
}

std::unique_ptr<scaleway::Discovery> make_discovery(const scaleway::Config& config) {
  auto d = scaleway::Discovery::make(config);
  REQUIRE_MESSAGE(d, (d ? "" : d.error()));
  return std::move(*d);
}

std::vector<model::Labels> refresh_targets(scaleway::Discovery& discovery) {
  auto groups = discovery.refresh({});
  REQUIRE_MESSAGE(groups, (groups ? "" : groups.error()));
  REQUIRE(groups->size() == 1);
  CHECK((*groups)[0].source == "scaleway");
  return (*groups)[0].targets;
}

model::Labels labels(std::initializer_list<std::pair<std::string, std::string>> pairs) {
  model::Labels l;
  for (const auto& [name, value] : pairs) {
    l.set(name, value);
  }
  return l;
}

std::vector<scaleway::InstanceServer> instance_servers(std::string_view body) {
  auto page = scaleway::parse_instance_page(body);
  REQUIRE_MESSAGE(page, (page ? "" : page.error()));
  return page->servers;
}

const char* const k_instance_full = R"({"servers":[{
  "id":"s-1","name":"web-1","hostname":"web-1.local","boot_type":"local","organization":"org-1",
  "project":"proj-1","state":"running","commercial_type":"DEV1-S","zone":"fr-par-1",
  "image":{"id":"img-1","name":"Ubuntu 22.04","arch":"x86_64"},
  "location":{"cluster_id":"40","hypervisor_id":"1101","node_id":"7","platform_id":"14","zone_id":"par1"},
  "security_group":{"id":"sg-1","name":"default"},
  "tags":["prod","web"],
  "private_ip":"127.0.0.10",
  "public_ip":{"id":"ip-1","address":"127.0.0.20","dynamic":false},
  "ipv6":{"address":"2001:0db8:0000:0000:0000:0000:0000:0001","gateway":"2001:db8::","netmask":"64"}
}]})";

} // namespace

TEST_SUITE("scaleway_sd") {
  TEST_CASE("instance_group: every label of v2.45, address from the private IP") {
    auto group = scaleway::instance_group(instance_servers(k_instance_full), 9100);
    CHECK(group.source == "scaleway");
    CHECK(group.labels.empty());
    REQUIRE(group.targets.size() == 1);
    const std::string p = "__meta_scaleway_instance_";
    CHECK(group.targets[0] == labels({{"__address__", "127.0.0.10:9100"},
                                      {p + "boot_type", "local"},
                                      {p + "hostname", "web-1.local"},
                                      {p + "id", "s-1"},
                                      {p + "image_arch", "x86_64"},
                                      {p + "image_id", "img-1"},
                                      {p + "image_name", "Ubuntu 22.04"},
                                      {p + "location_cluster_id", "40"},
                                      {p + "location_hypervisor_id", "1101"},
                                      {p + "location_node_id", "7"},
                                      {p + "name", "web-1"},
                                      {p + "organization_id", "org-1"},
                                      {p + "private_ipv4", "127.0.0.10"},
                                      {p + "project_id", "proj-1"},
                                      {p + "public_ipv4", "127.0.0.20"},
                                      {p + "public_ipv6", "2001:db8::1"},
                                      {p + "region", "fr-par"},
                                      {p + "security_group_id", "sg-1"},
                                      {p + "security_group_name", "default"},
                                      {p + "status", "running"},
                                      {p + "tags", ",prod,web,"},
                                      {p + "type", "DEV1-S"},
                                      {p + "zone", "fr-par-1"}}));
  }

  TEST_CASE("instance_group: servers without a private IP are skipped; optional parts and enum defaults") {
    auto servers = instance_servers(R"({"servers":[
      {"id":"no-private","public_ip":{"address":"127.0.0.5"},"private_ip":null},
      {"id":"bare","private_ip":"::1","zone":"nowhere","state":"","boot_type":null,"image":null,"tags":[]},
      {"id":"absent","private_ip":"127.0.0.7","image":{"id":"i"}}]})");
    REQUIRE(servers.size() == 3);
    auto group = scaleway::instance_group(servers, 80);
    REQUIRE(group.targets.size() == 2);
    const std::string p = "__meta_scaleway_instance_";
    CHECK(group.targets[0] == labels({{"__address__", "[::1]:80"},
                                      {p + "boot_type", "local"}, // enum defaults for "" and null
                                      {p + "hostname", ""},
                                      {p + "id", "bare"},
                                      {p + "name", ""},
                                      {p + "organization_id", ""},
                                      {p + "private_ipv4", "::1"},
                                      {p + "project_id", ""},
                                      {p + "status", "running"},
                                      {p + "type", ""},
                                      {p + "zone", "nowhere"}})); // no region for an odd zone
    // Absent enum fields keep Go's zero value (their UnmarshalJSON never runs).
    CHECK(group.targets[1].get(p + "status") == "");
    CHECK(group.targets[1].get(p + "image_arch") == "");
    CHECK(group.targets[1].get(p + "image_id") == "i");
    CHECK(group.targets[1].get(p + "image_name") == "");
    CHECK(!group.targets[1].has(p + "location_node_id"));
    CHECK(!group.targets[1].has(p + "tags"));
  }

  TEST_CASE("parse_instance_page: bodies Go's decoder rejects") {
    auto error_of = [](std::string_view body) {
      auto page = scaleway::parse_instance_page(body);
      REQUIRE(!page);
      return page.error();
    };
    CHECK(error_of("[]") == "json: cannot unmarshal array into Go value of type instance.ListServersResponse");
    CHECK(error_of(R"({"servers":{}})") ==
          "json: cannot unmarshal object into Go struct field ListServersResponse.servers of type []*instance.Server");
    CHECK(error_of(R"({"servers":[{"name":1}]})") ==
          "json: cannot unmarshal number into Go struct field Server.servers.name of type string");
    CHECK(error_of(R"({"servers":[{"public_ip":{"address":"not-an-ip"}}]})") == "invalid IP address: not-an-ip");
    CHECK(error_of(R"({"total_count":-1,"servers":[]})") ==
          "json: cannot unmarshal number -1 into Go struct field ListServersResponse.total_count of type uint32");
    CHECK(error_of(R"({"servers":[{"state":5}]})") == "json: cannot unmarshal number into Go value of type string");
    CHECK(error_of("") == "EOF");
  }

  TEST_CASE("baremetal_group: labels, the first IPv4 (else IPv6) as address, offers and OS") {
    auto servers = scaleway::parse_baremetal_servers_page(R"({"total_count":3,"servers":[
      {"id":"b-1","name":"metal-1","zone":"fr-par-2","status":"ready","project_id":"p-1","offer_id":"o-1",
       "tags":["db"],"install":{"os_id":"os-1","hostname":"metal-1"},
       "ips":[{"address":"2001:db8::5","version":"IPv6"},{"address":"127.0.0.30","version":"IPv4"},
              {"address":"127.0.0.31","version":"IPv4"}]},
      {"id":"b-2","offer_id":"unknown","install":{"os_id":"unknown"},"ips":[{"address":"::1","version":"IPv6"}]},
      {"id":"b-3","status":""}]})");
    REQUIRE_MESSAGE(servers, (servers ? "" : servers.error()));
    auto offers = scaleway::parse_baremetal_offers_page(R"({"offers":[{"id":"o-1","name":"EM-A210R-HDD"}]})");
    auto os = scaleway::parse_baremetal_os_page(R"({"os":[{"id":"os-1","name":"Debian","version":"12"}]})");
    REQUIRE(offers);
    REQUIRE(os);
    auto group = scaleway::baremetal_group(servers->servers, offers->offers, os->os, 9100);
    REQUIRE(group);
    REQUIRE(group->targets.size() == 3);
    const std::string p = "__meta_scaleway_baremetal_";
    CHECK(group->targets[0] == labels({{"__address__", "127.0.0.30:9100"},
                                       {p + "id", "b-1"},
                                       {p + "name", "metal-1"},
                                       {p + "os_name", "Debian"},
                                       {p + "os_version", "12"},
                                       {p + "project_id", "p-1"},
                                       {p + "public_ipv4", "127.0.0.30"},
                                       {p + "public_ipv6", "2001:db8::5"},
                                       {p + "status", "ready"},
                                       {p + "tags", ",db,"},
                                       {p + "type", "EM-A210R-HDD"},
                                       {p + "zone", "fr-par-2"}}));
    CHECK(group->targets[1] == labels({{"__address__", "[::1]:9100"},
                                       {p + "id", "b-2"},
                                       {p + "name", ""},
                                       {p + "project_id", ""},
                                       {p + "public_ipv6", "::1"},
                                       {p + "status", ""},
                                       {p + "zone", ""}}));
    CHECK(!group->targets[2].has("__address__")); // no IPs: a target without address
    CHECK(group->targets[2].get(p + "status") == "unknown");

    auto odd = scaleway::parse_baremetal_servers_page(R"({"servers":[{"ips":[{"address":"::1","version":"IPv5"}]}]})");
    REQUIRE(odd);
    auto failed = scaleway::baremetal_group(odd->servers, {}, {}, 80);
    REQUIRE(!failed);
    CHECK(failed.error() == "unknown IP version: IPv5");
  }

  TEST_CASE("refresh instance: the request, X-Auth-Token, filters and X-Total-Count paging") {
    FakeScaleway fx;
    const std::string path = "/instance/v1/zones/nl-ams-1/servers";
    fx.change([&] {
      fx.pages[path + "#1"] = {200, R"({"servers":[{"id":"a","private_ip":"127.0.0.1"},{"id":"b","private_ip":"127.0.0.2"}]})",
                               "application/json", "3"};
      fx.pages[path + "#2"] = {200, R"({"servers":[{"id":"c","private_ip":"127.0.0.3"}]})", "application/json", "3"};
      fx.pages[path + "#3"] = {200, R"({"servers":[{"id":"never","private_ip":"127.0.0.4"}]})", "application/json", "3"};
    });
    scaleway::Config config = config_for(fx.url(), "instance");
    config.zone = "nl-ams-1";
    config.name_filter = "web server";
    config.tags_filter = {"prod", "a/b"};
    config.port = 8080;
    auto discovery = make_discovery(config);
    auto targets = refresh_targets(*discovery);
    REQUIRE(targets.size() == 3);
    CHECK(targets[2].get("__address__") == "127.0.0.3:8080");
    CHECK(fx.take_targets() ==
          std::vector<std::string>{path + "?name=web+server&order=creation_date_desc&page=1&tags=prod%2Ca%2Fb",
                                   path + "?name=web+server&order=creation_date_desc&page=2&tags=prod%2Ca%2Fb"});
    CHECK(fx.user_agent == "Prometheus/2.45.0");

    // Without a total, only page 1 is read.
    fx.change([&] { fx.pages[path + "#1"].total_header.clear(); });
    CHECK(refresh_targets(*discovery).size() == 2);
    CHECK(fx.take_targets().size() == 1);

    // A wrong key gets the API's 401 body.
    fx.change([&] { fx.token = "99999999-2222-3333-4444-555555555555"; });
    auto denied = discovery->refresh({});
    REQUIRE(!denied);
    CHECK(denied.error() == "scaleway-sdk-go: denied authentication: API key does not exist");
    CHECK(denied.error().find(k_secret) == std::string::npos);
  }

  TEST_CASE("refresh instance: the secret key file is re-read and trimmed for every request") {
    FakeScaleway fx;
    auto dir = test::scratch_dir();
    test::write_file(dir / "key", std::string(k_secret) + "\n");
    scaleway::Config config = config_for(fx.url(), "instance");
    config.secret_key.value.clear();
    config.secret_key_file = (dir / "key").string();
    auto discovery = make_discovery(config);
    CHECK(refresh_targets(*discovery).empty());
    test::write_file(dir / "key", "99999999-2222-3333-4444-555555555555");
    auto denied = discovery->refresh({});
    REQUIRE(!denied);
    CHECK(denied.error() == "scaleway-sdk-go: denied authentication: API key does not exist");
    std::filesystem::remove(dir / "key");
    auto missing = discovery->refresh({});
    REQUIRE(!missing);
    CHECK(missing.error().starts_with("scaleway-sdk-go: error executing request: Get \"" + fx.url() +
                                      "/instance/v1/zones/fr-par-1/servers?order=creation_date_desc&page=1\": "
                                      "unable to read auth token file "));
    auto made = scaleway::Discovery::make(config);
    REQUIRE(!made);
    CHECK(made.error().starts_with("unable to read auth token file "));
  }

  TEST_CASE("refresh baremetal: servers, offers and OS, each paged by total_count; tags repeated") {
    FakeScaleway fx;
    const std::string zone = "/baremetal/v1/zones/fr-par-2";
    fx.change([&] {
      fx.pages[zone + "/servers#1"] = {200, R"({"total_count":2,"servers":[{"id":"b-1","offer_id":"o-2",
        "install":{"os_id":"os-2"},"ips":[{"address":"127.0.0.8","version":"IPv4"}]}]})"};
      fx.pages[zone + "/servers#2"] = {200, R"({"total_count":2,"servers":[{"id":"b-2"}]})"};
      fx.pages[zone + "/offers#1"] = {200, R"({"total_count":2,"offers":[{"id":"o-1","name":"A"}]})"};
      fx.pages[zone + "/offers#2"] = {200, R"({"total_count":2,"offers":[{"id":"o-2","name":"B"}]})"};
      fx.pages[zone + "/os#1"] = {200, R"({"total_count":1,"os":[{"id":"os-2","name":"Ubuntu","version":"22.04"}]})"};
    });
    scaleway::Config config = config_for(fx.url(), "baremetal");
    config.zone = "fr-par-2";
    config.tags_filter = {"x", "y"};
    auto discovery = make_discovery(config);
    auto targets = refresh_targets(*discovery);
    REQUIRE(targets.size() == 2);
    CHECK(targets[0].get("__address__") == "127.0.0.8:80");
    CHECK(targets[0].get("__meta_scaleway_baremetal_type") == "B");
    CHECK(targets[0].get("__meta_scaleway_baremetal_os_name") == "Ubuntu");
    CHECK(!targets[1].has("__address__"));
    CHECK(fx.take_targets() ==
          std::vector<std::string>{zone + "/servers?order_by=created_at_asc&page=1&tags=x&tags=y",
                                   zone + "/servers?order_by=created_at_asc&page=2&tags=x&tags=y",
                                   zone + "/offers?page=1&subscription_period=unknown_subscription_period",
                                   zone + "/offers?page=2&subscription_period=unknown_subscription_period",
                                   zone + "/os?page=1"});
  }

  TEST_CASE("refresh: failures") {
    FakeScaleway fx;
    const std::string path = "/instance/v1/zones/fr-par-1/servers";
    const std::string url = fx.url() + path + "?order=creation_date_desc&page=1";
    auto discovery = make_discovery(config_for(fx.url(), "instance", model::Duration{300}));
    auto error_with = [&](Answer answer) {
      fx.change([&] { fx.pages[path + "#1"] = answer; });
      auto groups = discovery->refresh({});
      REQUIRE(!groups);
      return groups.error();
    };
    CHECK(error_with({500, R"({"message":"Internal Server Error","type":"internal_error"})"}) ==
          "scaleway-sdk-go: http error 500 Internal Server Error: internal server error");
    CHECK(error_with({403, R"({"details":[{"resource":"instance_server","action":"read"}],"message":"insufficient permissions","type":"permissions_denied"})"}) ==
          "scaleway-sdk-go: insufficient permissions: read instance_server");
    CHECK(error_with({502, "<html>bad gateway</html>", "text/html"}) ==
          "scaleway-sdk-go: http error 502 Bad Gateway: 502 Bad Gateway");
    CHECK(error_with({200, R"({"servers":[]})", "text/plain"}) ==
          "scaleway-sdk-go: could not handle text/plain response body with <nil> result type");
    CHECK(error_with({200, R"({"servers":[)"}).starts_with(
        "scaleway-sdk-go: could not parse application/json response body: "));
    CHECK(error_with({200, R"({"servers":[{"id":"a"}]})", "application/json", "many"}) ==
          "scaleway-sdk-go: could not parse X-Total-Count header: strconv.Atoi: parsing \"many\": invalid syntax");

    fx.change([&] {
      fx.pages.clear();
      fx.delay = 1500ms;
    });
    auto start = std::chrono::steady_clock::now();
    auto slow = discovery->refresh({}); // the client timeout is the refresh interval
    CHECK(std::chrono::steady_clock::now() - start < 1200ms);
    REQUIRE(!slow);
    CHECK(slow.error().starts_with("scaleway-sdk-go: error executing request: Get \"" + url + "\": "));
    CHECK(slow.error().find("context deadline exceeded") != std::string::npos);

    fx.stop();
    auto unreachable = discovery->refresh({});
    REQUIRE(!unreachable);
    CHECK(unreachable.error().starts_with("scaleway-sdk-go: error executing request: Get \"" + url + "\": "));
  }

  TEST_CASE("make_discoverer: reports each failure and keeps the last good targets") {
    FakeScaleway fx;
    const std::string path = "/instance/v1/zones/fr-par-1/servers";
    fx.change([&] { fx.pages[path + "#1"] = {200, R"({"servers":[{"id":"a","private_ip":"127.0.0.1"}]})"}; });
    test::RecordingSink sink;
    test::RunningDiscoverer running(config_for(fx.url(), "instance", model::Duration::seconds(1)).make_discoverer({}),
                                    sink);
    REQUIRE(sink.wait_for_reports(1));
    CHECK(sink.report(0) == "");
    REQUIRE(sink.update_count() == 1);
    REQUIRE(sink.updates[0].size() == 1);
    CHECK(sink.updates[0][0]->targets.size() == 1);

    fx.change([&] { fx.token = "wrong"; });
    REQUIRE(sink.wait_for_reports(2));
    CHECK(sink.report(1) == "scaleway-sdk-go: denied authentication: API key does not exist");
    CHECK(sink.update_count() == 1); // nothing sent: the last targets stay

    fx.change([&] {
      fx.token = k_secret;
      fx.pages.clear();
    });
    REQUIRE(sink.wait_for_reports(3));
    CHECK(sink.report(2) == "");
    REQUIRE(sink.update_count() == 2);
    CHECK(sink.updates[1][0]->targets.empty()); // an empty result is still sent
    CHECK(running.stop() < 500ms);
  }
}
