// marathon_sd: the app list mapping (pure), and the discoverer against a
// loopback fixture that serves Marathon's app list.

#include <httplib.h> // CPPHTTPLIB_OPENSSL_SUPPORT comes from its pkg-config flags

#include <atomic>
#include <chrono>
#include <mutex>
#include <thread>

#include <doctest/doctest.h>

#include "discovery/marathon.h"
#include "loopback_server.h"
#include "test_util.h"

using namespace sdscope;
using namespace std::chrono_literals;
namespace marathon = sdscope::discovery::marathon;

namespace {

// A fake Marathon on 127.0.0.1: serves `body` with `status` at /v2/apps/
// and records the requests it saw.
class FakeMarathon {
public:
  FakeMarathon() {
    m_server.set_keep_alive_timeout(1);
    m_server.Get("/v2/apps/", [this](const httplib::Request& req, httplib::Response& res) {
      std::chrono::milliseconds wait;
      {
        std::lock_guard lock(m_mutex);
        ++requests;
        authorization = req.has_header("Authorization") ? req.get_header_value("Authorization") : "<absent>";
        embed = req.get_param_value("embed");
        user_agent = req.get_header_value("User-Agent");
        res.status = status;
        res.set_content(body, "application/json");
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
  std::string body = R"({"apps":[]})";
  std::chrono::milliseconds delay{0};
  int requests = 0;
  std::string authorization, embed, user_agent;

private:
  std::mutex m_mutex;
  httplib::Server m_server;
  test::LoopbackServer m_serving;
};

marathon::Config config_for(std::vector<std::string> servers, model::Duration interval = model::Duration::seconds(30)) {
  marathon::Config config;
  config.servers = std::move(servers);
  config.refresh_interval = interval;
  return config;
}

std::unique_ptr<marathon::Discovery> make_discovery(const marathon::Config& config) {
  auto d = marathon::Discovery::make(config);
  REQUIRE_MESSAGE(d, (d ? "" : d.error()));
  return std::move(*d);
}

std::vector<model::TargetGroup> groups_of(std::string_view body) {
  auto groups = marathon::groups_from_apps(body);
  REQUIRE_MESSAGE(groups, (groups ? "" : groups.error()));
  return *groups;
}

// The targets of the only group body maps to.
std::vector<model::Labels> targets_of(std::string_view body) {
  std::vector<model::TargetGroup> groups = groups_of(body);
  REQUIRE(groups.size() == 1);
  return groups[0].targets;
}

const char* const k_two_apps = R"({"apps":[
  {"id":"/web","tasks":[{"id":"web.1","host":"127.0.0.1","ports":[31000]}]},
  {"id":"/db","tasks":[{"id":"db.1","host":"127.0.0.2","ports":[31001]}]}]})";

} // namespace

TEST_SUITE("discovery::marathon") {
  TEST_CASE("groups_from_apps: group labels, Source, sanitized app labels, image") {
    auto groups = groups_of(R"({"apps":[{"id":"/web","labels":{"team":"x","a.b-c":"y"},
      "container":{"docker":{"image":"img:1"}},
      "tasks":[{"id":"web.1","host":"agent1","ports":[31000]}]}]})");
    REQUIRE(groups.size() == 1);
    CHECK(groups[0].source == "/web");
    CHECK(groups[0].labels == model::Labels{{"__meta_marathon_app", "/web"},
                                            {"__meta_marathon_app_label_a_b_c", "y"},
                                            {"__meta_marathon_app_label_team", "x"},
                                            {"__meta_marathon_image", "img:1"}});
    REQUIRE(groups[0].targets.size() == 1);
    CHECK(groups[0].targets[0] == model::Labels{{"__address__", "agent1:31000"},
                                                {"__meta_marathon_port_index", "0"},
                                                {"__meta_marathon_task", "web.1"}});
  }

  TEST_CASE("groups_from_apps: port mappings (Marathon >= 1.5) on the host network") {
    // hostPort 0 is taken from the task (same number of ports); labels per port.
    auto targets = targets_of(R"({"apps":[{"id":"/a","container":{"portMappings":[
        {"containerPort":80,"hostPort":0,"labels":{"p":"one"}},{"containerPort":81,"hostPort":9000,"labels":{}}]},
      "portDefinitions":[{"port":1234,"labels":{"ignored":"1"}}],
      "tasks":[{"id":"a.1","host":"h1","ports":[31000,31001],"ipAddresses":[{"ipAddress":"10.0.0.5"}]}]}]})");
    REQUIRE(targets.size() == 2);
    CHECK(targets[0] == model::Labels{{"__address__", "h1:31000"},
                                      {"__meta_marathon_port_index", "0"},
                                      {"__meta_marathon_port_mapping_label_p", "one"},
                                      {"__meta_marathon_task", "a.1"}});
    CHECK(targets[1] == model::Labels{{"__address__", "h1:9000"},
                                      {"__meta_marathon_port_index", "1"},
                                      {"__meta_marathon_task", "a.1"}});
  }

  TEST_CASE("groups_from_apps: a container network uses the container port and the task's first IP") {
    auto targets = targets_of(R"({"apps":[{"id":"/a","networks":[{"mode":"container","name":"n"}],
      "container":{"portMappings":[{"containerPort":8080,"hostPort":0}]},
      "tasks":[{"id":"a.1","host":"h1","ports":[31000],
                "ipAddresses":[{"ipAddress":"10.0.0.5","protocol":"IPv4"},{"ipAddress":"10.0.0.6"}]},
               {"id":"a.2","host":"h2","ports":[31001]},
               {"id":"a.3","host":"h3","ipAddresses":[{"ipAddress":"fd00::1","protocol":"IPv6"}]}]}]})");
    REQUIRE(targets.size() == 3);
    CHECK(targets[0].get("__address__") == "10.0.0.5:8080");
    CHECK(targets[1].get("__address__") == "h2:8080"); // no IP: the host
    CHECK(targets[2].get("__address__") == "[fd00::1]:8080");

    // Only the first network counts.
    auto bridge = targets_of(R"({"apps":[{"id":"/a","networks":[{"mode":"container/bridge"},{"mode":"container"}],
      "container":{"portMappings":[{"containerPort":8080,"hostPort":0}]},
      "tasks":[{"id":"a.1","host":"h1","ports":[31000],"ipAddresses":[{"ipAddress":"10.0.0.5"}]}]}]})");
    REQUIRE(bridge.size() == 1);
    CHECK(bridge[0].get("__address__") == "h1:31000");
  }

  TEST_CASE("groups_from_apps: docker port mappings (before Marathon 1.5)") {
    auto targets = targets_of(R"({"apps":[{"id":"/a","container":{"docker":{"image":"i","portMappings":[
        {"containerPort":80,"hostPort":0,"labels":{"x":"1"}}]}},
      "tasks":[{"id":"a.1","host":"h1","ports":[31000,31001]}]}]})");
    // The task has more ports than the mappings: the 0 stays.
    REQUIRE(targets.size() == 1);
    CHECK(targets[0] == model::Labels{{"__address__", "h1:0"},
                                      {"__meta_marathon_port_index", "0"},
                                      {"__meta_marathon_port_mapping_label_x", "1"},
                                      {"__meta_marathon_task", "a.1"}});
  }

  TEST_CASE("groups_from_apps: port definitions, with and without requirePorts") {
    const char* const app = R"({"apps":[{"id":"/a","requirePorts":%s,
      "portDefinitions":[{"port":10000,"labels":{"metrics":"/m"}},{"port":10001}],
      "tasks":[{"id":"a.1","host":"h1","ports":[31000,31001]}]}]})";
    auto with = [&](const char* require) {
      char text[512];
      std::snprintf(text, sizeof text, app, require);
      return targets_of(text);
    };
    auto required = with("true");
    REQUIRE(required.size() == 2);
    CHECK(required[0] == model::Labels{{"__address__", "h1:10000"},
                                       {"__meta_marathon_port_definition_label_metrics", "/m"},
                                       {"__meta_marathon_port_index", "0"},
                                       {"__meta_marathon_task", "a.1"}});
    CHECK(required[1].get("__address__") == "h1:10001");
    auto service_ports = with("false"); // the ports are service ports: the task's are used
    REQUIRE(service_ports.size() == 2);
    CHECK(service_ports[0].get("__address__") == "h1:31000");
    CHECK(service_ports[0].get("__meta_marathon_port_definition_label_metrics") == "/m");
    CHECK(service_ports[1].get("__address__") == "h1:31001");
  }

  TEST_CASE("groups_from_apps: host networking takes the first task's ports, without port labels") {
    auto targets = targets_of(R"({"apps":[{"id":"/a","tasks":[
        {"id":"a.0","host":"h0"},
        {"id":"a.1","host":"h1","ports":[31000,31001]},
        {"id":"a.2","host":"h2","ports":[32000]}]}]})");
    // a.0 comes before any ports are known; a.2 reuses a.1's list.
    REQUIRE(targets.size() == 4);
    CHECK(targets[0] == model::Labels{{"__address__", "h1:31000"},
                                      {"__meta_marathon_port_index", "0"},
                                      {"__meta_marathon_task", "a.1"}});
    CHECK(targets[1].get("__address__") == "h1:31001");
    CHECK(targets[2].get("__address__") == "h2:31000");
    CHECK(targets[3].get("__address__") == "h2:31001");
  }

  TEST_CASE("groups_from_apps: apps without tasks, tasks without ports, duplicate ids, empty lists") {
    auto groups = groups_of(R"({"apps":[
      {"id":"/idle","tasks":[]},
      {"id":"/portless","tasks":[{"id":"p.1","host":"h1"},{"id":"p.2","host":"h2","ports":[]}]},
      {"id":"/twice","labels":{"v":"1"}},
      {"id":"/twice","labels":{"v":"2"}}]})");
    REQUIRE(groups.size() == 3);
    CHECK(groups[0].source == "/idle");
    CHECK(groups[0].targets.empty());
    CHECK(groups[0].labels == model::Labels{{"__meta_marathon_app", "/idle"}});
    CHECK(groups[1].source == "/portless");
    CHECK(groups[1].targets.empty());
    CHECK(groups[2].labels.get("__meta_marathon_app_label_v") == "2"); // the later app wins, as in v2.45's map

    CHECK(groups_of(R"({"apps":[]})").empty());
    CHECK(groups_of(R"({})").empty());
    CHECK(groups_of("null").empty());
    // Keys match case-insensitively and unknown keys are ignored, as Go's decoder does.
    auto loose = groups_of(R"({"APPS":[{"Id":"/x","extra":{"a":1},"Tasks":[{"HOST":"h","Ports":[1]}]}]})");
    REQUIRE(loose.size() == 1);
    CHECK(loose[0].targets.at(0).get("__address__") == "h:1");
  }

  TEST_CASE("groups_from_apps: bodies Go's decoder rejects") {
    auto check_error = [](std::string_view body, const std::string& want) {
      auto groups = marathon::groups_from_apps(body);
      REQUIRE_MESSAGE(!groups, body);
      CHECK(groups.error() == want);
    };
    check_error("", "unexpected end of JSON input");
    check_error("[]", "json: cannot unmarshal array into Go value of type marathon.appList");
    check_error(R"({"apps":{}})", "json: cannot unmarshal object into Go struct field appList.apps of type "
                                  "[]marathon.app");
    check_error(R"({"apps":[1]})", "json: cannot unmarshal number into Go struct field appList.apps of type "
                                   "marathon.app");
    check_error(R"({"apps":[{"id":7}]})", "json: cannot unmarshal number into Go struct field app.apps.id of type "
                                          "string");
    check_error(R"({"apps":[{"id":"/a","tasks":[{"ports":[-1]}]}]})",
                "json: cannot unmarshal number -1 into Go struct field task.apps.tasks.ports of type uint32");
    check_error(R"({"apps":[{"id":"/a","tasks":[{"ports":[4294967296]}]}]})",
                "json: cannot unmarshal number 4294967296 into Go struct field task.apps.tasks.ports of type uint32");
    check_error(R"({"apps":[{"container":{"portMappings":[{"hostPort":"80"}]}}]})",
                "json: cannot unmarshal string into Go struct field portMapping.apps.container.portMappings.hostPort "
                "of type uint32");
    check_error(R"({"apps":[{"container":{"docker":{"image":1}}}]})",
                "json: cannot unmarshal number into Go struct field dockerContainer.apps.container.docker.image of "
                "type string");
    check_error(R"({"apps":[{"requirePorts":"yes"}]})",
                "json: cannot unmarshal string into Go struct field app.apps.requirePorts of type bool");
    check_error(R"({"apps":[{"labels":{"a":1}}]})",
                "json: cannot unmarshal number into Go struct field app.apps.labels of type string");
    check_error(R"({"apps":[{"tasksRunning":1.5}]})",
                "json: cannot unmarshal number 1.5 into Go struct field app.apps.tasksRunning of type int");
    auto syntax = marathon::groups_from_apps(R"({"apps":[)");
    REQUIRE(!syntax);
    CHECK(syntax.error().starts_with("invalid JSON: "));
  }

  TEST_CASE("refresh: the request, the auth token, and vanished apps sent empty") {
    FakeMarathon fx;
    fx.change([&] { fx.body = k_two_apps; });
    marathon::Config config = config_for({fx.url()});
    config.auth_token.value = "s3cret";
    auto discovery = make_discovery(config);

    auto groups = discovery->refresh({});
    REQUIRE_MESSAGE(groups, (groups ? "" : groups.error()));
    REQUIRE(groups->size() == 2);
    CHECK(fx.get(fx.authorization) == "token=s3cret");
    CHECK(fx.get(fx.embed) == "apps.tasks");

    fx.change([&] { fx.body = R"({"apps":[{"id":"/db","tasks":[{"id":"db.1","host":"h","ports":[1]}]}]})"; });
    groups = discovery->refresh({});
    REQUIRE(groups);
    REQUIRE(groups->size() == 2);
    CHECK((*groups)[0].source == "/db");
    CHECK((*groups)[1] == model::TargetGroup{{}, {}, "/web"});

    groups = discovery->refresh({});
    REQUIRE(groups);
    CHECK(groups->size() == 1); // a vanished app is sent empty once

    fx.change([&] { fx.body = R"({"apps":[]})"; });
    groups = discovery->refresh({});
    REQUIRE(groups);
    REQUIRE(groups->size() == 1);
    CHECK((*groups)[0] == model::TargetGroup{{}, {}, "/db"});
  }

  TEST_CASE("refresh: no token, no Authorization header; the token file is re-read and trimmed") {
    FakeMarathon fx;
    REQUIRE(make_discovery(config_for({fx.url()}))->refresh({}));
    CHECK(fx.get(fx.authorization) == "<absent>");

    std::filesystem::path dir = test::scratch_dir();
    test::write_file(dir / "token", "  first\n");
    marathon::Config config = config_for({fx.url()});
    config.auth_token_file = (dir / "token").string();
    auto discovery = make_discovery(config);
    REQUIRE(discovery->refresh({}));
    CHECK(fx.get(fx.authorization) == "token=first");
    test::write_file(dir / "token", "second");
    REQUIRE(discovery->refresh({}));
    CHECK(fx.get(fx.authorization) == "token=second");

    std::filesystem::remove(dir / "token");
    auto failed = discovery->refresh({});
    REQUIRE(!failed);
    CHECK(failed.error().find("unable to read auth token file " + config.auth_token_file +
                              ": open " + config.auth_token_file + ": no such file or directory") !=
          std::string::npos);

    auto unreadable = marathon::Discovery::make(config); // v2.45 fails fast
    REQUIRE(!unreadable);
    CHECK(unreadable.error() == "unable to read auth token file " + config.auth_token_file + ": open " +
                                    config.auth_token_file + ": no such file or directory");
  }

  TEST_CASE("refresh: the basic_auth of the HTTP client config is sent") {
    FakeMarathon fx;
    marathon::Config config = config_for({fx.url()});
    config.http_client.basic_auth.emplace() = {"u", "", "", {"p"}, "", ""};
    REQUIRE(make_discovery(config)->refresh({}));
    CHECK(fx.get(fx.authorization) == "Basic dTpw");
  }

  TEST_CASE("refresh: each refresh asks one server picked at random") {
    FakeMarathon a, b;
    auto discovery = make_discovery(config_for({a.url(), b.url()}));
    for (int i = 0; i < 40; ++i) {
      REQUIRE(discovery->refresh({}));
    }
    CHECK(a.get(a.requests) + b.get(b.requests) == 40);
    CHECK(a.get(a.requests) > 0); // each is missed 40 times with probability 2^-40
    CHECK(b.get(b.requests) > 0);
  }

  TEST_CASE("refresh: failures") {
    FakeMarathon fx;
    auto discovery = make_discovery(config_for({fx.url()}, model::Duration{300}));
    auto check_error = [&](const std::string& want) {
      auto groups = discovery->refresh({});
      REQUIRE(!groups);
      CHECK(groups.error() == want);
    };
    fx.change([&] { fx.status = 401; });
    check_error("non 2xx status '401' response during marathon service discovery");
    fx.change([&] { fx.status = 500; });
    check_error("non 2xx status '500' response during marathon service discovery");
    fx.change([&] {
      fx.status = 200;
      fx.body = "[]";
    });
    check_error("\"" + fx.url() + "/v2/apps/?embed=apps.tasks\": json: cannot unmarshal array into Go value of "
                "type marathon.appList");
    fx.change([&] { fx.body = "{\"apps\": ["; });
    auto malformed = discovery->refresh({});
    REQUIRE(!malformed);
    CHECK(malformed.error().starts_with("\"" + fx.url() + "/v2/apps/?embed=apps.tasks\": invalid JSON: "));

    fx.change([&] {
      fx.body = R"({"apps":[]})";
      fx.delay = 1500ms;
    });
    auto start = std::chrono::steady_clock::now();
    auto slow = discovery->refresh({}); // the request timeout is the refresh interval
    CHECK(std::chrono::steady_clock::now() - start < 1200ms);
    REQUIRE(!slow);
    CHECK(slow.error().starts_with("Get \"" + fx.url() + "/v2/apps/?embed=apps.tasks\": "));
    CHECK(slow.error().find("context deadline exceeded") != std::string::npos);

    std::string url = fx.url();
    fx.stop();
    auto unreachable = discovery->refresh({});
    REQUIRE(!unreachable);
    CHECK(unreachable.error().starts_with("Get \"" + url + "/v2/apps/?embed=apps.tasks\": "));
  }

  TEST_CASE("make_discoverer: reports each failure and keeps the last good groups") {
    FakeMarathon fx;
    fx.change([&] { fx.body = k_two_apps; });
    marathon::Config config = config_for({fx.url()}, model::Duration::seconds(1));
    config.auth_token.value = "t";
    test::RecordingSink sink;
    test::RunningDiscoverer running(config.make_discoverer({}), sink);
    REQUIRE(sink.wait_for_reports(1));
    CHECK(sink.report(0) == "");
    REQUIRE(sink.update_count() == 1);
    CHECK(sink.updates[0].size() == 2);

    fx.change([&] { fx.status = 401; });
    REQUIRE(sink.wait_for_reports(2));
    CHECK(sink.report(1) == "non 2xx status '401' response during marathon service discovery");
    fx.change([&] {
      fx.status = 200;
      fx.body = "{";
    });
    REQUIRE(sink.wait_for_reports(3));
    CHECK(sink.report(2).find("invalid JSON") != std::string::npos);
    CHECK(sink.update_count() == 1); // nothing sent: the manager keeps the two apps

    fx.change([&] { fx.body = R"({"apps":[{"id":"/web"}]})"; });
    REQUIRE(sink.wait_for_reports(4));
    CHECK(sink.report(3) == "");
    REQUIRE(sink.update_count() == 2);
    REQUIRE(sink.updates[1].size() == 2);
    CHECK(sink.updates[1][1]->source == "/db");
    CHECK(sink.updates[1][1]->targets.empty());
    CHECK(running.stop() < 500ms);
  }

  TEST_CASE("make_discoverer: stops at once during a slow request") {
    FakeMarathon fx;
    fx.change([&] { fx.delay = 2s; });
    test::RecordingSink sink;
    test::RunningDiscoverer running(config_for({fx.url()}).make_discoverer({}), sink);
    while (fx.get(fx.requests) == 0) {
      std::this_thread::sleep_for(5ms);
    }
    CHECK(running.stop() < 500ms);
    CHECK(sink.reports.empty()); // a cancelled refresh is not reported
  }

  TEST_CASE("make_discoverer: an unreadable token file or CA file is an error") {
    marathon::Config config = config_for({"http://127.0.0.1:1"});
    config.auth_token_file = "/nonexistent/token";
    auto discoverer = config.make_discoverer({});
    REQUIRE(!discoverer);
    CHECK(discoverer.error() ==
          "unable to read auth token file /nonexistent/token: open /nonexistent/token: no such file or directory");
    config.auth_token_file.clear();
    config.http_client.tls_config.ca_file = "/nonexistent/ca.pem";
    discoverer = config.make_discoverer({});
    REQUIRE(!discoverer);
    CHECK(discoverer.error() ==
          "unable to load specified CA cert /nonexistent/ca.pem: open /nonexistent/ca.pem: no such file or directory");
  }
}
