// consul_sd: the pure mapping functions, and the discoverer against a
// loopback fixture that behaves like Consul (X-Consul-Index, blocking
// queries, tag filtering, ACL token).

#include <httplib.h> // CPPHTTPLIB_OPENSSL_SUPPORT comes from its pkg-config flags

#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <thread>

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include "discovery/consul.h"
#include "discovery/consul_api.h"
#include "test_util.h"
#include "loopback_server.h"

using namespace sdscope;
using namespace std::chrono_literals;
namespace consul = sdscope::discovery::consul;

namespace {

// A fake Consul agent on 127.0.0.1 and an ephemeral port. Each service has
// instances (health entries as JSON objects); every change bumps the one
// index, as Consul's raft index does. Blocking queries are held until the
// index passes `index` or min(wait, m_hold) elapses.
class FakeConsul {
public:
  explicit FakeConsul(std::chrono::milliseconds hold = 300ms) : m_hold(hold) {
    m_server.set_keep_alive_timeout(1);
    m_server.Get(R"((?:/consul)?/v1/agent/self)", [this](const httplib::Request& req, httplib::Response& res) {
      std::unique_lock lock(m_mutex);
      log(req);
      if (!authorized(req, res)) {
        return;
      }
      res.set_content(agent_self, "application/json");
    });
    m_server.Get(R"((?:/consul)?/v1/catalog/services)", [this](const httplib::Request& req, httplib::Response& res) {
      std::unique_lock lock(m_mutex);
      log(req);
      if (!authorized(req, res) || !block(req, res, lock)) {
        return;
      }
      nlohmann::json body = nlohmann::json::object();
      for (const auto& [name, instances] : services) {
        std::vector<std::string> tags;
        for (const nlohmann::json& instance : instances) {
          if (!node_meta_matches(req, instance)) {
            continue;
          }
          for (const auto& tag : instance["Service"]["Tags"]) {
            if (std::find(tags.begin(), tags.end(), tag) == tags.end()) {
              tags.push_back(tag);
            }
          }
        }
        body[name] = tags;
      }
      reply(res, body.dump());
    });
    m_server.Get(R"((?:/consul)?/v1/health/service/(.*))", [this](const httplib::Request& req, httplib::Response& res) {
      std::unique_lock lock(m_mutex);
      log(req);
      if (!authorized(req, res)) {
        return;
      }
      if (health_status != 200) {
        res.status = health_status;
        res.set_content("  server on fire \n", "text/plain");
        return;
      }
      if (!block(req, res, lock)) {
        return;
      }
      nlohmann::json body = nlohmann::json::array();
      auto it = services.find(req.matches[1].str());
      if (it != services.end()) {
        for (const nlohmann::json& instance : it->second) {
          bool tagged = true;
          for (size_t i = 0; i < req.get_param_value_count("tag"); ++i) {
            const auto& tags = instance["Service"]["Tags"];
            tagged = tagged && std::find(tags.begin(), tags.end(), req.get_param_value("tag", i)) != tags.end();
          }
          if (tagged && node_meta_matches(req, instance)) {
            body.push_back(instance);
          }
        }
      }
      reply(res, body.dump());
    });
    m_port = m_serving.start(m_server);
  }
  ~FakeConsul() {
    {
      std::lock_guard lock(m_mutex);
      m_closing = true;
      m_changed.notify_all();
    }
    m_serving.stop();
  }

  std::string server() const { return "127.0.0.1:" + std::to_string(m_port); }

  // Changes state under the lock and wakes the blocked queries.
  template <class Fn> void change(Fn fn) {
    std::lock_guard lock(m_mutex);
    fn();
    ++index;
    m_changed.notify_all();
  }
  // The request targets (path?query) received so far, and their tokens.
  std::vector<std::string> requests() {
    std::lock_guard lock(m_mutex);
    return m_requests;
  }
  std::vector<std::string> tokens() {
    std::lock_guard lock(m_mutex);
    return m_tokens;
  }
  std::vector<std::string> authorizations() {
    std::lock_guard lock(m_mutex);
    return m_authorizations;
  }
  size_t count(std::string_view path_prefix) {
    std::lock_guard lock(m_mutex);
    return std::count_if(m_requests.begin(), m_requests.end(),
                         [&](const std::string& r) { return r.starts_with(path_prefix); });
  }

  // State; change it through change().
  uint64_t index = 10;
  bool send_index = true;
  int health_status = 200;
  std::string token;      // required X-Consul-Token, "" = none required
  std::string agent_self = R"({"Config":{"Datacenter":"dc1","NodeName":"agent"}})";
  std::map<std::string, std::vector<nlohmann::json>> services;

private:
  void log(const httplib::Request& req) {
    m_requests.push_back(req.target);
    m_tokens.push_back(req.get_header_value("X-Consul-Token"));
    m_authorizations.push_back(req.get_header_value("Authorization"));
  }
  bool authorized(const httplib::Request& req, httplib::Response& res) {
    if (!token.empty() && req.get_header_value("X-Consul-Token") != token) {
      res.status = 403;
      res.set_content("ACL not found", "text/plain");
      return false;
    }
    return true;
  }
  // Holds a blocking query; false when the fixture is closing.
  bool block(const httplib::Request& req, httplib::Response&, std::unique_lock<std::mutex>& lock) {
    if (req.has_param("index")) {
      uint64_t wanted = std::stoull(req.get_param_value("index"));
      std::chrono::milliseconds wait = m_hold;
      if (req.has_param("wait")) {
        wait = std::min(wait, std::chrono::milliseconds(std::stoll(req.get_param_value("wait"))));
      }
      m_changed.wait_for(lock, wait, [&] { return index > wanted || m_closing; });
    }
    return !m_closing;
  }
  static bool node_meta_matches(const httplib::Request& req, const nlohmann::json& instance) {
    for (size_t i = 0; i < req.get_param_value_count("node-meta"); ++i) {
      std::string filter = req.get_param_value("node-meta", i);
      size_t colon = filter.find(':');
      const nlohmann::json& meta = instance["Node"]["Meta"];
      if (colon == std::string::npos || !meta.contains(filter.substr(0, colon)) ||
          meta[filter.substr(0, colon)] != filter.substr(colon + 1)) {
        return false;
      }
    }
    return true;
  }
  void reply(httplib::Response& res, const std::string& body) {
    if (send_index) {
      res.set_header("X-Consul-Index", std::to_string(index));
    }
    res.set_content(body, "application/json");
  }

  std::chrono::milliseconds m_hold;
  std::mutex m_mutex;
  std::condition_variable m_changed;
  bool m_closing = false;
  std::vector<std::string> m_requests;
  std::vector<std::string> m_tokens;
  std::vector<std::string> m_authorizations;
  httplib::Server m_server;
  test::LoopbackServer m_serving;
  int m_port = 0;
};

nlohmann::json instance(const std::string& service, const std::string& id, const std::string& node, int port,
                        std::vector<std::string> tags, nlohmann::json node_meta = nlohmann::json::object()) {
  return {{"Node", {{"Node", node}, {"Address", "127.0.0.1"}, {"Meta", node_meta}}},
          {"Service", {{"ID", id}, {"Service", service}, {"Tags", tags}, {"Address", ""}, {"Port", port}}},
          {"Checks", nlohmann::json::array()}};
}

// Keeps what a running discoverer sends: the latest group per Source, every
// update, and the reports.
class Collector : public discovery::Sink {
public:
  using discovery::Sink::update;
  void update(std::vector<std::shared_ptr<const model::TargetGroup>> groups) override {
    std::lock_guard lock(m_mutex);
    for (auto& g : groups) {
      sent.push_back(*g);
      latest[g->source] = *g;
    }
    m_changed.notify_all();
  }
  void report(std::string error) override {
    std::lock_guard lock(m_mutex);
    reports.push_back(std::move(error));
    m_changed.notify_all();
  }
  // Waits until pred() holds (called under the lock); false on timeout.
  template <class Pred> bool wait(Pred pred, std::chrono::milliseconds limit = 5s) {
    std::unique_lock lock(m_mutex);
    return m_changed.wait_for(lock, limit, pred);
  }
  std::map<std::string, model::TargetGroup> groups() {
    std::lock_guard lock(m_mutex);
    return latest;
  }
  std::vector<std::string> all_reports() {
    std::lock_guard lock(m_mutex);
    return reports;
  }
  size_t sent_count(const std::string& source) {
    std::lock_guard lock(m_mutex);
    return std::count_if(sent.begin(), sent.end(), [&](const model::TargetGroup& g) { return g.source == source; });
  }
  // The addresses of the latest group of source, sorted.
  std::vector<std::string> addresses(const std::string& source) {
    std::lock_guard lock(m_mutex);
    std::vector<std::string> out;
    for (const model::Labels& t : latest[source].targets) {
      out.emplace_back(t.get("__address__"));
    }
    std::sort(out.begin(), out.end());
    return out;
  }

  std::vector<model::TargetGroup> sent;
  std::map<std::string, model::TargetGroup> latest;
  std::vector<std::string> reports;

private:
  std::mutex m_mutex;
  std::condition_variable m_changed;
};

// Polls pred until it holds; false after limit.
template <class Pred> bool eventually(Pred pred, std::chrono::milliseconds limit = 5s) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (!pred()) {
    if (std::chrono::steady_clock::now() > deadline) {
      return false;
    }
    std::this_thread::sleep_for(5ms);
  }
  return true;
}

// Runs a discoverer with short retry pauses on its own thread until destroyed.
struct Running : test::RunningDiscoverer {
  Running(const consul::Config& config, Collector& sink)
      : RunningDiscoverer(consul::make_discovery(config, consul::Timing{50ms}), sink) {}
};

consul::Config config_for(const FakeConsul& fx) {
  consul::Config config;
  config.server = fx.server();
  config.refresh_interval = model::Duration{50};
  return config;
}

} // namespace

TEST_SUITE("discovery::consul") {
  TEST_CASE("consul service_group: every label of a health entry") {
    const std::string body = R"([
      {"Node":{"Node":"n1","Address":"10.0.0.1","TaggedAddresses":{"lan":"10.0.0.1","wan-v4":"1.2.3.4"},
               "Meta":{"rack":"a","dotted.key":"x","é":"y"}},
       "Service":{"ID":"web-1","Service":"web","Tags":["a","b"],"Address":"","Port":8080,
                  "Meta":{"version":"1"},"Namespace":"ns1","Partition":"p1"},
       "Checks":[{"CheckID":"serfHealth","Status":"passing"},{"CheckID":"svc","Status":"warning"}]},
      {"Node":{"Node":"n2","Address":"10.0.0.2"},
       "Service":{"ID":"web-2","Service":"web","Tags":null,"Address":"::1","Port":9090},
       "Checks":[]}])";
    auto group = consul::service_group(body, "web", "dc1", ";");
    REQUIRE_MESSAGE(group, (group ? "" : group.error()));
    CHECK(group->source == "web");
    CHECK(group->labels == model::Labels{{"__meta_consul_dc", "dc1"}, {"__meta_consul_service", "web"}});
    REQUIRE(group->targets.size() == 2);
    CHECK(group->targets[0] == model::Labels{{"__address__", "10.0.0.1:8080"},
                                             {"__meta_consul_address", "10.0.0.1"},
                                             {"__meta_consul_health", "warning"},
                                             {"__meta_consul_metadata_dotted_key", "x"},
                                             {"__meta_consul_metadata_rack", "a"},
                                             {"__meta_consul_metadata__", "y"},
                                             {"__meta_consul_namespace", "ns1"},
                                             {"__meta_consul_node", "n1"},
                                             {"__meta_consul_partition", "p1"},
                                             {"__meta_consul_service_id", "web-1"},
                                             {"__meta_consul_service_metadata_version", "1"},
                                             {"__meta_consul_service_port", "8080"},
                                             {"__meta_consul_tagged_address_lan", "10.0.0.1"},
                                             {"__meta_consul_tagged_address_wan_v4", "1.2.3.4"},
                                             {"__meta_consul_tags", ";a;b;"}});
    CHECK(group->targets[1] == model::Labels{{"__address__", "[::1]:9090"},
                                             {"__meta_consul_address", "10.0.0.2"},
                                             {"__meta_consul_health", "passing"},
                                             {"__meta_consul_node", "n2"},
                                             {"__meta_consul_service_address", "::1"},
                                             {"__meta_consul_service_id", "web-2"},
                                             {"__meta_consul_service_port", "9090"},
                                             {"__meta_consul_tags", ";;"}});

    auto empty = consul::service_group("[]", "db", "", ",");
    REQUIRE(empty);
    CHECK(empty->targets.empty());
    CHECK(empty->labels == model::Labels{{"__meta_consul_service", "db"}});
  }

  TEST_CASE("consul service_group and parse_catalog: bodies Go's decoder rejects") {
    auto group_error = [](std::string_view body, const std::string& want) {
      auto group = consul::service_group(body, "web", "dc1", ",");
      REQUIRE(!group);
      CHECK(group.error() == want);
    };
    group_error("", "EOF");
    group_error(R"({"a":1})", "json: cannot unmarshal object into Go value of type []*api.ServiceEntry");
    group_error(R"([{"Service":{"Port":"80"}}])",
                "json: cannot unmarshal string into Go struct field AgentService.Service.Port of type int");
    group_error(R"([{"Node":{"Meta":{"k":1}}}])",
                "json: cannot unmarshal number into Go struct field Node.Node.Meta of type string");
    CHECK(!consul::service_group("[{", "web", "dc1", ","));
    // Keys match case-insensitively, as encoding/json does.
    auto lower = consul::service_group(R"([{"node":{"address":"h"},"service":{"port":1}}])", "web", "", ",");
    REQUIRE(lower);
    CHECK(lower->targets.at(0).get("__address__") == "h:1");

    auto catalog = consul::parse_catalog(R"({"web":["a","b"],"consul":[],"db":null})");
    REQUIRE(catalog);
    CHECK(*catalog == std::map<std::string, std::vector<std::string>>{{"consul", {}}, {"db", {}}, {"web", {"a", "b"}}});
    auto bad = consul::parse_catalog(R"(["web"])");
    REQUIRE(!bad);
    CHECK(bad.error() == "json: cannot unmarshal array into Go value of type map[string][]string");
  }

  TEST_CASE("consul aggregated_status: maintenance, then critical, warning, passing") {
    using Checks = std::vector<std::pair<std::string, std::string>>;
    CHECK(consul::aggregated_status({}) == "passing");
    CHECK(consul::aggregated_status(Checks{{"a", "passing"}, {"b", "critical"}, {"c", "warning"}}) == "critical");
    CHECK(consul::aggregated_status(Checks{{"a", "passing"}, {"_node_maintenance", "critical"}}) == "maintenance");
    CHECK(consul::aggregated_status(Checks{{"_service_maintenance:web-1", "x"}, {"a", "critical"}}) == "maintenance");
    CHECK(consul::aggregated_status(Checks{{"a", "passing"}, {"b", "unknown"}}) == "");
    CHECK(consul::aggregated_status(Checks{{"_node_maintenance", "passing"}, {"b", "bogus"}}) == "");
  }

  TEST_CASE("consul discoverer: catalog mode with tags, node_meta, token and a learned datacenter") {
    FakeConsul fx;
    fx.change([&] {
      fx.token = "s3cret";
      fx.services["web"] = {instance("web", "web-1", "n1", 8080, {"prod", "http"}, {{"rack", "a"}}),
                            instance("web", "web-2", "n2", 8081, {"canary"}, {{"rack", "a"}})};
      fx.services["db"] = {instance("db", "db-1", "n1", 5432, {"prod"}, {{"rack", "b"}})};
      fx.services["cache"] = {instance("cache", "cache-1", "n3", 6379, {"dev"}, {{"rack", "a"}})};
    });
    consul::Config config = config_for(fx);
    config.token.value = "s3cret";
    config.tags = {"prod"};
    config.node_meta = {{"rack", "a"}};
    Collector sink;
    Running running(config, sink);

    // Synced: the catalog, then the one matching service's first answer.
    REQUIRE(sink.wait([&] { return !sink.reports.empty(); }));
    CHECK(sink.all_reports()[0] == "");
    auto groups = sink.groups();
    CHECK(groups.size() == 1); // only web: db is on rack b, cache lacks the tag
    CHECK(sink.addresses("web") == std::vector<std::string>{"127.0.0.1:8080"});
    CHECK(groups["web"].labels.get("__meta_consul_dc") == "dc1");
    REQUIRE(groups["web"].targets.size() == 1);
    CHECK(groups["web"].targets[0].get("__meta_consul_metadata_rack") == "a");

    std::vector<std::string> requests = fx.requests();
    REQUIRE(requests.size() >= 3);
    CHECK(requests[0] == "/v1/agent/self");
    CHECK(requests[1] == "/v1/catalog/services?node-meta=rack%3Aa&stale=&wait=120000ms");
    bool health_seen = false;
    for (const std::string& r : requests) {
      if (r.starts_with("/v1/health/service/")) {
        health_seen = true;
        CHECK(r == "/v1/health/service/web?node-meta=rack%3Aa&stale=&tag=prod&wait=120000ms");
        break;
      }
    }
    CHECK(health_seen);
    for (const std::string& token : fx.tokens()) {
      CHECK(token == "s3cret");
    }

    // The next catalog call blocks on the index it was given.
    REQUIRE(eventually([&] { return fx.count("/v1/catalog/services?index=11&node-meta=rack%3Aa&stale=&wait=") > 0; }));

    // A new matching service gets a watcher; a change inside a service is
    // re-sent; a service leaving the catalog is sent empty.
    fx.change([&] { fx.services["api"] = {instance("api", "api-1", "n4", 7000, {"prod"}, {{"rack", "a"}})}; });
    REQUIRE(sink.wait([&] { return sink.latest.contains("api"); }));
    CHECK(sink.addresses("api") == std::vector<std::string>{"127.0.0.1:7000"});
    fx.change([&] { fx.services["web"].push_back(instance("web", "web-3", "n5", 8082, {"prod"}, {{"rack", "a"}})); });
    REQUIRE(sink.wait([&] { return sink.latest["web"].targets.size() == 2; }));
    CHECK(sink.addresses("web") == std::vector<std::string>{"127.0.0.1:8080", "127.0.0.1:8082"});
    fx.change([&] { fx.services.erase("web"); });
    REQUIRE(sink.wait([&] { return sink.latest["web"].targets.empty(); }));
    groups = sink.groups();
    CHECK(groups["web"].labels.empty());
    CHECK(groups.contains("api"));
    CHECK(running.stop() < 1500ms);
  }

  TEST_CASE("consul discoverer: no matching service sends the empty-Source group") {
    FakeConsul fx;
    fx.change([&] { fx.services["db"] = {instance("db", "db-1", "n1", 5432, {})}; });
    consul::Config config = config_for(fx);
    config.datacenter = "east";
    config.allow_stale = false;
    config.services = {"web"};
    config.tags = {"prod"}; // tags force catalog mode
    Collector sink;
    Running running(config, sink);
    REQUIRE(sink.wait([&] { return !sink.reports.empty(); }));
    CHECK(sink.all_reports()[0] == "");
    auto groups = sink.groups();
    REQUIRE(groups.size() == 1);
    CHECK(groups.contains(""));
    CHECK(groups[""].targets.empty());
    std::vector<std::string> requests = fx.requests();
    REQUIRE(!requests.empty());
    CHECK(requests[0] == "/v1/catalog/services?dc=east&wait=120000ms"); // no agent/self, no stale
  }

  TEST_CASE("consul discoverer: listed services are watched directly, with blocking health queries") {
    FakeConsul fx;
    fx.change([&] {
      fx.services["web"] = {instance("web", "web-1", "n1", 8080, {"a"})};
      fx.services["db"] = {instance("db", "db-1", "n1", 5432, {})};
    });
    consul::Config config = config_for(fx);
    config.services = {"web", "db", "missing"};
    config.datacenter = "dc9";
    config.namespace_ = "team";
    config.partition = "part";
    config.path_prefix = "/consul";
    fx.change([] {}); // index 12
    Collector sink;
    Running running(config, sink);
    REQUIRE(sink.wait([&] { return !sink.reports.empty(); }));
    CHECK(sink.all_reports()[0] == "");
    CHECK(sink.addresses("web") == std::vector<std::string>{"127.0.0.1:8080"});
    CHECK(sink.addresses("db") == std::vector<std::string>{"127.0.0.1:5432"});
    auto groups = sink.groups();
    REQUIRE(groups.contains("missing"));
    CHECK(groups["missing"].targets.empty());
    CHECK(groups["web"].labels.get("__meta_consul_dc") == "dc9");
    CHECK(fx.count("/consul/v1/catalog") == 0);
    CHECK(fx.count("/consul/v1/agent") == 0);
    CHECK(fx.count("/consul/v1/health/service/web?dc=dc9&ns=team&partition=part&stale=&wait=120000ms") == 1);
    // Later calls carry the index of the last answer and are held.
    REQUIRE(eventually([&] { return fx.count("/consul/v1/health/service/web?dc=dc9&index=12&") > 0; }));
    std::this_thread::sleep_for(400ms);
    CHECK(sink.sent_count("web") == 1); // unchanged index: nothing re-sent
    fx.change([&] { fx.services["web"].clear(); });
    REQUIRE(sink.wait([&] { return sink.latest["web"].targets.empty(); }));
  }

  TEST_CASE("consul discoverer: errors are reported, retried, and keep the last groups") {
    FakeConsul fx;
    fx.change([&] {
      fx.token = "right";
      fx.services["web"] = {instance("web", "web-1", "n1", 8080, {})};
    });
    consul::Config config = config_for(fx);
    config.token.value = "wrong";
    Collector sink;
    {
      Running running(config, sink);
      REQUIRE(sink.wait([&] { return !sink.reports.empty(); }));
      CHECK(sink.all_reports()[0] == "cannot retrieve datacenter name: Unexpected response code: 403 (ACL not found)");
      CHECK(sink.sent_count("web") == 0);
      // Retried after the pause.
      REQUIRE(sink.wait([&] { return sink.reports.size() >= 2; }));
      CHECK(fx.count("/v1/agent/self") >= 2);
    }

    Collector ok;
    config.token.value = "right";
    Running running(config, ok);
    REQUIRE(ok.wait([&] { return !ok.reports.empty(); }));
    CHECK(ok.all_reports()[0] == "");
    CHECK(ok.addresses("web") == std::vector<std::string>{"127.0.0.1:8080"});
    size_t reports = ok.all_reports().size();
    fx.change([&] { fx.health_status = 500; });
    REQUIRE(ok.wait([&] {
      return ok.reports.size() > reports && ok.reports.back().find("Unexpected response code: 500") != std::string::npos;
    }));
    CHECK(ok.all_reports().back() == "cannot refresh service \"web\": Unexpected response code: 500 (server on fire)");
    CHECK(ok.addresses("web") == std::vector<std::string>{"127.0.0.1:8080"}); // kept
    fx.change([&] {
      fx.health_status = 200;
      fx.services["web"].push_back(instance("web", "web-2", "n2", 8081, {}));
    });
    REQUIRE(ok.wait([&] { return ok.latest["web"].targets.size() == 2; }));
    REQUIRE(ok.wait([&] { return ok.reports.back().empty(); }));
  }

  TEST_CASE("consul discoverer: without X-Consul-Index nothing is ever sent") {
    FakeConsul fx;
    fx.change([&] {
      fx.send_index = false;
      fx.services["web"] = {instance("web", "web-1", "n1", 8080, {})};
    });
    Collector sink;
    Running running(config_for(fx), sink);
    REQUIRE(sink.wait([&] { return !sink.reports.empty(); }));
    CHECK(sink.all_reports()[0] == "");
    std::this_thread::sleep_for(200ms);
    CHECK(sink.groups().empty());
  }

  TEST_CASE("consul discoverer: stops at once during a held blocking query") {
    FakeConsul fx(10s);
    fx.change([&] { fx.services["web"] = {instance("web", "web-1", "n1", 8080, {})}; });
    Collector sink;
    Running running(config_for(fx), sink);
    REQUIRE(sink.wait([&] { return !sink.reports.empty(); }));
    REQUIRE(eventually([&] { return fx.count("/v1/catalog/services?index=") > 0 &&
                                   fx.count("/v1/health/service/web?index=") > 0; }));
    CHECK(running.stop() < 1000ms);
  }

  TEST_CASE("consul make_discovery: server address schemes") {
    consul::Config config;
    config.server = "ftp://127.0.0.1:1";
    auto d = consul::make_discovery(config, {});
    REQUIRE(!d);
    CHECK(d.error() == "Unknown protocol scheme: ftp");

    // A path after the host is a reverse proxy prefix, replacing path_prefix.
    FakeConsul fx;
    fx.change([&] { fx.services["web"] = {instance("web", "web-1", "n1", 8080, {})}; });
    config = config_for(fx);
    config.server = "http://" + fx.server() + "/consul";
    config.path_prefix = "/elsewhere";
    config.services = {"web"};
    config.datacenter = "dc1";
    Collector sink;
    Running running(config, sink);
    REQUIRE(sink.wait([&] { return !sink.reports.empty(); }));
    CHECK(sink.all_reports()[0] == "");
    CHECK(sink.addresses("web") == std::vector<std::string>{"127.0.0.1:8080"});
    CHECK(fx.count("/consul/v1/health/service/web?dc=dc1&stale=&wait=120000ms") == 1);
  }

  TEST_CASE("consul discoverer: service names and tags are escaped as Go's net/url does") {
    FakeConsul fx;
    fx.change([&] { fx.services["my svc"] = {instance("my svc", "s-1", "n1", 9000, {"a b&c", "x"})}; });
    consul::Config config = config_for(fx);
    config.datacenter = "dc1";
    config.tags = {"a b&c"};
    config.tag_separator = "|";
    Collector sink;
    Running running(config, sink);
    REQUIRE(sink.wait([&] { return !sink.reports.empty(); }));
    CHECK(sink.all_reports()[0] == "");
    CHECK(sink.addresses("my svc") == std::vector<std::string>{"127.0.0.1:9000"});
    auto groups = sink.groups();
    REQUIRE(groups["my svc"].targets.size() == 1);
    CHECK(groups["my svc"].targets[0].get("__meta_consul_tags") == "|a b&c|x|");
    CHECK(fx.count("/v1/health/service/my%20svc?dc=dc1&stale=&tag=a+b%26c&wait=120000ms") == 1);
  }

  TEST_CASE("consul make_discoverer: builds the discoverer from the config block") {
    FakeConsul fx;
    fx.change([&] { fx.services["web"] = {instance("web", "web-1", "n1", 8080, {})}; });
    consul::Config config = config_for(fx);
    config.username = "user"; // sent as basic auth
    config.password.value = "pw";
    auto discoverer = config.make_discoverer({});
    REQUIRE_MESSAGE(discoverer, (discoverer ? "" : discoverer.error()));
    Collector sink;
    std::jthread runner([&](std::stop_token stop) { (*discoverer)->run(stop, sink); });
    REQUIRE(sink.wait([&] { return !sink.reports.empty(); }));
    CHECK(sink.all_reports()[0] == "");
    CHECK(sink.addresses("web") == std::vector<std::string>{"127.0.0.1:8080"});
    CHECK(fx.authorizations().at(0) == "Basic dXNlcjpwdw==");
    runner.request_stop();
    runner.join();

    config.http_client.tls_config.ca_file = "/nonexistent/ca.pem";
    auto broken = config.make_discoverer({});
    REQUIRE(!broken);
    CHECK(broken.error().find("unable to load specified CA cert /nonexistent/ca.pem") == 0);
  }
}
