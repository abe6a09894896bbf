// ionos_sd: the server list mapping (pure, including v2.45's IP order), and
// the discoverer against a loopback fixture emulating the IONOS Cloud API
// v6 (basic auth or token checked on every request).

#include <httplib.h> // CPPHTTPLIB_OPENSSL_SUPPORT comes from its pkg-config flags

#include <chrono>
#include <mutex>
#include <thread>

#include <doctest/doctest.h>

#include "discovery/ionos.h"
#include "loopback_server.h"
#include "test_util.h"

using namespace sdscope;
using namespace std::chrono_literals;
namespace ionos = sdscope::discovery::ionos;

namespace {

constexpr const char* k_datacenter = "8feda53f-15f0-447f-badf-ebe32dad2fc0";
// The Cloud API's answer to bad credentials.
constexpr const char* k_unauthorized_body =
    R"({"httpStatus":401,"messages":[{"errorCode":"315","message":"Unauthorized"}]})";

// A fake IONOS Cloud API on 127.0.0.1 under /cloudapi/v6: the data
// center's servers need `authorization` exactly, else the API's 401.
class FakeIonos {
public:
  FakeIonos() {
    m_server.set_keep_alive_timeout(1);
    m_server.Get(".*", [this](const httplib::Request& req, httplib::Response& res) {
      std::chrono::milliseconds wait;
      {
        std::lock_guard lock(m_mutex);
        targets.push_back(req.target);
        accept = req.get_header_value("Accept");
        user_agent = req.get_header_value("User-Agent");
        wait = delay;
        if (req.get_header_value("Authorization") != authorization) {
          res.status = 401;
          res.set_content(k_unauthorized_body, "application/json");
        } else {
          res.status = status;
          res.set_content(body, content_type.c_str());
        }
      }
      std::this_thread::sleep_for(wait);
    });
    port = m_serving.start(m_server);
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port) + "/cloudapi/v6"; }
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
  std::string authorization = "Basic dXNlcjpwYXNz"; // user:pass
  int status = 200;
  std::string body = R"({"id":"dc/servers","items":[]})";
  std::string content_type = "application/json";
  std::chrono::milliseconds delay{0};
  std::vector<std::string> targets;
  std::string accept, user_agent;

private:
  std::mutex m_mutex;
  httplib::Server m_server;
  test::LoopbackServer m_serving;
};

ionos::Config basic_auth_config(model::Duration interval = model::Duration::seconds(30)) {
  ionos::Config config;
  config.datacenter_id = k_datacenter;
  config.http_client.basic_auth.emplace() = {"user", "", "", {"pass"}, "", ""};
  config.refresh_interval = interval;
  return config;
}

std::unique_ptr<ionos::Discovery> make_discovery(const ionos::Config& config, const std::string& url) {
  auto d = ionos::Discovery::make(config, url);
  REQUIRE_MESSAGE(d, (d ? "" : d.error()));
  return std::move(*d);
}

model::TargetGroup group_of(std::string_view body, int port = 80) {
  auto page = ionos::parse_servers(body);
  REQUIRE_MESSAGE(page, (page ? "" : page.error()));
  return ionos::group_from_servers(*page, port);
}

// Two servers as the API answers with depth=3: one with two NICs and
// volumes, one without NICs (dropped).
const char* const k_servers = R"({
  "id":"8feda53f-15f0-447f-badf-ebe32dad2fc0/servers","type":"collection",
  "items":[{
    "id":"d6bf44ee-f7e8-4e19-8716-96fdd18cc697","type":"server",
    "metadata":{"state":"AVAILABLE","createdBy":"someone"},
    "properties":{"name":"prometheus-2","cores":2,"ram":4096,"availabilityZone":"AUTO","vmState":"RUNNING",
      "bootCdrom":null,"bootVolume":{"id":"8dd8c4c1-c6c8-4d6b-8a9e-3f7c8d3c4e1a","type":"volume"},
      "cpuFamily":"INTEL_SKYLAKE","type":"ENTERPRISE"},
    "entities":{
      "volumes":{"items":[{"properties":{"image":"0e4d57f9-cd78-11e9-b88c-525400f64d8d"}},{"properties":{"image":"other"}}]},
      "nics":{"items":[
        {"properties":{"name":"metrics","ips":["127.0.0.1","127.0.0.2"]}},
        {"properties":{"ips":["127.0.0.3"]}},
        {"properties":{"name":"my nic.1","ips":["::1"]}}]}}},
   {"id":"no-nics","metadata":{"state":"BUSY"},
    "properties":{"name":"empty","availabilityZone":"ZONE_1","vmState":"SHUTOFF","cpuFamily":"AMD_OPTERON",
      "type":"CUBE","bootCdrom":{"id":"cd-1"}},
    "entities":{"nics":{"items":[]}}}]})";

} // namespace

TEST_SUITE("ionos_sd") {
  TEST_CASE("group_from_servers: every label of v2.45; the last NIC's IPs come first") {
    auto group = group_of(k_servers, 9100);
    CHECK(group.source == "ionos");
    REQUIRE(group.targets.size() == 1);
    const std::string p = "__meta_ionos_server_";
    CHECK(group.targets[0] == model::Labels{{"__address__", "[::1]:9100"},
                                            {p + "availability_zone", "AUTO"},
                                            {p + "boot_image_id", "0e4d57f9-cd78-11e9-b88c-525400f64d8d"},
                                            {p + "boot_volume_id", "8dd8c4c1-c6c8-4d6b-8a9e-3f7c8d3c4e1a"},
                                            {p + "cpu_family", "INTEL_SKYLAKE"},
                                            {p + "id", "d6bf44ee-f7e8-4e19-8716-96fdd18cc697"},
                                            {p + "ip", ",::1,127.0.0.3,127.0.0.1,127.0.0.2,"},
                                            {p + "lifecycle", "AVAILABLE"},
                                            {p + "name", "prometheus-2"},
                                            {p + "nic_ip_metrics", ",127.0.0.1,127.0.0.2,"},
                                            {p + "nic_ip_my_nic_1", ",::1,"},
                                            {p + "nic_ip_unnamed", ",127.0.0.3,"},
                                            {p + "servers_id", "8feda53f-15f0-447f-badf-ebe32dad2fc0/servers"},
                                            {p + "state", "RUNNING"},
                                            {p + "type", "ENTERPRISE"}});
  }

  TEST_CASE("group_from_servers: NICs sharing a name, and Go's in-place appends") {
    // x [a], y [b], x [c]: upstream's two appends into the third NIC's
    // decoded array (capacity 4) leave the whole list as c,a,a.
    auto group = group_of(R"({"id":"s","items":[{"id":"1","entities":{"nics":{"items":[
      {"properties":{"name":"x","ips":["127.0.0.1"]}},
      {"properties":{"name":"y","ips":["127.0.0.2"]}},
      {"properties":{"name":"x","ips":["127.0.0.3"]}}]}}}]})");
    REQUIRE(group.targets.size() == 1);
    const std::string p = "__meta_ionos_server_";
    CHECK(group.targets[0].get(p + "ip") == ",127.0.0.3,127.0.0.1,127.0.0.1,");
    CHECK(group.targets[0].get(p + "nic_ip_x") == ",127.0.0.3,127.0.0.1,");
    CHECK(group.targets[0].get(p + "nic_ip_y") == ",127.0.0.2,");
    CHECK(group.targets[0].get("__address__") == "127.0.0.3:80");
    CHECK(!group.targets[0].has(p + "boot_cdrom_id"));

    // Without room in the array the appends copy: the list stays intact.
    auto roomy = group_of(R"({"id":"s","items":[{"id":"1","entities":{"nics":{"items":[
      {"properties":{"name":"x","ips":["127.0.0.1","127.0.0.11"]}},
      {"properties":{"name":"y","ips":["127.0.0.2"]}},
      {"properties":{"name":"x","ips":["127.0.0.3","127.0.0.4","127.0.0.5","127.0.0.6"]}}]}}}]})");
    CHECK(roomy.targets[0].get(p + "ip") == ",127.0.0.3,127.0.0.4,127.0.0.5,127.0.0.6,127.0.0.2,127.0.0.1,127.0.0.11,");
  }

  TEST_CASE("parse_servers: bodies Go's decoder rejects, and a body without items") {
    auto error_of = [](std::string_view body) {
      auto page = ionos::parse_servers(body);
      REQUIRE(!page);
      return page.error();
    };
    CHECK(error_of(R"({"items":[{"properties":{"name":7}}]})") ==
          "json: cannot unmarshal number into Go struct field ServerProperties.items.properties.name of type string");
    CHECK(error_of(R"({"items":{}})") ==
          "json: cannot unmarshal object into Go struct field Servers.items of type []ionoscloud.Server");
    CHECK(error_of(R"({"id":"x"})") == "ionos API response without items (Prometheus v2.45 crashes on it)");
    CHECK(error_of("") == "unexpected end of JSON input");
  }

  TEST_CASE("refresh: the request with the SDK's query, basic auth, and the API's 401") {
    FakeIonos fx;
    fx.change([&] { fx.body = k_servers; });
    auto discovery = make_discovery(basic_auth_config(), fx.url());
    auto groups = discovery->refresh({});
    REQUIRE_MESSAGE(groups, (groups ? "" : groups.error()));
    REQUIRE(groups->size() == 1);
    CHECK((*groups)[0].targets.size() == 1);
    CHECK(fx.take_targets() == std::vector<std::string>{std::string("/cloudapi/v6/datacenters/") + k_datacenter +
                                                        "/servers?depth=3&limit=1000&offset=0&pretty=true"});
    CHECK(fx.accept == "application/json");
    CHECK(fx.user_agent == "Prometheus/2.45.0");

    fx.change([&] { fx.authorization = "Basic other"; });
    auto denied = discovery->refresh({});
    REQUIRE(!denied);
    CHECK(denied.error() == std::string("401 Unauthorized: ") + k_unauthorized_body);
  }

  TEST_CASE("refresh: a bearer token from the authorization block") {
    FakeIonos fx;
    fx.change([&] { fx.authorization = "Bearer ionos-token"; });
    ionos::Config config;
    config.datacenter_id = k_datacenter;
    config.http_client.authorization = net::Authorization{"Bearer", {"ionos-token"}, "", ""};
    auto discovery = make_discovery(config, fx.url());
    auto groups = discovery->refresh({});
    REQUIRE_MESSAGE(groups, (groups ? "" : groups.error()));
    CHECK((*groups)[0].targets.empty());
  }

  TEST_CASE("refresh: failures") {
    FakeIonos fx;
    auto discovery = make_discovery(basic_auth_config(model::Duration{300}), fx.url());
    auto error_with = [&](int status, std::string body, std::string content_type = "application/json") {
      fx.change([&] {
        fx.status = status;
        fx.body = body;
        fx.content_type = content_type;
      });
      auto groups = discovery->refresh({});
      REQUIRE(!groups);
      return groups.error();
    };
    CHECK(error_with(500, R"({"httpStatus":500,"messages":[{"errorCode":"300","message":"Internal error"}]})") ==
          R"(500 Internal Server Error: {"httpStatus":500,"messages":[{"errorCode":"300","message":"Internal error"}]})");
    CHECK(error_with(502, "<html>bad gateway</html>", "text/html") == "undefined response type");
    CHECK(error_with(200, R"({"items":[]})", "text/plain") == "undefined response type");
    CHECK(error_with(200, R"({"items":[)").find("JSON") != std::string::npos);

    fx.change([&] {
      fx.status = 200;
      fx.body = R"({"items":[]})";
      fx.content_type = "application/json";
      fx.delay = 1500ms;
    });
    auto start = std::chrono::steady_clock::now();
    auto slow = discovery->refresh({}); // the client timeout is the refresh interval
    CHECK(std::chrono::steady_clock::now() - start < 1200ms);
    REQUIRE(!slow);
    CHECK(slow.error().find("context deadline exceeded") != std::string::npos);

    std::string url = fx.url();
    fx.stop();
    auto unreachable = discovery->refresh({});
    REQUIRE(!unreachable);
    CHECK(unreachable.error().starts_with("Get \"" + url + "/datacenters/"));
  }

  TEST_CASE("make_discoverer: endpoints[\"ionos\"], reports failures and keeps the last good targets") {
    FakeIonos fx;
    fx.change([&] { fx.body = k_servers; });
    discovery::DiscovererOptions options;
    options.endpoints["ionos"] = fx.url();
    test::RecordingSink sink;
    test::RunningDiscoverer running(basic_auth_config(model::Duration::seconds(1)).make_discoverer(options), sink);
    REQUIRE(sink.wait_for_reports(1));
    CHECK(sink.report(0) == "");
    REQUIRE(sink.update_count() == 1);
    CHECK(sink.updates[0][0]->targets.size() == 1);

    fx.change([&] { fx.authorization = "Basic rotated"; });
    REQUIRE(sink.wait_for_reports(2));
    CHECK(sink.report(1) == std::string("401 Unauthorized: ") + k_unauthorized_body);
    CHECK(sink.update_count() == 1); // nothing sent: the last targets stay

    fx.change([&] { fx.authorization = "Basic dXNlcjpwYXNz"; });
    REQUIRE(sink.wait_for_reports(3));
    CHECK(sink.report(2) == "");
    CHECK(sink.update_count() == 2);
    CHECK(running.stop() < 500ms);
  }
}
