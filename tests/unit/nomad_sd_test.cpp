// nomad_sd: the service list and registration mappings (pure), and the
// discoverer against a loopback fixture that serves Nomad's service API.

#include <httplib.h> // CPPHTTPLIB_OPENSSL_SUPPORT comes from its pkg-config flags

#include <chrono>
#include <map>
#include <mutex>
#include <thread>

#include <doctest/doctest.h>

#include "discovery/nomad.h"
#include "loopback_server.h"
#include "test_util.h"
#include "util/strings.h"

using namespace sdscope;
using namespace std::chrono_literals;
namespace nomad = sdscope::discovery::nomad;

namespace {

// What the fixture saw of one request.
struct SeenRequest {
  std::string method, path, query, user_agent, accept_encoding, authorization;
};

// A fake Nomad agent on 127.0.0.1: /v1/services answers `services`, and
// /v1/service/<name> answers registrations[name] (404 when missing); every
// request is recorded.
class FakeNomad {
public:
  FakeNomad() {
    m_server.set_keep_alive_timeout(1);
    auto handle = [this](const httplib::Request& req, httplib::Response& res) {
      std::chrono::milliseconds wait;
      {
        std::lock_guard lock(m_mutex);
        std::string query;
        size_t at = req.target.find('?');
        if (at != std::string::npos) {
          query = req.target.substr(at + 1);
        }
        std::string raw_path = req.target.substr(0, at); // req.path is unescaped
        seen.push_back({req.method, raw_path, query, req.get_header_value("User-Agent"),
                        req.get_header_value("Accept-Encoding"),
                        req.has_header("Authorization") ? req.get_header_value("Authorization") : "<absent>"});
        wait = delay;
        if (status != 200) {
          res.status = status;
          res.set_content(error_body, "text/plain");
        } else if (raw_path == "/v1/services") {
          res.set_content(services, "application/json");
        } else if (auto it = registrations.find(raw_path.substr(std::string("/v1/service/").size()));
                   it != registrations.end()) {
          res.set_content(it->second, "application/json");
        } else {
          res.status = 404;
          res.set_content("service not found\n", "text/plain");
        }
        res.set_header("X-Nomad-Index", "7");
      }
      std::this_thread::sleep_for(wait);
    };
    m_server.Get(R"(/v1/services)", handle);
    m_server.Get(R"(/v1/service/.*)", handle);
    port = m_serving.start(m_server);
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port); }
  template <class Fn> void change(Fn fn) {
    std::lock_guard lock(m_mutex);
    fn();
  }
  std::vector<SeenRequest> requests() {
    std::lock_guard lock(m_mutex);
    return seen;
  }
  void stop() { m_serving.stop(); }

  int port = 0;
  int status = 200;
  std::string error_body = "ACL token not found\n";
  std::string services = "[]";
  std::map<std::string, std::string> registrations; // by path-escaped name
  std::chrono::milliseconds delay{0};
  std::vector<SeenRequest> seen;

private:
  std::mutex m_mutex;
  httplib::Server m_server;
  test::LoopbackServer m_serving;
};

nomad::Config config_for(const std::string& server, model::Duration interval = model::Duration::seconds(60)) {
  nomad::Config config;
  config.server = server;
  config.refresh_interval = interval;
  return config;
}

std::unique_ptr<nomad::Discovery> make_discovery(const nomad::Config& config) {
  auto d = nomad::Discovery::make(config);
  REQUIRE_MESSAGE(d, (d ? "" : d.error()));
  return std::move(*d);
}

model::Labels web_target(const std::string& address, const std::string& port, const std::string& id) {
  return model::Labels{{"__address__", address + ":" + port},
                       {"__meta_nomad_address", address},
                       {"__meta_nomad_dc", "dc1"},
                       {"__meta_nomad_namespace", "default"},
                       {"__meta_nomad_node_id", "node-1"},
                       {"__meta_nomad_service", "web"},
                       {"__meta_nomad_service_address", address},
                       {"__meta_nomad_service_id", id},
                       {"__meta_nomad_service_port", port},
                       {"__meta_nomad_tags", ",http,prod,"}};
}

const char* const k_services = R"([
  {"Namespace":"default","Services":[{"ServiceName":"web","Tags":["http","prod"]},{"ServiceName":"db/main","Tags":[]}]},
  {"Namespace":"other","Services":[]}])";

const char* const k_web = R"([
  {"ID":"_nomad-task-1","ServiceName":"web","Namespace":"default","NodeID":"node-1","Datacenter":"dc1",
   "JobID":"j","AllocID":"a1","Tags":["http","prod"],"Address":"127.0.0.1","Port":8080,"CreateIndex":5,"ModifyIndex":6},
  {"ID":"_nomad-task-2","ServiceName":"web","Namespace":"default","NodeID":"node-1","Datacenter":"dc1",
   "JobID":"j","AllocID":"a2","Tags":["http","prod"],"Address":"127.0.0.2","Port":8081}])";

const char* const k_db = R"([
  {"ID":"_nomad-task-3","ServiceName":"db/main","Namespace":"default","NodeID":"node-2","Datacenter":"dc2",
   "Tags":[],"Address":"::1","Port":5432}])";

} // namespace

TEST_SUITE("discovery::nomad") {
  TEST_CASE("service_names: every service of every namespace, in order") {
    auto names = nomad::service_names(k_services);
    REQUIRE_MESSAGE(names, (names ? "" : names.error()));
    CHECK(*names == std::vector<std::string>{"web", "db/main"});
    names = nomad::service_names(R"([{"namespace":"x","services":[{"servicename":"lower"}]},null,{"Services":null}])");
    REQUIRE(names);
    CHECK(*names == std::vector<std::string>{"lower"}); // names match case-insensitively
    names = nomad::service_names("null");
    REQUIRE(names);
    CHECK(names->empty());
    names = nomad::service_names(R"([{"Services":[{"ServiceName":"first"}]}] [garbage)");
    REQUIRE(names); // json.Decoder reads one value and stops there
    CHECK(*names == std::vector<std::string>{"first"});
  }

  TEST_CASE("service_targets: labels, address, tags joined with the separator") {
    auto targets = nomad::service_targets(k_web, ",");
    REQUIRE_MESSAGE(targets, (targets ? "" : targets.error()));
    CHECK(*targets == std::vector<model::Labels>{web_target("127.0.0.1", "8080", "_nomad-task-1"),
                                                 web_target("127.0.0.2", "8081", "_nomad-task-2")});

    targets = nomad::service_targets(k_db, "|");
    REQUIRE(targets);
    CHECK(*targets == std::vector<model::Labels>{{{"__address__", "[::1]:5432"},
                                                  {"__meta_nomad_address", "::1"},
                                                  {"__meta_nomad_dc", "dc2"},
                                                  {"__meta_nomad_namespace", "default"},
                                                  {"__meta_nomad_node_id", "node-2"},
                                                  {"__meta_nomad_service", "db/main"},
                                                  {"__meta_nomad_service_address", "::1"},
                                                  {"__meta_nomad_service_id", "_nomad-task-3"},
                                                  {"__meta_nomad_service_port", "5432"}}}); // no tags, no label

    targets = nomad::service_targets(R"([{"Tags":["a","b"],"Port":0}])", "|");
    REQUIRE(targets);
    REQUIRE(targets->size() == 1);
    CHECK((*targets)[0].get("__meta_nomad_tags") == "|a|b|");
    CHECK((*targets)[0].get("__address__") == ":0");
    CHECK((*targets)[0].get("__meta_nomad_service_port") == "0");
  }

  TEST_CASE("bodies Go's decoder rejects") {
    auto check_names = [](std::string_view body, const std::string& want) {
      auto names = nomad::service_names(body);
      REQUIRE_MESSAGE(!names, body);
      CHECK(names.error() == want);
    };
    check_names("", "EOF");
    check_names("{}", "json: cannot unmarshal object into Go value of type []*api.ServiceRegistrationListStub");
    check_names("[1]", "json: cannot unmarshal number into Go value of type api.ServiceRegistrationListStub");
    check_names(R"([{"Namespace":1}])",
                "json: cannot unmarshal number into Go struct field ServiceRegistrationListStub.Namespace of type "
                "string");
    check_names(R"([{"Services":{}}])", "json: cannot unmarshal object into Go struct field "
                                        "ServiceRegistrationListStub.Services of type []*api.ServiceRegistrationStub");
    check_names(R"([{"Services":[{"ServiceName":true}]}])",
                "json: cannot unmarshal bool into Go struct field ServiceRegistrationStub.Services.ServiceName of "
                "type string");
    check_names(R"([{"Services":[{"Tags":"a"}]}])",
                "json: cannot unmarshal string into Go struct field ServiceRegistrationStub.Services.Tags of type "
                "[]string");
    check_names("[", "unexpected EOF");
    check_names(R"([{"Services":[{"ServiceName":"a"})", "unexpected EOF");
    check_names("[x]", "invalid JSON in response body");

    auto check_targets = [](std::string_view body, const std::string& want) {
      auto targets = nomad::service_targets(body, ",");
      REQUIRE_MESSAGE(!targets, body);
      CHECK(targets.error() == want);
    };
    check_targets(R"({"a":1})", "json: cannot unmarshal object into Go value of type []*api.ServiceRegistration");
    check_targets(R"([{"Port":"80"}])",
                  "json: cannot unmarshal string into Go struct field ServiceRegistration.Port of type int");
    check_targets(R"([{"Port":1.5}])",
                  "json: cannot unmarshal number 1.5 into Go struct field ServiceRegistration.Port of type int");
    check_targets(R"([{"Address":["a"]}])",
                  "json: cannot unmarshal array into Go struct field ServiceRegistration.Address of type string");
    check_targets(R"([{"JobID":1}])",
                  "json: cannot unmarshal number into Go struct field ServiceRegistration.JobID of type string");
    check_targets(R"([{"CreateIndex":-1}])",
                  "json: cannot unmarshal number -1 into Go struct field ServiceRegistration.CreateIndex of type "
                  "uint64");
    check_targets(R"([{"Tags":[1]}])",
                  "json: cannot unmarshal number into Go struct field ServiceRegistration.Tags of type string");
  }

  TEST_CASE("url.PathEscape and url.QueryEscape, as the API client applies them") {
    CHECK(util::path_escape("web") == "web");
    CHECK(util::path_escape("a/b c?d;e,f") == "a%2Fb%20c%3Fd%3Be%2Cf");
    CHECK(util::path_escape("$&+:=@-_.~!*'()%") == "$&+:=@-_.~%21%2A%27%28%29%25");
    CHECK(util::path_escape("\xc3\xa9") == "%C3%A9");
    CHECK(util::query_escape("a b&c=d/e~") == "a+b%26c%3Dd%2Fe~");
  }

  TEST_CASE("refresh: the requests (path, query, headers) and one group with every registration") {
    FakeNomad fx;
    fx.change([&] {
      fx.services = k_services;
      fx.registrations["web"] = k_web;
      fx.registrations["db%2Fmain"] = k_db;
    });
    auto discovery = make_discovery(config_for(fx.url() + "/ignored/path"));
    auto groups = discovery->refresh({});
    REQUIRE_MESSAGE(groups, (groups ? "" : groups.error()));
    REQUIRE(groups->size() == 1);
    CHECK((*groups)[0].source == "Nomad");
    CHECK((*groups)[0].labels.empty());
    REQUIRE((*groups)[0].targets.size() == 3);
    CHECK((*groups)[0].targets[0] == web_target("127.0.0.1", "8080", "_nomad-task-1"));
    CHECK((*groups)[0].targets[2].get("__address__") == "[::1]:5432");

    std::vector<SeenRequest> seen = fx.requests();
    REQUIRE(seen.size() == 3);
    CHECK(seen[0].method == "GET");
    CHECK(seen[0].path == "/v1/services");
    CHECK(seen[1].path == "/v1/service/web");
    CHECK(seen[2].path == "/v1/service/db%2Fmain"); // url.PathEscape
    for (const SeenRequest& r : seen) {
      CHECK(r.query == "namespace=default&region=global&stale=");
      CHECK(r.user_agent == "Go-http-client/1.1");
      CHECK(r.accept_encoding == "gzip");
      CHECK(r.authorization == "<absent>");
    }
  }

  TEST_CASE("refresh: namespace, region and allow_stale shape the query; userinfo and basic_auth") {
    FakeNomad fx;
    nomad::Config config = config_for(fx.url());
    config.namespace_ = "team a&b";
    config.region = "";
    config.allow_stale = false;
    config.http_client.basic_auth.emplace() = {"u", "", "", {"p"}, "", ""};
    REQUIRE(make_discovery(config)->refresh({}));
    std::vector<SeenRequest> seen = fx.requests();
    REQUIRE(seen.size() == 1);
    CHECK(seen[0].query == "namespace=team+a%26b");
    CHECK(seen[0].authorization == "Basic dTpw");

    // The API client sends user:password from the address as basic auth,
    // before Prometheus's round tripper would add its own.
    config.server = "http://nomad:s%40cret@127.0.0.1:" + std::to_string(fx.port);
    REQUIRE(make_discovery(config)->refresh({}));
    seen = fx.requests();
    CHECK(seen.back().authorization == "Basic bm9tYWQ6c0BjcmV0");
  }

  TEST_CASE("refresh: a gzip-encoded body is decoded") {
    FakeNomad fx;
    std::string big = R"([{"Namespace":"default","Services":[)";
    for (int i = 0; i < 200; ++i) {
      big += std::string(i == 0 ? "" : ",") + R"({"ServiceName":"web","Tags":["padding-to-compress"]})";
    }
    fx.change([&] {
      fx.services = big + "]}]";
      fx.registrations["web"] = k_web;
    });
    // The fixture does compress for such a request.
    httplib::Client raw("127.0.0.1", fx.port);
    raw.set_decompress(false);
    httplib::Result probe = raw.Get("/v1/services", {{"Accept-Encoding", "gzip"}});
    REQUIRE(probe);
    CHECK(probe->get_header_value("Content-Encoding") == "gzip");

    auto groups = make_discovery(config_for(fx.url()))->refresh({});
    REQUIRE_MESSAGE(groups, (groups ? "" : groups.error()));
    CHECK((*groups)[0].targets.size() == 400);
  }

  TEST_CASE("refresh: failures") {
    FakeNomad fx;
    fx.change([&] {
      fx.services = k_services;
      fx.registrations["web"] = k_web;
    });
    auto discovery = make_discovery(config_for(fx.url(), model::Duration{500}));
    auto check_error = [&](const std::string& want) {
      auto groups = discovery->refresh({});
      REQUIRE(!groups);
      CHECK(groups.error() == want);
    };
    check_error("failed to fetch services: Unexpected response code: 404 (service not found)"); // db/main
    fx.change([&] { fx.status = 403; });
    check_error("Unexpected response code: 403 (ACL token not found)");
    fx.change([&] { fx.status = 500; fx.error_body = " \n"; });
    check_error("Unexpected response code: 500 ()");
    fx.change([&] {
      fx.status = 200;
      fx.services = "{";
    });
    check_error("unexpected EOF");
    fx.change([&] { fx.services = "{]"; });
    check_error("invalid JSON in response body");
    fx.change([&] { fx.services = ""; });
    check_error("Got 0 byte response with non-nil decode object");
    fx.change([&] {
      fx.services = k_services;
      fx.registrations["db%2Fmain"] = R"([{"Port":"x"}])";
    });
    check_error("failed to fetch services: json: cannot unmarshal string into Go struct field "
                "ServiceRegistration.Port of type int");

    fx.change([&] {
      fx.registrations["db%2Fmain"] = k_db;
      fx.delay = 300ms; // three requests: the third runs out of the refresh's 500ms
    });
    auto start = std::chrono::steady_clock::now();
    auto slow = discovery->refresh({});
    CHECK(std::chrono::steady_clock::now() - start < 800ms);
    REQUIRE(!slow);
    CHECK(slow.error().starts_with("failed to fetch services: Get \"" + fx.url() + "/v1/service/"));
    CHECK(slow.error().find("context deadline exceeded") != std::string::npos);

    std::string url = fx.url();
    fx.stop();
    auto unreachable = discovery->refresh({});
    REQUIRE(!unreachable);
    CHECK(unreachable.error().starts_with("Get \"" + url + "/v1/services?namespace=default&region=global&stale=\": "));
  }

  TEST_CASE("make: an unparsable server address or CA file is an error") {
    auto made = nomad::Discovery::make(config_for("http://[::1"));
    REQUIRE(!made);
    CHECK(made.error() == "invalid address 'http://[::1': parse \"http://[::1\": missing ']' in host");
    nomad::Config config = config_for("http://127.0.0.1:1");
    config.http_client.tls_config.ca_file = "/nonexistent/ca.pem";
    auto discoverer = config.make_discoverer({});
    REQUIRE(!discoverer);
    CHECK(discoverer.error() ==
          "unable to load specified CA cert /nonexistent/ca.pem: open /nonexistent/ca.pem: no such file or directory");
  }

  TEST_CASE("make_discoverer: reports each failure and keeps the last good groups") {
    FakeNomad fx;
    fx.change([&] {
      fx.services = R"([{"Namespace":"default","Services":[{"ServiceName":"web"}]}])";
      fx.registrations["web"] = k_web;
    });
    test::RecordingSink sink;
    test::RunningDiscoverer running(config_for(fx.url(), model::Duration::seconds(1)).make_discoverer({}), sink);
    REQUIRE(sink.wait_for_reports(1));
    CHECK(sink.report(0) == "");
    REQUIRE(sink.update_count() == 1);
    REQUIRE(sink.updates[0].size() == 1);
    CHECK(sink.updates[0][0]->targets.size() == 2);

    fx.change([&] { fx.status = 401; });
    REQUIRE(sink.wait_for_reports(2));
    CHECK(sink.report(1) == "Unexpected response code: 401 (ACL token not found)");
    CHECK(sink.update_count() == 1); // nothing sent: the manager keeps the two targets

    fx.change([&] {
      fx.status = 200;
      fx.registrations["web"] = "[]";
    });
    REQUIRE(sink.wait_for_reports(3));
    CHECK(sink.report(2) == "");
    REQUIRE(sink.update_count() == 2);
    CHECK(sink.updates[1][0]->source == "Nomad");
    CHECK(sink.updates[1][0]->targets.empty()); // the one group is re-sent without them
    CHECK(running.stop() < 500ms);
  }

  TEST_CASE("make_discoverer: stops at once during a slow request") {
    FakeNomad fx;
    fx.change([&] { fx.delay = 2s; });
    test::RecordingSink sink;
    test::RunningDiscoverer running(config_for(fx.url()).make_discoverer({}), sink);
    while (fx.requests().empty()) {
      std::this_thread::sleep_for(5ms);
    }
    CHECK(running.stop() < 500ms);
    CHECK(sink.reports.empty()); // a cancelled refresh is not reported
  }
}
