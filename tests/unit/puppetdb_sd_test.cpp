// puppetdb_sd: the endpoint and request body, the resource mapping (pure),
// and the discoverer against a loopback fixture answering PuppetDB's query
// endpoint.

#include <httplib.h> // CPPHTTPLIB_OPENSSL_SUPPORT comes from its pkg-config flags

#include <chrono>
#include <mutex>
#include <thread>

#include <doctest/doctest.h>

#include "discovery/puppetdb.h"
#include "util/go_format.h"
#include "util/strings.h"
#include "loopback_server.h"
#include "test_util.h"

using namespace sdscope;
using namespace std::chrono_literals;
namespace puppetdb = sdscope::discovery::puppetdb;

namespace {

// A fake PuppetDB on 127.0.0.1: answers POST /pdb/query/v4 with `body`,
// `status` and `content_type`, and records the request it saw.
class FakePuppetDb {
public:
  FakePuppetDb() {
    m_server.set_keep_alive_timeout(1);
    m_server.Post("/pdb/query/v4", [this](const httplib::Request& req, httplib::Response& res) {
      std::chrono::milliseconds wait;
      {
        std::lock_guard lock(m_mutex);
        ++requests;
        request_body = req.body;
        request_headers = req.headers;
        res.status = status;
        res.set_content(body, content_type);
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
  std::string header(const std::string& name) {
    std::lock_guard lock(m_mutex);
    auto it = request_headers.find(name);
    return it == request_headers.end() ? "<absent>" : it->second;
  }
  void stop() { m_serving.stop(); }

  int port = 0;
  int status = 200;
  std::string content_type = "application/json";
  std::string body = "[]";
  std::chrono::milliseconds delay{0};
  int requests = 0;
  std::string request_body;
  httplib::Headers request_headers;

private:
  std::mutex m_mutex;
  httplib::Server m_server;
  test::LoopbackServer m_serving;
};

puppetdb::Config config_for(const std::string& url, model::Duration interval = model::Duration::seconds(60)) {
  puppetdb::Config config;
  config.url = url;
  config.query = R"(resources { type = "Class" and title = "Prometheus::Node_exporter" })";
  config.refresh_interval = interval;
  return config;
}

std::unique_ptr<puppetdb::Discovery> make_discovery(const puppetdb::Config& config) {
  auto d = puppetdb::Discovery::make(config);
  REQUIRE_MESSAGE(d, (d ? "" : d.error()));
  return std::move(*d);
}

puppetdb::MappingOptions options_for(int port = 9100, bool include_parameters = false) {
  return {"http://127.0.0.1:8080/pdb/query/v4", "resources { type = \"Class\" }", port, include_parameters};
}

model::TargetGroup group_of(std::string_view body, const puppetdb::MappingOptions& options = options_for()) {
  auto group = puppetdb::group_from_resources(body, options);
  REQUIRE_MESSAGE(group, (group ? "" : group.error()));
  return *group;
}

// The __meta_puppetdb_parameter_* labels of the one resource of body.
std::vector<std::pair<std::string, std::string>> parameters_of(std::string_view parameters) {
  std::string body = R"([{"certname":"127.0.0.1","parameters":)" + std::string(parameters) + "}]";
  model::TargetGroup group = group_of(body, options_for(9100, true));
  REQUIRE(group.targets.size() == 1);
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& [name, value] : group.targets[0]) {
    if (util::starts_with(name, "__meta_puppetdb_parameter_")) {
      out.emplace_back(name.substr(std::string_view("__meta_puppetdb_parameter_").size()), value);
    }
  }
  return out;
}

using Pairs = std::vector<std::pair<std::string, std::string>>;

const char* const k_two_resources = R"([
  {"certname":"127.0.0.1","resource":"49af83866dc5a1518968b68e58a25319107afe11","type":"Class",
   "title":"Prometheus::Node_exporter","exported":false,"tags":["node_exporter","class"],
   "file":"/etc/puppetlabs/code/site.pp","environment":"production","parameters":{"port":9100}},
  {"certname":"127.0.0.2","resource":"0123","type":"Class","title":"Prometheus::Node_exporter",
   "exported":true,"tags":[],"environment":"test"}])";

} // namespace

TEST_SUITE("discovery::puppetdb") {
  TEST_CASE("query_endpoint: pdb/query/v4 joined to the URL's path as Go's path.Join does") {
    CHECK(puppetdb::query_endpoint("http://127.0.0.1:8080") == "http://127.0.0.1:8080/pdb/query/v4");
    CHECK(puppetdb::query_endpoint("http://127.0.0.1:8080/") == "http://127.0.0.1:8080/pdb/query/v4");
    CHECK(puppetdb::query_endpoint("https://127.0.0.1/puppetdb/") == "https://127.0.0.1/puppetdb/pdb/query/v4");
    CHECK(puppetdb::query_endpoint("http://127.0.0.1/a//b/./c/../") == "http://127.0.0.1/a/b/pdb/query/v4");
    CHECK(puppetdb::query_endpoint("http://127.0.0.1/../x") == "http://127.0.0.1/x/pdb/query/v4");
    CHECK(puppetdb::query_endpoint("HTTP://127.0.0.1/p?x=1#frag") == "http://127.0.0.1/p/pdb/query/v4?x=1#frag");
    CHECK(puppetdb::query_endpoint("http://u:p@127.0.0.1#f?g") == "http://u:p@127.0.0.1/pdb/query/v4#f?g");
  }

  TEST_CASE("request_body: json.Marshal of the query, HTML-safe escapes included") {
    CHECK(puppetdb::request_body("nodes {}") == R"({"query":"nodes {}"})");
    CHECK(puppetdb::request_body("resources { title = \"a\\b\" }") ==
          R"({"query":"resources { title = \"a\\b\" }"})");
    CHECK(puppetdb::request_body("a < b && c > d\n\t\x01") ==
          R"({"query":"a \u003c b \u0026\u0026 c \u003e d\n\t\u0001"})");
    CHECK(puppetdb::request_body("\xe2\x80\xa8 \xc3\xa9 \xff") == R"({"query":"\u2028 )"
                                                                   "\xc3\xa9"
                                                                   R"( \ufffd"})");
  }

  TEST_CASE("group_from_resources: one target per resource, labels, Source, tags") {
    model::TargetGroup group = group_of(k_two_resources);
    CHECK(group.source == "http://127.0.0.1:8080/pdb/query/v4?query=resources { type = \"Class\" }");
    CHECK(group.labels.empty());
    REQUIRE(group.targets.size() == 2);
    CHECK(group.targets[0] == model::Labels{
                                  {"__address__", "127.0.0.1:9100"},
                                  {"__meta_puppetdb_certname", "127.0.0.1"},
                                  {"__meta_puppetdb_environment", "production"},
                                  {"__meta_puppetdb_exported", "false"},
                                  {"__meta_puppetdb_file", "/etc/puppetlabs/code/site.pp"},
                                  {"__meta_puppetdb_query", "resources { type = \"Class\" }"},
                                  {"__meta_puppetdb_resource", "49af83866dc5a1518968b68e58a25319107afe11"},
                                  {"__meta_puppetdb_tags", ",node_exporter,class,"},
                                  {"__meta_puppetdb_title", "Prometheus::Node_exporter"},
                                  {"__meta_puppetdb_type", "Class"},
                              });
    // No tags, no tags label; parameters only when asked for.
    CHECK(!group.targets[1].has("__meta_puppetdb_tags"));
    CHECK(group.targets[1].get("__meta_puppetdb_exported") == "true");
    CHECK(group.targets[1].get("__meta_puppetdb_file") == "");
    CHECK(!group.targets[0].has("__meta_puppetdb_parameter_port"));

    CHECK(group_of(R"([{"certname":"::1"}])").targets[0].get("__address__") == "[::1]:9100");
    // v2.45 formats uint64(port).
    CHECK(group_of(R"([{"certname":"h"}])", options_for(-1)).targets[0].get("__address__") ==
          "h:18446744073709551615");
    CHECK(group_of("[]").targets.empty());
    CHECK(group_of("null").targets.empty());
    CHECK(group_of("[null]").targets.size() == 1); // Go decodes a zero Resource
    // Keys match case-insensitively, as Go's decoder matches fields.
    CHECK(group_of(R"([{"CertName":"127.0.0.3","TAGS":["x"]}])").targets[0].get("__meta_puppetdb_tags") == ",x,");
  }

  TEST_CASE("group_from_resources: include_parameters flattens parameters like v2.45") {
    CHECK(parameters_of(R"({"name":"web","enabled":true,"off":false})") ==
          Pairs{{"enabled", "true"}, {"name", "web"}, {"off", "false"}});
    // Numbers are float64 formatted with 'g': exponent form from 1e+06 on.
    CHECK(parameters_of(R"({"a":8080,"b":1000000,"c":1.5,"d":123456,"e":1234567,"f":0.0001,"g":0.00001,"h":-2})") ==
          Pairs{{"a", "8080"}, {"b", "1e+06"}, {"c", "1.5"}, {"d", "123456"}, {"e", "1.234567e+06"},
                {"f", "0.0001"}, {"g", "1e-05"}, {"h", "-2"}});
    // Arrays: scalars joined with ',', others count as empty; empty arrays
    // and empty results are left out.
    CHECK(parameters_of(R"({"v":["a","b"],"m":[1,true,"x"],"e":[],"n":[null],"nn":[null,{}],"o":["a",[1],"b"]})") ==
          Pairs{{"m", "1,true,x"}, {"nn", ","}, {"o", "a,,b"}, {"v", "a,b"}});
    // Objects are flattened under "<key>_"; names are sanitized; null and
    // "" are left out.
    CHECK(parameters_of(R"({"cfg":{"x.y":"1","in":{"deep":2},"z":null},"my-key":"v","nil":null,"empty":""})") ==
          Pairs{{"cfg_in_deep", "2"}, {"cfg_x_y", "1"}, {"my_key", "v"}});
    CHECK(parameters_of("null").empty());
    CHECK(parameters_of("{}").empty());
  }

  TEST_CASE("group_from_resources: bodies Go's decoder rejects") {
    auto check_error = [](std::string_view body, const std::string& want) {
      auto group = puppetdb::group_from_resources(body, options_for());
      REQUIRE_MESSAGE(!group, body);
      CHECK(group.error() == want);
    };
    check_error("", "unexpected end of JSON input");
    check_error("{}", "json: cannot unmarshal object into Go value of type []puppetdb.Resource");
    check_error("[1]", "json: cannot unmarshal number into Go value of type puppetdb.Resource");
    check_error(R"([{"certname":1}])",
                "json: cannot unmarshal number into Go struct field Resource.certname of type string");
    check_error(R"([{"exported":"yes"}])",
                "json: cannot unmarshal string into Go struct field Resource.exported of type bool");
    check_error(R"([{"tags":"a"}])", "json: cannot unmarshal string into Go struct field Resource.tags of type "
                                     "[]string");
    check_error(R"([{"tags":[1]}])", "json: cannot unmarshal number into Go struct field Resource.tags of type "
                                     "string");
    check_error(R"([{"parameters":[]}])", "json: cannot unmarshal array into Go struct field Resource.parameters "
                                          "of type puppetdb.Parameters");
    auto syntax = puppetdb::group_from_resources("[{", options_for());
    REQUIRE(!syntax);
    CHECK(syntax.error().starts_with("invalid JSON: "));
  }

  TEST_CASE("format_float_g: Go's strconv.FormatFloat(v, 'g', -1, 64)") {
    CHECK(util::format_float_g(0) == "0");
    CHECK(util::format_float_g(-0.0) == "-0");
    CHECK(util::format_float_g(100000) == "100000");
    CHECK(util::format_float_g(999999) == "999999");
    CHECK(util::format_float_g(1e6) == "1e+06");
    CHECK(util::format_float_g(0.1) == "0.1");
    CHECK(util::format_float_g(1.0 / 3) == "0.3333333333333333");
    CHECK(util::format_float_g(12345.678) == "12345.678");
    CHECK(util::format_float_g(1e21) == "1e+21");
    CHECK(util::format_float_g(1.5e-7) == "1.5e-07");
    CHECK(util::format_float_g(-1e100) == "-1e+100");
    CHECK(util::format_float_g(9007199254740993.0) == "9.007199254740992e+15");
  }

  TEST_CASE("refresh: the request v2.45 sends and the group it maps to") {
    FakePuppetDb fx;
    fx.change([&] { fx.body = k_two_resources; });
    puppetdb::Config config = config_for(fx.url() + "/");
    config.port = 9100;
    config.include_parameters = true;
    config.http_client.basic_auth.emplace() = {"u", "", "", {"p"}, "", ""};
    auto groups = make_discovery(config)->refresh({});
    REQUIRE_MESSAGE(groups, (groups ? "" : groups.error()));
    REQUIRE(groups->size() == 1);
    const model::TargetGroup& group = (*groups)[0];
    CHECK(group.source == fx.url() + "/pdb/query/v4?query=" + config.query);
    REQUIRE(group.targets.size() == 2);
    CHECK(group.targets[0].get("__address__") == "127.0.0.1:9100");
    CHECK(group.targets[0].get("__meta_puppetdb_parameter_port") == "9100");

    CHECK(fx.get(fx.requests) == 1);
    CHECK(fx.get(fx.request_body) ==
          R"({"query":"resources { type = \"Class\" and title = \"Prometheus::Node_exporter\" }"})");
    CHECK(fx.header("Content-Type") == "application/json");
    CHECK(fx.header("Accept") == "application/json");
    CHECK(fx.header("User-Agent") == "Prometheus/2.45.0");
    CHECK(fx.header("Authorization") == "Basic dTpw");
  }

  TEST_CASE("refresh: content types v2.45 accepts") {
    FakePuppetDb fx;
    auto discovery = make_discovery(config_for(fx.url()));
    for (const char* type :
         {"application/json", "application/json; charset=utf-8", "Application/JSON;charset=\"UTF-8\""}) {
      fx.change([&] { fx.content_type = type; });
      auto groups = discovery->refresh({});
      CHECK_MESSAGE(groups, type);
    }
  }

  TEST_CASE("refresh: failures") {
    FakePuppetDb fx;
    auto discovery = make_discovery(config_for(fx.url(), model::Duration{300}));
    auto check_error = [&](const std::string& want) {
      auto groups = discovery->refresh({});
      REQUIRE(!groups);
      CHECK(groups.error() == want);
    };
    fx.change([&] { fx.status = 401; });
    check_error("server returned HTTP status 401 Unauthorized");
    fx.change([&] { fx.status = 500; });
    check_error("server returned HTTP status 500 Internal Server Error");
    fx.change([&] {
      fx.status = 200;
      fx.content_type = "text/html";
    });
    check_error("unsupported content type text/html");
    fx.change([&] { fx.content_type = "application/json; charset=latin1"; });
    check_error("unsupported content type application/json; charset=latin1");
    fx.change([&] {
      fx.content_type = "application/json";
      fx.body = "{}";
    });
    check_error("json: cannot unmarshal object into Go value of type []puppetdb.Resource");
    fx.change([&] { fx.body = "[{"; });
    auto malformed = discovery->refresh({});
    REQUIRE(!malformed);
    CHECK(malformed.error().starts_with("invalid JSON: "));

    fx.change([&] {
      fx.body = "[]";
      fx.delay = 1500ms;
    });
    auto start = std::chrono::steady_clock::now();
    auto slow = discovery->refresh({}); // the client timeout is the refresh interval
    CHECK(std::chrono::steady_clock::now() - start < 1200ms);
    REQUIRE(!slow);
    CHECK(slow.error().starts_with("Post \"" + fx.url() + "/pdb/query/v4\": "));
    CHECK(slow.error().find("context deadline exceeded") != std::string::npos);

    std::string url = fx.url();
    fx.stop();
    auto unreachable = discovery->refresh({});
    REQUIRE(!unreachable);
    CHECK(unreachable.error().starts_with("Post \"" + url + "/pdb/query/v4\": "));
  }

  TEST_CASE("refresh: a password never appears in an error") {
    FakePuppetDb fx;
    std::string url = fx.url();
    fx.stop();
    puppetdb::Config config = config_for(url);
    config.http_client.basic_auth.emplace() = {"u", "", "", {"hunter2-secret"}, "", ""};
    auto failed = make_discovery(config)->refresh({});
    REQUIRE(!failed);
    CHECK(failed.error().find("hunter2-secret") == std::string::npos);
  }

  TEST_CASE("make_discoverer: reports each failure and keeps the last good group") {
    FakePuppetDb fx;
    fx.change([&] { fx.body = k_two_resources; });
    test::RecordingSink sink;
    test::RunningDiscoverer running(config_for(fx.url(), model::Duration::seconds(1)).make_discoverer({}), sink);
    REQUIRE(sink.wait_for_reports(1));
    CHECK(sink.report(0) == "");
    REQUIRE(sink.update_count() == 1);
    REQUIRE(sink.updates[0].size() == 1);
    CHECK(sink.updates[0][0]->targets.size() == 2);

    fx.change([&] { fx.status = 500; });
    REQUIRE(sink.wait_for_reports(2));
    CHECK(sink.report(1) == "server returned HTTP status 500 Internal Server Error");
    fx.change([&] {
      fx.status = 200;
      fx.body = "[";
    });
    REQUIRE(sink.wait_for_reports(3));
    CHECK(sink.report(2).find("invalid JSON") != std::string::npos);
    CHECK(sink.update_count() == 1); // nothing sent: the two resources stay

    fx.change([&] { fx.body = R"([{"certname":"127.0.0.9"}])"; });
    REQUIRE(sink.wait_for_reports(4));
    CHECK(sink.report(3) == "");
    REQUIRE(sink.update_count() == 2);
    REQUIRE(sink.updates[1].size() == 1); // the same Source, replaced whole
    CHECK(sink.updates[1][0]->source == sink.updates[0][0]->source);
    REQUIRE(sink.updates[1][0]->targets.size() == 1);
    CHECK(sink.updates[1][0]->targets[0].get("__address__") == "127.0.0.9:80");
    CHECK(running.stop() < 500ms);
  }

  TEST_CASE("make_discoverer: an unreadable CA file is an error") {
    puppetdb::Config config = config_for("http://127.0.0.1:1");
    config.http_client.tls_config.ca_file = "/nonexistent/ca.pem";
    auto discoverer = config.make_discoverer({});
    REQUIRE(!discoverer);
    CHECK(discoverer.error() ==
          "unable to load specified CA cert /nonexistent/ca.pem: open /nonexistent/ca.pem: no such file or directory");
  }
}
