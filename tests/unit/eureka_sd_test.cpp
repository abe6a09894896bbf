// eureka_sd: the application list mapping (pure), and the discoverer
// against a loopback fixture that serves Eureka's /apps.

#include <httplib.h> // CPPHTTPLIB_OPENSSL_SUPPORT comes from its pkg-config flags

#include <chrono>
#include <mutex>
#include <thread>

#include <doctest/doctest.h>

#include "discovery/eureka.h"
#include "loopback_server.h"
#include "test_util.h"

using namespace sdscope;
using namespace std::chrono_literals;
namespace eureka = sdscope::discovery::eureka;

namespace {

// A fake Eureka on 127.0.0.1: serves `body` with `status` at /apps and
// records the last request.
class FakeEureka {
public:
  FakeEureka() {
    m_server.set_keep_alive_timeout(1);
    m_server.Get(R"(/.*)", [this](const httplib::Request& req, httplib::Response& res) {
      std::chrono::milliseconds wait;
      {
        std::lock_guard lock(m_mutex);
        ++requests;
        path = req.path;
        user_agent = req.get_header_value("User-Agent");
        accept = req.has_header("Accept") ? req.get_header_value("Accept") : "<absent>";
        authorization = req.has_header("Authorization") ? req.get_header_value("Authorization") : "<absent>";
        res.status = status;
        res.set_content(body, "application/xml");
        wait = delay;
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
  template <class T> T get(const T& field) {
    std::lock_guard lock(m_mutex);
    return field;
  }
  void stop() { m_serving.stop(); }

  int port = 0;
  int status = 200;
  std::string body = "<applications/>";
  std::chrono::milliseconds delay{0};
  int requests = 0;
  std::string path, user_agent, accept, authorization;

private:
  std::mutex m_mutex;
  httplib::Server m_server;
  test::LoopbackServer m_serving;
};

eureka::Config config_for(std::string server, model::Duration interval = model::Duration::seconds(30)) {
  eureka::Config config;
  config.server = std::move(server);
  config.refresh_interval = interval;
  return config;
}

std::unique_ptr<eureka::Discovery> make_discovery(const eureka::Config& config) {
  auto d = eureka::Discovery::make(config);
  REQUIRE_MESSAGE(d, (d ? "" : d.error()));
  return std::move(*d);
}

// The targets of the one group body maps to.
std::vector<model::Labels> targets_of(std::string_view body) {
  auto groups = eureka::groups_from_apps(body);
  REQUIRE_MESSAGE(groups, (groups ? "" : groups.error()));
  REQUIRE(groups->size() == 1);
  CHECK((*groups)[0].source == "eureka");
  CHECK((*groups)[0].labels.empty());
  return (*groups)[0].targets;
}

std::string error_of(std::string_view body) {
  auto groups = eureka::groups_from_apps(body);
  REQUIRE(!groups);
  return groups.error();
}

// Eureka's answer for one application with one instance.
const char* const k_one_app = R"(<?xml version="1.0" encoding="UTF-8"?>
<applications>
  <versions__delta>1</versions__delta>
  <apps__hashcode>UP_1_</apps__hashcode>
  <application>
    <name>META-SERVICE</name>
    <instance>
      <instanceId>meta-service002.test.com:meta-service:8080</instanceId>
      <hostName>meta-service002.test.com</hostName>
      <app>META-SERVICE</app>
      <ipAddr>192.133.87.237</ipAddr>
      <status>UP</status>
      <overriddenstatus>UNKNOWN</overriddenstatus>
      <port enabled="true">8080</port>
      <securePort enabled="false">8443</securePort>
      <countryId>1</countryId>
      <dataCenterInfo class="com.netflix.appinfo.InstanceInfo$DefaultDataCenterInfo">
        <name>MyOwn</name>
        <metadata><availability-zone>zone-a</availability-zone></metadata>
      </dataCenterInfo>
      <leaseInfo><renewalIntervalInSecs>30</renewalIntervalInSecs></leaseInfo>
      <metadata>
        <project>meta-service</project>
        <management.port>8090</management.port>
        <raw>a &amp; <b>b</b></raw>
      </metadata>
      <homePageUrl>http://meta-service002.test.com:8080/</homePageUrl>
      <statusPageUrl>http://meta-service002.test.com:8080/info</statusPageUrl>
      <healthCheckUrl>http://meta-service002.test.com:8080/health</healthCheckUrl>
      <vipAddress>meta-service</vipAddress>
      <secureVipAddress>meta-service</secureVipAddress>
      <isCoordinatingDiscoveryServer>false</isCoordinatingDiscoveryServer>
      <lastUpdatedTimestamp>1535524325599</lastUpdatedTimestamp>
      <actionType>ADDED</actionType>
    </instance>
  </application>
</applications>)";

} // namespace

TEST_SUITE("discovery::eureka") {
  TEST_CASE("groups_from_apps: every label of an instance") {
    auto targets = targets_of(k_one_app);
    REQUIRE(targets.size() == 1);
    CHECK(targets[0] ==
          model::Labels{
              {"__address__", "meta-service002.test.com:8080"},
              {"instance", "meta-service002.test.com:meta-service:8080"},
              {"__meta_eureka_app_name", "META-SERVICE"},
              {"__meta_eureka_app_instance_hostname", "meta-service002.test.com"},
              {"__meta_eureka_app_instance_homepage_url", "http://meta-service002.test.com:8080/"},
              {"__meta_eureka_app_instance_statuspage_url", "http://meta-service002.test.com:8080/info"},
              {"__meta_eureka_app_instance_healthcheck_url", "http://meta-service002.test.com:8080/health"},
              {"__meta_eureka_app_instance_ip_addr", "192.133.87.237"},
              {"__meta_eureka_app_instance_vip_address", "meta-service"},
              {"__meta_eureka_app_instance_secure_vip_address", "meta-service"},
              {"__meta_eureka_app_instance_status", "UP"},
              {"__meta_eureka_app_instance_port", "8080"},
              {"__meta_eureka_app_instance_port_enabled", "true"},
              {"__meta_eureka_app_instance_secure_port", "8443"},
              {"__meta_eureka_app_instance_secure_port_enabled", "false"},
              {"__meta_eureka_app_instance_country_id", "1"},
              {"__meta_eureka_app_instance_id", "meta-service002.test.com:meta-service:8080"},
              {"__meta_eureka_app_instance_datacenterinfo_name", "MyOwn"},
              {"__meta_eureka_app_instance_datacenterinfo_metadata_availability_zone", "zone-a"},
              {"__meta_eureka_app_instance_metadata_project", "meta-service"},
              {"__meta_eureka_app_instance_metadata_management_port", "8090"},
              {"__meta_eureka_app_instance_metadata_raw", "a &amp; <b>b</b>"}, // raw inner XML
          });
  }

  TEST_CASE("groups_from_apps: absent elements") {
    // No <port>: port 80 and no port labels; no <securePort>, <dataCenterInfo>
    // or <metadata>: none of their labels; no <countryId>: 0.
    auto targets = targets_of("<applications><application><name>A</name>"
                              "<instance><hostName>127.0.0.1</hostName></instance>"
                              "<instance><hostName>::1</hostName><port>9</port><dataCenterInfo/><metadata/></instance>"
                              "</application></applications>");
    REQUIRE(targets.size() == 2);
    model::Labels common{{"instance", ""},
                         {"__meta_eureka_app_name", "A"},
                         {"__meta_eureka_app_instance_homepage_url", ""},
                         {"__meta_eureka_app_instance_statuspage_url", ""},
                         {"__meta_eureka_app_instance_healthcheck_url", ""},
                         {"__meta_eureka_app_instance_ip_addr", ""},
                         {"__meta_eureka_app_instance_vip_address", ""},
                         {"__meta_eureka_app_instance_secure_vip_address", ""},
                         {"__meta_eureka_app_instance_status", ""},
                         {"__meta_eureka_app_instance_country_id", "0"},
                         {"__meta_eureka_app_instance_id", ""}};
    model::Labels first = common;
    first.set("__address__", "127.0.0.1:80");
    first.set("__meta_eureka_app_instance_hostname", "127.0.0.1");
    CHECK(targets[0] == first);
    model::Labels second = common;
    second.set("__address__", "[::1]:9");
    second.set("__meta_eureka_app_instance_hostname", "::1");
    second.set("__meta_eureka_app_instance_port", "9"); // enabled absent: false
    second.set("__meta_eureka_app_instance_port_enabled", "false");
    second.set("__meta_eureka_app_instance_datacenterinfo_name", "");
    CHECK(targets[1] == second);
  }

  TEST_CASE("groups_from_apps: how encoding/xml fills the structs") {
    // Any root name; applications in order; a disabled port is still the
    // address; numbers trimmed; a repeated <port> keeps the earlier
    // attribute; namespace prefixes ignored; unknown elements skipped.
    auto targets = targets_of("<x:apps xmlns:x='urn:x'><application><name>A</name>"
                              "<instance><hostName>h1</hostName><port enabled='false'> 81 </port>"
                              "<countryId/></instance></application>"
                              "<other><application><name>hidden</name></application></other>"
                              "<application><name>B</name><name>B2</name><x:instance><hostName>h2</hostName>"
                              "<port enabled='true'>1</port><port>82</port><unknown><a/></unknown></x:instance>"
                              "</application></x:apps>");
    REQUIRE(targets.size() == 2);
    CHECK(targets[0].get("__address__") == "h1:81");
    CHECK(targets[0].get("__meta_eureka_app_instance_port_enabled") == "false");
    CHECK(targets[0].get("__meta_eureka_app_instance_country_id") == "0");
    CHECK(targets[1].get("__address__") == "h2:82");
    CHECK(targets[1].get("__meta_eureka_app_name") == "B2");
    CHECK(targets[1].get("__meta_eureka_app_instance_port_enabled") == "true");

    CHECK(targets_of("<applications/>").empty());
    CHECK(targets_of("<applications><application><name>A</name></application></applications>").empty());
  }

  TEST_CASE("groups_from_apps: bodies Go's decoder rejects") {
    CHECK(error_of("") == "EOF");
    CHECK(error_of("<applications><application>") == "XML syntax error on line 1: unexpected EOF");
    CHECK(error_of("<applications><application><instance><port>x</port></instance></application></applications>") ==
          "strconv.ParseInt: parsing \"x\": invalid syntax");
    CHECK(error_of("<applications><application><instance><port enabled='yes'>1</port></instance></application>"
                   "</applications>") == "strconv.ParseBool: parsing \"yes\": invalid syntax");
    CHECK(error_of("<applications><application><instance><countryId>99999999999999999999</countryId></instance>"
                   "</application></applications>") ==
          "strconv.ParseInt: parsing \"99999999999999999999\": value out of range");
    CHECK(error_of("<applications><versions__delta>-</versions__delta></applications>") ==
          "strconv.ParseInt: parsing \"-\": invalid syntax");
    CHECK(error_of("<applications><application><instance><isCoordinatingDiscoveryServer>no"
                   "</isCoordinatingDiscoveryServer></instance></application></applications>") ==
          "strconv.ParseBool: parsing \"no\": invalid syntax");
    CHECK(error_of("{\"applications\":{}}") == "XML syntax error on line 1: character data before the root element");
  }

  TEST_CASE("refresh: the request and its headers") {
    FakeEureka fx;
    fx.change([&] { fx.body = k_one_app; });
    eureka::Config config = config_for(fx.url());
    config.http_client.basic_auth.emplace() = {"user", "", "", {"pw"}, "", ""};
    auto groups = make_discovery(config)->refresh({});
    REQUIRE_MESSAGE(groups, (groups ? "" : groups.error()));
    REQUIRE(groups->size() == 1);
    CHECK((*groups)[0].targets.size() == 1);
    CHECK(fx.get(fx.path) == "/apps");
    CHECK(fx.get(fx.user_agent) == "Prometheus/2.45.0");
    CHECK(fx.get(fx.accept) == "<absent>");
    CHECK(fx.get(fx.authorization) == "Basic dXNlcjpwdw==");

    // The path is appended as text.
    REQUIRE(make_discovery(config_for(fx.url() + "/eureka/"))->refresh({}));
    CHECK(fx.get(fx.path) == "/eureka//apps");
  }

  TEST_CASE("refresh: failures") {
    FakeEureka fx;
    auto discovery = make_discovery(config_for(fx.url(), model::Duration{300}));
    auto check_error = [&](const std::string& want) {
      auto groups = discovery->refresh({});
      REQUIRE(!groups);
      CHECK(groups.error() == want);
    };
    fx.change([&] { fx.status = 401; });
    check_error("non 2xx status '401' response during eureka service discovery");
    fx.change([&] { fx.status = 500; });
    check_error("non 2xx status '500' response during eureka service discovery");
    fx.change([&] {
      fx.status = 204;
      fx.body = "";
    });
    check_error("\"" + fx.url() + "/apps\": EOF");
    fx.change([&] {
      fx.status = 200;
      fx.body = "<applications>";
    });
    check_error("\"" + fx.url() + "/apps\": XML syntax error on line 1: unexpected EOF");

    fx.change([&] {
      fx.body = "<applications/>";
      fx.delay = 1500ms;
    });
    auto start = std::chrono::steady_clock::now();
    auto slow = discovery->refresh({}); // the request timeout is the refresh interval
    CHECK(std::chrono::steady_clock::now() - start < 1200ms);
    REQUIRE(!slow);
    CHECK(slow.error().starts_with("Get \"" + fx.url() + "/apps\": "));
    CHECK(slow.error().find("context deadline exceeded") != std::string::npos);

    std::string url = fx.url();
    fx.stop();
    auto unreachable = discovery->refresh({});
    REQUIRE(!unreachable);
    CHECK(unreachable.error().starts_with("Get \"" + url + "/apps\": "));
  }

  TEST_CASE("make_discoverer: reports each failure and keeps the last good groups") {
    FakeEureka fx;
    fx.change([&] { fx.body = k_one_app; });
    test::RecordingSink sink;
    test::RunningDiscoverer running(config_for(fx.url(), model::Duration::seconds(1)).make_discoverer({}), sink);
    REQUIRE(sink.wait_for_reports(1));
    CHECK(sink.report(0) == "");
    REQUIRE(sink.update_count() == 1);
    REQUIRE(sink.updates[0].size() == 1);
    CHECK(sink.updates[0][0]->targets.size() == 1);

    fx.change([&] { fx.status = 503; });
    REQUIRE(sink.wait_for_reports(2));
    CHECK(sink.report(1) == "non 2xx status '503' response during eureka service discovery");
    CHECK(sink.update_count() == 1); // nothing sent: the manager keeps the instance

    fx.change([&] {
      fx.status = 200;
      fx.body = "<applications/>";
    });
    REQUIRE(sink.wait_for_reports(3));
    CHECK(sink.report(2) == "");
    REQUIRE(sink.update_count() == 2);
    REQUIRE(sink.updates[1].size() == 1);
    CHECK(sink.updates[1][0]->source == "eureka");
    CHECK(sink.updates[1][0]->targets.empty()); // the one group, re-sent without the instance
    CHECK(running.stop() < 500ms);
  }

  TEST_CASE("make_discoverer: stops at once during a slow request") {
    FakeEureka fx;
    fx.change([&] { fx.delay = 2s; });
    test::RecordingSink sink;
    test::RunningDiscoverer running(config_for(fx.url()).make_discoverer({}), sink);
    while (fx.get(fx.requests) == 0) {
      std::this_thread::sleep_for(5ms);
    }
    CHECK(running.stop() < 500ms);
    CHECK(sink.reports.empty()); // a cancelled refresh is not reported
  }

  TEST_CASE("make_discoverer: an unreadable CA file is an error") {
    eureka::Config config = config_for("http://127.0.0.1:1");
    config.http_client.tls_config.ca_file = "/nonexistent/ca.pem";
    auto discoverer = config.make_discoverer({});
    REQUIRE(!discoverer);
    CHECK(discoverer.error() ==
          "unable to load specified CA cert /nonexistent/ca.pem: open /nonexistent/ca.pem: no such file or directory");
  }
}
