// kubernetes_sd connection modes: kubeconfig_file, the in-cluster
// configuration and namespaces.own_namespace, against a loopback HTTPS
// API server that serves pods and records who asked for what.

#include <httplib.h> // CPPHTTPLIB_OPENSSL_SUPPORT comes from its pkg-config flags

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <set>
#include <thread>

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include "discovery/kubernetes.h"
#include "discovery/kubernetes_discovery.h"
#include "loopback_server.h"
#include "test_util.h"
#include "util/base64.h"

using namespace sdscope;
using namespace std::chrono_literals;
namespace k8s = sdscope::discovery::kubernetes;
using nlohmann::json;
using test::Pki;
using test::read_text;
using test::scratch_dir;
using test::write_file;

namespace {

// An HTTPS API server on 127.0.0.1 with one pod "a" per namespace it is
// asked for ("default" for cluster-wide lists). Requests whose
// Authorization differs from `authorization` (when set) get 401. Watches
// stay open for watch_hold, then end, so the client comes back.
class TlsApi {
public:
  TlsApi(const std::string& cert, const std::string& key, const std::string& client_ca = "")
      : m_server(cert.c_str(), key.c_str(), client_ca.empty() ? nullptr : client_ca.c_str()) {
    REQUIRE(m_server.is_valid());
    m_server.Get(R"(/api/v1(?:/namespaces/([^/]+))?/pods)",
                 [this](const httplib::Request& req, httplib::Response& res) { serve(req, res); });
    m_server.set_keep_alive_timeout(1);
    m_port = m_serving.start(m_server);
  }
  ~TlsApi() {
    m_shutdown = true;
    m_serving.stop();
  }

  std::string url() const { return "https://127.0.0.1:" + std::to_string(m_port); }
  int port() const { return m_port; }

  struct Request {
    std::string path; // without the query
    bool watch = false;
    std::string authorization;
  };
  std::vector<Request> requests() {
    std::lock_guard lock(m_mutex);
    return m_requests;
  }
  // Waits until some request satisfies pred.
  template <class Pred> bool wait_for_request(Pred pred, std::chrono::milliseconds limit = 5s) {
    auto deadline = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < deadline) {
      for (const Request& r : requests()) {
        if (pred(r)) {
          return true;
        }
      }
      std::this_thread::sleep_for(10ms);
    }
    return false;
  }

  std::string authorization; // set before discovery starts
  std::chrono::milliseconds watch_hold = 10s;

private:
  void serve(const httplib::Request& req, httplib::Response& res) {
    bool watch = req.get_param_value("watch") == "true";
    {
      std::lock_guard lock(m_mutex);
      m_requests.push_back({req.path, watch, req.get_header_value("Authorization")});
    }
    if (!authorization.empty() && req.get_header_value("Authorization") != authorization) {
      res.status = 401;
      res.set_content(json{{"kind", "Status"}, {"status", "Failure"}, {"reason", "Unauthorized"},
                           {"message", "Unauthorized"}, {"code", 401}}
                          .dump(),
                      "application/json");
      return;
    }
    if (!watch) {
      std::string namespace_ = req.matches[1].length() > 0 ? std::string(req.matches[1]) : "default";
      json pod = {{"kind", "Pod"},
                  {"apiVersion", "v1"},
                  {"metadata", {{"name", "a"}, {"namespace", namespace_}, {"uid", "u-" + namespace_}}},
                  {"spec", {{"containers", {{{"name", "c"}, {"ports", {{{"containerPort", 80}}}}}}}}},
                  {"status", {{"phase", "Running"}, {"podIP", "10.0.0.1"}}}};
      res.set_content(json{{"kind", "PodList"}, {"metadata", {{"resourceVersion", "5"}}}, {"items", {pod}}}.dump(),
                      "application/json");
      return;
    }
    auto until = std::chrono::steady_clock::now() + watch_hold;
    res.set_chunked_content_provider("application/json", [this, until](size_t, httplib::DataSink& sink) {
      while (!m_shutdown && sink.is_writable() && std::chrono::steady_clock::now() < until) {
        std::this_thread::sleep_for(10ms);
      }
      sink.done();
      return true;
    });
  }

  httplib::SSLServer m_server;
  test::LoopbackServer m_serving;
  int m_port = 0;
  std::atomic<bool> m_shutdown = false;
  std::mutex m_mutex;
  std::vector<Request> m_requests;
};

// Keeps the reports and the sources of non-empty groups.
class Recorder : public discovery::Sink {
public:
  using discovery::Sink::update;
  void update(std::vector<std::shared_ptr<const model::TargetGroup>> groups) override {
    std::lock_guard lock(m_mutex);
    for (const auto& group : groups) {
      if (!group->targets.empty()) {
        sources.insert(group->source);
      }
    }
    m_changed.notify_all();
  }
  void report(std::string error) override {
    std::lock_guard lock(m_mutex);
    reports.push_back(std::move(error));
    m_changed.notify_all();
  }
  bool wait_for_report(std::chrono::milliseconds limit = 5s) {
    std::unique_lock lock(m_mutex);
    return m_changed.wait_for(lock, limit, [&] { return !reports.empty(); });
  }

  std::set<std::string> sources;
  std::vector<std::string> reports;

private:
  std::mutex m_mutex;
  std::condition_variable m_changed;
};

// Runs a discoverer until destroyed; the first report must be "synced".
struct Running : test::RunningDiscoverer {
  Running(const k8s::Config& config, const k8s::InClusterEnvironment& in_cluster, Recorder& sink)
      : RunningDiscoverer(k8s::make_discovery(config, k8s::Timing{20ms, 100ms, false, 50ms}, in_cluster), sink) {
    REQUIRE(sink.wait_for_report());
    CHECK_MESSAGE(sink.reports[0] == "", sink.reports[0]);
  }
};

std::string base64(std::string_view data) {
  static constexpr char k_alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  for (size_t i = 0; i < data.size(); i += 3) {
    uint32_t chunk = static_cast<uint32_t>(static_cast<unsigned char>(data[i])) << 16;
    if (i + 1 < data.size()) {
      chunk |= static_cast<uint32_t>(static_cast<unsigned char>(data[i + 1])) << 8;
    }
    if (i + 2 < data.size()) {
      chunk |= static_cast<unsigned char>(data[i + 2]);
    }
    for (size_t j = 0; j < 4; ++j) {
      out += i + j <= data.size() ? k_alphabet[(chunk >> (18 - 6 * j)) & 63] : '=';
    }
  }
  return out;
}

// No in-cluster environment at all (nothing from the real process).
k8s::InClusterEnvironment no_cluster() {
  k8s::InClusterEnvironment environment;
  environment.service_account_dir = "/nonexistent/serviceaccount";
  environment.getenv = [](const std::string&) { return std::string(); };
  return environment;
}

// A service account directory with a token and the test CA, and the
// variables pointing at api.
k8s::InClusterEnvironment in_cluster_for(const TlsApi& api, const std::filesystem::path& dir) {
  write_file(dir / "token", "tok1\n");
  write_file(dir / "ca.crt", read_text(Pki::get().ca));
  k8s::InClusterEnvironment environment;
  environment.service_account_dir = dir.string();
  std::string port = std::to_string(api.port());
  environment.getenv = [port](const std::string& name) {
    return name == "KUBERNETES_SERVICE_HOST" ? std::string("127.0.0.1")
           : name == "KUBERNETES_SERVICE_PORT" ? port
                                               : std::string();
  };
  return environment;
}

k8s::Config pod_config() {
  k8s::Config config;
  config.role.value = "pod";
  return config;
}

k8s::Config kubeconfig_config(const std::filesystem::path& kubeconfig) {
  k8s::Config config = pod_config();
  config.kubeconfig_file = kubeconfig.string();
  return config;
}

std::string make_error(const k8s::Config& config, const k8s::InClusterEnvironment& in_cluster = no_cluster()) {
  auto made = k8s::make_discovery(config, {}, in_cluster);
  REQUIRE(!made);
  return made.error();
}

// A kubeconfig with one context "main" of cluster "c" and user "u".
std::string kubeconfig_text(const std::string& cluster, const std::string& user) {
  return "apiVersion: v1\nkind: Config\ncurrent-context: main\n"
         "contexts:\n- name: main\n  context: {cluster: c, user: u, namespace: ignored-ns}\n"
         "clusters:\n- name: c\n  cluster:\n" +
         cluster + "users:\n- name: u\n  user:\n" + user;
}

} // namespace

TEST_SUITE("discovery::kubernetes") {
  TEST_CASE("kubeconfig: token and CA file relative to the kubeconfig, over HTTPS; the context namespace is unused") {
    TlsApi api(Pki::get().server_cert, Pki::get().server_key);
    api.authorization = "Bearer kube-token";
    std::filesystem::path dir = scratch_dir();
    std::filesystem::create_directory(dir / "certs");
    write_file(dir / "certs" / "ca.crt", read_text(Pki::get().ca));
    write_file(dir / "kubeconfig", kubeconfig_text("    server: " + api.url() +
                                                       "\n    certificate-authority: certs/ca.crt\n"
                                                       "    tls-server-name: localhost\n",
                                                   "    token: kube-token\n"));
    Recorder sink;
    Running running(kubeconfig_config(dir / "kubeconfig"), no_cluster(), sink);
    CHECK(sink.sources == std::set<std::string>{"pod/default/a"});
    std::vector<TlsApi::Request> requests = api.requests();
    REQUIRE(!requests.empty());
    CHECK(requests[0].path == "/api/v1/pods"); // all namespaces, not the context's
  }

  TEST_CASE("kubeconfig: inline base64 CA, client certificate and key for a server that requires them") {
    const Pki& pki = Pki::get();
    TlsApi api(pki.server_cert, pki.server_key, pki.ca);
    std::filesystem::path dir = scratch_dir();
    write_file(dir / "kubeconfig",
               kubeconfig_text("    server: " + api.url() + "/\n    certificate-authority-data: " +
                                   base64(read_text(pki.ca)) + "\n    tls-server-name: sd.example.test\n",
                               "    client-certificate-data: " + base64(read_text(pki.client_cert)) +
                                   "\n    client-key-data: " + base64(read_text(pki.client_key)) + "\n"));
    Recorder sink;
    Running running(kubeconfig_config(dir / "kubeconfig"), no_cluster(), sink);
    CHECK(sink.sources == std::set<std::string>{"pod/default/a"});
    CHECK(api.requests()[0].authorization.empty());

    // Without the client certificate the handshake fails.
    write_file(dir / "kubeconfig", kubeconfig_text("    server: " + api.url() + "\n    certificate-authority-data: " +
                                                       base64(read_text(pki.ca)) +
                                                       "\n    tls-server-name: localhost\n",
                                                   "    token: t\n"));
    Recorder denied;
    auto made = k8s::make_discovery(kubeconfig_config(dir / "kubeconfig"), k8s::Timing{20ms, 100ms, false, 50ms},
                                    no_cluster());
    REQUIRE(made);
    std::jthread runner([&](std::stop_token stop) { (*made)->run(stop, denied); });
    REQUIRE(denied.wait_for_report());
    CHECK(denied.reports[0].starts_with("failed to list *v1.Pod: Get \"" + api.url() + "/api/v1/pods?"));
  }

  TEST_CASE("kubeconfig: a token file is re-read; http servers get no credentials") {
    TlsApi api(Pki::get().server_cert, Pki::get().server_key);
    api.watch_hold = 50ms;
    std::filesystem::path dir = scratch_dir();
    write_file(dir / "token", "from-file-1\n");
    write_file(dir / "kubeconfig", kubeconfig_text("    server: " + api.url() +
                                                       "\n    insecure-skip-tls-verify: true\n",
                                                   "    tokenFile: token\n"));
    Recorder sink;
    Running running(kubeconfig_config(dir / "kubeconfig"), no_cluster(), sink);
    CHECK(api.requests()[0].authorization == "Bearer from-file-1");
    write_file(dir / "token", "from-file-2");
    CHECK(api.wait_for_request([](const TlsApi::Request& r) { return r.authorization == "Bearer from-file-2"; }));

    // client-go applies user credentials (and plugins) to https only.
    httplib::Server plain;
    std::string seen_authorization = "-";
    plain.Get("/api/v1/pods", [&](const httplib::Request& req, httplib::Response& res) {
      seen_authorization = req.get_header_value("Authorization");
      res.status = 500;
    });
    test::LoopbackServer serving;
    int port = serving.start(plain);
    write_file(dir / "kubeconfig", kubeconfig_text("    server: 127.0.0.1:" + std::to_string(port) + "\n",
                                                   "    token: secret-token\n    exec: {command: x}\n"));
    auto made = k8s::make_discovery(kubeconfig_config(dir / "kubeconfig"), k8s::Timing{20ms, 100ms, false, 50ms},
                                    no_cluster());
    REQUIRE_MESSAGE(made, (made ? "" : made.error()));
    Recorder plain_sink;
    {
      std::jthread runner([&](std::stop_token stop) { (*made)->run(stop, plain_sink); });
      REQUIRE(plain_sink.wait_for_report());
    }
    made->reset(); // closes the kept-alive connection the server would wait for
    serving.stop();
    CHECK(seen_authorization.empty());
  }

  TEST_CASE("kubeconfig: errors read like client-go's") {
    std::filesystem::path dir = scratch_dir();
    std::string path = (dir / "kubeconfig").string();
    CHECK(make_error(kubeconfig_config(path)) == "stat " + path + ": no such file or directory");

    auto error_for = [&](const std::string& text) {
      write_file(path, text);
      return make_error(kubeconfig_config(path));
    };
    std::string https_cluster = "    server: https://127.0.0.1:1\n";
    CHECK(error_for("current-context: nope\n") ==
          "invalid configuration: [context was not found for specified context: nope, cluster has no server "
          "defined]");
    CHECK(error_for("") == "invalid configuration: no configuration has been provided, try setting "
                           "KUBERNETES_MASTER environment variable");
    CHECK(error_for(kubeconfig_text("    insecure-skip-tls-verify: true\n", "    token: t\n")) ==
          "invalid configuration: no server found for cluster \"c\"");
    CHECK(error_for(kubeconfig_text(https_cluster + "    certificate-authority: missing.crt\n",
                                    "    token: t\n    username: me\n    password: very-secret\n")) ==
          "invalid configuration: [more than one authentication method found for u; found [token basicAuth], only "
          "one is allowed, unable to read certificate-authority " +
              (dir / "missing.crt").string() + " for c due to open " + (dir / "missing.crt").string() +
              ": no such file or directory]");
    CHECK(error_for(kubeconfig_text(https_cluster, "    exec:\n      command: get-token\n")) ==
          "sdscope does not run kubeconfig exec credential plugins (user \"u\")");
    CHECK(error_for(kubeconfig_text(https_cluster, "    auth-provider: {name: oidc}\n")) ==
          "sdscope does not run kubeconfig auth-provider plugins (user \"u\", provider \"oidc\")");
    CHECK(error_for(kubeconfig_text(https_cluster + "    proxy-url: ftp://proxy\n", "    token: t\n")) ==
          "invalid configuration: invalid 'proxy-url' \"ftp://proxy\" for cluster \"c\": unsupported scheme "
          "\"ftp\", must be http, https, or socks5");
    CHECK(error_for(kubeconfig_text(https_cluster + "    certificate-authority-data: abc\n", "    token: t\n")) ==
          "error loading config file \"" + path + "\": illegal base64 data at input byte 0");
    CHECK(error_for(kubeconfig_text(https_cluster + "    insecure-skip-tls-verify: 1\n", "    token: t\n")) ==
          "error loading config file \"" + path +
              "\": json: cannot unmarshal number into Go struct field Cluster.clusters.cluster.insecure-skip-tls-verify"
              " of type bool");
    CHECK(error_for("just text\n") ==
          "error loading config file \"" + path +
              "\": couldn't get version/kind; json parse error: json: cannot unmarshal string into Go value of type "
              "struct { APIVersion string \"json:\\\"apiVersion,omitempty\\\"\"; Kind string "
              "\"json:\\\"kind,omitempty\\\"\" }");
    CHECK(error_for("clusters: [\n").starts_with("error loading config file \"" + path + "\": yaml: line "));
    CHECK(error_for(kubeconfig_text(https_cluster + "    insecure-skip-tls-verify: true\n"
                                                    "    certificate-authority-data: " +
                                        base64("x") + "\n",
                                    "    token: t\n")) ==
          "specifying a root certificates file with the insecure flag is not allowed");
    CHECK(error_for(kubeconfig_text("    server: 127.0.0.1:6443/prefix\n", "")) ==
          "host must be a URL or a host:port pair: \"127.0.0.1:6443/prefix\"");
    // Secrets stay out of the messages.
    CHECK(error_for(kubeconfig_text(https_cluster, "    tokenFile: missing-token\n    password: very-secret\n"))
              .find("very-secret") == std::string::npos);
  }

  TEST_CASE("kubeconfig: base64 data decodes as Go's base64.StdEncoding, with its error offsets") {
    auto decoded = [](std::string_view text) {
      Result<std::string> r = util::decode_base64_std(text);
      return r ? *r : "error: " + r.error();
    };
    CHECK(decoded("") == "");
    CHECK(decoded("eA==") == "x");
    CHECK(decoded("eHk=") == "xy");
    CHECK(decoded("eHl6") == "xyz");
    CHECK(decoded("eH\nl6\r\neA==\n") == "xyzx"); // line breaks are skipped anywhere
    CHECK(base64("any binary \x01\xff data") == "YW55IGJpbmFyeSAB/yBkYXRh");
    CHECK(decoded(base64("any binary \x01\xff data")) == "any binary \x01\xff data");
    CHECK(decoded("eA") == "error: illegal base64 data at input byte 0");
    CHECK(decoded("eHl6eA") == "error: illegal base64 data at input byte 4");
    CHECK(decoded("eA=") == "error: illegal base64 data at input byte 3");
    CHECK(decoded("eA=x") == "error: illegal base64 data at input byte 2");
    CHECK(decoded("eA==eA==") == "error: illegal base64 data at input byte 4");
    CHECK(decoded("e===") == "error: illegal base64 data at input byte 1");
    CHECK(decoded("e-A=") == "error: illegal base64 data at input byte 1");
  }

  TEST_CASE("kubeconfig: one without any server falls back to the in-cluster configuration") {
    TlsApi api(Pki::get().loopback_cert, Pki::get().loopback_key);
    std::filesystem::path dir = scratch_dir();
    std::filesystem::path kubeconfig = dir / "kubeconfig";
    write_file(kubeconfig, "current-context: \"\"\n");
    Recorder sink;
    Running running(kubeconfig_config(kubeconfig), in_cluster_for(api, dir), sink);
    CHECK(api.requests()[0].authorization == "Bearer tok1");
  }

  TEST_CASE("in-cluster: env, token and CA from the service account directory over HTTPS; the token is re-read") {
    TlsApi api(Pki::get().loopback_cert, Pki::get().loopback_key);
    api.watch_hold = 50ms;
    std::filesystem::path dir = scratch_dir();
    Recorder sink;
    Running running(pod_config(), in_cluster_for(api, dir), sink);
    CHECK(sink.sources == std::set<std::string>{"pod/default/a"});
    CHECK(api.requests()[0].path == "/api/v1/pods");
    CHECK(api.requests()[0].authorization == "Bearer tok1"); // trimmed
    write_file(dir / "token", "tok2");
    CHECK(api.wait_for_request([](const TlsApi::Request& r) { return r.authorization == "Bearer tok2"; }));
  }

  TEST_CASE("in-cluster: missing variables or token are errors; an unusable CA is skipped") {
    CHECK(make_error(pod_config()) == "unable to load in-cluster configuration, KUBERNETES_SERVICE_HOST and "
                                      "KUBERNETES_SERVICE_PORT must be defined");
    TlsApi api(Pki::get().loopback_cert, Pki::get().loopback_key);
    std::filesystem::path dir = scratch_dir();
    k8s::InClusterEnvironment environment = in_cluster_for(api, dir);
    auto only_host = environment;
    only_host.getenv = [](const std::string& name) {
      return name == "KUBERNETES_SERVICE_HOST" ? std::string("127.0.0.1") : std::string();
    };
    CHECK(make_error(pod_config(), only_host).starts_with("unable to load in-cluster configuration"));

    write_file(dir / "ca.crt", "not a certificate");
    CHECK(k8s::make_discovery(pod_config(), {}, environment)); // client-go logs and goes on

    std::filesystem::remove(dir / "token");
    CHECK(make_error(pod_config(), environment) == "open " + (dir / "token").string() + ": no such file or directory");
  }

  TEST_CASE("own_namespace: read verbatim from the service account directory, added to namespaces.names") {
    TlsApi api(Pki::get().loopback_cert, Pki::get().loopback_key);
    std::filesystem::path dir = scratch_dir();
    k8s::InClusterEnvironment environment = in_cluster_for(api, dir);
    k8s::Config config = pod_config();
    config.namespaces.own_namespace = true;

    CHECK(make_error(config, environment) == "could not determine the pod's namespace: open " +
                                                 (dir / "namespace").string() + ": no such file or directory");
    write_file(dir / "namespace", "");
    CHECK(make_error(config, environment) == "could not read own namespace name (empty file)");
    write_file(dir / "namespace", " team-a\n");
    Result<std::string> own = k8s::read_own_namespace(environment);
    REQUIRE(own);
    CHECK(*own == " team-a\n");

    write_file(dir / "namespace", "team-a");
    {
      Recorder sink;
      Running running(config, environment, sink);
      CHECK(sink.sources == std::set<std::string>{"pod/team-a/a"});
    }
    config.namespaces.names = {"ns1"};
    Recorder sink;
    Running running(config, environment, sink);
    CHECK(sink.sources == std::set<std::string>{"pod/ns1/a", "pod/team-a/a"});
  }
}
