// ovhcloud_sd: endpoint names, the request signature (a known input and its
// digest as data), the IP list and details mappings (pure), and the
// discoverer against a loopback OVH API that checks the application key,
// consumer key, timestamp and signature of every request and answers a
// wrongly signed one as OVH does.

#include <httplib.h> // CPPHTTPLIB_OPENSSL_SUPPORT comes from its pkg-config flags
#include <openssl/evp.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <map>
#include <mutex>
#include <thread>

#include <doctest/doctest.h>
#include <fmt/format.h>

#include "discovery/ovhcloud.h"
#include "loopback_server.h"
#include "test_util.h"

using namespace sdscope;
using namespace std::chrono_literals;
namespace ovhcloud = sdscope::discovery::ovhcloud;

namespace {

constexpr std::string_view k_app_key = "app-key-1";
constexpr std::string_view k_app_secret = "app-secret-XYZ";
constexpr std::string_view k_consumer_key = "consumer-key-ABC";

// OVH's answers to a bad signature, an unknown consumer key and an unknown
// application key.
constexpr std::string_view k_invalid_signature =
    R"({"errorCode":"INVALID_SIGNATURE","httpCode":"400 Bad Request","message":"Invalid signature"})";
constexpr std::string_view k_invalid_credential =
    R"({"errorCode":"INVALID_CREDENTIAL","httpCode":"403 Forbidden","message":"This credential does not exist"})";
constexpr std::string_view k_invalid_key =
    R"({"errorCode":"INVALID_KEY","httpCode":"403 Forbidden","message":"This application key is invalid"})";

constexpr std::string_view k_vps_details = R"({
  "name": "vps-abc.vps.ovh.net", "displayName": "web", "zone": "Region OpenStack: os-gra1",
  "cluster": "cluster_2", "state": "running", "netbootMode": "local", "memoryLimit": 2048,
  "offerType": "ssd", "vcore": 1, "keymap": null, "monitoringIpBlocks": ["10.0.0.0/24"],
  "model": {"name": "vps-value-1-2-40", "offer": "VPS vps2020-value-1-2-40", "version": "2019v1",
            "vcore": 1, "disk": 40, "memory": 2048, "maximumAdditionnalIp": 16,
            "datacenter": ["gra1", "sbg1"], "availableOptions": ["backup"]}})";

constexpr std::string_view k_dedicated_details = R"({
  "name": "ns123.ip-1-2-3.eu", "state": "ok", "commercialRange": "Advance-1 Gen 2", "linkSpeed": 1000,
  "rack": "TESTRACK", "noIntervention": false, "os": "debian11_64", "supportLevel": "pro",
  "serverId": 1234567, "reverse": "abcde-rev", "datacenter": "gra3", "monitoring": true})";

std::string sha1_hex(std::string_view input) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_Digest(input.data(), input.size(), digest, &length, EVP_sha1(), nullptr);
  std::string out;
  for (unsigned int i = 0; i < length; ++i) {
    out += fmt::format("{:02x}", digest[i]);
  }
  return out;
}

int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// A fake OVH API 1.0 on 127.0.0.1 whose clock runs clock_offset seconds
// off. Bodies are served by raw request path (after /1.0); a path without
// a body is a 404 as OVH words it.
class FakeOvh {
public:
  FakeOvh() {
    m_server.set_keep_alive_timeout(1);
    m_server.Get(R"(/1\.0/.*)", [this](const httplib::Request& req, httplib::Response& res) {
      std::string path = req.target.substr(0, req.target.find('?'));
      std::chrono::milliseconds wait;
      {
        std::lock_guard lock(m_mutex);
        paths.push_back(path);
        wait = delay;
        answer(req, path, res);
      }
      std::this_thread::sleep_for(wait);
    });
    port = m_serving.start(m_server);
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port) + "/1.0"; }
  template <class Fn> void change(Fn fn) {
    std::lock_guard lock(m_mutex);
    fn();
  }
  template <class T> T get(const T& field) {
    std::lock_guard lock(m_mutex);
    return field;
  }

  int port = 0;
  int64_t clock_offset = -3600; // OVH's clock minus ours
  std::map<std::string, std::string> bodies;                   // "/vps" -> body
  std::map<std::string, std::pair<int, std::string>> failures; // "/vps" -> status, body
  std::chrono::milliseconds delay{0};
  std::vector<std::string> paths;
  std::vector<std::string> problems; // what a request did wrong
  std::vector<int64_t> timestamp_errors; // signed timestamp minus OVH's clock

private:
  void answer(const httplib::Request& req, const std::string& path, httplib::Response& res) {
    res.set_header("X-Ovh-QueryID", "EU.ext-1.test");
    std::string rest = path.substr(4); // after /1.0
    if (req.get_header_value("Accept") != "application/json") {
      problems.push_back(path + ": Accept " + req.get_header_value("Accept"));
    }
    if (req.get_header_value("X-Ovh-Application") != k_app_key) {
      res.status = 403;
      res.set_content(std::string(k_invalid_key), "application/json");
      return;
    }
    if (rest == "/auth/time") {
      if (req.has_header("X-Ovh-Signature") || req.has_header("X-Ovh-Consumer")) {
        problems.push_back(path + ": signed");
      }
    } else {
      std::string timestamp = req.get_header_value("X-Ovh-Timestamp");
      std::string url = "http://127.0.0.1:" + std::to_string(port) + req.target;
      std::string expected = "$1$" + sha1_hex(std::string(k_app_secret) + "+" + req.get_header_value("X-Ovh-Consumer") +
                                              "+GET+" + url + "++" + timestamp);
      if (timestamp.empty() || req.get_header_value("X-Ovh-Signature") != expected) {
        res.status = 400;
        res.set_content(std::string(k_invalid_signature), "application/json");
        return;
      }
      if (req.get_header_value("X-Ovh-Consumer") != k_consumer_key) {
        res.status = 403;
        res.set_content(std::string(k_invalid_credential), "application/json");
        return;
      }
      timestamp_errors.push_back(std::stoll(timestamp) - (unix_now() + clock_offset));
    }
    if (auto f = failures.find(rest); f != failures.end()) {
      res.status = f->second.first;
      res.set_content(f->second.second, "application/json");
      return;
    }
    if (rest == "/auth/time") {
      res.set_content(std::to_string(unix_now() + clock_offset), "application/json");
      return;
    }
    auto b = bodies.find(rest);
    if (b == bodies.end()) {
      res.status = 404;
      res.set_content(R"({"class":"Client::NotFound","message":"The requested object (path) does not exist"})",
                      "application/json");
      return;
    }
    res.set_content(b->second, "application/json");
  }

  std::mutex m_mutex;
  httplib::Server m_server;
  test::LoopbackServer m_serving;
};

ovhcloud::Config config_for(const std::string& endpoint, std::string_view service,
                            std::string_view secret = k_app_secret, std::string_view extra = "") {
  test::SdResult r = test::decode_sd(
      "ovhcloud", fmt::format("{{endpoint: '{}', application_key: {}, application_secret: {}, consumer_key: {}, "
                              "service: {}{}}}",
                              endpoint, k_app_key, secret, k_consumer_key, service, extra));
  REQUIRE_MESSAGE(test::first_error(r).empty(), test::first_error(r));
  return dynamic_cast<const ovhcloud::Config&>(*r.config);
}

model::Labels vps_abc_labels() {
  return {{"__address__", "192.0.2.1"},
          {"instance", "vps-abc.vps.ovh.net"},
          {"__meta_ovhcloud_vps_cluster", "cluster_2"},
          {"__meta_ovhcloud_vps_datacenter", "[gra1 sbg1]"},
          {"__meta_ovhcloud_vps_disk", "40"},
          {"__meta_ovhcloud_vps_display_name", "web"},
          {"__meta_ovhcloud_vps_ipv4", "192.0.2.1"},
          {"__meta_ovhcloud_vps_ipv6", "2001:db8:0:1::1"},
          {"__meta_ovhcloud_vps_maximum_additional_ip", "16"},
          {"__meta_ovhcloud_vps_memory", "2048"},
          {"__meta_ovhcloud_vps_memory_limit", "2048"},
          {"__meta_ovhcloud_vps_model_name", "vps-value-1-2-40"},
          {"__meta_ovhcloud_vps_model_vcore", "1"},
          {"__meta_ovhcloud_vps_name", "vps-abc.vps.ovh.net"},
          {"__meta_ovhcloud_vps_netboot_mode", "local"},
          {"__meta_ovhcloud_vps_offer", "VPS vps2020-value-1-2-40"},
          {"__meta_ovhcloud_vps_offer_type", "ssd"},
          {"__meta_ovhcloud_vps_state", "running"},
          {"__meta_ovhcloud_vps_vcore", "1"},
          {"__meta_ovhcloud_vps_version", "2019v1"},
          {"__meta_ovhcloud_vps_zone", "Region OpenStack: os-gra1"}};
}

} // namespace

TEST_SUITE("ovhcloud_sd") {
  TEST_CASE("ovhcloud: the registry runs it") { CHECK(discovery::find_mechanism("ovhcloud")->discovers); }

  TEST_CASE("ovhcloud: endpoint names and URLs as go-ovh v1.4 resolves them") {
    CHECK(*ovhcloud::endpoint_url("ovh-eu") == "https://eu.api.ovh.com/1.0");
    CHECK(*ovhcloud::endpoint_url("ovh-ca") == "https://ca.api.ovh.com/1.0");
    CHECK(*ovhcloud::endpoint_url("ovh-us") == "https://api.us.ovhcloud.com/1.0");
    CHECK(*ovhcloud::endpoint_url("kimsufi-eu") == "https://eu.api.kimsufi.com/1.0");
    CHECK(*ovhcloud::endpoint_url("kimsufi-ca") == "https://ca.api.kimsufi.com/1.0");
    CHECK(*ovhcloud::endpoint_url("soyoustart-eu") == "https://eu.api.soyoustart.com/1.0");
    CHECK(*ovhcloud::endpoint_url("soyoustart-ca") == "https://ca.api.soyoustart.com/1.0");
    CHECK(*ovhcloud::endpoint_url("http://127.0.0.1:1/1.0") == "http://127.0.0.1:1/1.0");
    CHECK(ovhcloud::endpoint_url("http://127.0.0.1:1/1.0/").error() == "endpoint name cannot have a tailing slash");
    CHECK(ovhcloud::endpoint_url("ovh").error() ==
          "unknown endpoint 'ovh', consider checking 'Endpoints' list of using an URL");
  }

  TEST_CASE("ovhcloud: the request signature of a known input") {
    // Digests of "EgWIz07P0HYwtQDs+MtSwSrPpNjqfuqqbYYKgHyD6VZQVDuad+<METHOD>+<URL>+<BODY>+1457018875".
    CHECK(ovhcloud::request_signature("EgWIz07P0HYwtQDs", "MtSwSrPpNjqfuqqbYYKgHyD6VZQVDuad", "GET",
                                      "https://eu.api.ovh.com/1.0/vps", "", 1457018875) ==
          "$1$b14968e9da721710ab900b6cbf744c4055982e6f");
    CHECK(ovhcloud::request_signature("EgWIz07P0HYwtQDs", "MtSwSrPpNjqfuqqbYYKgHyD6VZQVDuad", "POST",
                                      "https://eu.api.ovh.com/1.0/domain/zone/example.com/record?x=1", R"({"a":1})",
                                      1457018875) == "$1$e73458f1a2c7f87f48b7811064f57d08852d28fd");
  }

  TEST_CASE("ovhcloud: IP lists as parseIPList reads them with net/netip") {
    auto parse = [](std::vector<std::string> entries) { return ovhcloud::parse_ip_list(entries); };
    auto ips =
        parse({"192.0.2.1", "2001:db8::1", "198.51.100.7/32", "203.0.113.0/24", "2001:db8::/64", "0.0.0.0", "::"});
    REQUIRE(ips);
    CHECK(ips->ipv4 == "198.51.100.7"); // the last IPv4, a /32 counts as one
    CHECK(ips->ipv6 == "2001:db8::1");
    ips = parse({"2001:0DB8:0:0:1:0:0:1"});
    REQUIRE(ips);
    CHECK(ips->ipv4.empty());
    CHECK(ips->ipv6 == "2001:db8::1:0:0:1"); // the first longest zero run is compressed
    CHECK(parse({"2001:db8:0:1:0:0:0:1"})->ipv6 == "2001:db8:0:1::1");
    CHECK(parse({"2001:db8:1:1:1:1:0:1"})->ipv6 == "2001:db8:1:1:1:1:0:1"); // one zero group stays
    CHECK(parse({"::ffff:192.0.2.9"})->ipv6 == "::ffff:192.0.2.9");         // IPv4-mapped is IPv6 to netip
    CHECK(parse({"::ffff:192.0.2.9"})->ipv4.empty());
    CHECK(parse({"2001:db8::/32"})->ipv6 == "2001:db8::"); // an IPv6 /32 is taken too
    CHECK(parse({"192.0.2.3/+32"})->ipv4 == "192.0.2.3");  // Go 1.20's Atoi takes a sign
    CHECK(parse({"fe80::1%eth0"})->ipv6 == "fe80::1%eth0");
    CHECK(parse({"fe80::1%eth0/32"})->ipv6 == "fe80::1%eth0/32"); // to netip all after '%' is the zone
    for (std::vector<std::string> bad : std::vector<std::vector<std::string>>{
             {}, {"0.0.0.0"}, {"203.0.113.0/24"}, {"not-an-ip"}, {"192.0.2.1", "x"}, {"01.2.3.4"},
             {"192.0.2.1/33"}, {"192.0.2.1/"}, {"192.0.2.1%eth0"}, {"fe80::1%"}}) {
      CAPTURE(bad.size());
      auto r = parse(bad);
      REQUIRE(!r);
      CHECK(r.error() == "could not parse IP addresses from list");
    }
  }

  TEST_CASE("ovhcloud: a VPS's details and IPs make its target") {
    auto target = ovhcloud::vps_target(k_vps_details, {"192.0.2.1", "2001:db8:0:1::1"});
    REQUIRE(target);
    CHECK(*target == vps_abc_labels());

    SUBCASE("only an IPv6: the address is the bare IPv6") {
      auto v6 = ovhcloud::vps_target(k_vps_details, {"", "2001:db8::5"});
      REQUIRE(v6);
      CHECK(v6->get("__address__") == "2001:db8::5");
      CHECK(!v6->has("__meta_ovhcloud_vps_ipv4"));
    }
    SUBCASE("null details: zero values") {
      auto zero = ovhcloud::vps_target("null", {"192.0.2.2", ""});
      REQUIRE(zero);
      CHECK(*zero == model::Labels{{"__address__", "192.0.2.2"},
                                   {"__meta_ovhcloud_vps_datacenter", "[]"},
                                   {"__meta_ovhcloud_vps_disk", "0"},
                                   {"__meta_ovhcloud_vps_ipv4", "192.0.2.2"},
                                   {"__meta_ovhcloud_vps_maximum_additional_ip", "0"},
                                   {"__meta_ovhcloud_vps_memory", "0"},
                                   {"__meta_ovhcloud_vps_memory_limit", "0"},
                                   {"__meta_ovhcloud_vps_model_vcore", "0"},
                                   {"__meta_ovhcloud_vps_vcore", "0"}});
    }
    SUBCASE("bodies that do not fit v2.45's struct fail") {
      CHECK(ovhcloud::vps_target(R"({"keymap": "fr"})", {}).error() ==
            "json: cannot unmarshal string into Go struct field virtualPrivateServer.keymap of type []string");
      CHECK(ovhcloud::vps_target(R"({"memoryLimit": "2048"})", {}).error() ==
            "json: cannot unmarshal string into Go struct field virtualPrivateServer.memoryLimit of type int");
      CHECK(ovhcloud::vps_target(R"({"model": {"disk": 1.5}})", {}).error() ==
            "json: cannot unmarshal number 1.5 into Go struct field virtualPrivateServer.model.disk of type int");
      CHECK(ovhcloud::vps_target(R"({"model": []})", {}).error() ==
            "json: cannot unmarshal array into Go struct field virtualPrivateServer.model of type ovhcloud.vpsModel");
      CHECK(ovhcloud::vps_target("[]", {}).error() ==
            "json: cannot unmarshal array into Go value of type ovhcloud.virtualPrivateServer");
      CHECK(!ovhcloud::vps_target("{", {}));
    }
    SUBCASE("keys match case-insensitively, trailing data is ignored") {
      auto t = ovhcloud::vps_target(R"({"NAME": "x", "Model": {"DATACENTER": ["a"]}} trailing)", {"192.0.2.3", ""});
      REQUIRE(t);
      CHECK(t->get("instance") == "x");
      CHECK(t->get("__meta_ovhcloud_vps_datacenter") == "[a]");
    }
  }

  TEST_CASE("ovhcloud: a dedicated server's details and IPs make its target") {
    auto target = ovhcloud::dedicated_server_target(k_dedicated_details, {"192.0.2.10", ""});
    REQUIRE(target);
    CHECK(*target == model::Labels{{"__address__", "192.0.2.10"},
                                   {"instance", "ns123.ip-1-2-3.eu"},
                                   {"__meta_ovhcloud_dedicated_server_commercial_range", "Advance-1 Gen 2"},
                                   {"__meta_ovhcloud_dedicated_server_datacenter", "gra3"},
                                   {"__meta_ovhcloud_dedicated_server_ipv4", "192.0.2.10"},
                                   {"__meta_ovhcloud_dedicated_server_link_speed", "1000"},
                                   {"__meta_ovhcloud_dedicated_server_name", "ns123.ip-1-2-3.eu"},
                                   {"__meta_ovhcloud_dedicated_server_no_intervention", "false"},
                                   {"__meta_ovhcloud_dedicated_server_os", "debian11_64"},
                                   {"__meta_ovhcloud_dedicated_server_rack", "TESTRACK"},
                                   {"__meta_ovhcloud_dedicated_server_reverse", "abcde-rev"},
                                   {"__meta_ovhcloud_dedicated_server_server_id", "1234567"},
                                   {"__meta_ovhcloud_dedicated_server_state", "ok"},
                                   {"__meta_ovhcloud_dedicated_server_support_level", "pro"}});
    CHECK(ovhcloud::dedicated_server_target(R"({"noIntervention": true})", {"192.0.2.1", ""})
              ->get("__meta_ovhcloud_dedicated_server_no_intervention") == "true");
    CHECK(ovhcloud::dedicated_server_target(R"({"noIntervention": "no"})", {}).error() ==
          "json: cannot unmarshal string into Go struct field dedicatedServer.noIntervention of type bool");
    CHECK(!ovhcloud::dedicated_server_target(R"({"serverId": 9223372036854775808})", {}));
  }

  TEST_CASE("ovhcloud: the VPS discoverer against a loopback OVH API") {
    FakeOvh fx;
    fx.change([&] {
      fx.bodies["/vps"] = R"(["vps-abc.vps.ovh.net", "vps 2/x", "no-ips", "bad-details", "bad-ips"])";
      fx.bodies["/vps/vps-abc.vps.ovh.net"] = std::string(k_vps_details);
      fx.bodies["/vps/vps-abc.vps.ovh.net/ips"] = R"(["192.0.2.1", "2001:db8:0:1::1", "10.1.0.0/16"])";
      fx.bodies["/vps/vps+2%2Fx"] = R"({"name": "vps 2/x", "state": "stopped"})";
      fx.bodies["/vps/vps+2%2Fx/ips"] = R"(["2001:db8::2"])";
      fx.bodies["/vps/no-ips"] = R"({"name": "no-ips"})";
      fx.bodies["/vps/bad-details"] = R"({"keymap": "fr"})";
      fx.bodies["/vps/bad-ips"] = R"({"name": "bad-ips"})";
      fx.bodies["/vps/bad-ips/ips"] = R"(["192.0.2.0/24"])";
    });
    auto discovery = ovhcloud::Discovery::make(config_for(fx.url(), "vps"));
    REQUIRE(discovery);
    auto groups = (*discovery)->refresh({});
    REQUIRE_MESSAGE(groups, (groups ? "" : groups.error()));
    REQUIRE(groups->size() == 1);
    CHECK((*groups)[0].source == "ovhcloud_vps");
    REQUIRE((*groups)[0].targets.size() == 2);
    CHECK((*groups)[0].targets[0] == vps_abc_labels());
    const model::Labels& second = (*groups)[0].targets[1];
    CHECK(second.get("__address__") == "2001:db8::2");
    CHECK(second.get("instance") == "vps 2/x");
    CHECK(second.get("__meta_ovhcloud_vps_state") == "stopped");
    // Details before IPs; a server whose details fail is not asked for IPs.
    CHECK(fx.get(fx.paths) == std::vector<std::string>{
                                  "/1.0/auth/time", "/1.0/vps", "/1.0/vps/vps-abc.vps.ovh.net",
                                  "/1.0/vps/vps-abc.vps.ovh.net/ips", "/1.0/vps/vps+2%2Fx", "/1.0/vps/vps+2%2Fx/ips",
                                  "/1.0/vps/no-ips", "/1.0/vps/no-ips/ips", "/1.0/vps/bad-details",
                                  "/1.0/vps/bad-ips", "/1.0/vps/bad-ips/ips"});
    CHECK(fx.get(fx.problems).empty());
    // Every signed timestamp is on OVH's clock (an hour behind ours).
    for (int64_t error : fx.get(fx.timestamp_errors)) {
      CHECK(error >= -2);
      CHECK(error <= 1);
    }
    CHECK(fx.get(fx.timestamp_errors).size() == 10);

    SUBCASE("each refresh asks the clock again") {
      fx.change([&] { fx.clock_offset = 7200; });
      REQUIRE((*discovery)->refresh({}));
      auto paths = fx.get(fx.paths);
      CHECK(std::count(paths.begin(), paths.end(), "/1.0/auth/time") == 2);
      for (int64_t error : fx.get(fx.timestamp_errors)) {
        CHECK(std::abs(error) <= 2);
      }
    }
  }

  TEST_CASE("ovhcloud: the dedicated server discoverer against a loopback OVH API") {
    FakeOvh fx;
    fx.change([&] {
      fx.bodies["/dedicated/server"] = R"(["ns123.ip-1-2-3.eu", ".."])";
      fx.bodies["/dedicated/server/ns123.ip-1-2-3.eu"] = std::string(k_dedicated_details);
      fx.bodies["/dedicated/server/ns123.ip-1-2-3.eu/ips"] = R"(["192.0.2.10/32", "2001:db8::a/56"])";
    });
    auto groups = (*ovhcloud::Discovery::make(config_for(fx.url(), "dedicated_server")))->refresh({});
    REQUIRE_MESSAGE(groups, (groups ? "" : groups.error()));
    REQUIRE(groups->size() == 1);
    CHECK((*groups)[0].source == "ovhcloud_dedicated_server");
    REQUIRE((*groups)[0].targets.size() == 1);
    CHECK((*groups)[0].targets[0] ==
          *ovhcloud::dedicated_server_target(k_dedicated_details, {"192.0.2.10", ""}));
    // path.Join cleans "/dedicated/server/.." to "/dedicated".
    CHECK(fx.get(fx.paths) == std::vector<std::string>{"/1.0/auth/time", "/1.0/dedicated/server",
                                                       "/1.0/dedicated/server/ns123.ip-1-2-3.eu",
                                                       "/1.0/dedicated/server/ns123.ip-1-2-3.eu/ips",
                                                       "/1.0/dedicated"});
    CHECK(fx.get(fx.problems).empty());
  }

  TEST_CASE("ovhcloud: credentials OVH refuses") {
    FakeOvh fx;
    fx.change([&] { fx.bodies["/vps"] = "[]"; });
    SUBCASE("a wrong application secret: OVH's invalid signature answer") {
      auto r = (*ovhcloud::Discovery::make(config_for(fx.url(), "vps", "wrong-secret-123")))->refresh({});
      REQUIRE(!r);
      CHECK(r.error() == R"(Error 400: "Invalid signature")");
      CHECK(r.error().find("wrong-secret-123") == std::string::npos);
    }
    SUBCASE("an unknown consumer key") {
      ovhcloud::Config config = config_for(fx.url(), "vps");
      config.consumer_key.value = "other-consumer-key";
      auto r = (*ovhcloud::Discovery::make(config))->refresh({});
      REQUIRE(!r);
      CHECK(r.error() == R"(Error 403: "This credential does not exist")");
      CHECK(r.error().find("other-consumer-key") == std::string::npos);
    }
    SUBCASE("an unknown application key, refused already at /auth/time") {
      ovhcloud::Config config = config_for(fx.url(), "vps");
      config.application_key = "other-app";
      auto r = (*ovhcloud::Discovery::make(config))->refresh({});
      REQUIRE(!r);
      CHECK(r.error() == R"(Error 403: "This application key is invalid")");
      CHECK(fx.get(fx.paths) == std::vector<std::string>{"/1.0/auth/time"});
    }
    SUBCASE("the right ones work") {
      auto r = (*ovhcloud::Discovery::make(config_for(fx.url(), "vps")))->refresh({});
      REQUIRE(r);
      CHECK((*r)[0].targets.empty());
    }
  }

  TEST_CASE("ovhcloud: failures") {
    FakeOvh fx;
    fx.change([&] { fx.bodies["/vps"] = R"(["a"])"; });
    auto refresh = [&](std::chrono::milliseconds timeout = ovhcloud::k_request_timeout) {
      return (*ovhcloud::Discovery::make(config_for(fx.url(), "vps"), timeout))->refresh({});
    };
    SUBCASE("500 with OVH's error body") {
      fx.change([&] {
        fx.failures["/vps"] = {500, R"({"class":"Server::InternalServerError","message":"Internal server error"})"};
      });
      CHECK(refresh().error() == R"(Error 500: "Internal server error")");
    }
    SUBCASE("401 whose body is no JSON: the body is the message") {
      fx.change([&] { fx.failures["/vps"] = {401, "<html>denied\n</html>"}; });
      CHECK(refresh().error() == R"(Error 401: "<html>denied\n</html>")");
    }
    SUBCASE("/auth/time failing fails the refresh") {
      fx.change([&] { fx.failures["/auth/time"] = {503, R"({"message":"maintenance"})"}; });
      CHECK(refresh().error() == R"(Error 503: "maintenance")");
      CHECK(fx.get(fx.paths) == std::vector<std::string>{"/1.0/auth/time"});
    }
    SUBCASE("a malformed list") {
      fx.change([&] { fx.bodies["/vps"] = R"({"a": 1})"; });
      CHECK(refresh().error() == "json: cannot unmarshal object into Go value of type []string");
      fx.change([&] { fx.bodies["/vps"] = "[\"a\""; });
      CHECK(!refresh());
    }
    SUBCASE("an empty list body is no servers") {
      fx.change([&] { fx.bodies["/vps"] = ""; });
      auto r = refresh();
      REQUIRE(r);
      CHECK((*r)[0].targets.empty());
    }
    SUBCASE("timeout") {
      fx.change([&] { fx.delay = 1500ms; });
      auto start = std::chrono::steady_clock::now();
      CHECK(!refresh(300ms));
      CHECK(std::chrono::steady_clock::now() - start < 1400ms);
    }
    SUBCASE("a bad endpoint fails each refresh with go-ovh's text") {
      CHECK((*ovhcloud::Discovery::make(config_for(fx.url() + "/", "vps")))->refresh({}).error() ==
            "endpoint name cannot have a tailing slash");
    }
  }

  TEST_CASE("ovhcloud: unreachable API") {
    std::string url;
    {
      FakeOvh gone;
      url = gone.url();
    }
    auto r = (*ovhcloud::Discovery::make(config_for(url, "vps")))->refresh({});
    REQUIRE(!r);
    CHECK(r.error().starts_with("Get \"" + url + "/auth/time\": "));
  }

  TEST_CASE("ovhcloud: a failure after a success keeps the last good targets") {
    FakeOvh fx;
    fx.change([&] {
      fx.bodies["/vps"] = R"(["vps-abc.vps.ovh.net"])";
      fx.bodies["/vps/vps-abc.vps.ovh.net"] = std::string(k_vps_details);
      fx.bodies["/vps/vps-abc.vps.ovh.net/ips"] = R"(["192.0.2.1", "2001:db8:0:1::1"])";
    });
    test::RecordingSink sink;
    ovhcloud::Config config = config_for(fx.url(), "vps", k_app_secret, ", refresh_interval: 1s");
    test::RunningDiscoverer running(config.make_discoverer({}), sink);
    REQUIRE(sink.wait_for_reports(1));
    CHECK(sink.report(0).empty());
    REQUIRE(sink.update_count() == 1);
    fx.change([&] { fx.failures["/vps"] = {500, R"({"message":"boom"})"}; });
    REQUIRE(sink.wait_for_reports(2));
    CHECK(sink.report(1) == R"(Error 500: "boom")");
    CHECK(sink.update_count() == 1);
    CHECK(sink.updates[0][0]->targets == std::vector<model::Labels>{vps_abc_labels()});
  }
}
