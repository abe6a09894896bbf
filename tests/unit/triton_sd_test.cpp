// triton_sd: the discovery URL, the response mapping for both roles (pure),
// and the discoverer against a loopback HTTPS fixture playing triton-cmon
// (a CA, server and client certificates made at test time).

#include <httplib.h> // CPPHTTPLIB_OPENSSL_SUPPORT comes from its pkg-config flags

#include <chrono>
#include <mutex>
#include <thread>

#include <doctest/doctest.h>

#include "discovery/triton.h"
#include "loopback_server.h"
#include "test_util.h"

using namespace sdscope;
using namespace std::chrono_literals;
namespace triton = sdscope::discovery::triton;

namespace {

// A fake triton-cmon on https://127.0.0.1 (certificate for the IP, from
// test::Pki's CA), asking for a client certificate from the same CA when
// require_client_cert; answers both discovery paths with `body` and
// `status` and records the request it saw.
class FakeCmon {
public:
  explicit FakeCmon(bool require_client_cert = false)
      : m_server(test::Pki::get().loopback_cert.c_str(), test::Pki::get().loopback_key.c_str(),
                 require_client_cert ? test::Pki::get().ca.c_str() : nullptr) {
    REQUIRE(m_server.is_valid());
    m_server.set_keep_alive_timeout(1);
    auto handler = [this](const httplib::Request& req, httplib::Response& res) {
      std::chrono::milliseconds wait;
      {
        std::lock_guard lock(m_mutex);
        ++requests;
        path = req.path;
        groups = req.has_param("groups") ? req.get_param_value("groups") : "<absent>";
        raw_target = req.target;
        user_agent = req.get_header_value("User-Agent");
        res.status = status;
        res.set_content(body, "application/json");
        wait = delay;
      }
      std::this_thread::sleep_for(wait);
    };
    m_server.Get("/v1/discover", handler);
    m_server.Get("/v1/gz/discover", handler);
    m_server.Get("/v3/discover", handler);
    port = m_serving.start(m_server);
  }
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
  std::string body = R"({"containers":[]})";
  std::chrono::milliseconds delay{0};
  int requests = 0;
  std::string path, groups, raw_target, user_agent;

private:
  std::mutex m_mutex;
  httplib::SSLServer m_server;
  test::LoopbackServer m_serving;
};

triton::Config config_for(int port, model::Duration interval = model::Duration::seconds(60)) {
  triton::Config config;
  config.account = "testAccount";
  config.dns_suffix = "triton.example.test";
  config.endpoint = "127.0.0.1";
  config.port = port;
  config.refresh_interval = interval;
  config.tls_config.ca_file = test::Pki::get().ca;
  return config;
}

std::unique_ptr<triton::Discovery> make_discovery(const triton::Config& config) {
  auto d = triton::Discovery::make(config);
  REQUIRE_MESSAGE(d, (d ? "" : d.error()));
  return std::move(*d);
}

model::TargetGroup group_of(std::string_view body, const triton::Config& config) {
  auto group = triton::group_from_response(body, config, "https://src");
  REQUIRE_MESSAGE(group, (group ? "" : group.error()));
  return *group;
}

const char* const k_containers = R"({"containers":[
  {"groups":["foo","bar","baz"],"server_uuid":"44454c4c-5000-104d-8037-b7c04f5a5131","vm_alias":"server01",
   "vm_brand":"lx","vm_image_uuid":"7b27a514-89d7-11e6-bee6-3f96f367bee7",
   "vm_uuid":"ad466fbf-46a2-4027-9b64-8d3cdb7e9072"},
  {"server_uuid":"a5894692-bd32-4ca1-908a-e2dda3c3a5e6","vm_alias":"server02","vm_brand":"kvm",
   "vm_image_uuid":"a5894692-bd32-4ca1-908a-e2dda3c3a5e6","vm_uuid":"7b27a514-89d7-11e6-bee6-3f96f367bee7"}]})";

} // namespace

TEST_SUITE("discovery::triton") {
  TEST_CASE("discovery_url: role, version, port and the query-escaped groups") {
    triton::Config config = config_for(9163);
    CHECK(triton::discovery_url(config) == "https://127.0.0.1:9163/v1/discover");
    config.role = "cn";
    config.version = 2;
    CHECK(triton::discovery_url(config) == "https://127.0.0.1:9163/v2/gz/discover");
    config.role = "container";
    config.groups = {"web", "db prod", "a&b"};
    CHECK(triton::discovery_url(config) == "https://127.0.0.1:9163/v2/discover?groups=web%2Cdb+prod%2Ca%26b");
  }

  TEST_CASE("group_from_response: containers") {
    triton::Config config = config_for(9163);
    model::TargetGroup group = group_of(k_containers, config);
    CHECK(group.source == "https://src");
    CHECK(group.labels.empty());
    REQUIRE(group.targets.size() == 2);
    CHECK(group.targets[0] == model::Labels{
                                  {"__address__", "ad466fbf-46a2-4027-9b64-8d3cdb7e9072.triton.example.test:9163"},
                                  {"__meta_triton_groups", ",foo,bar,baz,"},
                                  {"__meta_triton_machine_alias", "server01"},
                                  {"__meta_triton_machine_brand", "lx"},
                                  {"__meta_triton_machine_id", "ad466fbf-46a2-4027-9b64-8d3cdb7e9072"},
                                  {"__meta_triton_machine_image", "7b27a514-89d7-11e6-bee6-3f96f367bee7"},
                                  {"__meta_triton_server_id", "44454c4c-5000-104d-8037-b7c04f5a5131"},
                              });
    CHECK(!group.targets[1].has("__meta_triton_groups")); // only with groups
    CHECK(group_of(R"({"containers":[{"vm_uuid":"u","groups":[]}]})", config).targets[0].has(
              "__meta_triton_groups") == false);
    CHECK(group_of("{}", config).targets.empty());
    CHECK(group_of("null", config).targets.empty());
    CHECK(group_of(R"({"containers":null,"cns":[{"server_uuid":"x"}]})", config).targets.empty());
    CHECK(group_of(R"({"containers":[null]})", config).targets.size() == 1); // a zero element, as in Go
    // The address is plain "<uuid>.<suffix>:<port>", never bracketed.
    config.dns_suffix = "::1";
    CHECK(group_of(R"({"CONTAINERS":[{"VM_UUID":"u"}]})", config).targets[0].get("__address__") == "u.::1:9163");
  }

  TEST_CASE("group_from_response: compute nodes (role cn)") {
    triton::Config config = config_for(9163);
    config.role = "cn";
    model::TargetGroup group = group_of(R"({"cns":[
      {"server_uuid":"44454c4c-5000-104d-8037-b7c04f5a5131","server_hostname":"server01"},
      {"server_uuid":"a5894692-bd32-4ca1-908a-e2dda3c3a5e6","server_hostname":"server02"}],
      "containers":[{"vm_uuid":"ignored"}]})",
                                        config);
    REQUIRE(group.targets.size() == 2);
    CHECK(group.targets[0] == model::Labels{
                                  {"__address__", "44454c4c-5000-104d-8037-b7c04f5a5131.triton.example.test:9163"},
                                  {"__meta_triton_machine_alias", "server01"},
                                  {"__meta_triton_machine_id", "44454c4c-5000-104d-8037-b7c04f5a5131"},
                              });
    CHECK(group.targets[1].get("__meta_triton_machine_alias") == "server02");
  }

  TEST_CASE("group_from_response: bodies Go's decoder rejects, in v2.45's words") {
    triton::Config config = config_for(9163);
    auto check_error = [&](std::string_view body, const std::string& want) {
      auto group = triton::group_from_response(body, config, "https://src");
      REQUIRE_MESSAGE(!group, body);
      CHECK(group.error() == want);
    };
    const std::string container = "an error occurred unmarshaling the discovery response json: ";
    check_error("", container + "unexpected end of JSON input");
    check_error("[]", container + "json: cannot unmarshal array into Go value of type triton.DiscoveryResponse");
    check_error(R"({"containers":{}})",
                container + R"(json: cannot unmarshal object into Go struct field DiscoveryResponse.containers of )"
                            R"(type []struct { Groups []string "json:\"groups\""; ServerUUID string )"
                            R"("json:\"server_uuid\""; VMAlias string "json:\"vm_alias\""; VMBrand string )"
                            R"("json:\"vm_brand\""; VMImageUUID string "json:\"vm_image_uuid\""; VMUUID string )"
                            R"("json:\"vm_uuid\"" })");
    check_error(R"({"containers":[{"vm_uuid":1}]})",
                container + "json: cannot unmarshal number into Go struct field .containers.vm_uuid of type string");
    check_error(R"({"containers":[{"groups":[true]}]})",
                container + "json: cannot unmarshal bool into Go struct field .containers.groups of type string");
    auto syntax = triton::group_from_response("<html>", config, "https://src");
    REQUIRE(!syntax);
    CHECK(syntax.error().starts_with(container + "invalid JSON: "));

    config.role = "cn";
    const std::string cn = "an error occurred unmarshaling the compute node discovery response json: ";
    check_error("1", cn + "json: cannot unmarshal number into Go value of type triton.ComputeNodeDiscoveryResponse");
    check_error(R"({"cns":[7]})",
                cn + R"(json: cannot unmarshal number into Go struct field ComputeNodeDiscoveryResponse.cns of type )"
                     R"(struct { ServerUUID string "json:\"server_uuid\""; ServerHostname string )"
                     R"("json:\"server_hostname\"" })");
    check_error(R"({"cns":[{"server_hostname":[]}]})",
                cn + "json: cannot unmarshal array into Go struct field .cns.server_hostname of type string");
  }

  TEST_CASE("refresh: the HTTPS request v2.45 sends, with the groups filter") {
    FakeCmon fx;
    fx.change([&] { fx.body = k_containers; });
    triton::Config config = config_for(fx.port);
    config.groups = {"foo", "bar"};
    auto groups = make_discovery(config)->refresh({});
    REQUIRE_MESSAGE(groups, (groups ? "" : groups.error()));
    REQUIRE(groups->size() == 1);
    CHECK((*groups)[0].source == "https://127.0.0.1:" + std::to_string(fx.port) + "/v1/discover?groups=foo%2Cbar");
    CHECK((*groups)[0].targets.size() == 2);
    CHECK(fx.get(fx.path) == "/v1/discover");
    CHECK(fx.get(fx.groups) == "foo,bar");
    CHECK(fx.get(fx.raw_target) == "/v1/discover?groups=foo%2Cbar");
    CHECK(fx.get(fx.user_agent) == "Go-http-client/1.1");

    config.role = "cn";
    config.groups.clear();
    fx.change([&] { fx.body = R"({"cns":[{"server_uuid":"s1","server_hostname":"cn1"}]})"; });
    groups = make_discovery(config)->refresh({});
    REQUIRE_MESSAGE(groups, (groups ? "" : groups.error()));
    CHECK((*groups)[0].source == "https://127.0.0.1:" + std::to_string(fx.port) + "/v1/gz/discover");
    REQUIRE((*groups)[0].targets.size() == 1);
    CHECK((*groups)[0].targets[0].get("__address__") == "s1.triton.example.test:" + std::to_string(fx.port));
    CHECK(fx.get(fx.path) == "/v1/gz/discover");
    CHECK(fx.get(fx.groups) == "<absent>");

    config.role = "container";
    config.version = 3;
    fx.change([&] { fx.body = "{}"; });
    REQUIRE(make_discovery(config)->refresh({}));
    CHECK(fx.get(fx.path) == "/v3/discover");
  }

  TEST_CASE("refresh: the client certificate of tls_config is presented") {
    FakeCmon fx(/*require_client_cert=*/true);
    triton::Config config = config_for(fx.port);
    auto without = make_discovery(config)->refresh({});
    REQUIRE(!without);
    CHECK(without.error().starts_with("an error occurred when requesting targets from the discovery endpoint: Get "
                                      "\"https://127.0.0.1:" +
                                      std::to_string(fx.port) + "/v1/discover\": "));
    config.tls_config.cert_file = test::Pki::get().client_cert;
    config.tls_config.key_file = test::Pki::get().client_key;
    auto with = make_discovery(config)->refresh({});
    REQUIRE_MESSAGE(with, (with ? "" : with.error()));
    CHECK(fx.get(fx.requests) == 1);
  }

  TEST_CASE("refresh: any status is decoded, as v2.45 does not check it") {
    FakeCmon fx;
    auto discovery = make_discovery(config_for(fx.port));
    fx.change([&] {
      fx.status = 401;
      fx.body = R"({"containers":[{"vm_uuid":"u1"}]})";
    });
    auto groups = discovery->refresh({});
    REQUIRE_MESSAGE(groups, (groups ? "" : groups.error()));
    CHECK((*groups)[0].targets.size() == 1);
    fx.change([&] {
      fx.status = 500;
      fx.body = "internal error";
    });
    groups = discovery->refresh({});
    REQUIRE(!groups);
    CHECK(groups.error().starts_with("an error occurred unmarshaling the discovery response json: invalid JSON: "));
  }

  TEST_CASE("refresh: failures") {
    FakeCmon fx;
    auto discovery = make_discovery(config_for(fx.port, model::Duration{300}));
    std::string url = "https://127.0.0.1:" + std::to_string(fx.port) + "/v1/discover";
    fx.change([&] { fx.body = R"({"containers":7})"; });
    auto wrong = discovery->refresh({});
    REQUIRE(!wrong);
    CHECK(wrong.error().starts_with("an error occurred unmarshaling the discovery response json: json: cannot "
                                    "unmarshal number into Go struct field DiscoveryResponse.containers of type []"));

    fx.change([&] {
      fx.body = "{}";
      fx.delay = 1500ms;
    });
    auto start = std::chrono::steady_clock::now();
    auto slow = discovery->refresh({}); // bounded by the refresh interval (v2.45: no timeout)
    CHECK(std::chrono::steady_clock::now() - start < 1200ms);
    REQUIRE(!slow);
    CHECK(slow.error().starts_with("an error occurred when requesting targets from the discovery endpoint: Get \"" +
                                   url + "\": "));
    CHECK(slow.error().find("context deadline exceeded") != std::string::npos);

    // A server certificate the configured CA did not sign.
    triton::Config untrusted = config_for(fx.port);
    untrusted.tls_config.ca_file = test::Pki::get().other_ca;
    auto rejected = make_discovery(untrusted)->refresh({});
    REQUIRE(!rejected);
    CHECK(rejected.error().starts_with("an error occurred when requesting targets from the discovery endpoint: Get \"" +
                                       url + "\": "));

    fx.stop();
    auto unreachable = discovery->refresh({});
    REQUIRE(!unreachable);
    CHECK(unreachable.error().starts_with(
        "an error occurred when requesting targets from the discovery endpoint: Get \"" + url + "\": "));
  }

  TEST_CASE("make_discoverer: reports each failure and keeps the last good group") {
    FakeCmon fx;
    fx.change([&] { fx.body = k_containers; });
    test::RecordingSink sink;
    test::RunningDiscoverer running(config_for(fx.port, model::Duration::seconds(1)).make_discoverer({}), sink);
    REQUIRE(sink.wait_for_reports(1));
    CHECK(sink.report(0) == "");
    REQUIRE(sink.update_count() == 1);
    REQUIRE(sink.updates[0].size() == 1);
    CHECK(sink.updates[0][0]->targets.size() == 2);

    fx.change([&] { fx.body = "{"; });
    REQUIRE(sink.wait_for_reports(2));
    CHECK(sink.report(1).starts_with("an error occurred unmarshaling the discovery response json: "));
    CHECK(sink.update_count() == 1); // nothing sent: the two containers stay

    fx.change([&] { fx.body = R"({"containers":[{"vm_uuid":"only"}]})"; });
    REQUIRE(sink.wait_for_reports(3));
    CHECK(sink.report(2) == "");
    REQUIRE(sink.update_count() == 2);
    REQUIRE(sink.updates[1].size() == 1);
    CHECK(sink.updates[1][0]->source == sink.updates[0][0]->source);
    CHECK(sink.updates[1][0]->targets.size() == 1);
    CHECK(running.stop() < 500ms);
  }

  TEST_CASE("make_discoverer: unusable TLS files are an error") {
    triton::Config config = config_for(1);
    config.tls_config.ca_file = "/nonexistent/ca.pem";
    auto discoverer = config.make_discoverer({});
    REQUIRE(!discoverer);
    CHECK(discoverer.error() ==
          "unable to load specified CA cert /nonexistent/ca.pem: open /nonexistent/ca.pem: no such file or directory");
  }
}
