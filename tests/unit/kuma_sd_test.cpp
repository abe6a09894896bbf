// kuma_sd: the DiscoveryRequest body, the DiscoveryResponse decoding and
// mapping (pure), and the xDS client and discoverer against a loopback
// fixture that plays a Kuma control plane's MADS REST endpoint.

#include <httplib.h> // CPPHTTPLIB_OPENSSL_SUPPORT comes from its pkg-config flags

#include <chrono>
#include <deque>
#include <mutex>
#include <thread>

#include <doctest/doctest.h>

#include "discovery/kuma.h"
#include "loopback_server.h"
#include "test_util.h"
#include "util/hostname.h"

using namespace sdscope;
using namespace std::chrono_literals;
namespace kuma = sdscope::discovery::kuma;

namespace {

struct SeenRequest {
  std::string method, path, query, body, user_agent, content_type, accept, authorization;
  std::chrono::steady_clock::time_point at = std::chrono::steady_clock::now();
};

struct Reply {
  int status = 200;
  std::string body;
  std::chrono::milliseconds delay{0};
};

// A fake control plane on 127.0.0.1: answers POSTs to <prefix>/v3/
// discovery:monitoringassignments with the queued replies (the last one
// again when the queue runs out) and records every request.
class FakeControlPlane {
public:
  explicit FakeControlPlane(const std::string& prefix = "") {
    m_server.set_keep_alive_timeout(1);
    m_server.Post(prefix + "/v3/discovery:monitoringassignments",
                  [this](const httplib::Request& req, httplib::Response& res) {
                    Reply reply;
                    {
                      std::lock_guard lock(m_mutex);
                      size_t at = req.target.find('?');
                      seen.push_back({req.method, req.path, at == std::string::npos ? "" : req.target.substr(at + 1),
                                      req.body, req.get_header_value("User-Agent"),
                                      req.get_header_value("Content-Type"), req.get_header_value("Accept"),
                                      req.has_header("Authorization") ? req.get_header_value("Authorization")
                                                                      : "<absent>"});
                      reply = replies.size() > 1 ? replies.front() : replies.back();
                      if (replies.size() > 1) {
                        replies.pop_front();
                      }
                    }
                    std::this_thread::sleep_for(reply.delay);
                    res.status = reply.status;
                    if (reply.status != 304) {
                      res.set_content(reply.body, "application/json");
                    }
                  });
    port = m_serving.start(m_server);
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port); }
  void queue(std::vector<Reply> next) {
    std::lock_guard lock(m_mutex);
    replies.assign(next.begin(), next.end());
  }
  std::vector<SeenRequest> requests() {
    std::lock_guard lock(m_mutex);
    return seen;
  }
  void stop() { m_serving.stop(); }

  int port = 0;

private:
  std::mutex m_mutex;
  std::deque<Reply> replies{Reply{304, "", {}}};
  std::vector<SeenRequest> seen;
  httplib::Server m_server;
  test::LoopbackServer m_serving;
};

std::string response_body(const std::string& version, const std::string& nonce, const std::string& resources) {
  return R"({"version_info":")" + version + R"(","nonce":")" + nonce + R"(","type_url":")" +
         std::string(kuma::k_type_url) + R"(","resources":[)" + resources + "]}";
}

const std::string k_web_assignment = R"({"@type":"type.googleapis.com/kuma.observability.v1.MonitoringAssignment",
  "mesh":"default","service":"web","labels":{"team":"x","zone":"assignment"},
  "targets":[{"name":"web-1","scheme":"http","address":"127.0.0.1:5670","metrics_path":"/metrics",
              "labels":{"zone":"a","k8s.io/app":"web"}},
             {"name":"web-2","scheme":"https","address":"127.0.0.2:5670","metricsPath":"/stats"}]})";

model::Labels web_1() {
  return model::Labels{{"__address__", "127.0.0.1:5670"},
                       {"__meta_kuma_dataplane", "web-1"},
                       {"__meta_kuma_label_k8s_io_app", "web"},
                       {"__meta_kuma_label_team", "x"},
                       {"__meta_kuma_label_zone", "assignment"}, // the assignment's label wins
                       {"__meta_kuma_mesh", "default"},
                       {"__meta_kuma_service", "web"},
                       {"__metrics_path__", "/metrics"},
                       {"__scheme__", "http"},
                       {"instance", "web-1"}};
}

model::Labels web_2() {
  return model::Labels{{"__address__", "127.0.0.2:5670"},
                       {"__meta_kuma_dataplane", "web-2"},
                       {"__meta_kuma_label_team", "x"},
                       {"__meta_kuma_label_zone", "assignment"},
                       {"__meta_kuma_mesh", "default"},
                       {"__meta_kuma_service", "web"},
                       {"__metrics_path__", "/stats"},
                       {"__scheme__", "https"},
                       {"instance", "web-2"}};
}

kuma::Config config_for(const std::string& server) {
  kuma::Config config;
  config.server = server;
  config.client_id = "node-a";
  return config;
}

std::unique_ptr<kuma::Discovery> make_discovery(const kuma::Config& config) {
  auto d = kuma::Discovery::make(config, "node-a");
  REQUIRE_MESSAGE(d, (d ? "" : d.error()));
  return std::move(*d);
}

std::vector<model::Labels> targets_of(std::string_view body) {
  auto response = kuma::parse_response(body);
  REQUIRE_MESSAGE(response, (response ? "" : response.error()));
  auto targets = kuma::targets_from_response(*response);
  REQUIRE_MESSAGE(targets, (targets ? "" : targets.error()));
  return *targets;
}

std::string error_of(std::string_view body) {
  auto response = kuma::parse_response(body);
  if (!response) {
    return response.error();
  }
  auto targets = kuma::targets_from_response(*response);
  return targets ? "<no error>" : targets.error();
}

} // namespace

TEST_SUITE("discovery::kuma") {
  TEST_CASE("request_body: protobuf JSON with proto names, empty fields left out") {
    const std::string type = "\"type_url\":\"type.googleapis.com/kuma.observability.v1.MonitoringAssignment\"";
    CHECK(kuma::request_body("", "", "host.example.") == "{\"node\":{\"id\":\"host.example.\"}," + type + "}");
    CHECK(kuma::request_body("7", "n7", "h") ==
          "{\"version_info\":\"7\",\"node\":{\"id\":\"h\"}," + type + ",\"response_nonce\":\"n7\"}");
    CHECK(kuma::request_body("a\"b\\c\n\x01\x7f", "", "") ==
          "{\"version_info\":\"a\\\"b\\\\c\\n\\u0001\\u007f\",\"node\":{}," + type + "}");
  }

  TEST_CASE("parse_response + targets_from_response: labels, address, instance, scheme, path") {
    CHECK(targets_of(response_body("1", "n1", k_web_assignment)) == std::vector<model::Labels>{web_1(), web_2()});

    // camelCase names, unknown fields, nulls, an Any without the URL prefix,
    // and an assignment without targets.
    std::string body = R"({"versionInfo":"2","typeUrl":"type.googleapis.com/kuma.observability.v1.MonitoringAssignment",
      "canary":false,"controlPlane":{"identifier":"cp"},"unknown":{"x":[1]},"nonce":null,
      "resources":[{"@type":"kuma.observability.v1.MonitoringAssignment","mesh":"m","service":"s","extra":1,
                    "targets":[{"name":"t","address":"127.0.0.3:1","labels":null}]},
                   {"@type":"type.googleapis.com/kuma.observability.v1.MonitoringAssignment","service":"empty"}]})";
    auto response = kuma::parse_response(body);
    REQUIRE_MESSAGE(response, (response ? "" : response.error()));
    CHECK(response->version_info == "2");
    CHECK(response->nonce == "");
    CHECK(targets_of(body) == std::vector<model::Labels>{{{"__address__", "127.0.0.3:1"},
                                                          {"__meta_kuma_dataplane", "t"},
                                                          {"__meta_kuma_mesh", "m"},
                                                          {"__meta_kuma_service", "s"},
                                                          {"__metrics_path__", ""},
                                                          {"__scheme__", ""},
                                                          {"instance", "t"}}});
    CHECK(targets_of(response_body("3", "n3", "")).empty());
  }

  TEST_CASE("parse_response + targets_from_response: failures") {
    CHECK(error_of(R"({"type_url":"type.googleapis.com/other","resources":[]})") ==
          "recieved invalid typeURL for Kuma MADS v1 Resource: type.googleapis.com/other");
    CHECK(error_of(R"({"resources":[]})") == "recieved invalid typeURL for Kuma MADS v1 Resource: ");
    CHECK(error_of(response_body("1", "n", R"({"@type":"type.googleapis.com/foo.Bar","mesh":"m"})")) ==
          R"(proto: unable to resolve "type.googleapis.com/foo.Bar": "not found")");
    // Without @type every field is unknown, and v2.45 discards unknown fields.
    CHECK(error_of(response_body("1", "n", R"({"mesh":"m"})")) ==
          R"(proto: mismatched message type: got "kuma.observability.v1.MonitoringAssignment", want "")");
    CHECK(error_of(response_body("1", "n", R"({"@type":7})")) == "proto: @type field value is not a string: 7");
    CHECK(error_of(response_body("1", "n", R"({"@type":""})")) == "proto: @type field contains empty value");
    CHECK(error_of(R"({"type_url":"a","typeUrl":"b"})") == R"(proto: duplicate field "typeUrl")");
    CHECK(error_of(response_body("1", "n", R"({"@type":"kuma.observability.v1.MonitoringAssignment",
      "targets":[{"metricsPath":"/a","metrics_path":"/b"}]})")) == R"(proto: duplicate field "metrics_path")");
    CHECK(error_of(response_body("1", "n", R"(null)")) == "proto: syntax error: unexpected token null");
    CHECK(error_of(response_body("1", "n", R"({})")) ==
          R"(proto: mismatched message type: got "kuma.observability.v1.MonitoringAssignment", want "")");
    CHECK(error_of(response_body(
              "1", "n", R"({"@type":"type.googleapis.com/envoy.service.discovery.v3.DiscoveryRequest"})")) ==
          "proto: mismatched message type: got \"kuma.observability.v1.MonitoringAssignment\", want "
          "\"envoy.service.discovery.v3.DiscoveryRequest\"");
    std::string any = R"({"@type":"type.googleapis.com/kuma.observability.v1.MonitoringAssignment",)";
    CHECK(error_of(response_body("1", "n", any + R"("mesh":7})")) == "proto: invalid value for string type: 7");
    CHECK(error_of(response_body("1", "n", any + R"("targets":{}})")) == "proto: syntax error: unexpected token {");
    CHECK(error_of(response_body("1", "n", any + R"("labels":{"a":true}})")) ==
          "proto: invalid value for string type: true");
    CHECK(error_of(R"({"canary":"yes"})") == "proto: invalid value for bool type: \"yes\"");
    CHECK(error_of(R"({"version_info":1})") == "proto: invalid value for string type: 1");
    CHECK(error_of("[]") == "proto: syntax error: unexpected token [");
    CHECK(error_of("{") == "proto: syntax error: invalid JSON");
  }

  TEST_CASE("fetch: the request, the version and nonce carried over, 304, the server's path") {
    FakeControlPlane cp("/mads");
    cp.queue({{200, response_body("1", "n1", k_web_assignment)}, {304, ""}, {200, response_body("2", "n2", "")}});
    kuma::Config config = config_for(cp.url() + "/mads/");
    config.fetch_timeout = model::Duration::seconds(90);
    auto discovery = make_discovery(config);
    CHECK(discovery->endpoint() == cp.url() + "/mads/v3/discovery:monitoringassignments?fetch-timeout=1m30s");
    CHECK(discovery->timeout() == 105s);

    auto first = discovery->fetch({});
    REQUIRE_MESSAGE(first, (first ? "" : first.error()));
    REQUIRE(first->has_value());
    CHECK(**first == std::vector<model::Labels>{web_1(), web_2()});
    auto unchanged = discovery->fetch({});
    REQUIRE(unchanged);
    CHECK(!unchanged->has_value());
    auto second = discovery->fetch({});
    REQUIRE(second);
    REQUIRE(second->has_value());
    CHECK((*second)->empty());
    REQUIRE(discovery->fetch({})); // the last reply again

    const std::string type = "\"type_url\":\"type.googleapis.com/kuma.observability.v1.MonitoringAssignment\"";
    std::vector<SeenRequest> seen = cp.requests();
    REQUIRE(seen.size() == 4);
    for (const SeenRequest& r : seen) {
      CHECK(r.method == "POST");
      CHECK(r.path == "/mads/v3/discovery:monitoringassignments");
      CHECK(r.query == "fetch-timeout=1m30s");
      CHECK(r.user_agent == "Prometheus/2.45.0");
      CHECK(r.content_type == "application/json");
      CHECK(r.accept == "application/json");
      CHECK(r.authorization == "<absent>");
    }
    CHECK(seen[0].body == "{\"node\":{\"id\":\"node-a\"}," + type + "}");
    CHECK(seen[1].body == "{\"version_info\":\"1\",\"node\":{\"id\":\"node-a\"}," + type + ",\"response_nonce\":\"n1\"}");
    CHECK(seen[2].body == seen[1].body); // a 304 changes nothing
    CHECK(seen[3].body == "{\"version_info\":\"2\",\"node\":{\"id\":\"node-a\"}," + type + ",\"response_nonce\":\"n2\"}");
  }

  TEST_CASE("fetch: failures; a decoded response's version is kept even if its resources fail") {
    FakeControlPlane cp;
    auto discovery = make_discovery(config_for(cp.url()));
    CHECK(discovery->timeout() == 135s); // the default fetch_timeout, 2m, + 15s
    auto check_error = [&](const std::string& want) {
      auto r = discovery->fetch({});
      REQUIRE(!r);
      CHECK(r.error() == want);
    };
    cp.queue({{401, "denied"}});
    check_error("non 200 status '401' response during xDS fetch");
    cp.queue({{500, "oops"}});
    check_error("non 200 status '500' response during xDS fetch");
    cp.queue({{200, "{\"version_info\":"}});
    check_error("proto: syntax error: invalid JSON");
    cp.queue({{200, R"({"version_info":"5","nonce":"n5","type_url":"wrong"})"}});
    check_error("recieved invalid typeURL for Kuma MADS v1 Resource: wrong");
    cp.queue({{304, ""}});
    REQUIRE(discovery->fetch({}));
    CHECK(cp.requests().back().body.starts_with("{\"version_info\":\"5\","));

    std::string url = cp.url();
    cp.stop();
    auto unreachable = discovery->fetch({});
    REQUIRE(!unreachable);
    CHECK(unreachable.error().starts_with("Post \"" + url + "/v3/discovery:monitoringassignments?fetch-timeout=2m\": "));
  }

  TEST_CASE("fetch: the HTTP client config's auth, and user:password in the server URL") {
    FakeControlPlane cp;
    kuma::Config config = config_for(cp.url());
    config.http_client.authorization.emplace() = {"Bearer", {"tok3n"}, "", ""};
    REQUIRE(make_discovery(config)->fetch({}));
    CHECK(cp.requests().back().authorization == "Bearer tok3n");
    REQUIRE(make_discovery(config_for("http://u:p@127.0.0.1:" + std::to_string(cp.port)))->fetch({}));
    CHECK(cp.requests().back().authorization == "Basic dTpw");
    // Go's http.Client sets the URL's before Prometheus's round tripper runs.
    config.server = "http://u%40x:p@127.0.0.1:" + std::to_string(cp.port);
    REQUIRE(make_discovery(config)->fetch({}));
    CHECK(cp.requests().back().authorization == "Basic dUB4OnA=");
  }

  TEST_CASE("make: v2.45's creation errors; node_id_for") {
    auto made = kuma::Discovery::make(config_for("ftp://127.0.0.1:1"), "n");
    REQUIRE(!made);
    CHECK(made.error() == "kuma_sd: invalid xDS server URL protocol. must be either 'http' or 'https'");
    kuma::Config config = config_for("http://127.0.0.1:1");
    config.http_client.tls_config.ca_file = "/nonexistent/ca.pem";
    auto discoverer = config.make_discoverer({});
    REQUIRE(!discoverer);
    CHECK(discoverer.error() == "kuma_sd: unable to load specified CA cert /nonexistent/ca.pem: open "
                                "/nonexistent/ca.pem: no such file or directory");

    CHECK(kuma::node_id_for(config) == "node-a");
    config.client_id.clear();
    auto fqdn = util::fqdn();
    REQUIRE(fqdn);
    CHECK(kuma::node_id_for(config) == *fqdn);
  }

  TEST_CASE("make_discoverer: a group per 200, nothing on 304 or failure, fetches on the refresh ticker") {
    FakeControlPlane cp;
    cp.queue({{200, response_body("1", "n1", k_web_assignment)},
              {304, ""},
              {500, "down"},
              {200, response_body("2", "n2", "")},
              {304, ""}});
    kuma::Config config = config_for(cp.url());
    config.refresh_interval = model::Duration::seconds(1);
    test::RecordingSink sink;
    auto start = std::chrono::steady_clock::now();
    test::RunningDiscoverer running(config.make_discoverer({}), sink);
    REQUIRE(sink.wait_for_reports(1));
    CHECK(sink.report(0) == "");
    REQUIRE(sink.update_count() == 1);
    REQUIRE(sink.updates[0].size() == 1);
    CHECK(sink.updates[0][0]->source == "kuma");
    CHECK(sink.updates[0][0]->targets == std::vector<model::Labels>{web_1(), web_2()});

    REQUIRE(sink.wait_for_reports(2)); // 304
    CHECK(sink.report(1) == "");
    REQUIRE(sink.wait_for_reports(3)); // 500
    CHECK(sink.report(2) == "non 200 status '500' response during xDS fetch");
    CHECK(sink.update_count() == 1); // the manager keeps the two targets
    REQUIRE(sink.wait_for_reports(4));
    CHECK(sink.report(3) == "");
    REQUIRE(sink.update_count() == 2);
    CHECK(sink.updates[1][0]->source == "kuma");
    CHECK(sink.updates[1][0]->targets.empty());
    CHECK(std::chrono::steady_clock::now() - start >= 2900ms); // one fetch per 1s tick
    CHECK(running.stop() < 500ms);
    CHECK(cp.requests().size() <= 5);
  }

  TEST_CASE("make_discoverer: a fetch that outlasts a tick is followed at once, then the ticker again") {
    FakeControlPlane cp;
    cp.queue({{200, response_body("1", "n1", ""), 1300ms}, {304, ""}});
    kuma::Config config = config_for(cp.url());
    config.refresh_interval = model::Duration::seconds(1);
    test::RecordingSink sink;
    test::RunningDiscoverer running(config.make_discoverer({}), sink);
    while (cp.requests().size() < 3) {
      std::this_thread::sleep_for(5ms);
    }
    CHECK(running.stop() < 500ms);
    std::vector<SeenRequest> seen = cp.requests();
    auto after_first = [&](size_t i) { return seen[i].at - seen[0].at; };
    CHECK(after_first(1) >= 1300ms); // right after the slow reply (the 1s tick is kept)...
    CHECK(after_first(1) < 1700ms);
    CHECK(after_first(2) >= 1800ms); // ...then at the 2s tick, not 1s after the second fetch
    CHECK(after_first(2) < 2300ms);
  }

  TEST_CASE("make_discoverer: no report for a 304 before a first 200; stops at once during a long poll") {
    FakeControlPlane cp;
    cp.queue({{304, "", 2s}});
    kuma::Config config = config_for(cp.url());
    test::RecordingSink sink;
    test::RunningDiscoverer running(config.make_discoverer({}), sink);
    while (cp.requests().empty()) {
      std::this_thread::sleep_for(5ms);
    }
    CHECK(running.stop() < 500ms);
    CHECK(sink.reports.empty()); // a cancelled fetch is not reported

    FakeControlPlane quick;
    kuma::Config quick_config = config_for(quick.url());
    quick_config.refresh_interval = model::Duration::seconds(1);
    test::RecordingSink quiet;
    test::RunningDiscoverer second(quick_config.make_discoverer({}), quiet);
    while (quick.requests().size() < 2) {
      std::this_thread::sleep_for(5ms);
    }
    CHECK(second.stop() < 500ms);
    CHECK(quiet.reports.empty()); // only 304s: no result yet
  }
}
