// Fault injection (issue 9, "Reliability"): every fault of fault_server.h
// against http_sd, consul_sd and kubernetes_sd, plus the faults only
// Kubernetes watches and Consul blocking queries have.
//
// One-shot cases run the discovery Manager the way `sdscope targets` does
// (start, wait_synced until the timeout, stop), one job per mechanism, and
// check that each failure is reported for its provider ("<mechanism>/<n>"
// serving job "faulty_<mechanism>": the CLI prints "sdscope: <provider>
// (job "<job>") failed: <error>", see tests/cli/faults_targets.sh) within
// the timeout. Watch cases keep a discoverer running: the last good targets
// stay while the fault lasts, requests stay paced (v2.45 does not honour
// Retry-After in SD, and neither do we: the refresh interval or the retry
// pause paces them), and the targets and a clear error come back once the
// fault clears. Consul and Kubernetes watch cases run the discoverer with
// short retry pauses (their Timing), as their own unit tests do.

#include <algorithm>
#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include "discovery/consul.h"
#include "discovery/kubernetes.h"
#include "discovery/kubernetes_discovery.h"
#include "discovery/manager.h"
#include "fault_server.h"
#include "test_util.h"

using namespace sdscope;
using namespace std::chrono_literals;
using discovery::Manager;
using test::FaultServer;
namespace fault = test::fault;

namespace {

const std::string k_http_body = R"([{"targets": ["127.0.0.1:9100"], "labels": {"env": "good"}}])";

std::string consul_body(int port) {
  return nlohmann::json::array(
             {{{"Node", {{"Node", "n1"}, {"Address", "127.0.0.1"}, {"Meta", nlohmann::json::object()}}},
               {"Service",
                {{"ID", "web-" + std::to_string(port)},
                 {"Service", "web"},
                 {"Tags", nlohmann::json::array()},
                 {"Address", ""},
                 {"Port", port}}},
               {"Checks", nlohmann::json::array()}}})
      .dump();
}

nlohmann::json node(const std::string& name, const std::string& address, int version) {
  return {{"kind", "Node"},
          {"apiVersion", "v1"},
          {"metadata", {{"name", name}, {"resourceVersion", std::to_string(version)}}},
          {"status",
           {{"addresses", {{{"type", "InternalIP"}, {"address", address}}}},
            {"daemonEndpoints", {{"kubeletEndpoint", {{"Port", 10250}}}}}}}};
}

std::string node_list(int version, const std::vector<nlohmann::json>& nodes) {
  return nlohmann::json{{"kind", "NodeList"},
                        {"apiVersion", "v1"},
                        {"metadata", {{"resourceVersion", std::to_string(version)}}},
                        {"items", nodes}}
      .dump();
}

std::string watch_event(const std::string& type, const nlohmann::json& object) {
  return nlohmann::json{{"type", type}, {"object", object}}.dump();
}

std::string bookmark(int version) {
  return watch_event(
      "BOOKMARK",
      {{"kind", "Node"}, {"apiVersion", "v1"}, {"metadata", {{"resourceVersion", std::to_string(version)}}}});
}

bool is_watch(const test::FaultRequest& request) { return request.query.find("watch=true") != std::string::npos; }

// The node collection of a Kubernetes API: LIST and WATCH answered apart.
test::FaultHandler nodes(test::FaultHandler list, test::FaultHandler watch) {
  return [list, watch](const test::FaultRequest& request, test::FaultConnection& c) {
    (is_watch(request) ? watch : list)(request, c);
  };
}

// One mechanism under test: a config block pointing at the fixture, the
// answers that make it work and the target they yield.
struct Mechanism {
  std::string name;       // "http", "consul" or "kubernetes"
  std::string fault_path; // the requests a fault replaces
  std::string address;    // the target of the good answer
  // The config block for a base URL ("http://127.0.0.1:<port>") and extra
  // fields ("tls_config: {...}" or "").
  std::function<std::string(const std::string& base, const std::string& extra)> yaml;
  std::function<void(FaultServer&)> serve_good;
};

std::string host_port(const std::string& base) { return base.substr(base.find("://") + 3); }

std::vector<Mechanism> mechanisms() {
  return {
      {"http", "/sd", "127.0.0.1:9100",
       [](const std::string& base, const std::string& extra) {
         return "{url: \"" + base + "/sd\", refresh_interval: 1s" + (extra.empty() ? "" : ", " + extra) + "}";
       },
       [](FaultServer& s) { s.route("/sd", fault::ok(k_http_body)); }},
      {"consul", "/v1/health/service/web", "127.0.0.1:9200",
       [](const std::string& base, const std::string& extra) {
         std::string scheme = base.substr(0, base.find("://"));
         return "{server: \"" + host_port(base) + "\", scheme: " + scheme +
                ", datacenter: dc1, services: [web], refresh_interval: 1s" + (extra.empty() ? "" : ", " + extra) + "}";
       },
       [](FaultServer& s) {
         s.route("/v1/health/service/web", fault::ok(consul_body(9200), "application/json", {{"X-Consul-Index", "7"}}));
       }},
      {"kubernetes", "/api/v1/nodes", "127.0.0.1:10250",
       [](const std::string& base, const std::string& extra) {
         return "{role: node, api_server: \"" + base + "\"" + (extra.empty() ? "" : ", " + extra) + "}";
       },
       [](FaultServer& s) {
         s.route("/api/v1/nodes",
                 nodes(fault::ok(node_list(10, {node("n1", "127.0.0.1", 10)})), fault::watch({bookmark(10)})));
       }},
  };
}

std::unique_ptr<discovery::SdConfig> decode(const std::string& mechanism, const std::string& yaml) {
  test::SdResult sd = test::decode_sd(mechanism, yaml);
  std::string why = yaml + ": " + test::first_error(sd);
  REQUIRE_MESSAGE(sd.config, why);
  return std::move(sd.config);
}

struct OneShot {
  bool synced = false;
  discovery::ProviderStatus provider;
  std::chrono::milliseconds took{0};
};

// What `sdscope targets --timeout <timeout>` does with one job "faulty".
OneShot run_once(const discovery::SdConfig& config, std::chrono::milliseconds timeout) {
  OneShot out;
  auto start = Manager::Clock::now();
  {
    Manager manager;
    manager.start({{"faulty", {&config}}});
    out.synced = manager.wait_synced(start + timeout);
    std::vector<discovery::ProviderStatus> providers = manager.providers();
    REQUIRE(providers.size() == 1);
    out.provider = providers[0];
    manager.stop();
  }
  out.took = std::chrono::duration_cast<std::chrono::milliseconds>(Manager::Clock::now() - start);
  return out;
}

constexpr std::chrono::milliseconds k_timeout = 2s;   // `targets --timeout` of the one-shot cases
constexpr std::chrono::milliseconds k_margin = 500ms; // what stopping may add to it

// Serves fault to the requests of all three mechanisms, one job each
// ("faulty_<mechanism>"), and runs them as `sdscope targets --timeout`
// does: each provider reports its error (containing want[mechanism]) or,
// where want is "", is still pending at the timeout; the run never takes
// longer than the timeout (plus stopping), and no longer than a moment
// when every fault is reported.
void check_one_shot(const test::FaultHandler& handler, const std::map<std::string, std::string>& want) {
  FaultServer server;
  std::vector<std::unique_ptr<discovery::SdConfig>> configs;
  std::vector<discovery::JobDiscovery> jobs;
  bool all_reported = true;
  for (const Mechanism& m : mechanisms()) {
    server.route(m.fault_path, handler);
    configs.push_back(decode(m.name, m.yaml(server.url(), "")));
    jobs.push_back({"faulty_" + m.name, {configs.back().get()}});
    all_reported = all_reported && !want.at(m.name).empty();
  }
  auto start = Manager::Clock::now();
  std::vector<discovery::ProviderStatus> providers;
  {
    Manager manager;
    manager.start(jobs);
    CHECK(manager.wait_synced(start + k_timeout) == all_reported);
    providers = manager.providers();
    manager.stop();
  }
  auto took = Manager::Clock::now() - start;
  CHECK(took < k_timeout + k_margin);
  if (all_reported) {
    CHECK(took < k_timeout);
  }
  REQUIRE(providers.size() == 3);
  for (const Mechanism& m : mechanisms()) {
    CAPTURE(m.name);
    auto p = std::find_if(providers.begin(), providers.end(), [&](const discovery::ProviderStatus& status) {
      return status.jobs == std::vector<std::string>{"faulty_" + m.name};
    });
    REQUIRE(p != providers.end());
    CHECK(p->name.starts_with(m.name + "/"));
    const std::string& fragment = want.at(m.name);
    if (fragment.empty()) {
      CHECK_FALSE(p->synced);
      continue;
    }
    CHECK(p->synced);
    CHECK_MESSAGE(p->error.find(fragment) != std::string::npos, p->error);
  }
}

// Polls done() until it holds or limit passes.
template <class Done> bool eventually(Done done, std::chrono::milliseconds limit = 5s) {
  auto end = std::chrono::steady_clock::now() + limit;
  while (!done()) {
    if (std::chrono::steady_clock::now() > end) {
      return false;
    }
    std::this_thread::sleep_for(10ms);
  }
  return true;
}

std::vector<std::string> addresses(const std::vector<discovery::ProvidedGroup>& groups) {
  std::vector<std::string> out;
  for (const discovery::ProvidedGroup& g : groups) {
    for (const model::Labels& target : g.group->targets) {
      out.emplace_back(target.get("__address__"));
    }
  }
  return out;
}

// Keeps the latest group per Source and every report of a running
// discoverer; safe to read while it runs.
class LatestSink : public discovery::Sink {
public:
  using discovery::Sink::update;
  void update(std::vector<std::shared_ptr<const model::TargetGroup>> groups) override {
    std::lock_guard lock(m_mutex);
    for (auto& group : groups) {
      m_latest[group->source] = group;
    }
  }
  void report(std::string error) override {
    std::lock_guard lock(m_mutex);
    m_reports.push_back(std::move(error));
  }
  // Every target address, sorted.
  std::vector<std::string> addresses() {
    std::lock_guard lock(m_mutex);
    std::vector<std::string> out;
    for (const auto& [source, group] : m_latest) {
      for (const model::Labels& target : group->targets) {
        out.emplace_back(target.get("__address__"));
      }
    }
    std::sort(out.begin(), out.end());
    return out;
  }
  // The latest report, "<none>" before the first.
  std::string last_report() {
    std::lock_guard lock(m_mutex);
    return m_reports.empty() ? "<none>" : m_reports.back();
  }
  std::vector<std::string> reports() {
    std::lock_guard lock(m_mutex);
    return m_reports;
  }

private:
  std::mutex m_mutex;
  std::map<std::string, std::shared_ptr<const model::TargetGroup>> m_latest;
  std::vector<std::string> m_reports;
};

namespace k8s = discovery::kubernetes;

// Short pauses: backoff 50 ms doubling to 200 ms, no jitter, LIST timeout 1 s.
const k8s::Timing k_k8s_timing{50ms, 200ms, false, 50ms, 1s};

std::unique_ptr<discovery::Discoverer> kubernetes_discoverer(const discovery::SdConfig& config) {
  Result<std::unique_ptr<discovery::Discoverer>> made =
      k8s::make_discovery(dynamic_cast<const k8s::Config&>(config), k_k8s_timing);
  REQUIRE_MESSAGE(made, (made ? "" : made.error()));
  return std::move(*made);
}

std::string kubelet(int n) { return "127.0.0." + std::to_string(n) + ":10250"; }

nlohmann::json numbered_node(int n, int version) {
  return node("n" + std::to_string(n), "127.0.0." + std::to_string(n), version);
}

std::string gone_status() {
  return nlohmann::json{{"kind", "Status"},
                        {"apiVersion", "v1"},
                        {"metadata", nlohmann::json::object()},
                        {"status", "Failure"},
                        {"reason", "Expired"},
                        {"code", 410},
                        {"message", "too old resource version: 11 (30)"}}
      .dump();
}

// The list requests among targets (no watch=true).
std::vector<std::string> lists(const FaultServer& server) {
  std::vector<std::string> out;
  for (const std::string& target : server.targets("/api/v1/nodes")) {
    if (target.find("watch=true") == std::string::npos) {
      out.push_back(target);
    }
  }
  return out;
}

std::vector<std::string> watches(const FaultServer& server) {
  std::vector<std::string> out;
  for (const std::string& target : server.targets("/api/v1/nodes")) {
    if (target.find("watch=true") != std::string::npos) {
      out.push_back(target);
    }
  }
  return out;
}

// A Kubernetes API whose node watch ends after a bookmark every 300 ms
// (as a server ends watches at timeoutSeconds), so a changed route is met
// by the next watch.
struct ShortWatchApi {
  FaultServer server;
  std::unique_ptr<discovery::SdConfig> config;
  LatestSink sink;
  std::optional<test::RunningDiscoverer> running;

  ShortWatchApi() {
    server.route("/api/v1/nodes",
                 nodes(fault::ok(node_list(10, {numbered_node(1, 10)})), fault::watch({bookmark(11)}, 300ms)));
    config = decode("kubernetes", "{role: node, api_server: \"" + server.url() + "\"}");
    running.emplace(kubernetes_discoverer(*config), sink);
    REQUIRE(eventually([&] { return sink.last_report() == ""; }));
    REQUIRE(sink.addresses() == std::vector<std::string>{kubelet(1)});
    // The second watch starts from the bookmark's resourceVersion (11).
    REQUIRE(eventually([&] { return watches(server).size() >= 2; }));
  }
  ~ShortWatchApi() { running.reset(); }
};

} // namespace

TEST_SUITE("faults") {
  TEST_CASE("faults: connection refused") {
    FaultServer closed;
    closed.refuse();
    for (const Mechanism& m : mechanisms()) {
      CAPTURE(m.name);
      std::unique_ptr<discovery::SdConfig> config = decode(m.name, m.yaml(closed.url(), ""));
      OneShot r = run_once(*config, k_timeout);
      CHECK(r.synced);
      CHECK(r.took < k_timeout);
      CHECK(r.provider.name == m.name + "/0");
      CHECK_MESSAGE(r.provider.error.find("connection refused") != std::string::npos, r.provider.error);
      if (m.name == "http") { // Go's wording, as v2.45 prints it
        CHECK(r.provider.error == "Get \"" + closed.url() + "/sd\": dial tcp 127.0.0.1:" +
                                      std::to_string(closed.port()) + ": connect: connection refused");
      }
    }
  }

  TEST_CASE("faults: reset mid-body") {
    std::string body = node_list(10, {node("n1", "127.0.0.1", 10), node("n2", "127.0.0.2", 10)});
    check_one_shot(fault::reset_after(body, body.size() / 2), {{"http", "Connection reset by peer"},
                                                               {"consul", "Connection reset by peer"},
                                                               {"kubernetes", "Connection reset by peer"}});
  }

  TEST_CASE("faults: HTTP 500 and 503") {
    check_one_shot(fault::status(500, "server on fire\n"),
                   {{"http", "server returned HTTP status 500 Internal Server Error"},
                    {"consul", "Unexpected response code: 500 (server on fire)"},
                    {"kubernetes", "failed to list *v1.Node: the server responded with HTTP 500"}});
    check_one_shot(fault::status(503, "unavailable\n"),
                   {{"http", "server returned HTTP status 503 Service Unavailable"},
                    {"consul", "Unexpected response code: 503 (unavailable)"},
                    {"kubernetes", "failed to list *v1.Node: the server responded with HTTP 503"}});
  }

  TEST_CASE("faults: HTTP 429 with Retry-After") {
    check_one_shot(fault::too_many_requests(3600),
                   {{"http", "server returned HTTP status 429 Too Many Requests"},
                    {"consul", "Unexpected response code: 429 (rate limited)"},
                    {"kubernetes", "failed to list *v1.Node: the server responded with HTTP 429"}});
  }

  TEST_CASE("faults: an answer slower than the timeout") {
    // http_sd's client timeout is its refresh interval (1s); consul's is
    // 2m15s and a Kubernetes LIST's 2 min, so `targets` gives up first.
    check_one_shot(fault::delay(10s, fault::ok(k_http_body)), {{"http", "context deadline exceeded (Client.Timeout "
                                                                        "exceeded while awaiting headers)"},
                                                               {"consul", ""},
                                                               {"kubernetes", ""}});
  }

  TEST_CASE("faults: truncated JSON") {
    check_one_shot(
        fault::truncated(node_list(10, {node("n1", "127.0.0.1", 10)}), 40),
        {{"http", "invalid JSON: "}, {"consul", "invalid JSON: "}, {"kubernetes", "cannot decode the list response"}});
  }

  TEST_CASE("faults: malformed JSON") {
    check_one_shot(
        fault::malformed(),
        {{"http", "invalid JSON: "}, {"consul", "invalid JSON: "}, {"kubernetes", "cannot decode the list response"}});
  }

  TEST_CASE("faults: a body announced as 1 GB is refused before it is read") {
    for (const Mechanism& m : mechanisms()) {
      CAPTURE(m.name);
      FaultServer server;
      server.route(m.fault_path, fault::huge());
      std::unique_ptr<discovery::SdConfig> config = decode(m.name, m.yaml(server.url(), ""));
      OneShot r = run_once(*config, k_timeout);
      CHECK(r.synced);
      CHECK(r.took < k_timeout);
      CHECK_MESSAGE(r.provider.error.find("response body exceeds 536870912 bytes") != std::string::npos,
                    r.provider.error);
      // Memory: the client hung up at the header; a few pieces at most were
      // in flight, nothing like the announced gigabyte.
      CHECK(server.bytes_sent() < (16u << 20));
    }
  }

  TEST_CASE("faults: a redirect loop") {
    check_one_shot(fault::redirect_loop(), {{"http", "stopped after 10 redirects"},
                                            {"consul", "stopped after 10 redirects"},
                                            {"kubernetes", "stopped after 10 redirects"}});
  }

  TEST_CASE("faults: a server that never answers") {
    check_one_shot(fault::hang(), {{"http", "context deadline exceeded"}, {"consul", ""}, {"kubernetes", ""}});
  }

  TEST_CASE("faults: TLS with an untrusted or mismatched certificate, and "
            "plain HTTP on https") {
    const test::Pki& pki = test::Pki::get();
    FaultServer tls(pki.server_cert,
                    pki.server_key); // a certificate for localhost, not 127.0.0.1
    FaultServer plain;
    for (const Mechanism& m : mechanisms()) {
      CAPTURE(m.name);
      m.serve_good(tls);
      m.serve_good(plain);
      struct Case {
        std::string base, extra, want;
      } cases[] = {
          {tls.url(), "", "certificate"}, // signed by a CA the system does not know
          {tls.url(), "tls_config: {ca_file: \"" + pki.ca + "\"}", "subject name"}, // trusted, but not for this name
          {"https://127.0.0.1:" + std::to_string(plain.port()), "", "SSL"},
      };
      for (const Case& c : cases) {
        CAPTURE(c.base);
        CAPTURE(c.extra);
        std::unique_ptr<discovery::SdConfig> config = decode(m.name, m.yaml(c.base, c.extra));
        OneShot r = run_once(*config, k_timeout);
        CHECK(r.synced);
        CHECK(r.took < k_timeout);
        CHECK_MESSAGE(r.provider.error.find(c.want) != std::string::npos, r.provider.error);
      }
      // With the CA and the name the certificate has, the same server works.
      std::unique_ptr<discovery::SdConfig> config =
          decode(m.name, m.yaml(tls.url(), "tls_config: {ca_file: \"" + pki.ca + "\", server_name: localhost}"));
      OneShot r = run_once(*config, k_timeout);
      CHECK(r.synced);
      CHECK_MESSAGE(r.provider.error == "", r.provider.error);
    }
  }

  TEST_CASE("faults: http_sd in watch keeps its targets through every fault, "
            "paced, and recovers") {
    FaultServer server;
    server.route("/sd", fault::ok(k_http_body));
    std::unique_ptr<discovery::SdConfig> config =
        decode("http", "{url: \"" + server.url() + "/sd\", refresh_interval: 1s}");
    Manager manager;
    manager.start({{"faulty", {config.get()}}});
    REQUIRE(manager.wait_synced(Manager::Clock::now() + 5s));
    REQUIRE(manager.providers()[0].error == "");
    std::vector<std::string> good = {"127.0.0.1:9100"};
    REQUIRE(addresses(manager.groups()["faulty"]) == good);

    struct Fault {
      test::FaultHandler handler;
      std::string want;
    } faults[] = {
        {fault::status(500, "fire\n"), "server returned HTTP status 500 Internal Server Error"},
        {fault::too_many_requests(3600), "server returned HTTP status 429 Too Many Requests"},
        {fault::reset_after(k_http_body, 20), "Connection reset by peer"},
        {fault::truncated(k_http_body, 20), "invalid JSON: "},
        {fault::malformed(), "invalid JSON: "},
        {fault::huge(), "response body exceeds"},
        {fault::redirect_loop(), "stopped after 10 redirects"},
        {fault::hang(), "context deadline exceeded"},
    };
    for (const Fault& f : faults) {
      CAPTURE(f.want);
      server.route("/sd", f.handler);
      CHECK(eventually([&] { return manager.providers()[0].error.find(f.want) != std::string::npos; }));
      CHECK(addresses(manager.groups()["faulty"]) == good); // the last good targets stay
    }
    // Retry-After: 3600 did not stop the polling, nor did any fault speed
    // it up: one request per refresh interval (1s), never more.
    size_t before = server.requests("/sd");
    auto window_start = std::chrono::steady_clock::now();
    server.route("/sd", fault::too_many_requests(3600));
    CHECK(server.wait_for_requests("/sd", before + 2, 5s));
    auto window = std::chrono::steady_clock::now() - window_start;
    CHECK(window > 900ms); // two requests are at least an interval apart

    server.refuse();
    CHECK(eventually([&] { return manager.providers()[0].error.find("connection refused") != std::string::npos; }));
    CHECK(addresses(manager.groups()["faulty"]) == good);

    // The fault clears: new targets come, and the error goes.
    server.listen_again();
    server.route("/sd", fault::ok(R"([{"targets": ["127.0.0.2:9100"]}])"));
    CHECK(eventually([&] {
      return manager.providers()[0].error.empty() &&
             addresses(manager.groups()["faulty"]) == std::vector<std::string>{"127.0.0.2:9100"};
    }));
    manager.stop();
  }

  // consul_sd running against a FaultServer that gives the good answer, with
  // short pauses (100ms retry, 1s refresh), once its first result is in.
  struct RunningConsul {
    FaultServer server;
    LatestSink sink;
    std::unique_ptr<discovery::SdConfig> config;
    std::unique_ptr<test::RunningDiscoverer> running;

    RunningConsul() {
      Mechanism consul = mechanisms()[1];
      consul.serve_good(server);
      config = decode("consul", consul.yaml(server.url(), ""));
      running = std::make_unique<test::RunningDiscoverer>(
          discovery::consul::make_discovery(dynamic_cast<const discovery::consul::Config&>(*config),
                                            discovery::consul::Timing{100ms, 1s}),
          sink);
      REQUIRE(eventually([&] { return sink.last_report() == ""; }));
    }
  };

  TEST_CASE("faults: consul_sd in watch keeps its targets through faults, "
            "paced, and recovers") {
    RunningConsul consul;
    FaultServer& server = consul.server;
    LatestSink& sink = consul.sink;
    REQUIRE(sink.addresses() == std::vector<std::string>{"127.0.0.1:9200"});

    struct Fault {
      test::FaultHandler handler;
      std::string want;
    } faults[] = {
        {fault::status(503, "unavailable\n"), "Unexpected response code: 503 (unavailable)"},
        {fault::too_many_requests(3600), "Unexpected response code: 429 (rate limited)"},
        {fault::malformed(), "invalid JSON: "},
        {fault::huge(), "response body exceeds"},
    };
    for (const Fault& f : faults) {
      CAPTURE(f.want);
      server.route("/v1/health/service/web", f.handler);
      CHECK(eventually([&] { return sink.last_report().find(f.want) != std::string::npos; }));
      CHECK(sink.addresses() == std::vector<std::string>{"127.0.0.1:9200"});
    }
    // Paced by the retry pause and the refresh tick (1s), whatever the
    // Retry-After says: two more requests take at least an interval.
    server.route("/v1/health/service/web", fault::too_many_requests(0));
    size_t before = server.requests("/v1/");
    auto window_start = std::chrono::steady_clock::now();
    CHECK(server.wait_for_requests("/v1/", before + 2, 5s));
    CHECK(std::chrono::steady_clock::now() - window_start > 900ms);

    server.route("/v1/health/service/web", fault::ok(consul_body(9201), "application/json", {{"X-Consul-Index", "8"}}));
    CHECK(eventually(
        [&] { return sink.last_report().empty() && sink.addresses() == std::vector<std::string>{"127.0.0.1:9201"}; }));
  }

  TEST_CASE("faults: a consul blocking query that never returns is cut at its "
            "timeout and retried") {
    RunningConsul consul;
    FaultServer& server = consul.server;
    LatestSink& sink = consul.sink;
    server.route("/v1/health/service/web", fault::hang());
    size_t before = server.requests("/v1/health/service/web");
    auto hang_start = std::chrono::steady_clock::now();
    REQUIRE(eventually([&] { return sink.last_report().find("context deadline exceeded") != std::string::npos; }));
    auto cut_after = std::chrono::steady_clock::now() - hang_start;
    CHECK(cut_after < 3s); // the request timeout (1s here, 2m15s by default)
                           // plus at most one refresh tick
    CHECK(sink.last_report().find("cannot refresh service \"web\": Get \"") == 0);
    // Retried: a new blocking query, with the last index and the 2 min wait.
    CHECK(server.wait_for_requests("/v1/health/service/web", before + 2, 5s));
    std::string retried = server.targets("/v1/health/service/web").back();
    CHECK(retried.find("index=7") != std::string::npos);
    CHECK(retried.find("wait=120000ms") != std::string::npos);
    CHECK(sink.addresses() == std::vector<std::string>{"127.0.0.1:9200"});
    server.route("/v1/health/service/web", fault::ok(consul_body(9201), "application/json", {{"X-Consul-Index", "8"}}));
    CHECK(eventually(
        [&] { return sink.last_report().empty() && sink.addresses() == std::vector<std::string>{"127.0.0.1:9201"}; }));
    CHECK(discovery::consul::Timing{}.request_timeout == 135s); // Prometheus's watchTimeout + 15 s
  }

  TEST_CASE("faults: kubernetes_sd in watch keeps its targets through faults, "
            "paced, and recovers") {
    ShortWatchApi api;
    struct Fault {
      test::FaultHandler handler;
      std::string want;
    } faults[] = {
        {fault::status(500, "fire\n"), "500 Internal Server Error"},
        {fault::too_many_requests(3600), "failed to list *v1.Node: the server responded with HTTP 429"},
        {fault::malformed(), "decode"},
        {fault::huge(), "response body exceeds 536870912 bytes"},
        {nodes(fault::hang(), fault::status(500, "fire\n")),
         "failed to list *v1.Node: Get \"" + api.server.url() +
             "/api/v1/nodes?resourceVersion=11\": context deadline exceeded"},
    };
    for (const Fault& f : faults) {
      CAPTURE(f.want);
      api.server.route("/api/v1/nodes", f.handler);
      CHECK(eventually([&] { return api.sink.last_report().find(f.want) != std::string::npos; }));
      CHECK(api.sink.addresses() == std::vector<std::string>{kubelet(1)});
    }
    // Relists back off (50 ms doubling to 200 ms here, 0.8 s to 30 s by
    // default), whatever Retry-After says.
    api.server.route("/api/v1/nodes", fault::too_many_requests(0));
    size_t before = lists(api.server).size();
    auto window_start = std::chrono::steady_clock::now();
    REQUIRE(eventually([&] { return lists(api.server).size() >= before + 3; }));
    CHECK(std::chrono::steady_clock::now() - window_start > 350ms);

    api.server.route("/api/v1/nodes", nodes(fault::ok(node_list(20, {numbered_node(1, 20), numbered_node(2, 20)})),
                                            fault::watch({bookmark(21)}, 300ms)));
    CHECK(eventually([&] {
      return api.sink.last_report() == "" && api.sink.addresses() == std::vector<std::string>{kubelet(1), kubelet(2)};
    }));
  }

  TEST_CASE("faults: a kubernetes watch answering HTTP 410 Gone relists from "
            "the last resourceVersion") {
    ShortWatchApi api;
    api.server.route("/api/v1/nodes", nodes(fault::ok(node_list(30, {numbered_node(1, 30), numbered_node(2, 30)})),
                                            fault::status(410, gone_status(), "application/json")));
    REQUIRE(eventually([&] { return api.sink.addresses() == std::vector<std::string>{kubelet(1), kubelet(2)}; }));
    std::vector<std::string> listed = lists(api.server);
    REQUIRE(listed.size() >= 2);
    CHECK(listed[0] == "/api/v1/nodes?limit=500&resourceVersion=0");
    CHECK(listed[1] == "/api/v1/nodes?resourceVersion=11"); // after the bookmark, without
                                                            // paging
    for (const std::string& report : api.sink.reports()) {
      CHECK(report == ""); // 410 is a reason to relist, not an error
    }
  }

  TEST_CASE("faults: a kubernetes ERROR watch event with code 410 relists from "
            "the last resourceVersion") {
    ShortWatchApi api;
    nlohmann::json gone = nlohmann::json::parse(gone_status());
    api.server.route("/api/v1/nodes", nodes(fault::ok(node_list(30, {numbered_node(1, 30), numbered_node(3, 30)})),
                                            fault::watch({watch_event("ERROR", gone)}, 0ms)));
    REQUIRE(eventually([&] { return api.sink.addresses() == std::vector<std::string>{kubelet(1), kubelet(3)}; }));
    std::vector<std::string> listed = lists(api.server);
    REQUIRE(listed.size() >= 2);
    CHECK(listed[1] == "/api/v1/nodes?resourceVersion=11");
    for (const std::string& report : api.sink.reports()) {
      CHECK(report == "");
    }
  }

  TEST_CASE("faults: a kubernetes watch closed every few events resumes "
            "without a relist") {
    FaultServer server;
    auto served = std::make_shared<std::atomic<int>>(0);
    // Watch i adds nodes 2i+2 and 2i+3 (resourceVersions 10+2i+1, 10+2i+2)
    // and ends; the fourth watch stays open.
    test::FaultHandler watch = [served](const test::FaultRequest& request, test::FaultConnection& c) {
      int i = (*served)++;
      if (i >= 3) {
        fault::watch({})(request, c);
        return;
      }
      fault::watch({watch_event("ADDED", numbered_node(2 * i + 2, 10 + 2 * i + 1)),
                    watch_event("ADDED", numbered_node(2 * i + 3, 10 + 2 * i + 2))},
                   0ms)(request, c);
    };
    server.route("/api/v1/nodes", nodes(fault::ok(node_list(10, {numbered_node(1, 10)})), watch));
    std::unique_ptr<discovery::SdConfig> config =
        decode("kubernetes", "{role: node, api_server: \"" + server.url() + "\"}");
    LatestSink sink;
    test::RunningDiscoverer running(kubernetes_discoverer(*config), sink);
    std::vector<std::string> want;
    for (int n = 1; n <= 7; ++n) {
      want.push_back(kubelet(n));
    }
    REQUIRE(eventually([&] { return sink.addresses() == want; }));
    // The fourth watch may reach the server a moment after the third's
    // events reach the sink.
    REQUIRE(eventually([&] { return watches(server).size() == 4; }));
    CHECK(lists(server).size() == 1);
    std::vector<std::string> watched = watches(server);
    for (size_t i = 0; i < watched.size(); ++i) {
      CAPTURE(watched[i]);
      CHECK(watched[i].find("resourceVersion=" + std::to_string(10 + 2 * i) + "&") != std::string::npos);
    }
    for (const std::string& report : sink.reports()) {
      CHECK(report == "");
    }
  }

  TEST_CASE("faults: a kubernetes watch answering 429 is retried after "
            "backoff, without a relist") {
    ShortWatchApi api;
    api.server.route("/api/v1/nodes", nodes(fault::ok(node_list(30, {numbered_node(1, 30), numbered_node(4, 30)})),
                                            fault::too_many_requests(3600)));
    size_t watched = watches(api.server).size();
    REQUIRE(eventually([&] { return watches(api.server).size() >= watched + 3; }));
    CHECK(lists(api.server).size() == 1);
    CHECK(api.sink.addresses() == std::vector<std::string>{kubelet(1)});
    for (const std::string& report : api.sink.reports()) {
      CHECK(report == "");
    }
  }

  TEST_CASE("faults: a kubernetes watch refused by a closed port is retried "
            "after backoff, without a relist") {
    ShortWatchApi api;
    api.server.refuse();
    size_t before = api.server.targets("/api/v1/nodes").size();
    // The watch, when it is next opened, is refused; its retries (every
    // 200 ms at most here) are no relist and no error.
    std::this_thread::sleep_for(600ms); // lets a few refused retries happen;
                                        // nothing to poll on a closed port
    api.server.route("/api/v1/nodes", nodes(fault::ok(node_list(40, {numbered_node(5, 40)})),
                                            fault::watch({watch_event("ADDED", numbered_node(6, 41))})));
    api.server.listen_again();
    REQUIRE(eventually([&] { return api.sink.addresses() == std::vector<std::string>{kubelet(1), kubelet(6)}; }));
    std::vector<std::string> after = api.server.targets("/api/v1/nodes");
    REQUIRE(after.size() > before);
    CHECK(after[before].find("resourceVersion=11&") != std::string::npos); // the watch resumes
    CHECK(after[before].find("watch=true") != std::string::npos);
    CHECK(lists(api.server).size() == 1);
    for (const std::string& report : api.sink.reports()) {
      CHECK(report == "");
    }
  }
}
