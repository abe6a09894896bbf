// uyuni_sd: XML-RPC encoding/decoding, the mapping of the API answers
// (pure), and the discoverer against a loopback fixture that answers the
// XML-RPC calls by method name.

#include <httplib.h> // CPPHTTPLIB_OPENSSL_SUPPORT comes from its pkg-config flags

#include <chrono>
#include <map>
#include <mutex>
#include <thread>

#include <doctest/doctest.h>

#include "discovery/uyuni.h"
#include "discovery/xmlrpc.h"
#include "loopback_server.h"
#include "test_util.h"

using namespace sdscope;
using namespace std::chrono_literals;
namespace uyuni = sdscope::discovery::uyuni;
namespace xmlrpc = sdscope::discovery::xmlrpc;

namespace {

std::string response(std::string_view value) {
  return "<?xml version=\"1.0\"?>\n<methodResponse><params><param><value>" + std::string(value) +
         "</value></param></params></methodResponse>";
}

std::string fault(int code, std::string_view text) {
  return "<?xml version=\"1.0\"?><methodResponse><fault><value><struct>"
         "<member><name>faultCode</name><value><int>" +
         std::to_string(code) + "</int></value></member><member><name>faultString</name><value><string>" +
         std::string(text) + "</string></value></member></struct></value></fault></methodResponse>";
}

const std::string k_groups = response(R"(<array><data>
  <value><struct>
    <member><name>id</name><value><int>1000010000</int></value></member>
    <member><name>system_groups</name><value><array><data>
      <value><struct><member><name>id</name><value><int>1</int></value></member>
        <member><name>name</name><value><string>web</string></value></member></struct></value>
      <value><struct><member><name>name</name><value>prod</value></member></struct></value>
    </data></array></value></member>
  </struct></value>
  <value><struct>
    <member><name>id</name><value><i4>1000010001</i4></value></member>
    <member><name>system_groups</name><value><array><data/></array></value></member>
  </struct></value>
</data></array>)");

const std::string k_endpoints = response(R"(<array><data>
  <value><struct>
    <member><name>system_id</name><value><int>1000010000</int></value></member>
    <member><name>endpoint_name</name><value><string>node_exporter</string></value></member>
    <member><name>port</name><value><int>9100</int></value></member>
    <member><name>path</name><value><string>/metrics</string></value></member>
    <member><name>module</name><value><string></string></value></member>
    <member><name>exporter_name</name><value><string>node_exporter</string></value></member>
    <member><name>tls_enabled</name><value><boolean>0</boolean></value></member>
    <member><name>extra</name><value><double>1.5</double></value></member>
  </struct></value>
  <value><struct>
    <member><name>system_id</name><value><int>1000010001</int></value></member>
    <member><name>endpoint_name</name><value><string>apache</string></value></member>
    <member><name>port</name><value><int>9117</int></value></member>
    <member><name>path</name><value><string>/probe</string></value></member>
    <member><name>module</name><value><string>http_2xx</string></value></member>
    <member><name>exporter_name</name><value><string>apache_exporter</string></value></member>
    <member><name>tls_enabled</name><value><boolean>1</boolean></value></member>
  </struct></value>
</data></array>)");

const std::string k_network = response(R"(<array><data>
  <value><struct>
    <member><name>system_id</name><value><int>1000010000</int></value></member>
    <member><name>hostname</name><value><string>127.0.0.1</string></value></member>
    <member><name>primary_fqdn</name><value><string>minion1.test</string></value></member>
    <member><name>ip</name><value><string>127.0.0.1</string></value></member>
  </struct></value>
  <value><struct>
    <member><name>system_id</name><value><int>1000010001</int></value></member>
    <member><name>hostname</name><value><string>::1</string></value></member>
    <member><name>primary_fqdn</name><value><string>minion2.test</string></value></member>
  </struct></value>
</data></array>)");

// A fake Uyuni on 127.0.0.1: answers POST <prefix>/rpc/api by the called
// method and records what it was sent.
// The XML-RPC method a request body calls ("" if none). Not std::regex:
// GCC 12 warns inside <regex> in the sanitizer build (-Werror).
std::string method_name(const std::string& body) {
  constexpr std::string_view k_open = "<methodName>";
  size_t begin = body.find(k_open);
  if (begin == std::string::npos) {
    return "";
  }
  begin += k_open.size();
  size_t end = body.find("</methodName>", begin);
  return end == std::string::npos ? "" : body.substr(begin, end - begin);
}

class FakeUyuni {
public:
  FakeUyuni() {
    m_server.set_keep_alive_timeout(1);
    m_server.Post(R"(/.*)", [this](const httplib::Request& req, httplib::Response& res) {
      std::string method = method_name(req.body);
      std::chrono::milliseconds wait;
      {
        std::lock_guard lock(m_mutex);
        calls.push_back(method);
        bodies[method] = req.body;
        path = req.path;
        content_type = req.get_header_value("Content-Type");
        authorization = req.has_header("Authorization") ? req.get_header_value("Authorization") : "<absent>";
        user_agent = req.get_header_value("User-Agent");
        auto answer = answers.find(method);
        res.status = statuses.contains(method) ? statuses[method] : 200;
        res.set_content(answer == answers.end() ? fault(-1, "unknown method") : answer->second, "text/xml");
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
  std::map<std::string, std::string> answers = {
      {"auth.login", response("<string>token-1</string>")},
      {"system.listSystemGroupsForSystemsWithEntitlement", k_groups},
      {"system.monitoring.listEndpoints", k_endpoints},
      {"system.getNetworkForSystems", k_network},
  };
  std::map<std::string, int> statuses;
  std::chrono::milliseconds delay{0};
  std::vector<std::string> calls;
  std::map<std::string, std::string> bodies;
  std::string path, content_type, user_agent, authorization;

private:
  std::mutex m_mutex;
  httplib::Server m_server;
  test::LoopbackServer m_serving;
};

uyuni::Config config_for(std::string server, model::Duration interval = model::Duration::minutes(1)) {
  uyuni::Config config;
  config.server = std::move(server);
  config.username = "admin";
  config.password.value = "pa<ss";
  config.refresh_interval = interval;
  return config;
}

std::unique_ptr<uyuni::Discovery> make_discovery(const uyuni::Config& config) {
  auto d = uyuni::Discovery::make(config);
  REQUIRE_MESSAGE(d, (d ? "" : d.error()));
  return std::move(*d);
}

const xmlrpc::Answer answer_of(const std::string& body) {
  auto answer = xmlrpc::read_answer(body);
  REQUIRE_MESSAGE(answer, (answer ? "" : answer.error()));
  return std::move(*answer);
}

std::string int_error(std::string_view value) {
  xmlrpc::Answer answer = answer_of(response(value));
  int64_t out = 0;
  auto ok = xmlrpc::decode_int(*answer.value, out);
  REQUIRE(!ok);
  return ok.error();
}

} // namespace

TEST_SUITE("discovery::uyuni") {
  TEST_CASE("xmlrpc: a call is encoded as kolo/xmlrpc writes it") {
    CHECK(xmlrpc::encode_call("auth.login", {std::string("a&b"), int64_t{600}, std::vector<int64_t>{1, 2}}) ==
          "<?xml version=\"1.0\" encoding=\"UTF-8\"?><methodCall><methodName>auth.login</methodName><params>"
          "<param><value><string>a&amp;b</string></value></param>"
          "<param><value><int>600</int></value></param>"
          "<param><value><array><data><value><int>1</int></value><value><int>2</int></value></data></array></value>"
          "</param></params></methodCall>");
    CHECK(xmlrpc::encode_call("m", {std::vector<int64_t>{}}) ==
          "<?xml version=\"1.0\" encoding=\"UTF-8\"?><methodCall><methodName>m</methodName><params>"
          "<param><value><array><data></data></array></value></param></params></methodCall>");
  }

  TEST_CASE("xmlrpc: scalars, untyped strings, empty values") {
    xmlrpc::Answer answer = answer_of(response("<int>-42</int>"));
    int64_t number = 7;
    REQUIRE(xmlrpc::decode_int(*answer.value, number));
    CHECK(number == -42);
    std::string text = "old";
    REQUIRE(xmlrpc::decode_string(*answer_of(response("  plain &lt;text&gt; ")).value, text));
    CHECK(text == "plain <text>");
    REQUIRE(xmlrpc::decode_string(*answer_of(response("<string> kept </string>")).value, text));
    CHECK(text == " kept ");
    REQUIRE(xmlrpc::decode_string(*answer_of(response("  ")).value, text)); // empty: unchanged
    CHECK(text == " kept ");
    bool flag = false;
    REQUIRE(xmlrpc::decode_bool(*answer_of(response("<boolean>1</boolean>")).value, flag));
    CHECK(flag);
    REQUIRE(xmlrpc::decode_bool(*answer_of(response("<boolean>false</boolean>")).value, flag));
    CHECK(!flag);
  }

  TEST_CASE("xmlrpc: type mismatches and malformed answers") {
    CHECK(int_error("<string>1</string>") == "error: type mismatch - can't unmarshal int to string");
    CHECK(int_error("text") == "error: type mismatch - can't unmarshal int to string");
    CHECK(int_error("<struct></struct>") == "error: type mismatch - can't unmarshal int to struct");
    CHECK(int_error("<array><data/></array>") == "error: type mismatch - can't unmarshal int to slice");
    CHECK(int_error("<int> 1</int>") == "strconv.ParseInt: parsing \" 1\": invalid syntax");
    CHECK(int_error("<int></int>") == "strconv.ParseInt: parsing \"\": invalid syntax");
    CHECK(int_error("<int><b/></int>") == "invalid xml");
    CHECK(int_error("<float>1</float>") == "unsupported type");
    CHECK(int_error("<dateTime.iso8601>20230101T00:00:00</dateTime.iso8601>") ==
          "error: type mismatch error - can't decode int to time");

    CHECK(xmlrpc::read_answer("").error() == "reading body EOF");
    CHECK(xmlrpc::read_answer("<methodResponse/>").error() == "reading body EOF");
    CHECK(xmlrpc::read_answer("<methodResponse><params>").error() ==
          "reading body XML syntax error on line 1: unexpected EOF");
    CHECK(xmlrpc::read_answer(fault(2950, "Either the password or username is incorrect.")).error() ==
          "Fault(2950): Either the password or username is incorrect.");
  }

  TEST_CASE("api_url: /rpc/api joined to the server's path") {
    CHECK(uyuni::api_url("https://127.0.0.1") == "https://127.0.0.1/rpc/api");
    CHECK(uyuni::api_url("https://127.0.0.1/") == "https://127.0.0.1/rpc/api");
    CHECK(uyuni::api_url("http://127.0.0.1:8080/uyuni/") == "http://127.0.0.1:8080/uyuni/rpc/api");
    CHECK(uyuni::api_url("http://127.0.0.1/a/../b/./c?x=1") == "http://127.0.0.1/b/c/rpc/api?x=1");
  }

  TEST_CASE("groups_from_answers: every label, groups joined by the separator") {
    uyuni::Answers answers{k_groups, k_endpoints, k_network};
    auto groups = uyuni::groups_from_answers(answers, "|", "http://127.0.0.1/rpc/api");
    REQUIRE_MESSAGE(groups, (groups ? "" : groups.error()));
    REQUIRE(groups->size() == 1);
    CHECK((*groups)[0].source == "http://127.0.0.1/rpc/api");
    REQUIRE((*groups)[0].targets.size() == 2);
    CHECK((*groups)[0].targets[0] == model::Labels{{"__address__", "127.0.0.1:9100"},
                                                   {"__meta_uyuni_minion_hostname", "127.0.0.1"},
                                                   {"__meta_uyuni_primary_fqdn", "minion1.test"},
                                                   {"__meta_uyuni_system_id", "1000010000"},
                                                   {"__meta_uyuni_groups", "web|prod"},
                                                   {"__meta_uyuni_endpoint_name", "node_exporter"},
                                                   {"__meta_uyuni_exporter", "node_exporter"},
                                                   {"__meta_uyuni_proxy_module", ""},
                                                   {"__meta_uyuni_metrics_path", "/metrics"},
                                                   {"__meta_uyuni_scheme", "http"}});
    CHECK((*groups)[0].targets[1] == model::Labels{{"__address__", "::1:9117"}, // no brackets, as v2.45
                                                   {"__meta_uyuni_minion_hostname", "::1"},
                                                   {"__meta_uyuni_primary_fqdn", "minion2.test"},
                                                   {"__meta_uyuni_system_id", "1000010001"},
                                                   {"__meta_uyuni_groups", ""},
                                                   {"__meta_uyuni_endpoint_name", "apache"},
                                                   {"__meta_uyuni_exporter", "apache_exporter"},
                                                   {"__meta_uyuni_proxy_module", "http_2xx"},
                                                   {"__meta_uyuni_metrics_path", "/probe"},
                                                   {"__meta_uyuni_scheme", "https"}});
  }

  TEST_CASE("groups_from_answers: an endpoint of an unknown system; no endpoints") {
    std::string endpoints = response("<array><data><value><struct>"
                                     "<member><name>system_id</name><value><int>5</int></value></member>"
                                     "<member><name>port</name><value><int>1</int></value></member>"
                                     "</struct></value></data></array>");
    auto groups = uyuni::groups_from_answers({k_groups, endpoints, k_network}, ",", "s");
    REQUIRE(groups);
    REQUIRE((*groups)[0].targets.size() == 1);
    CHECK((*groups)[0].targets[0].get("__address__") == ":1");
    CHECK((*groups)[0].targets[0].get("__meta_uyuni_groups") == "");
    CHECK((*groups)[0].targets[0].get("__meta_uyuni_scheme") == "http");

    groups = uyuni::groups_from_answers({k_groups, response("<array><data/></array>"), k_network}, ",", "s");
    REQUIRE(groups);
    REQUIRE(groups->size() == 1); // the one group, empty
    CHECK((*groups)[0].targets.empty());
  }

  TEST_CASE("groups_from_answers: errors name the call") {
    auto groups = uyuni::groups_from_answers({response("<struct/>"), k_endpoints, k_network}, ",", "s");
    REQUIRE(!groups);
    CHECK(groups.error() == "unable to get the managed system groups information of monitored clients: reading body "
                            "error: type mismatch - can't unmarshal slice to struct");
    groups = uyuni::groups_from_answers({k_groups, fault(1, "no"), k_network}, ",", "s");
    REQUIRE(!groups);
    CHECK(groups.error() == "unable to get endpoints information: Fault(1): no");
    groups = uyuni::groups_from_answers(
        {k_groups, k_endpoints,
         response("<array><data><value><struct><member><name>hostname</name><value><int>1</int></value></member>"
                  "</struct></value></data></array>")},
        ",", "s");
    REQUIRE(!groups);
    CHECK(groups.error() == "unable to get the systems network information: reading body error: type mismatch - "
                            "can't unmarshal string to int");
    groups = uyuni::groups_from_answers(
        {response("<array><data><value><struct><member><value><int>1</int></value></member></struct></value>"
                  "</data></array>"),
         k_endpoints, k_network},
        ",", "s");
    REQUIRE(!groups);
    CHECK(groups.error() ==
          "unable to get the managed system groups information of monitored clients: reading body invalid xml");
  }

  TEST_CASE("system_ids: ascending, without repeats") {
    auto ids = uyuni::system_ids(response(
        "<array><data>"
        "<value><struct><member><name>id</name><value><int>3</int></value></member></struct></value>"
        "<value><struct><member><name>id</name><value><int>1</int></value></member></struct></value>"
        "<value><struct><member><name>id</name><value><int>3</int></value></member></struct></value>"
        "</data></array>"));
    REQUIRE(ids);
    CHECK(*ids == std::vector<int64_t>{1, 3});
  }

  TEST_CASE("refresh: the calls, their parameters and headers; the token is reused") {
    FakeUyuni fx;
    uyuni::Config config = config_for(fx.url() + "/uyuni/");
    config.entitlement = "my_entitled";
    auto discovery = make_discovery(config);
    auto groups = discovery->refresh({});
    REQUIRE_MESSAGE(groups, (groups ? "" : groups.error()));
    REQUIRE(groups->size() == 1);
    CHECK((*groups)[0].source == fx.url() + "/uyuni/rpc/api");
    CHECK((*groups)[0].targets.size() == 2);
    CHECK(fx.get(fx.path) == "/uyuni/rpc/api");
    CHECK(fx.get(fx.content_type) == "text/xml");
    CHECK(fx.get(fx.user_agent) == "Go-http-client/1.1");
    CHECK(fx.get(fx.authorization) == "<absent>");
    CHECK(fx.get(fx.calls) == std::vector<std::string>{"auth.login", "system.listSystemGroupsForSystemsWithEntitlement",
                                                        "system.monitoring.listEndpoints",
                                                        "system.getNetworkForSystems"});
    auto bodies = fx.get(fx.bodies);
    CHECK(bodies["auth.login"] == xmlrpc::encode_call("auth.login", {std::string("admin"), std::string("pa<ss"),
                                                                     int64_t{600}}));
    CHECK(bodies["system.listSystemGroupsForSystemsWithEntitlement"] ==
          xmlrpc::encode_call("system.listSystemGroupsForSystemsWithEntitlement",
                              {std::string("token-1"), std::string("my_entitled")}));
    std::vector<int64_t> ids{1000010000, 1000010001};
    CHECK(bodies["system.monitoring.listEndpoints"] ==
          xmlrpc::encode_call("system.monitoring.listEndpoints", {std::string("token-1"), ids}));
    CHECK(bodies["system.getNetworkForSystems"] ==
          xmlrpc::encode_call("system.getNetworkForSystems", {std::string("token-1"), ids}));

    // Within five minutes the token is reused: no second login.
    REQUIRE(discovery->refresh({}));
    CHECK(fx.get(fx.calls).size() == 7);
    CHECK(fx.get(fx.calls)[4] == "system.listSystemGroupsForSystemsWithEntitlement");
  }

  TEST_CASE("refresh: a failure after login forces a new login; login failures") {
    FakeUyuni fx;
    auto discovery = make_discovery(config_for(fx.url(), model::Duration{300}));
    REQUIRE(discovery->refresh({}));
    fx.change([&] { fx.statuses["system.getNetworkForSystems"] = 500; });
    auto failed = discovery->refresh({});
    REQUIRE(!failed);
    CHECK(failed.error() == "unable to get the systems network information: request error: bad status code - 500");
    fx.change([&] { fx.statuses.clear(); });
    REQUIRE(discovery->refresh({}));
    auto calls = fx.get(fx.calls);
    REQUIRE(calls.size() == 11); // 4, then 3 (no login), then a new login and 3
    CHECK(calls[7] == "auth.login");

    auto check_login_error = [&](const std::string& want) {
      auto fresh = make_discovery(config_for(fx.url(), model::Duration{300}));
      auto groups = fresh->refresh({});
      REQUIRE(!groups);
      CHECK(groups.error() == want);
    };
    fx.change([&] { fx.statuses["auth.login"] = 401; });
    check_login_error("unable to login to Uyuni API: request error: bad status code - 401");
    fx.change([&] {
      fx.statuses.clear();
      fx.answers["auth.login"] = fault(2950, "Either the password or username is incorrect: pa&lt;ss");
    });
    check_login_error("unable to login to Uyuni API: Fault(2950): Either the password or username is incorrect: "
                      "<secret>"); // the password is masked even when echoed
    fx.change([&] { fx.answers["auth.login"] = response("<int>1</int>"); });
    check_login_error("unable to login to Uyuni API: reading body error: type mismatch - can't unmarshal string to int");
    fx.change([&] { fx.answers["auth.login"] = "<methodResponse>"; });
    check_login_error("unable to login to Uyuni API: reading body XML syntax error on line 1: unexpected EOF");

    fx.change([&] {
      fx.answers["auth.login"] = response("<string>t</string>");
      fx.delay = 1500ms;
    });
    auto start = std::chrono::steady_clock::now();
    auto fresh = make_discovery(config_for(fx.url(), model::Duration{300}));
    auto slow = fresh->refresh({}); // each call's timeout is the refresh interval
    CHECK(std::chrono::steady_clock::now() - start < 1200ms);
    REQUIRE(!slow);
    CHECK(slow.error().starts_with("unable to login to Uyuni API: Post \"" + fx.url() + "/rpc/api\": "));
    CHECK(slow.error().find("context deadline exceeded") != std::string::npos);

    std::string url = fx.url();
    fx.stop();
    auto unreachable = make_discovery(config_for(url))->refresh({});
    REQUIRE(!unreachable);
    CHECK(unreachable.error().starts_with("unable to login to Uyuni API: Post \"" + url + "/rpc/api\": "));
    CHECK(unreachable.error().find("pa<ss") == std::string::npos);
  }

  TEST_CASE("refresh: the HTTP client config's auth is sent on every call") {
    FakeUyuni fx;
    uyuni::Config config = config_for(fx.url());
    config.http_client.basic_auth.emplace() = {"proxy", "", "", {"pw"}, "", ""};
    REQUIRE(make_discovery(config)->refresh({}));
    CHECK(fx.get(fx.authorization) == "Basic cHJveHk6cHc=");
  }

  TEST_CASE("make_discoverer: stops at once during a slow call") {
    FakeUyuni fx;
    fx.change([&] { fx.delay = 2s; });
    test::RecordingSink sink;
    test::RunningDiscoverer running(config_for(fx.url()).make_discoverer({}), sink);
    while (fx.get(fx.calls).empty()) {
      std::this_thread::sleep_for(5ms);
    }
    CHECK(running.stop() < 500ms);
    CHECK(sink.reports.empty()); // a cancelled refresh is not reported
  }

  TEST_CASE("make_discoverer: reports each failure and keeps the last good groups") {
    FakeUyuni fx;
    test::RecordingSink sink;
    test::RunningDiscoverer running(config_for(fx.url(), model::Duration::seconds(1)).make_discoverer({}), sink);
    REQUIRE(sink.wait_for_reports(1));
    CHECK(sink.report(0) == "");
    REQUIRE(sink.update_count() == 1);
    REQUIRE(sink.updates[0].size() == 1);
    CHECK(sink.updates[0][0]->targets.size() == 2);

    fx.change([&] { fx.answers["system.monitoring.listEndpoints"] = fault(-1, "boom"); });
    REQUIRE(sink.wait_for_reports(2));
    CHECK(sink.report(1) == "unable to get endpoints information: Fault(-1): boom");
    CHECK(sink.update_count() == 1); // nothing sent: the manager keeps the endpoints

    fx.change([&] { fx.answers["system.monitoring.listEndpoints"] = response("<array><data/></array>"); });
    REQUIRE(sink.wait_for_reports(3));
    CHECK(sink.report(2) == "");
    REQUIRE(sink.update_count() == 2);
    CHECK(sink.updates[1][0]->targets.empty());
    CHECK(running.stop() < 500ms);
  }
}
