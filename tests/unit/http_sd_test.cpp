// http_sd: the response mapping (pure) and the discoverer against a
// loopback fixture server.

#include <httplib.h> // CPPHTTPLIB_OPENSSL_SUPPORT comes from its pkg-config flags

#include <atomic>
#include <chrono>
#include <mutex>
#include <thread>

#include <doctest/doctest.h>

#include "discovery/http.h"
#include "loopback_server.h"
#include "test_util.h"

using namespace sdscope;
using namespace std::chrono_literals;

namespace {

// A cpp-httplib server on 127.0.0.1 and an ephemeral port.
class SdFixture {
public:
  void start() {
    server.set_keep_alive_timeout(1);
    port = m_serving.start(server);
  }
  std::string url(const std::string& path) const { return "http://127.0.0.1:" + std::to_string(port) + path; }

  httplib::Server server;
  int port = 0;

private:
  test::LoopbackServer m_serving;
};

net::HttpResponse json_response(std::string body, std::string content_type = "application/json") {
  net::HttpResponse r;
  r.status = 200;
  r.status_text = "OK";
  r.content_type = std::move(content_type);
  r.body = std::move(body);
  return r;
}

discovery::http::Config config_for(const std::string& url, model::Duration interval = model::Duration::minutes(1)) {
  discovery::http::Config config;
  config.url = url;
  config.refresh_interval = interval;
  return config;
}

std::unique_ptr<discovery::http::Discovery> make_discovery(const discovery::http::Config& config) {
  auto d = discovery::http::Discovery::make(config);
  REQUIRE_MESSAGE(d, (d ? "" : d.error()));
  return std::move(*d);
}

} // namespace

TEST_SUITE("discovery::http") {
  TEST_CASE("groups_from_response: Source, __meta_url and the group labels") {
    const std::string url = "http://127.0.0.1:1/sd";
    auto groups = discovery::http::groups_from_response(
        json_response(R"([{"targets":["a:80","b:81"],"labels":{"env":"prod","__meta_url":"x"}},{"targets":[]}])"),
        url);
    REQUIRE_MESSAGE(groups, (groups ? "" : groups.error()));
    REQUIRE(groups->size() == 2);
    CHECK((*groups)[0].source == url + ":0");
    CHECK((*groups)[1].source == url + ":1");
    CHECK((*groups)[0].labels == model::Labels{{"__meta_url", url}, {"env", "prod"}});
    CHECK((*groups)[1].labels == model::Labels{{"__meta_url", url}});
    REQUIRE((*groups)[0].targets.size() == 2);
    CHECK((*groups)[0].targets[1] == model::Labels{{"__address__", "b:81"}});

    auto empty = discovery::http::groups_from_response(json_response("[]"), url);
    REQUIRE(empty);
    CHECK(empty->empty());
  }

  TEST_CASE("groups_from_response: status, content type and body errors") {
    const std::string url = "http://127.0.0.1:1/sd";
    auto check_error = [&](const net::HttpResponse& response, const std::string& want) {
      auto groups = discovery::http::groups_from_response(response, url);
      REQUIRE(!groups);
      CHECK(groups.error() == want);
    };
    net::HttpResponse not_found = json_response("[]");
    not_found.status = 404;
    not_found.status_text = "Not Found";
    check_error(not_found, "server returned HTTP status 404 Not Found");
    check_error(json_response("[]", "text/plain"), R"(unsupported content type "text/plain")");
    check_error(json_response("[]", "application/json; charset=latin1"),
                R"(unsupported content type "application/json; charset=latin1")");
    check_error(json_response("[]", "application/jsonx"), R"(unsupported content type "application/jsonx")");
    check_error(json_response("[]", ""), R"(unsupported content type "")");
    check_error(json_response("[null]"), "nil target group item found");

    for (const char* accepted : {"application/json", "APPLICATION/JSON", "application/json;charset=utf-8",
                                 "application/json;   charset=\"UTF-8\"", " application/json "}) {
      CHECK_MESSAGE(discovery::http::groups_from_response(json_response("[]", accepted), url), accepted);
    }
  }

  TEST_CASE("refresh: request headers, and vanished groups sent empty") {
    SdFixture fx;
    std::mutex mutex;
    std::string body = R"([{"targets":["a:1"]},{"targets":["b:2"]},{"targets":["c:3"]}])";
    int status = 200;
    httplib::Headers seen;
    fx.server.Get("/sd", [&](const httplib::Request& req, httplib::Response& res) {
      std::lock_guard lock(mutex);
      seen = req.headers;
      res.status = status;
      res.set_content(body, "application/json");
    });
    fx.start();
    auto discovery = make_discovery(config_for(fx.url("/sd"), model::Duration{1500}));

    auto groups = discovery->refresh({});
    REQUIRE_MESSAGE(groups, (groups ? "" : groups.error()));
    CHECK(groups->size() == 3);
    auto header = [&](const char* name) {
      auto it = seen.find(name);
      return it == seen.end() ? std::string("<absent>") : it->second;
    };
    CHECK(header("Accept") == "application/json");
    CHECK(header("User-Agent") == "Prometheus/2.45.0");
    CHECK(header("X-Prometheus-Refresh-Interval-Seconds") == "1.5");

    {
      std::lock_guard lock(mutex);
      status = 500;
    }
    auto failed = discovery->refresh({});
    REQUIRE(!failed);
    CHECK(failed.error() == "server returned HTTP status 500 Internal Server Error");

    {
      std::lock_guard lock(mutex);
      status = 200;
      body = R"([{"targets":["a:1"]}])";
    }
    groups = discovery->refresh({});
    REQUIRE(groups);
    REQUIRE(groups->size() == 3); // the failure in between did not forget the 3
    CHECK((*groups)[0].targets.size() == 1);
    for (size_t i : {1, 2}) {
      CHECK((*groups)[i].source == fx.url("/sd") + ":" + std::to_string(i));
      CHECK((*groups)[i].targets.empty());
      CHECK((*groups)[i].labels.empty());
    }

    groups = discovery->refresh({});
    REQUIRE(groups);
    CHECK(groups->size() == 1); // vanished groups are sent once
  }

  TEST_CASE("refresh: the interval header is whole seconds when it can be") {
    SdFixture fx;
    std::string interval;
    fx.server.Get("/sd", [&](const httplib::Request& req, httplib::Response& res) {
      interval = req.get_header_value("X-Prometheus-Refresh-Interval-Seconds");
      res.set_content("[]", "application/json");
    });
    fx.start();
    REQUIRE(make_discovery(config_for(fx.url("/sd")))->refresh({}));
    CHECK(interval == "60");
  }

  TEST_CASE("make_discoverer: runs, reports, and stops at once during a slow request") {
    SdFixture fx;
    std::atomic<int> requests{0};
    std::atomic<bool> release{false};
    fx.server.Get("/sd", [&](const httplib::Request&, httplib::Response& res) {
      if (++requests > 1) {
        for (int i = 0; i < 500 && !release; ++i) {
          std::this_thread::sleep_for(10ms);
        }
      }
      res.set_content(R"([{"targets":["a:1"]}])", "application/json");
    });
    fx.start();
    discovery::http::Config config = config_for(fx.url("/sd"), model::Duration::seconds(1));
    auto discoverer = config.make_discoverer({});
    REQUIRE_MESSAGE(discoverer, (discoverer ? "" : discoverer.error()));

    test::RecordingSink sink;
    std::stop_source stop;
    std::thread runner([&] { (*discoverer)->run(stop.get_token(), sink); });
    REQUIRE(sink.wait_for_reports(1, 5s));
    CHECK(sink.reports[0] == "");
    REQUIRE(sink.updates.size() == 1);
    CHECK(sink.updates[0][0]->source == fx.url("/sd") + ":0");

    while (requests < 2) { // the second refresh is now hanging in the server
      std::this_thread::sleep_for(10ms);
    }
    auto start = std::chrono::steady_clock::now();
    stop.request_stop();
    runner.join();
    CHECK(std::chrono::steady_clock::now() - start < 500ms);
    CHECK(sink.reports.size() == 1); // a cancelled refresh is not reported
    release = true;
  }

  TEST_CASE("make_discoverer: a client that cannot be built is an error") {
    discovery::http::Config config = config_for("https://127.0.0.1:1/sd");
    config.http_client.tls_config.ca_file = "/nonexistent/ca.pem";
    auto discoverer = config.make_discoverer({});
    REQUIRE(!discoverer);
    CHECK(discoverer.error() ==
          "unable to load specified CA cert /nonexistent/ca.pem: open /nonexistent/ca.pem: no such file or directory");
  }

  TEST_CASE("refresh: transport errors keep Go's shape and hide the URL password") {
    SdFixture fx;
    fx.start();
    std::string port = std::to_string(fx.port);
    fx.server.stop();
    auto discovery = make_discovery(config_for("http://user:sd-password@127.0.0.1:" + port + "/sd"));
    auto groups = discovery->refresh({});
    REQUIRE(!groups);
    CHECK(groups.error().starts_with("Get \"http://user:***@127.0.0.1:" + port + "/sd\": "));
    CHECK(groups.error().find("sd-password") == std::string::npos);
  }
}
