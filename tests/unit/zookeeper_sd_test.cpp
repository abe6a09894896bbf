// serverset_sd and nerve_sd (discovery/zookeeper.h): member parsing and the
// tree cache as pure functions, then the discoverer against a real
// ZooKeeper server (zookeeper_server.h).
#include <map>
#include <mutex>
#include <thread>

#include <doctest/doctest.h>

#include "discovery/zookeeper.h"
#include "discovery/zookeeper_tree.h"
#include "test_util.h"
#include "zookeeper_server.h"

using namespace sdscope;
using discovery::zookeeper::parse_nerve_member;
using discovery::zookeeper::parse_serverset_member;
using discovery::zookeeper::TreeEvent;
using std::chrono::milliseconds;

namespace {

// An in-memory ZooKeeper for the tree cache: path -> data.
class FakeZnodes : public discovery::zookeeper::ZnodeReader {
public:
  std::map<std::string, std::string> nodes;
  std::vector<std::string> reads;

  Result<std::optional<std::string>> get_watch(const std::string& path) override {
    reads.push_back(path);
    if (path.find("//") != std::string::npos) {
      return fail("zk: invalid path");
    }
    auto it = nodes.find(path);
    return it == nodes.end() ? std::optional<std::string>() : std::optional<std::string>(it->second);
  }
  Result<std::optional<std::vector<std::string>>> children_watch(const std::string& path) override {
    if (!nodes.contains(path)) {
      return std::optional<std::vector<std::string>>();
    }
    std::string prefix = path == "/" ? "/" : path + "/";
    std::vector<std::string> children;
    for (const auto& [p, data] : nodes) {
      if (p.size() > prefix.size() && p.compare(0, prefix.size(), prefix) == 0 &&
          p.find('/', prefix.size()) == std::string::npos) {
        children.push_back(p.substr(prefix.size()));
      }
    }
    return std::optional<std::vector<std::string>>(children);
  }
};

std::vector<std::pair<std::string, std::string>> describe(const std::vector<TreeEvent>& events) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const TreeEvent& e : events) {
    out.emplace_back(e.path, e.data ? "=" + *e.data : "gone");
  }
  return out;
}

// The groups a discoverer sent, folded by Source as the manager folds them,
// and its reports; waits poll the state.
class StateSink : public discovery::Sink {
public:
  using discovery::Sink::update;
  void update(std::vector<std::shared_ptr<const model::TargetGroup>> groups) override {
    std::lock_guard lock(m_mutex);
    for (const auto& group : groups) {
      m_state[group->source] = group->targets;
    }
    ++m_updates;
  }
  void report(std::string error) override {
    std::lock_guard lock(m_mutex);
    m_reports.push_back(std::move(error));
  }
  std::map<std::string, std::vector<model::Labels>> state() {
    std::lock_guard lock(m_mutex);
    return m_state;
  }
  std::vector<std::string> reports() {
    std::lock_guard lock(m_mutex);
    return m_reports;
  }
  size_t updates() {
    std::lock_guard lock(m_mutex);
    return m_updates;
  }
  template <class Pred> bool wait(Pred pred, milliseconds limit = milliseconds(15000)) {
    auto deadline = std::chrono::steady_clock::now() + limit;
    while (!pred(*this)) {
      if (std::chrono::steady_clock::now() > deadline) {
        return false;
      }
      std::this_thread::sleep_for(milliseconds(10));
    }
    return true;
  }
  bool wait_for_report(std::string_view containing) {
    return wait([&](StateSink& s) {
      std::vector<std::string> r = s.reports();
      return !r.empty() && r.back().find(containing) != std::string::npos;
    });
  }
  bool wait_for_clean_report() {
    return wait([&](StateSink& s) {
      std::vector<std::string> r = s.reports();
      return !r.empty() && r.back().empty();
    });
  }

private:
  std::mutex m_mutex;
  std::map<std::string, std::vector<model::Labels>> m_state;
  std::vector<std::string> m_reports;
  size_t m_updates = 0;
};

std::string serverset_json(const std::string& host, int port) {
  return R"({"serviceEndpoint":{"host":")" + host + R"(","port":)" + std::to_string(port) +
         R"(},"additionalEndpoints":{"admin":{"host":")" + host + R"(","port":9990}},"status":"ALIVE","shard":)" +
         std::to_string(port % 10) + "}";
}

model::Labels serverset_target(const std::string& path, const std::string& host, int port) {
  return {{"__address__", host + ":" + std::to_string(port)},
          {"__meta_serverset_endpoint_host", host},
          {"__meta_serverset_endpoint_host_admin", host},
          {"__meta_serverset_endpoint_port", std::to_string(port)},
          {"__meta_serverset_endpoint_port_admin", "9990"},
          {"__meta_serverset_path", path},
          {"__meta_serverset_shard", std::to_string(port % 10)},
          {"__meta_serverset_status", "ALIVE"}};
}

discovery::zookeeper::Settings nerve_settings(const std::string& server, const std::string& path) {
  discovery::zookeeper::Settings settings;
  settings.servers = {server};
  settings.paths = {path};
  settings.session_timeout = milliseconds(4000);
  settings.parse = &parse_nerve_member;
  settings.retry_delay = milliseconds(200);
  return settings;
}

} // namespace

TEST_SUITE("discovery::zookeeper") {
  TEST_CASE("serverset member: every label, additional endpoint names sanitized") {
    Result<model::Labels> labels = parse_serverset_member(
        R"({"serviceEndpoint":{"host":"10.0.0.1","port":8080},
            "additionalEndpoints":{"admin-http":{"host":"10.0.0.2","port":9990},"health.check":{"host":"h","port":1}},
            "status":"ALIVE","shard":3,"extra":[1,2]})",
        "/services/web/member_0001");
    REQUIRE_MESSAGE(labels, (labels ? "" : labels.error()));
    CHECK(*labels == model::Labels{{"__address__", "10.0.0.1:8080"},
                                   {"__meta_serverset_endpoint_host", "10.0.0.1"},
                                   {"__meta_serverset_endpoint_host_admin_http", "10.0.0.2"},
                                   {"__meta_serverset_endpoint_host_health_check", "h"},
                                   {"__meta_serverset_endpoint_port", "8080"},
                                   {"__meta_serverset_endpoint_port_admin_http", "9990"},
                                   {"__meta_serverset_endpoint_port_health_check", "1"},
                                   {"__meta_serverset_path", "/services/web/member_0001"},
                                   {"__meta_serverset_shard", "3"},
                                   {"__meta_serverset_status", "ALIVE"}});
  }

  TEST_CASE("serverset member: Go's decoding rules") {
    // Keys in any case; a repeated struct key fills the same struct; shard
    // defaults to 0; an empty status is an absent label; IPv6 in brackets.
    Result<model::Labels> labels =
        parse_serverset_member(R"({"SERVICEENDPOINT":{"HOST":"::1"},"serviceendpoint":{"Port":80},"Status":""})", "/m");
    REQUIRE(labels);
    CHECK(*labels == model::Labels{{"__address__", "[::1]:80"},
                                   {"__meta_serverset_endpoint_host", "::1"},
                                   {"__meta_serverset_endpoint_port", "80"},
                                   {"__meta_serverset_path", "/m"},
                                   {"__meta_serverset_shard", "0"}});
    // null is an empty member; a null endpoint in the map is a zero one.
    labels = parse_serverset_member("null", "/m");
    REQUIRE(labels);
    CHECK(labels->get("__address__") == ":0");
    labels = parse_serverset_member(R"({"additionalEndpoints":{"a":null}})", "/m");
    REQUIRE(labels);
    CHECK(labels->get("__meta_serverset_endpoint_port_a") == "0");
    CHECK(!labels->has("__meta_serverset_endpoint_host_a"));
  }

  TEST_CASE("serverset member: data that is not a member fails") {
    for (std::string_view data :
         {"", "  ", "x", "[]", R"("s")", "1", R"({"shard":"1"})", R"({"serviceEndpoint":{"port":1.5}})",
          R"({"serviceEndpoint":{"port":"80"}})", R"({"serviceEndpoint":[]})", R"({"additionalEndpoints":[]})",
          R"({"status":1})", R"({"a":1} {})"}) {
      CAPTURE(data);
      CHECK(!parse_serverset_member(data, "/m"));
    }
    Result<model::Labels> empty = parse_serverset_member("", "/m");
    REQUIRE(!empty);
    CHECK(empty.error() == "error unmarshaling serverset member \"/m\": unexpected end of JSON input");
  }

  TEST_CASE("nerve member: labels, {} and type errors") {
    Result<model::Labels> labels = parse_nerve_member(R"({"host":"10.1.2.3","port":8443,"name":"web_1","x":1})",
                                                      "/nerve/services/web/services/i-1");
    REQUIRE(labels);
    CHECK(*labels == model::Labels{{"__address__", "10.1.2.3:8443"},
                                   {"__meta_nerve_endpoint_host", "10.1.2.3"},
                                   {"__meta_nerve_endpoint_name", "web_1"},
                                   {"__meta_nerve_endpoint_port", "8443"},
                                   {"__meta_nerve_path", "/nerve/services/web/services/i-1"}});
    labels = parse_nerve_member("{}", "/n");
    REQUIRE(labels);
    CHECK(*labels == model::Labels{{"__address__", ":0"},
                                   {"__meta_nerve_endpoint_port", "0"},
                                   {"__meta_nerve_path", "/n"}});
    labels = parse_nerve_member(R"({"HOST":"fe80::1","Port":1})", "/n");
    REQUIRE(labels);
    CHECK(labels->get("__address__") == "[fe80::1]:1");
    CHECK(!parse_nerve_member(R"({"port":"80"})", "/n"));
    CHECK(!parse_nerve_member(R"({"name":{}})", "/n"));
    CHECK(!parse_nerve_member("", "/n"));
  }

  TEST_CASE("resolve_servers: default port, Go's address errors") {
    CHECK(discovery::zookeeper::resolve_servers({"127.0.0.1"}) == "127.0.0.1:2181");
    CHECK(discovery::zookeeper::resolve_servers({"127.0.0.2:2182", "[::1]:2183"}) == "127.0.0.2:2182,[::1]:2183");
    Result<std::string> bad = discovery::zookeeper::resolve_servers({"::1"});
    REQUIRE(!bad);
    CHECK(bad.error() == "address ::1: too many colons in address");
    bad = discovery::zookeeper::resolve_servers({"[::1]"});
    REQUIRE(!bad);
    CHECK(bad.error() == "address [::1]: missing port in address");
    bad = discovery::zookeeper::resolve_servers({"zk]1:2181"});
    REQUIRE(!bad);
    CHECK(bad.error() == "address zk]1:2181: unexpected ']' in address");
  }

  TEST_CASE("tree cache: first read, changes, deletions, a vanished root and the resync") {
    FakeZnodes zk;
    zk.nodes = {{"/s", ""}, {"/s/a", "A"}, {"/s/b", "B"}, {"/s/b/c", "C"}, {"/other", "O"}};
    discovery::zookeeper::TreeCache tree("/s");
    std::vector<TreeEvent> events;
    REQUIRE(tree.resync(zk, events));
    using Seen = std::vector<std::pair<std::string, std::string>>;
    CHECK(describe(events) == Seen{{"/s", "="}, {"/s/a", "=A"}, {"/s/b", "=B"}, {"/s/b/c", "=C"}});

    // A data watch: only that node is read again; unchanged data sends nothing.
    events.clear();
    zk.reads.clear();
    zk.nodes["/s/a"] = "A2";
    REQUIRE(tree.node_changed("/s/a", zk, events));
    CHECK(describe(events) == Seen{{"/s/a", "=A2"}});
    CHECK(zk.reads == std::vector<std::string>{"/s/a"});
    events.clear();
    REQUIRE(tree.node_changed("/s/a", zk, events));
    CHECK(events.empty());

    // A subtree deleted: the child's own watch, then the parent's.
    events.clear();
    zk.nodes.erase("/s/b/c");
    zk.nodes.erase("/s/b");
    REQUIRE(tree.node_changed("/s/b/c", zk, events));
    REQUIRE(tree.node_changed("/s/b", zk, events));
    REQUIRE(tree.node_changed("/s", zk, events));
    CHECK(describe(events) == Seen{{"/s/b/c", "gone"}, {"/s/b", "gone"}});

    // A new child: the parent's child watch reads it (and only it).
    events.clear();
    zk.reads.clear();
    zk.nodes["/s/d"] = "D";
    REQUIRE(tree.node_changed("/s", zk, events));
    CHECK(describe(events) == Seen{{"/s/d", "=D"}});
    CHECK(zk.reads == std::vector<std::string>{"/s", "/s/d"});

    // The root deleted: everything is sent as gone, and the tree fails.
    events.clear();
    zk.nodes = {{"/other", "O"}};
    Result<void> r = tree.node_changed("/s", zk, events);
    REQUIRE(!r);
    CHECK(r.error() == "path /s does not exist");
    CHECK(describe(events) == Seen{{"/s", "gone"}, {"/s/a", "gone"}, {"/s/d", "gone"}});
    events.clear();
    CHECK(!tree.resync(zk, events));
    CHECK(events.empty());

    // Back again: the resync reads everything afresh.
    zk.nodes = {{"/s", "root"}, {"/s/e", "E"}};
    REQUIRE(tree.resync(zk, events));
    CHECK(describe(events) == Seen{{"/s", "=root"}, {"/s/e", "=E"}});
  }

  TEST_CASE("tree cache: a resync reports what vanished during a failure, and the prefix / fails as in v2.45") {
    FakeZnodes zk;
    zk.nodes = {{"/s", ""}, {"/s/a", "A"}, {"/s/b", "B"}};
    discovery::zookeeper::TreeCache tree("/s");
    std::vector<TreeEvent> events;
    REQUIRE(tree.resync(zk, events));
    events.clear();
    zk.nodes.erase("/s/a");
    REQUIRE(tree.resync(zk, events)); // a retry after a lost session
    using Seen = std::vector<std::pair<std::string, std::string>>;
    CHECK(describe(events) == Seen{{"/s/b", "=B"}, {"/s/a", "gone"}});

    // v2.45 joins "/" + "/" + child: ZooKeeper rejects "//zookeeper".
    FakeZnodes root;
    root.nodes = {{"/", ""}, {"/zookeeper", ""}};
    discovery::zookeeper::TreeCache whole("/");
    Result<void> r = whole.resync(root, events);
    REQUIRE(!r);
    CHECK(r.error() == "zk: invalid path");
  }

  TEST_CASE("serverset: members added, changed and removed while watching (real ZooKeeper)") {
    test::ZookeeperServer& server = test::ZookeeperServer::get();
    test::ZookeeperAdmin zk(server.address());
    zk.remove("/ss");
    zk.create("/ss/web/member_0001", serverset_json("127.0.0.1", 8081));
    zk.create("/ss/web/member_0002", serverset_json("127.0.0.2", 8082));
    zk.create("/ss/api/member_0001", "not json");

    test::SdResult config = test::decode_sd("serverset", "servers: ['" + server.address() +
                                                             "']\npaths: ['/ss/web', '/ss/api']\ntimeout: 4s\n");
    REQUIRE(config.errors.empty());
    StateSink sink;
    test::RunningDiscoverer running(config.config->make_discoverer({}), sink);
    REQUIRE(sink.wait([](StateSink& s) { return !s.reports().empty(); }));
    CHECK(sink.reports().front() == "");
    using State = std::map<std::string, std::vector<model::Labels>>;
    // The first report comes after the first read of every path.
    CHECK(sink.state() == State{{"/ss/web", {}},
                                {"/ss/web/member_0001", {serverset_target("/ss/web/member_0001", "127.0.0.1", 8081)}},
                                {"/ss/web/member_0002", {serverset_target("/ss/web/member_0002", "127.0.0.2", 8082)}},
                                {"/ss/api", {}},
                                {"/ss/api/member_0001", {}}});

    zk.create("/ss/web/member_0003", serverset_json("127.0.0.3", 8083));
    CHECK(sink.wait([](StateSink& s) { return s.state().contains("/ss/web/member_0003"); }));
    CHECK(sink.state()["/ss/web/member_0003"] ==
          std::vector<model::Labels>{serverset_target("/ss/web/member_0003", "127.0.0.3", 8083)});

    zk.set("/ss/web/member_0001", serverset_json("127.0.0.1", 9091));
    CHECK(sink.wait([](StateSink& s) {
      return s.state()["/ss/web/member_0001"] ==
             std::vector<model::Labels>{serverset_target("/ss/web/member_0001", "127.0.0.1", 9091)};
    }));

    zk.remove("/ss/web/member_0002");
    CHECK(sink.wait([](StateSink& s) { return s.state()["/ss/web/member_0002"].empty(); }));

    zk.set("/ss/api/member_0001", serverset_json("127.0.0.4", 8084));
    CHECK(sink.wait([](StateSink& s) { return s.state()["/ss/api/member_0001"].size() == 1; }));

    // Below a member: a grandchild is watched too.
    zk.create("/ss/web/member_0003/extra", serverset_json("127.0.0.5", 8085));
    CHECK(sink.wait([](StateSink& s) { return s.state()["/ss/web/member_0003/extra"].size() == 1; }));
    CHECK(sink.reports().back() == "");
    CHECK(running.stop() < milliseconds(2000));
    zk.remove("/ss");
  }

  TEST_CASE("nerve: a path created later is read on the retry; a deleted root fails and comes back") {
    test::ZookeeperServer& server = test::ZookeeperServer::get();
    test::ZookeeperAdmin zk(server.address());
    zk.remove("/nerve");
    StateSink sink;
    test::RunningDiscoverer running(
        discovery::zookeeper::make_discoverer(nerve_settings(server.address(), "/nerve/web")), sink);
    REQUIRE(sink.wait([](StateSink& s) { return !s.reports().empty(); }));
    CHECK(sink.reports().front() ==
          "/nerve/web: error during initial read of Zookeeper: path /nerve/web does not exist");

    zk.create("/nerve/web/i-1", R"({"host":"127.0.0.1","port":8080,"name":"web"})");
    REQUIRE(sink.wait_for_clean_report());
    CHECK(sink.state()["/nerve/web/i-1"] ==
          std::vector<model::Labels>{{{"__address__", "127.0.0.1:8080"},
                                      {"__meta_nerve_endpoint_host", "127.0.0.1"},
                                      {"__meta_nerve_endpoint_name", "web"},
                                      {"__meta_nerve_endpoint_port", "8080"},
                                      {"__meta_nerve_path", "/nerve/web/i-1"}}});

    zk.remove("/nerve/web");
    CHECK(sink.wait_for_report("path /nerve/web does not exist"));
    CHECK(sink.wait([](StateSink& s) { return s.state()["/nerve/web/i-1"].empty(); }));
    zk.create("/nerve/web/i-2", R"({"host":"127.0.0.2","port":8080})");
    CHECK(sink.wait_for_clean_report());
    CHECK(sink.wait([](StateSink& s) { return s.state()["/nerve/web/i-2"].size() == 1; }));
    zk.remove("/nerve");
  }

  TEST_CASE("nerve: a stopped server is reported, the last targets are kept, a restart is caught up with") {
    test::ZookeeperServer& server = test::ZookeeperServer::get();
    {
      test::ZookeeperAdmin zk(server.address());
      zk.remove("/down");
      zk.create("/down/i-1", R"({"host":"127.0.0.1","port":80})");
    }
    StateSink sink;
    test::RunningDiscoverer running(discovery::zookeeper::make_discoverer(nerve_settings(server.address(), "/down")),
                                    sink);
    REQUIRE(sink.wait_for_clean_report());
    auto before = sink.state();
    REQUIRE(before["/down/i-1"].size() == 1);
    server.stop();
    CHECK(sink.wait_for_report("lost connection to Zookeeper"));
    CHECK(sink.state() == before);

    // Started again on the same data: the session comes back (its watches
    // re-sent) or, expired, is replaced and the tree read again; either way
    // a member added now shows up.
    test::ZookeeperServer::get();
    test::ZookeeperAdmin zk(server.address());
    zk.create("/down/i-2", R"({"host":"127.0.0.2","port":80})");
    CHECK(sink.wait([](StateSink& s) { return s.state()["/down/i-2"].size() == 1; }, milliseconds(30000)));
    CHECK(sink.wait_for_clean_report());
    CHECK(sink.state()["/down/i-1"] == before["/down/i-1"]);
    CHECK(running.stop() < milliseconds(4000));
    zk.remove("/down");
  }

  TEST_CASE("nerve: an unreachable server is reported, and stop is prompt") {
    discovery::zookeeper::Settings settings = nerve_settings("127.0.0.1:1", "/x");
    settings.session_timeout = milliseconds(1000);
    StateSink sink;
    test::RunningDiscoverer running(discovery::zookeeper::make_discoverer(settings), sink);
    REQUIRE(sink.wait([](StateSink& s) { return !s.reports().empty(); }, milliseconds(5000)));
    CHECK(sink.reports().front() == "/x: error during initial read of Zookeeper: zk: could not connect to a server");
    CHECK(sink.updates() == 0);
    CHECK(running.stop() < milliseconds(2000));
  }
}
