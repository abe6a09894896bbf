// docker_sd and dockerswarm_sd: the shared Docker API pieces (moby.h), the
// mappings (pure), and the discoverers against a fake Docker daemon on
// 127.0.0.1 (cpp-httplib) and on a Unix socket (a small server here:
// cpp-httplib 0.11 cannot listen on one).

#include <httplib.h> // CPPHTTPLIB_OPENSSL_SUPPORT comes from its pkg-config flags

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <mutex>
#include <thread>

#include <doctest/doctest.h>

#include "discovery/docker.h"
#include "discovery/dockerswarm.h"
#include "discovery/moby.h"
#include "loopback_server.h"
#include "test_util.h"
#include "util/strings.h"

using namespace sdscope;
using namespace std::chrono_literals;
namespace docker = sdscope::discovery::docker;
namespace dockerswarm = sdscope::discovery::dockerswarm;
namespace moby = sdscope::discovery::moby;

namespace {

const char* const k_containers = R"([
  {"Id": "c1", "Names": ["/web", "/alias"], "Created": 1700000000, "State": "running",
   "Labels": {"com.example.team": "a", "empty": ""},
   "HostConfig": {"NetworkMode": "bridge"},
   "Ports": [{"IP": "0.0.0.0", "PrivatePort": 8080, "PublicPort": 18080, "Type": "tcp"},
             {"PrivatePort": 9090, "Type": "tcp"},
             {"IP": "0.0.0.0", "PrivatePort": 53, "PublicPort": 5353, "Type": "udp"}],
   "NetworkSettings": {"Networks": {"bridge": {"NetworkID": "net1", "IPAddress": "127.0.0.2"}}}},
  {"Id": "c2", "Names": ["/multi"], "HostConfig": {"NetworkMode": "backend"},
   "Ports": [{"PrivatePort": 5000, "Type": "udp"}],
   "NetworkSettings": {"Networks": {"backend": {"NetworkID": "net2", "IPAddress": "127.0.0.3"},
                                    "bridge": {"NetworkID": "net1", "IPAddress": "127.0.0.4"},
                                    "gone": null}}},
  {"Id": "c3", "Names": ["/hostnet"], "HostConfig": {"NetworkMode": "host"}, "Ports": [],
   "NetworkSettings": {"Networks": {"host": {"NetworkID": "net3", "IPAddress": ""}}}},
  {"Id": "c4", "Names": [], "HostConfig": {"NetworkMode": "bridge"},
   "NetworkSettings": {"Networks": {"bridge": {"NetworkID": "net1", "IPAddress": "127.0.0.6"}}}}
])";

const char* const k_networks = R"([
  {"Name": "bridge", "Id": "net1", "Scope": "local", "Driver": "bridge", "Internal": false, "Ingress": false,
   "Labels": {"com.example.zone": "z1"}},
  {"Name": "backend", "Id": "net2", "Scope": "swarm", "Internal": true, "Ingress": true, "Labels": null}
])";

docker::NetworkLabels networks_with(std::string_view prefix) {
  auto labels = moby::network_labels(k_networks, prefix);
  REQUIRE_MESSAGE(labels, (labels ? "" : labels.error()));
  return *labels;
}

model::TargetGroup docker_group(std::string_view body, docker::Mapping mapping = {}) {
  auto group = docker::group_from_containers(body, networks_with("__meta_docker_"), mapping);
  REQUIRE_MESSAGE(group, (group ? "" : group.error()));
  return *group;
}

std::vector<std::string> addresses(const model::TargetGroup& group) {
  std::vector<std::string> out;
  for (const model::Labels& target : group.targets) {
    out.emplace_back(target.get("__address__"));
  }
  return out;
}

const model::Labels k_bridge_labels = {{"__meta_docker_network_id", "net1"},
                                       {"__meta_docker_network_ingress", "false"},
                                       {"__meta_docker_network_internal", "false"},
                                       {"__meta_docker_network_label_com_example_zone", "z1"},
                                       {"__meta_docker_network_name", "bridge"},
                                       {"__meta_docker_network_scope", "local"}};

model::Labels with(model::Labels labels, const model::Labels& more) {
  for (const auto& [name, value] : more) {
    labels.set(name, value);
  }
  return labels;
}

// One request a fake daemon saw.
struct Seen {
  std::string method, path, query, user_agent, authorization, host;
};

// A fake Docker daemon on 127.0.0.1: answers the ping (with API-Version
// when api_version is set) and every other GET from `bodies` by path
// without the version prefix (/containers/json, /networks, ...).
class FakeDaemon {
public:
  FakeDaemon() {
    m_server.set_keep_alive_timeout(1);
    auto ping = [this](const httplib::Request& req, httplib::Response& res) {
      std::lock_guard lock(m_mutex);
      record(req);
      res.status = ping_status;
      if (!api_version.empty()) {
        res.set_header("API-Version", api_version);
      }
      res.set_content("OK", "text/plain");
    };
    m_server.Get("/_ping", ping);
    m_server.Get(R"(/v[0-9.]+(/.*))", [this](const httplib::Request& req, httplib::Response& res) {
      std::chrono::milliseconds wait;
      {
        std::lock_guard lock(m_mutex);
        record(req);
        auto found = bodies.find(req.matches[1].str());
        res.status = found != bodies.end() ? status : 404;
        if (found != bodies.end()) {
          res.set_content(found->second, content_type);
        } else {
          res.set_content("page not found", "text/plain");
        }
        if (status >= 400 && !error_body.empty()) {
          res.set_content(error_body, content_type);
        }
        wait = delay;
      }
      std::this_thread::sleep_for(wait);
    });
    port = m_serving.start(m_server);
  }
  std::string http() const { return "http://127.0.0.1:" + std::to_string(port); }
  std::string tcp() const { return "tcp://127.0.0.1:" + std::to_string(port); }
  template <class Fn> void change(Fn fn) {
    std::lock_guard lock(m_mutex);
    fn();
  }
  std::vector<Seen> requests() {
    std::lock_guard lock(m_mutex);
    return m_requests;
  }
  void stop() { m_serving.stop(); }

  int port = 0;
  std::string api_version;
  int ping_status = 200;
  int status = 200;
  std::string content_type = "application/json";
  std::string error_body;
  std::map<std::string, std::string> bodies;
  std::chrono::milliseconds delay{0};

private:
  void record(const httplib::Request& req) {
    std::string query;
    if (size_t q = req.target.find('?'); q != std::string::npos) {
      query = req.target.substr(q + 1);
    }
    m_requests.push_back({req.method, req.path, query, req.get_header_value("User-Agent"),
                          req.get_header_value("Authorization"), req.get_header_value("Host")});
  }
  std::mutex m_mutex;
  std::vector<Seen> m_requests;
  httplib::Server m_server;
  test::LoopbackServer m_serving;
};

// A Docker daemon on a Unix socket: one request per connection, answered
// by path (without version prefix) from `bodies`, API-Version 1.41.
class UnixDaemon {
public:
  explicit UnixDaemon(std::map<std::string, std::string> bodies) : m_bodies(std::move(bodies)) {
    path = test::scratch_dir() / "docker.sock";
    m_fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
    REQUIRE(m_fd >= 0);
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    std::strncpy(address.sun_path, path.c_str(), sizeof(address.sun_path) - 1);
    REQUIRE(::bind(m_fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
    REQUIRE(::listen(m_fd, 8) == 0);
    m_thread = std::thread([this] { serve(); });
  }
  ~UnixDaemon() {
    ::shutdown(m_fd, SHUT_RDWR);
    ::close(m_fd);
    m_thread.join();
  }
  std::vector<std::string> requests() {
    std::lock_guard lock(m_mutex);
    return m_requests;
  }
  std::filesystem::path path;

private:
  void serve() {
    while (true) {
      int client = ::accept(m_fd, nullptr, nullptr);
      if (client < 0) {
        return;
      }
      std::string request;
      char buffer[4096];
      while (request.find("\r\n\r\n") == std::string::npos) {
        ssize_t n = ::read(client, buffer, sizeof buffer);
        if (n <= 0) {
          break;
        }
        request.append(buffer, static_cast<size_t>(n));
      }
      std::string line = request.substr(0, request.find("\r\n"));
      std::string method = line.substr(0, line.find(' '));
      std::string target = line.substr(line.find(' ') + 1);
      target = target.substr(0, target.find(' '));
      std::string path_only = target.substr(0, target.find('?'));
      std::string key = path_only == "/_ping" ? path_only : path_only.substr(path_only.find('/', 1));
      std::string body = m_bodies.contains(key) ? m_bodies[key] : "OK";
      {
        std::lock_guard lock(m_mutex);
        m_requests.push_back(request.substr(0, request.find("\r\n\r\n")));
      }
      std::string response = "HTTP/1.1 200 OK\r\nAPI-Version: 1.41\r\nContent-Type: application/json\r\n"
                              "Connection: close\r\nContent-Length: " +
                              std::to_string(body.size()) + "\r\n\r\n" + (method == "HEAD" ? "" : body);
      (void)!::write(client, response.data(), response.size());
      ::close(client);
    }
  }
  int m_fd = -1;
  std::map<std::string, std::string> m_bodies;
  std::mutex m_mutex;
  std::vector<std::string> m_requests;
  std::thread m_thread;
};

docker::Config docker_config(const std::string& host, model::Duration interval = model::Duration::seconds(30)) {
  docker::Config config;
  config.host = host;
  config.refresh_interval = interval;
  return config;
}

// Runs a discoverer until its first report and returns that report and
// the targets of the first update (if any).
struct FirstRefresh {
  std::string report;
  std::vector<model::Labels> targets;
  std::string source;
};
FirstRefresh first_refresh(Result<std::unique_ptr<discovery::Discoverer>> made) {
  test::RecordingSink sink;
  test::RunningDiscoverer running(std::move(made), sink);
  REQUIRE(sink.wait_for_reports(1));
  FirstRefresh out;
  out.report = sink.report(0);
  if (sink.update_count() > 0) {
    REQUIRE(sink.updates[0].size() == 1);
    out.targets = sink.updates[0][0]->targets;
    out.source = sink.updates[0][0]->source;
  }
  return out;
}

const char* const k_services = R"([
  {"ID": "s1", "Spec": {"Name": "web", "Labels": {"com.docker.stack": "st"},
     "Mode": {"Replicated": {"Replicas": 2}},
     "TaskTemplate": {"ContainerSpec": {"Image": "nginx:1", "Hostname": "web-host"}}},
   "UpdateStatus": {"State": "completed"},
   "Endpoint": {"Ports": [{"Name": "http", "Protocol": "tcp", "TargetPort": 80, "PublishedPort": 8080,
                           "PublishMode": "ingress"},
                          {"Protocol": "udp", "PublishedPort": 53, "PublishMode": "ingress"}],
                "VirtualIPs": [{"NetworkID": "net2", "Addr": "127.0.0.10/24"}]}},
  {"ID": "s2", "Spec": {"Name": "db", "Mode": {"Global": {}}, "TaskTemplate": {}},
   "Endpoint": {"VirtualIPs": [{"NetworkID": "unknown", "Addr": "127.0.0.11/8"}]}},
  {"ID": "s3", "Spec": {"Name": "novip", "TaskTemplate": {"ContainerSpec": {}}}}
])";

const char* const k_nodes = R"([
  {"ID": "n1", "Spec": {"Role": "manager", "Availability": "active", "Labels": {"rack.id": "r1"}},
   "Description": {"Hostname": "host1", "Platform": {"Architecture": "x86_64", "OS": "linux"},
                   "Engine": {"EngineVersion": "24.0.2"}},
   "Status": {"State": "ready", "Addr": "127.0.0.20"},
   "ManagerStatus": {"Leader": true, "Reachability": "reachable", "Addr": "127.0.0.20:2377"}},
  {"ID": "n2", "Spec": {"Role": "worker", "Availability": "drain"},
   "Description": {"Hostname": "host2"}, "Status": {"State": "down", "Addr": "127.0.0.21"}}
])";

const char* const k_tasks = R"([
  {"ID": "t1", "ServiceID": "s1", "NodeID": "n1", "Slot": 1, "DesiredState": "running",
   "Spec": {"ContainerSpec": {"Labels": {"com.docker.stack.namespace": "st"}}},
   "Status": {"State": "running", "ContainerStatus": {"ContainerID": "cid1"},
              "PortStatus": {"Ports": [{"Protocol": "tcp", "PublishedPort": 30000, "PublishMode": "host"}]}},
   "NetworksAttachments": [{"Network": {"ID": "net2"}, "Addresses": ["127.0.0.30/24"]}]},
  {"ID": "t2", "ServiceID": "s2", "NodeID": "n9", "DesiredState": "shutdown",
   "Status": {"State": "failed", "PortStatus": {}},
   "NetworksAttachments": [{"Network": {"ID": "net1"}, "Addresses": ["127.0.0.31/24", "127.0.0.32/24"]}]}
])";

} // namespace

TEST_SUITE("docker_sd") {
  TEST_CASE("moby: filters, query escaping, versions, CIDR addresses") {
    CHECK(moby::filters_json({}) == "");
    CHECK(moby::filters_json({{"label", {}}}) == "");
    CHECK(moby::filters_json({{"status", {"running"}}, {"label", {"b=1", "a<&>"}}, {"status", {"paused"}}}) ==
          R"({"label":{"a\u003c\u0026\u003e":true,"b=1":true},"status":{"paused":true,"running":true}})");
    CHECK(util::query_escape(R"({"a b":{"x=y,z":true}})") == "%7B%22a+b%22%3A%7B%22x%3Dy%2Cz%22%3Atrue%7D%7D");
    CHECK(moby::version_less("1.24", "1.25"));
    CHECK(moby::version_less("1.9", "1.24"));
    CHECK(!moby::version_less("1.43", "1.43"));
    CHECK(!moby::version_less("1.50", "1.43"));
    CHECK(*moby::cidr_ip("127.0.0.2/24") == "127.0.0.2");
    CHECK(*moby::cidr_ip("::1/128") == "::1");
    CHECK(*moby::cidr_ip("::ffff:127.0.0.3/104") == "127.0.0.3");
    CHECK(*moby::cidr_ip("fd00:0:0::0001/64") == "fd00::1");
    CHECK(moby::cidr_ip("127.0.0.2").error() == "invalid CIDR address: 127.0.0.2");
    CHECK(moby::cidr_ip("127.0.0.2/33").error() == "invalid CIDR address: 127.0.0.2/33");
    CHECK(moby::cidr_ip("127.000.0.2/8").error() == "invalid CIDR address: 127.000.0.2/8");
  }

  TEST_CASE("moby: network labels") {
    docker::NetworkLabels labels = networks_with("__meta_dockerswarm_");
    REQUIRE(labels.size() == 2);
    CHECK(labels["net2"] == std::map<std::string, std::string>{{"__meta_dockerswarm_network_id", "net2"},
                                                               {"__meta_dockerswarm_network_ingress", "true"},
                                                               {"__meta_dockerswarm_network_internal", "true"},
                                                               {"__meta_dockerswarm_network_name", "backend"},
                                                               {"__meta_dockerswarm_network_scope", "swarm"}});
    CHECK(labels["net1"]["__meta_dockerswarm_network_label_com_example_zone"] == "z1");
    CHECK(moby::network_labels("", "p_").error() == "EOF");
    CHECK(moby::network_labels("{}", "p_").error() ==
          "json: cannot unmarshal object into Go value of type []types.NetworkResource");
    CHECK(moby::network_labels(R"([{"Internal": "no"}])", "p_").error() ==
          "json: cannot unmarshal string into Go struct field NetworkResource.Internal of type bool");
  }

  TEST_CASE("group_from_containers: a target per network and TCP port, labels, fallbacks") {
    model::TargetGroup group = docker_group(k_containers, {9100, "127.0.0.9", false});
    CHECK(group.source == "Docker");
    CHECK(group.labels.empty());
    // c1: two TCP ports (the UDP one is skipped); c2: two networks without
    // TCP ports (null network skipped); c3: host networking; c4: no name.
    CHECK(addresses(group) == std::vector<std::string>{"127.0.0.2:8080", "127.0.0.2:9090", "127.0.0.3:9100",
                                                       "127.0.0.4:9100", "127.0.0.9"});
    model::Labels web = with(k_bridge_labels, {{"__address__", "127.0.0.2:8080"},
                                               {"__meta_docker_container_id", "c1"},
                                               {"__meta_docker_container_label_com_example_team", "a"},
                                               {"__meta_docker_container_name", "/web"},
                                               {"__meta_docker_container_network_mode", "bridge"},
                                               {"__meta_docker_network_ip", "127.0.0.2"},
                                               {"__meta_docker_port_private", "8080"},
                                               {"__meta_docker_port_public", "18080"},
                                               {"__meta_docker_port_public_ip", "0.0.0.0"}});
    CHECK(group.targets[0] == web);
    CHECK(!group.targets[1].has("__meta_docker_port_public"));
    CHECK(!group.targets[1].has("__meta_docker_port_public_ip"));
    CHECK(group.targets[1].get("__meta_docker_port_private") == "9090");
    CHECK(group.targets[2] == model::Labels{{"__address__", "127.0.0.3:9100"},
                                            {"__meta_docker_container_id", "c2"},
                                            {"__meta_docker_container_name", "/multi"},
                                            {"__meta_docker_container_network_mode", "backend"},
                                            {"__meta_docker_network_id", "net2"},
                                            {"__meta_docker_network_ingress", "true"},
                                            {"__meta_docker_network_internal", "true"},
                                            {"__meta_docker_network_ip", "127.0.0.3"},
                                            {"__meta_docker_network_name", "backend"},
                                            {"__meta_docker_network_scope", "swarm"}});
    CHECK(group.targets[4] == model::Labels{{"__address__", "127.0.0.9"},
                                            {"__meta_docker_container_id", "c3"},
                                            {"__meta_docker_container_name", "/hostnet"},
                                            {"__meta_docker_container_network_mode", "host"}});
  }

  TEST_CASE("group_from_containers: match_first_network keeps the first network by name") {
    model::TargetGroup group = docker_group(k_containers, {80, "localhost", true});
    CHECK(addresses(group) ==
          std::vector<std::string>{"127.0.0.2:8080", "127.0.0.2:9090", "127.0.0.3:80", "localhost"});
  }

  TEST_CASE("group_from_containers: duplicate port entries, no network settings, empty list") {
    model::TargetGroup group = docker_group(R"([
      {"Id": "d", "Names": ["/dual"], "HostConfig": {"NetworkMode": "bridge"},
       "Ports": [{"IP": "0.0.0.0", "PrivatePort": 80, "PublicPort": 8080, "Type": "tcp"},
                 {"IP": "::", "PrivatePort": 80, "PublicPort": 8080, "Type": "tcp"}],
       "NetworkSettings": {"Networks": {"bridge": {"NetworkID": "x", "IPAddress": "127.0.0.2"}}}},
      {"Id": "e", "Names": ["/none"]}])");
    CHECK(addresses(group) == std::vector<std::string>{"127.0.0.2:80", "127.0.0.2:80"});
    CHECK(group.targets[1].get("__meta_docker_port_public_ip") == "::");
    CHECK(!group.targets[0].has("__meta_docker_network_name")); // network x is not in the list
    CHECK(docker_group("[]").targets.empty());
    CHECK(docker_group("null").targets.empty());
  }

  TEST_CASE("group_from_containers: bodies Go's decoder rejects") {
    auto error_of = [](std::string_view body) {
      auto group = docker::group_from_containers(body, {}, {});
      REQUIRE(!group);
      return group.error();
    };
    CHECK(error_of("") == "EOF");
    CHECK(error_of("{}") == "json: cannot unmarshal object into Go value of type []types.Container");
    CHECK(error_of(R"([{"Names": "/x"}])") ==
          "json: cannot unmarshal string into Go struct field Container.Names of type []string");
    CHECK(error_of(R"([{"Ports": [{"PrivatePort": 70000}]}])") ==
          "json: cannot unmarshal number 70000 into Go struct field Port.Ports.PrivatePort of type uint16");
    CHECK(error_of("[{").starts_with("invalid JSON: "));
  }

  TEST_CASE("refresh: the requests an http host gets (ping, version, filters, User-Agent, auth)") {
    FakeDaemon fx;
    fx.change([&] {
      fx.api_version = "1.41";
      fx.bodies = {{"/containers/json", k_containers}, {"/networks", k_networks}};
    });
    docker::Config config = docker_config(fx.http());
    config.filters = {{"label", {"team=a"}}, {"status", {"running"}}};
    config.http_client.basic_auth.emplace() = {"user", "", "", {"pass"}, "", ""};
    FirstRefresh first = first_refresh(config.make_discoverer({}));
    CHECK(first.report == "");
    CHECK(first.source == "Docker");
    CHECK(first.targets.size() == 5);
    std::vector<Seen> seen = fx.requests();
    REQUIRE(seen.size() == 3);
    CHECK(seen[0].method == "HEAD");
    CHECK(seen[0].path == "/_ping");
    CHECK(seen[1].method == "GET");
    CHECK(seen[1].path == "/v1.41/containers/json");
    CHECK(seen[1].query ==
          "filters=%7B%22label%22%3A%7B%22team%3Da%22%3Atrue%7D%2C%22status%22%3A%7B%22running%22%3Atrue%7D%7D"
          "&limit=0");
    CHECK(seen[2].path == "/v1.41/networks");
    CHECK(seen[2].query == "");
    for (const Seen& s : seen) {
      CHECK(s.user_agent == "Prometheus/2.45.0");
      CHECK(s.authorization == "Basic dXNlcjpwYXNz");
    }
  }

  TEST_CASE("refresh: API version fallback and cap; tcp hosts keep their base path") {
    FakeDaemon fx;
    fx.change([&] { fx.bodies = {{"/containers/json", "[]"}, {"/networks", "[]"}}; });
    // No API-Version header: 1.24, where the client drops its User-Agent.
    FirstRefresh first = first_refresh(docker_config(fx.http()).make_discoverer({}));
    CHECK(first.report == "");
    std::vector<Seen> seen = fx.requests();
    REQUIRE(seen.size() == 3);
    CHECK(seen[0].user_agent == "Prometheus/2.45.0"); // the ping goes out before negotiation
    CHECK(seen[1].path == "/v1.24/containers/json");
    CHECK(seen[1].query == "limit=0");
    CHECK(seen[1].user_agent == "Go-http-client/1.1");

    FakeDaemon newer;
    newer.change([&] {
      newer.api_version = "1.50";
      newer.bodies = {{"/containers/json", "[]"}, {"/networks", "[]"}};
    });
    docker::Config config = docker_config(newer.tcp() + "/");
    config.http_client.basic_auth.emplace() = {"user", "", "", {"pass"}, "", ""};
    CHECK(first_refresh(config.make_discoverer({})).report == "");
    seen = newer.requests();
    REQUIRE(seen.size() == 3);
    CHECK(seen[1].path == "/v1.43/containers/json");
    CHECK(seen[1].user_agent == "Go-http-client/1.1"); // tcp:// ignores the HTTP client config
    CHECK(seen[1].authorization == "");
  }

  TEST_CASE("refresh: a failed ping still settles the version; HEAD falls back to GET") {
    FakeDaemon fx;
    fx.change([&] {
      fx.api_version = "1.41";
      fx.ping_status = 404; // HEAD answered 404: the client asks again with GET
      fx.bodies = {{"/containers/json", "[]"}, {"/networks", "[]"}};
    });
    CHECK(first_refresh(docker_config(fx.http()).make_discoverer({})).report == "");
    std::vector<Seen> seen = fx.requests();
    REQUIRE(seen.size() == 4);
    CHECK(seen[0].method == "HEAD");
    CHECK(seen[1].method == "GET");
    CHECK(seen[1].path == "/_ping");
    CHECK(seen[2].path == "/v1.41/containers/json");
  }

  TEST_CASE("refresh: a unix socket host") {
    UnixDaemon daemon({{"/containers/json", k_containers}, {"/networks", k_networks}});
    FirstRefresh first = first_refresh(docker_config("unix://" + daemon.path.string()).make_discoverer({}));
    CHECK(first.report == "");
    CHECK(first.targets.size() == 5);
    std::vector<std::string> seen = daemon.requests();
    REQUIRE(seen.size() == 3);
    CHECK(seen[0].starts_with("HEAD /_ping HTTP/1.1\r\n"));
    CHECK(seen[1].starts_with("GET /v1.41/containers/json?limit=0 HTTP/1.1\r\n"));
    CHECK(seen[2].starts_with("GET /v1.41/networks HTTP/1.1\r\n"));
    for (const std::string& request : seen) {
      CHECK(request.find("\r\nHost: docker\r\n") != std::string::npos);
      CHECK(request.find("\r\nUser-Agent: Go-http-client/1.1") != std::string::npos);
    }
  }

  TEST_CASE("refresh: failures") {
    FakeDaemon fx;
    fx.change([&] { fx.bodies = {{"/containers/json", "[]"}, {"/networks", "[]"}}; });
    auto client = moby::Client::make(fx.http(), {}, 300ms);
    REQUIRE(client);
    auto error_of = [&](std::string_view path) {
      auto body = (*client)->get(path, "", {});
      REQUIRE(!body);
      return body.error();
    };
    fx.change([&] {
      fx.status = 401;
      fx.error_body = R"({"message": "unauthorized\n"})";
    });
    CHECK(error_of("/containers/json") == "Error response from daemon: unauthorized");
    fx.change([&] {
      fx.status = 500;
      fx.error_body = "";
      fx.content_type = "text/plain";
      fx.bodies["/networks"] = "";
    });
    CHECK(error_of("/networks") == "request returned Internal Server Error for API route and version " + fx.http() +
                                       "/v1.24/networks, check if the server supports the requested API version");
    fx.change([&] { fx.bodies["/networks"] = "boom"; });
    CHECK(error_of("/networks") == "Error response from daemon: boom");
    fx.change([&] {
      fx.status = 200;
      fx.delay = 1s;
    });
    auto start = std::chrono::steady_clock::now();
    CHECK(error_of("/networks") ==
          "Cannot connect to the Docker daemon at " + fx.http() + ". Is the docker daemon running?");
    CHECK(std::chrono::steady_clock::now() - start < 900ms);
    fx.change([&] { fx.delay = 0ms; });

    // Through the discoverer: the wrapping, a malformed body, unreachable.
    fx.change([&] { fx.bodies["/containers/json"] = "{"; });
    CHECK(first_refresh(docker_config(fx.http()).make_discoverer({})).report.starts_with(
        "error while listing containers: invalid JSON: "));
    fx.change([&] {
      fx.bodies["/containers/json"] = "[]";
      fx.bodies.erase("/networks");
    });
    CHECK(first_refresh(docker_config(fx.http()).make_discoverer({})).report ==
          "error while computing network labels: Error response from daemon: page not found");
    std::string host = fx.tcp();
    fx.stop();
    CHECK(first_refresh(docker_config(host).make_discoverer({})).report ==
          "error while listing containers: Cannot connect to the Docker daemon at " + host +
              ". Is the docker daemon running?");
    CHECK(first_refresh(docker_config("unix:///nonexistent/docker.sock").make_discoverer({})).report ==
          "error while listing containers: Cannot connect to the Docker daemon at unix:///nonexistent/docker.sock. "
          "Is the docker daemon running?");
  }

  TEST_CASE("make_discoverer: hosts the Docker client rejects or cannot reach") {
    auto made = docker_config("127.0.0.1:2375").make_discoverer({});
    REQUIRE(!made);
    CHECK(made.error() == "error setting up docker client: unable to parse docker host `127.0.0.1:2375`");
    // The Docker client takes all of an http:// host as its address.
    FirstRefresh first = first_refresh(docker_config("http://127.0.0.1:1/base").make_discoverer({}));
    CHECK(first.report == "error while listing containers: error during connect: Get "
                          "\"http://127.0.0.1:1%2Fbase/v1.24/containers/json?limit=0\": dial tcp: lookup "
                          "127.0.0.1:1/base: no such host");
  }

  TEST_CASE("make_discoverer: stops at once during a slow request") {
    FakeDaemon fx;
    fx.change([&] {
      fx.bodies = {{"/containers/json", "[]"}, {"/networks", "[]"}};
      fx.delay = 2s;
    });
    test::RecordingSink sink;
    test::RunningDiscoverer running(docker_config(fx.http()).make_discoverer({}), sink);
    while (fx.requests().size() < 2) { // the ping, then the slow container list
      std::this_thread::sleep_for(5ms);
    }
    CHECK(running.stop() < 500ms);
    CHECK(sink.reports.empty()); // a cancelled refresh is not reported
  }

  TEST_CASE("make_discoverer: a failure after a success keeps the last good targets") {
    FakeDaemon fx;
    fx.change([&] { fx.bodies = {{"/containers/json", k_containers}, {"/networks", k_networks}}; });
    test::RecordingSink sink;
    test::RunningDiscoverer running(docker_config(fx.http(), model::Duration::seconds(1)).make_discoverer({}), sink);
    REQUIRE(sink.wait_for_reports(1));
    CHECK(sink.report(0) == "");
    REQUIRE(sink.update_count() == 1);
    fx.change([&] { fx.status = 500; });
    REQUIRE(sink.wait_for_reports(2));
    CHECK(sink.report(1).starts_with("error while listing containers: Error response from daemon: "));
    CHECK(sink.update_count() == 1); // nothing sent: the manager keeps the targets
    fx.change([&] {
      fx.status = 200;
      fx.bodies["/containers/json"] = "[]";
    });
    REQUIRE(sink.wait_for_reports(3));
    CHECK(sink.report(2) == "");
    REQUIRE(sink.update_count() == 2);
    REQUIRE(sink.updates[1].size() == 1);
    CHECK(sink.updates[1][0]->source == "Docker"); // the one group, re-sent without targets
    CHECK(sink.updates[1][0]->targets.empty());
    CHECK(running.stop() < 500ms);
  }
}

TEST_SUITE("dockerswarm_sd") {
  TEST_CASE("group_from_services: a target per VIP and TCP port, else the fallback port") {
    auto group = dockerswarm::group_from_services(k_services, networks_with("__meta_dockerswarm_"), 9000);
    REQUIRE_MESSAGE(group, (group ? "" : group.error()));
    CHECK(group->source == "DockerSwarm");
    CHECK(addresses(*group) == std::vector<std::string>{"127.0.0.10:8080", "127.0.0.11:9000"});
    CHECK(group->targets[0] == model::Labels{{"__address__", "127.0.0.10:8080"},
                                             {"__meta_dockerswarm_network_id", "net2"},
                                             {"__meta_dockerswarm_network_ingress", "true"},
                                             {"__meta_dockerswarm_network_internal", "true"},
                                             {"__meta_dockerswarm_network_name", "backend"},
                                             {"__meta_dockerswarm_network_scope", "swarm"},
                                             {"__meta_dockerswarm_service_endpoint_port_name", "http"},
                                             {"__meta_dockerswarm_service_endpoint_port_publish_mode", "ingress"},
                                             {"__meta_dockerswarm_service_id", "s1"},
                                             {"__meta_dockerswarm_service_label_com_docker_stack", "st"},
                                             {"__meta_dockerswarm_service_mode", "replicated"},
                                             {"__meta_dockerswarm_service_name", "web"},
                                             {"__meta_dockerswarm_service_task_container_hostname", "web-host"},
                                             {"__meta_dockerswarm_service_task_container_image", "nginx:1"},
                                             {"__meta_dockerswarm_service_updating_status", "completed"}});
    CHECK(group->targets[1] == model::Labels{{"__address__", "127.0.0.11:9000"},
                                             {"__meta_dockerswarm_service_id", "s2"},
                                             {"__meta_dockerswarm_service_mode", "global"},
                                             {"__meta_dockerswarm_service_name", "db"}});
    auto bad = dockerswarm::group_from_services(
        R"([{"ID": "s", "Endpoint": {"VirtualIPs": [{"Addr": "127.0.0.1"}]}}])", {}, 80);
    REQUIRE(!bad);
    CHECK(bad.error() == "error while parsing address 127.0.0.1: invalid CIDR address: 127.0.0.1");
    auto wrong = dockerswarm::group_from_services(R"([{"Endpoint": {"Ports": [{"PublishedPort": -1}]}}])", {}, 80);
    REQUIRE(!wrong);
    CHECK(wrong.error() == "json: cannot unmarshal number -1 into Go struct field PortConfig.Endpoint.Ports."
                           "PublishedPort of type uint32");
  }

  TEST_CASE("group_from_nodes: one target per node, manager labels when present") {
    auto group = dockerswarm::group_from_nodes(k_nodes, 9100);
    REQUIRE_MESSAGE(group, (group ? "" : group.error()));
    CHECK(group->source == "DockerSwarm");
    REQUIRE(group->targets.size() == 2);
    CHECK(group->targets[0] == model::Labels{{"__address__", "127.0.0.20:9100"},
                                             {"__meta_dockerswarm_node_address", "127.0.0.20"},
                                             {"__meta_dockerswarm_node_availability", "active"},
                                             {"__meta_dockerswarm_node_engine_version", "24.0.2"},
                                             {"__meta_dockerswarm_node_hostname", "host1"},
                                             {"__meta_dockerswarm_node_id", "n1"},
                                             {"__meta_dockerswarm_node_label_rack_id", "r1"},
                                             {"__meta_dockerswarm_node_manager_address", "127.0.0.20:2377"},
                                             {"__meta_dockerswarm_node_manager_leader", "true"},
                                             {"__meta_dockerswarm_node_manager_reachability", "reachable"},
                                             {"__meta_dockerswarm_node_platform_architecture", "x86_64"},
                                             {"__meta_dockerswarm_node_platform_os", "linux"},
                                             {"__meta_dockerswarm_node_role", "manager"},
                                             {"__meta_dockerswarm_node_status", "ready"}});
    CHECK(group->targets[1] == model::Labels{{"__address__", "127.0.0.21:9100"},
                                             {"__meta_dockerswarm_node_address", "127.0.0.21"},
                                             {"__meta_dockerswarm_node_availability", "drain"},
                                             {"__meta_dockerswarm_node_hostname", "host2"},
                                             {"__meta_dockerswarm_node_id", "n2"},
                                             {"__meta_dockerswarm_node_role", "worker"},
                                             {"__meta_dockerswarm_node_status", "down"}});
  }

  TEST_CASE("group_from_tasks: host-mode ports at the node, attachments at the task IPs") {
    auto group = dockerswarm::group_from_tasks(k_tasks, k_services, k_nodes, networks_with("__meta_dockerswarm_"), 80);
    REQUIRE_MESSAGE(group, (group ? "" : group.error()));
    CHECK(addresses(*group) ==
          std::vector<std::string>{"127.0.0.20:30000", "127.0.0.30:8080", "127.0.0.31:80", "127.0.0.32:80"});
    model::Labels common = {{"__meta_dockerswarm_container_label_com_docker_stack_namespace", "st"},
                            {"__meta_dockerswarm_node_address", "127.0.0.20"},
                            {"__meta_dockerswarm_node_availability", "active"},
                            {"__meta_dockerswarm_node_hostname", "host1"},
                            {"__meta_dockerswarm_node_id", "n1"},
                            {"__meta_dockerswarm_node_label_rack_id", "r1"},
                            {"__meta_dockerswarm_node_platform_architecture", "x86_64"},
                            {"__meta_dockerswarm_node_platform_os", "linux"},
                            {"__meta_dockerswarm_node_role", "manager"},
                            {"__meta_dockerswarm_node_status", "ready"},
                            {"__meta_dockerswarm_service_id", "s1"},
                            {"__meta_dockerswarm_service_label_com_docker_stack", "st"},
                            {"__meta_dockerswarm_service_mode", "replicated"},
                            {"__meta_dockerswarm_service_name", "web"},
                            {"__meta_dockerswarm_task_container_id", "cid1"},
                            {"__meta_dockerswarm_task_desired_state", "running"},
                            {"__meta_dockerswarm_task_id", "t1"},
                            {"__meta_dockerswarm_task_slot", "1"},
                            {"__meta_dockerswarm_task_state", "running"}};
    CHECK(group->targets[0] == with(common, {{"__address__", "127.0.0.20:30000"},
                                             {"__meta_dockerswarm_task_port_publish_mode", "host"}}));
    CHECK(group->targets[1] == with(common, {{"__address__", "127.0.0.30:8080"},
                                             {"__meta_dockerswarm_network_id", "net2"},
                                             {"__meta_dockerswarm_network_ingress", "true"},
                                             {"__meta_dockerswarm_network_internal", "true"},
                                             {"__meta_dockerswarm_network_name", "backend"},
                                             {"__meta_dockerswarm_network_scope", "swarm"},
                                             {"__meta_dockerswarm_task_port_publish_mode", "ingress"}}));
    // t2: its node is unknown, its service has no ports: the fallback port,
    // without a publish mode.
    CHECK(group->targets[2] == model::Labels{{"__address__", "127.0.0.31:80"},
                                             {"__meta_dockerswarm_network_id", "net1"},
                                             {"__meta_dockerswarm_network_ingress", "false"},
                                             {"__meta_dockerswarm_network_internal", "false"},
                                             {"__meta_dockerswarm_network_label_com_example_zone", "z1"},
                                             {"__meta_dockerswarm_network_name", "bridge"},
                                             {"__meta_dockerswarm_network_scope", "local"},
                                             {"__meta_dockerswarm_service_id", "s2"},
                                             {"__meta_dockerswarm_service_mode", "global"},
                                             {"__meta_dockerswarm_service_name", "db"},
                                             {"__meta_dockerswarm_task_desired_state", "shutdown"},
                                             {"__meta_dockerswarm_task_id", "t2"},
                                             {"__meta_dockerswarm_task_slot", "0"},
                                             {"__meta_dockerswarm_task_state", "failed"}});
    CHECK(group->targets[3].get("__address__") == "127.0.0.32:80");
  }

  TEST_CASE("refresh: each role's requests; the filters go to the role's list only") {
    FakeDaemon fx;
    fx.change([&] {
      fx.api_version = "1.42";
      fx.bodies = {{"/services", k_services}, {"/tasks", k_tasks}, {"/nodes", k_nodes}, {"/networks", k_networks}};
    });
    auto run = [&](const std::string& role) {
      dockerswarm::Config config;
      config.host = fx.http();
      config.role = role;
      config.filters = {{"name", {"web"}}};
      FirstRefresh first = first_refresh(config.make_discoverer({}));
      CHECK(first.report == "");
      CHECK(first.source == "DockerSwarm");
      std::vector<std::string> seen;
      for (const Seen& s : fx.requests()) {
        seen.push_back(s.method + " " + s.path + (s.query.empty() ? "" : "?" + s.query));
        CHECK(s.user_agent == "Prometheus/2.45.0");
      }
      return seen;
    };
    const std::string filtered = "?filters=%7B%22name%22%3A%7B%22web%22%3Atrue%7D%7D";
    CHECK(run("services") == std::vector<std::string>{"HEAD /_ping", "GET /v1.42/services" + filtered,
                                                      "GET /v1.42/networks"});
    CHECK(run("nodes") == std::vector<std::string>{"HEAD /_ping", "GET /v1.42/services" + filtered,
                                                   "GET /v1.42/networks", "HEAD /_ping",
                                                   "GET /v1.42/nodes" + filtered});
    std::vector<std::string> tasks = run("tasks");
    CHECK(std::vector<std::string>(tasks.begin() + 5, tasks.end()) ==
          std::vector<std::string>{"HEAD /_ping", "GET /v1.42/tasks" + filtered, "GET /v1.42/services",
                                   "GET /v1.42/nodes", "GET /v1.42/networks"});
  }

  TEST_CASE("refresh: failures name the step") {
    FakeDaemon fx;
    fx.change([&] { fx.bodies = {{"/tasks", "[]"}, {"/services", "[]"}, {"/nodes", "{}"}}; });
    dockerswarm::Config config;
    config.host = fx.http();
    config.role = "tasks";
    CHECK(first_refresh(config.make_discoverer({})).report ==
          "error while computing nodes labels and ports: error while listing swarm nodes: json: cannot unmarshal "
          "object into Go value of type []swarm.Node");
    fx.change([&] { fx.bodies["/nodes"] = "[]"; });
    CHECK(first_refresh(config.make_discoverer({})).report ==
          "error while computing swarm network labels: Error response from daemon: page not found");
    config.role = "services";
    fx.change([&] { fx.bodies["/services"] = R"([{"Endpoint": {"VirtualIPs": [{"Addr": "x"}]}}])"; });
    fx.change([&] { fx.bodies["/networks"] = "[]"; });
    CHECK(first_refresh(config.make_discoverer({})).report ==
          "error while parsing address x: invalid CIDR address: x");
    config.host = "unix";
    auto made = config.make_discoverer({});
    REQUIRE(!made);
    CHECK(made.error() == "error setting up docker swarm client: unable to parse docker host `unix`");
  }
}
