// openstack_sd: the Nova mappings (pure), the Keystone request bodies and
// catalog lookup, and the discoverer against a loopback Keystone + Nova that
// checks the auth body and the token of every request.

#include <httplib.h> // CPPHTTPLIB_OPENSSL_SUPPORT comes from its pkg-config flags

#include <chrono>
#include <mutex>
#include <thread>

#include <doctest/doctest.h>
#include <fmt/format.h>

#include "discovery/openstack.h"
#include "discovery/openstack_keystone.h"
#include "loopback_server.h"
#include "test_util.h"

using namespace sdscope;
using namespace std::chrono_literals;
namespace openstack = sdscope::discovery::openstack;
using Json = nlohmann::json; // compared regardless of key order

namespace {

// Keystone's answer to a token request it refuses, and to an unknown token.
constexpr std::string_view k_unauthorized =
    R"({"error": {"code": 401, "title": "Unauthorized", "message": "The request you have made requires authentication."}})";

constexpr std::string_view k_page1 = R"({"servers": [
  {"id": "srv-1", "name": "web-1", "status": "ACTIVE", "tenant_id": "p1", "user_id": "u1",
   "flavor": {"id": "m1.small"}, "image": {"id": "img"}, "metadata": {"env": "prod", "team.name": "web"},
   "addresses": {"private": [{"addr": "10.0.0.1", "version": 4}, {"addr": "192.0.2.10", "version": 4}],
                 "v6": [{"addr": "2001:db8::1", "version": 6}]}},
  {"id": "srv-2", "name": "none", "status": "BUILD", "tenant_id": "p1", "user_id": "u1",
   "flavor": {"id": "m1.small"}, "image": "", "addresses": {}}],
 "servers_links": [{"rel": "next", "href": "@URL@/compute/servers/detail?marker=srv-2"}]})";
constexpr std::string_view k_page2 = R"({"servers": [
  {"id": "srv-3", "name": "db", "status": "ACTIVE", "tenant_id": "p2", "user_id": "u2",
   "flavor": {"id": 7}, "addresses": {"private": [{"addr": "10.0.0.3"}]}},
  {"id": "srv-4", "name": "db-2", "status": "SHUTOFF", "tenant_id": "p2", "user_id": "u2",
   "flavor": {"id": "m1.large"}, "addresses": {"private": [{"addr": "10.0.0.4"}, {"mac": "x"}], "bad": "x"}}]})";
constexpr std::string_view k_floating = R"({"floating_ips": [
  {"id": 1, "fixed_ip": "10.0.0.1", "instance_id": "srv-1", "ip": "192.0.2.10", "pool": "public"},
  {"id": "2", "fixed_ip": null, "instance_id": null, "ip": "192.0.2.99", "pool": "public"}]})";

std::string replace_all(std::string s, std::string_view from, std::string_view to) {
  for (size_t at = s.find(from); at != std::string::npos; at = s.find(from, at + to.size())) {
    s.replace(at, from.size(), to);
  }
  return s;
}

// A fake Keystone v3 + Nova on 127.0.0.1.
class FakeOpenStack {
public:
  FakeOpenStack() {
    m_server.set_keep_alive_timeout(1);
    m_server.Post("/v3/auth/tokens", [this](const httplib::Request& req, httplib::Response& res) {
      std::lock_guard lock(m_mutex);
      ++auth_requests;
      auth_body = req.body;
      if (Json::parse(req.body, nullptr, false) != Json::parse(expected_auth)) {
        res.status = 401;
        res.set_content(std::string(k_unauthorized), "application/json");
        return;
      }
      res.status = 201;
      res.set_header("X-Subject-Token", token);
      std::string catalog = R"({"token": {"expires_at": "@EXPIRES@", "catalog": [
        {"type": "identity", "endpoints": [{"interface": "public", "region": "r1", "url": "@URL@/v3"}]},
        {"type": "compute", "name": "nova", "endpoints": [
          {"interface": "internal", "region": "r1", "url": "@URL@/internal"},
          {"interface": "public", "region": "r2", "url": "@URL@/other"},
          {"interface": "public", "region_id": "r1", "url": "@URL@/compute"}]}]}})";
      res.set_content(replace_all(replace_all(catalog, "@URL@", url()), "@EXPIRES@", expires), "application/json");
    });
    auto api = [this](std::string_view what) {
      return [this, what](const httplib::Request& req, httplib::Response& res) {
        std::chrono::milliseconds wait;
        {
          std::lock_guard lock(m_mutex);
          ++api_requests;
          paths.push_back(req.path + (req.params.empty() ? "" : "?" + httplib::detail::params_to_query_str(req.params)));
          wait = delay;
          if (req.get_header_value("X-Auth-Token") != token) {
            res.status = 401;
            res.set_content(std::string(k_unauthorized), "application/json");
            return;
          }
          res.status = status;
          std::string body = what == "floating"    ? floating
                             : what == "hypervisor" ? hypervisors
                             : req.has_param("marker") ? std::string(k_page2)
                                                       : std::string(k_page1);
          res.set_content(replace_all(body, "@URL@", url()), "application/json");
        }
        std::this_thread::sleep_for(wait);
      };
    };
    m_server.Get("/compute/os-floating-ips", api("floating"));
    m_server.Get("/compute/os-hypervisors/detail", api("hypervisor"));
    m_server.Get("/compute/servers/detail", api("servers"));
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

  int port = 0;
  std::string token = "token-1";
  std::string expires = "2099-01-01T00:00:00.000000Z";
  std::string expected_auth = R"({"auth": {"identity": {"methods": ["password"], "password": {"user": {
      "name": "demo", "domain": {"name": "Default"}, "password": "pw-secret"}}},
      "scope": {"project": {"name": "proj", "domain": {"name": "Default"}}}}})";
  std::string floating = std::string(k_floating);
  std::string hypervisors = R"({"hypervisors": [{"id": 4, "hypervisor_hostname": "h1", "host_ip": "10.1.0.1",
      "status": "enabled", "state": "up", "hypervisor_type": "QEMU", "hypervisor_version": 1,
      "free_disk_gb": 1, "local_gb": 2, "cpu_info": "{}"}]})";
  int status = 200;
  std::chrono::milliseconds delay{0};
  int auth_requests = 0;
  int api_requests = 0;
  std::string auth_body;
  std::vector<std::string> paths;

private:
  std::mutex m_mutex;
  httplib::Server m_server;
  test::LoopbackServer m_serving;
};

openstack::Config config_for(const std::string& url, std::string_view extra = "role: instance") {
  test::SdResult r = test::decode_sd("openstack", "{identity_endpoint: '" + url +
                                                      "/v3/', username: demo, password: pw-secret, domain_name: "
                                                      "Default, project_name: proj, region: r1, port: 9100, " +
                                                      std::string(extra) + "}");
  REQUIRE_MESSAGE(r.errors.empty(), (r.errors.empty() ? "" : r.errors[0]));
  return dynamic_cast<const openstack::Config&>(*r.config);
}

model::Labels server1(std::string_view addr, std::string_view pool) {
  model::Labels l{{"__address__", std::string(addr) + ":9100"},
                  {"__meta_openstack_address_pool", std::string(pool)},
                  {"__meta_openstack_instance_flavor", "m1.small"},
                  {"__meta_openstack_instance_id", "srv-1"},
                  {"__meta_openstack_instance_name", "web-1"},
                  {"__meta_openstack_instance_status", "ACTIVE"},
                  {"__meta_openstack_project_id", "p1"},
                  {"__meta_openstack_tag_env", "prod"},
                  {"__meta_openstack_tag_team_name", "web"},
                  {"__meta_openstack_user_id", "u1"}};
  return l;
}

std::vector<model::Labels> expected_instances() {
  model::Labels a = server1("10.0.0.1", "private");
  a.set("__meta_openstack_private_ip", "10.0.0.1");
  a.set("__meta_openstack_public_ip", "192.0.2.10");
  model::Labels b = server1("[2001:db8::1]", "v6");
  b.set("__meta_openstack_private_ip", "2001:db8::1");
  model::Labels c{{"__address__", "10.0.0.4:9100"},
                  {"__meta_openstack_address_pool", "private"},
                  {"__meta_openstack_instance_flavor", "m1.large"},
                  {"__meta_openstack_instance_id", "srv-4"},
                  {"__meta_openstack_instance_name", "db-2"},
                  {"__meta_openstack_instance_status", "SHUTOFF"},
                  {"__meta_openstack_private_ip", "10.0.0.4"},
                  {"__meta_openstack_project_id", "p2"},
                  {"__meta_openstack_user_id", "u2"}};
  return {a, b, c};
}

} // namespace

TEST_SUITE("openstack_sd") {
  TEST_CASE("openstack: hypervisor mapping") {
    std::vector<model::Labels> targets;
    REQUIRE(openstack::append_hypervisor_targets(
        R"({"hypervisors": [{"id": 4, "hypervisor_hostname": "h1", "host_ip": "10.1.0.1", "status": "enabled",
            "state": "up", "hypervisor_type": "QEMU", "hypervisor_version": 1, "free_disk_gb": 1, "local_gb": 2,
            "cpu_info": {"arch": "x86_64"}},
           {"id": "uuid-2", "host_ip": "2001:db8::2", "hypervisor_version": 1, "free_disk_gb": 1, "local_gb": 2,
            "cpu_info": ""}],
           "hypervisors_links": [{"rel": "next", "href": "http://ignored"}]})",
        80, targets));
    CHECK(targets == std::vector<model::Labels>{
                         {{"__address__", "10.1.0.1:80"},
                          {"__meta_openstack_hypervisor_host_ip", "10.1.0.1"},
                          {"__meta_openstack_hypervisor_hostname", "h1"},
                          {"__meta_openstack_hypervisor_id", "4"},
                          {"__meta_openstack_hypervisor_state", "up"},
                          {"__meta_openstack_hypervisor_status", "enabled"},
                          {"__meta_openstack_hypervisor_type", "QEMU"}},
                         {{"__address__", "[2001:db8::2]:80"},
                          {"__meta_openstack_hypervisor_host_ip", "2001:db8::2"},
                          {"__meta_openstack_hypervisor_id", "uuid-2"}}});
    // gophercloud's own type checks.
    targets.clear();
    auto r = openstack::append_hypervisor_targets(R"({"hypervisors": [{"id": "x", "cpu_info": "{}"}]})", 80, targets);
    REQUIRE(!r);
    CHECK(r.error() == "Hypervisor version has unexpected type: <nil>");
    r = openstack::append_hypervisor_targets(R"({"hypervisors": [{"id": "x"}]})", 80, targets);
    CHECK(r.error() == "CPUInfo has unexpected type: <nil>");
    r = openstack::append_hypervisor_targets(R"({"hypervisors": {}})", 80, targets);
    CHECK(r.error() ==
          "json: cannot unmarshal object into Go struct field .hypervisors of type []hypervisors.Hypervisor");
    CHECK(openstack::append_hypervisor_targets("", 80, targets).error() == "unexpected end of JSON input");
  }

  TEST_CASE("openstack: a numeric hypervisor id is truncated as Go's int(float64) on amd64") {
    auto id_of = [](std::string_view id) {
      std::vector<model::Labels> targets;
      REQUIRE(openstack::append_hypervisor_targets(
          fmt::format(R"({{"hypervisors": [{{"id": {}, "host_ip": "10.1.0.1", "hypervisor_version": 1,
                          "free_disk_gb": 1, "local_gb": 2, "cpu_info": ""}}]}})",
                      id),
          80, targets));
      REQUIRE(targets.size() == 1);
      return std::string(targets[0].get("__meta_openstack_hypervisor_id"));
    };
    CHECK(id_of("4.9") == "4");
    CHECK(id_of("-4.9") == "-4");
    CHECK(id_of("1e30") == "-9223372036854775808"); // out of range: undefined in C++, MinInt64 in Go
    CHECK(id_of("-1e30") == "-9223372036854775808");
  }

  TEST_CASE("openstack: instance mapping with Nova floating IPs") {
    Result<openstack::FloatingIps> floating = openstack::parse_floating_ips(k_floating);
    REQUIRE(floating);
    CHECK(floating->floating == std::set<std::string>{"192.0.2.10"});
    std::vector<model::Labels> targets;
    std::string next;
    REQUIRE(openstack::append_instance_targets(replace_all(std::string(k_page1), "@URL@", "http://x"), *floating,
                                               9100, targets, next));
    CHECK(next == "http://x/compute/servers/detail?marker=srv-2");
    REQUIRE(openstack::append_instance_targets(k_page2, *floating, 9100, targets, next));
    CHECK(next.empty());
    // srv-2 has no address, srv-3's flavor id is no string: both skipped.
    CHECK(targets == expected_instances());
    auto bad = openstack::append_instance_targets(R"({"servers": [{"id": 5}]})", *floating, 80, targets, next);
    REQUIRE(!bad);
    CHECK(bad.error() == "json: cannot unmarshal number into Go struct field tmp.id of type string");
  }

  TEST_CASE("openstack: Keystone v3 token requests") {
    openstack::AuthOptions o;
    o.username = "demo";
    o.password = "pw";
    o.domain_id = "default";
    o.tenant_id = "p1";
    CHECK(Json::parse(*openstack::v3_token_request(o)) ==
          Json::parse(R"({"auth": {"identity": {"methods": ["password"], "password": {"user": {"name": "demo",
              "domain": {"id": "default"}, "password": "pw"}}}, "scope": {"project": {"id": "p1"}}}})"));
    o = {};
    o.userid = "u1";
    o.password = "pw";
    CHECK(Json::parse(*openstack::v3_token_request(o)) ==
          Json::parse(R"({"auth": {"identity": {"methods": ["password"], "password": {"user": {"id": "u1",
              "password": "pw"}}}}})"));
    o = {};
    o.application_credential_id = "ac";
    o.application_credential_secret = "s";
    o.tenant_id = "ignored";
    CHECK(Json::parse(*openstack::v3_token_request(o)) ==
          Json::parse(R"({"auth": {"identity": {"methods": ["application_credential"],
              "application_credential": {"id": "ac", "secret": "s"}}}})"));
    o = {};
    o.application_credential_name = "acn";
    o.application_credential_secret = "s";
    o.username = "demo";
    o.domain_name = "Default";
    CHECK(Json::parse(*openstack::v3_token_request(o)) ==
          Json::parse(R"({"auth": {"identity": {"methods": ["application_credential"],
              "application_credential": {"name": "acn", "secret": "s",
              "user": {"name": "demo", "domain": {"name": "Default"}}}}}})"));
    o = {};
    o.username = "demo";
    o.password = "pw";
    CHECK(openstack::v3_token_request(o).error() ==
          "You must provide exactly one of DomainID or DomainName to authenticate by Username");

    auto env = [](const char* name) -> std::string { return std::string_view(name) == "OS_USERNAME" ? "u" : ""; };
    CHECK(openstack::auth_options_from_env(env).error() == "Missing environment variable [OS_AUTH_URL]");
  }

  TEST_CASE("openstack: catalog lookup by type, region and interface") {
    Result<openstack::Token> token = openstack::parse_v3_token("tok", R"({"token": {"expires_at":
        "2030-01-02T03:04:05.000000Z", "catalog": [{"type": "compute", "endpoints": [
        {"interface": "admin", "region": "r1", "url": "http://admin"},
        {"interface": "public", "region": "r1", "url": "http://public"}]}]}})");
    REQUIRE(token);
    CHECK(token->id == "tok");
    CHECK(token->expires.has_value());
    CHECK(*openstack::endpoint_url(*token, "compute", "r1", "public") == "http://public/");
    CHECK(*openstack::endpoint_url(*token, "compute", "r1", "admin") == "http://admin/");
    CHECK(openstack::endpoint_url(*token, "compute", "r2", "public").error() ==
          "No suitable endpoint could be found in the service catalog.");
    CHECK(!openstack::endpoint_url(*token, "network", "r1", "public"));
  }

  TEST_CASE("openstack: instances from a loopback Keystone and Nova, token re-used, pages followed") {
    FakeOpenStack fx;
    auto made = openstack::Discovery::make(config_for(fx.url(), "role: instance, all_tenants: true"));
    REQUIRE(made);
    auto groups = (*made)->refresh({});
    REQUIRE_MESSAGE(groups, (groups ? "" : groups.error()));
    REQUIRE(groups->size() == 1);
    CHECK((*groups)[0].source == "OS_r1");
    CHECK((*groups)[0].targets == expected_instances());
    CHECK(fx.get(fx.paths) == std::vector<std::string>{"/compute/os-floating-ips",
                                                       "/compute/servers/detail?all_tenants=true",
                                                       "/compute/servers/detail?marker=srv-2"});
    // The second refresh re-uses the token.
    REQUIRE((*made)->refresh({}));
    CHECK(fx.get(fx.auth_requests) == 1);
    // A token Nova no longer accepts: one 401, a new token, the call again.
    fx.change([&] { fx.token = "token-2"; });
    REQUIRE((*made)->refresh({}));
    CHECK(fx.get(fx.auth_requests) == 2);
  }

  TEST_CASE("openstack: hypervisors; an expired token is renewed") {
    FakeOpenStack fx;
    fx.expires = "2001-01-01T00:00:00Z";
    auto made = openstack::Discovery::make(config_for(fx.url(), "role: hypervisor"));
    REQUIRE(made);
    auto groups = (*made)->refresh({});
    REQUIRE_MESSAGE(groups, (groups ? "" : groups.error()));
    CHECK((*groups)[0].targets == std::vector<model::Labels>{{{"__address__", "10.1.0.1:9100"},
                                                              {"__meta_openstack_hypervisor_host_ip", "10.1.0.1"},
                                                              {"__meta_openstack_hypervisor_hostname", "h1"},
                                                              {"__meta_openstack_hypervisor_id", "4"},
                                                              {"__meta_openstack_hypervisor_state", "up"},
                                                              {"__meta_openstack_hypervisor_status", "enabled"},
                                                              {"__meta_openstack_hypervisor_type", "QEMU"}}});
    REQUIRE((*made)->refresh({}));
    CHECK(fx.get(fx.auth_requests) == 2);
  }

  TEST_CASE("openstack: failures") {
    FakeOpenStack fx;
    SUBCASE("wrong password: Keystone's 401, no secret in the error") {
      fx.change([&] { fx.expected_auth = R"({"other": 1})"; });
      auto r = (*openstack::Discovery::make(config_for(fx.url())))->refresh({});
      REQUIRE(!r);
      CHECK(r.error() == "could not authenticate to OpenStack: Authentication failed");
      CHECK(fx.get(fx.auth_body).find("pw-secret") != std::string::npos);
    }
    SUBCASE("no endpoint for the region") {
      auto r = (*openstack::Discovery::make(config_for(fx.url(), "role: instance, availability: admin")))->refresh({});
      CHECK(r.error() ==
            "could not create OpenStack compute session: No suitable endpoint could be found in the service catalog.");
    }
    SUBCASE("a 401 that stays") {
      auto d = std::move(*openstack::Discovery::make(config_for(fx.url())));
      fx.change([&] { fx.status = 401; });
      CHECK(d->refresh({}).error() == "Authentication failed");
    }
    SUBCASE("500") {
      fx.change([&] { fx.status = 500; });
      CHECK((*openstack::Discovery::make(config_for(fx.url())))->refresh({}).error() == "Internal Server Error");
    }
    SUBCASE("502") {
      fx.change([&] { fx.status = 502; });
      CHECK((*openstack::Discovery::make(config_for(fx.url())))->refresh({}).error() ==
            "Expected HTTP response code [200] when accessing [GET " + fx.url() +
                "/compute/os-floating-ips], but got 502 instead\n" + std::string(k_floating));
    }
    SUBCASE("malformed body") {
      fx.change([&] { fx.floating = "{"; });
      auto r = (*openstack::Discovery::make(config_for(fx.url())))->refresh({});
      REQUIRE(!r);
      CHECK(r.error().find("pw-secret") == std::string::npos);
    }
    SUBCASE("timeout: the refresh interval bounds each request") {
      fx.change([&] { fx.delay = 1500ms; });
      auto r = (*openstack::Discovery::make(config_for(fx.url(), "role: instance, refresh_interval: 1s")))->refresh({});
      CHECK(!r);
    }
  }

  TEST_CASE("openstack: unreachable Keystone") {
    std::string url;
    {
      FakeOpenStack gone;
      url = gone.url();
    }
    auto r = (*openstack::Discovery::make(config_for(url)))->refresh({});
    REQUIRE(!r);
    CHECK(r.error().starts_with("could not authenticate to OpenStack: Post \"" + url + "/v3/auth/tokens\": "));
  }

  TEST_CASE("openstack: a failure after a success keeps the last good targets") {
    FakeOpenStack fx;
    test::RecordingSink sink;
    test::RunningDiscoverer running(config_for(fx.url(), "role: instance, refresh_interval: 1s").make_discoverer({}),
                                    sink);
    REQUIRE(sink.wait_for_reports(1));
    CHECK(sink.report(0).empty());
    REQUIRE(sink.update_count() == 1);
    fx.change([&] { fx.status = 500; });
    REQUIRE(sink.wait_for_reports(2));
    CHECK(sink.report(1) == "Internal Server Error");
    CHECK(sink.update_count() == 1);
    CHECK(sink.updates[0][0]->targets == expected_instances());
  }
}
