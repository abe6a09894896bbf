// The libcurl client against loopback fixture servers (plain HTTP and HTTPS
// with a CA, server and client certificates made at test time).

#include <httplib.h> // CPPHTTPLIB_OPENSSL_SUPPORT comes from its pkg-config flags

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <stop_token>
#include <thread>

#include <doctest/doctest.h>

#include "net/http_client.h"
#include "loopback_server.h"
#include "test_util.h"

using namespace sdscope;
using namespace std::chrono_literals;
using test::Pki;
using test::read_text;
using test::scratch_dir;
using test::write_file;

namespace {

// Runs a cpp-httplib server on 127.0.0.1 and an ephemeral port.
template <class ServerT = httplib::Server> class Fixture {
public:
  template <class... Args> explicit Fixture(Args&&... args) : server(std::forward<Args>(args)...) {}
  ~Fixture() { stop(); }
  void start() {
    server.set_keep_alive_timeout(1);
    port = m_serving.start(server);
  }
  void stop() { m_serving.stop(); }
  std::string url(const std::string& path) const {
    return std::string(std::is_same_v<ServerT, httplib::Server> ? "http" : "https") + "://127.0.0.1:" +
           std::to_string(port) + path;
  }

  ServerT server;
  int port = 0;

private:
  test::LoopbackServer m_serving;
};

std::unique_ptr<net::HttpClient> make_client(const net::HttpClientConfig& config) {
  Result<std::unique_ptr<net::HttpClient>> client = net::HttpClient::make(config);
  REQUIRE_MESSAGE(client, (client ? "" : client.error()));
  return std::move(*client);
}

Result<net::HttpResponse> get(net::HttpClient& client, const std::string& url, net::HttpHeaders headers = {},
                              std::chrono::milliseconds timeout = 5s) {
  return client.get(url, headers, timeout, std::stop_token{});
}

std::string error_of(const Result<net::HttpResponse>& r) { return r ? std::string("<no error>") : r.error(); }

// A client config that fetches tokens from token_url as client "id".
net::HttpClientConfig oauth2_client(const std::string& token_url, const std::string& secret) {
  net::HttpClientConfig config;
  net::OAuth2& oauth2 = config.oauth2.emplace();
  oauth2.client_id = "id";
  oauth2.client_secret = {secret};
  oauth2.token_url = token_url;
  return config;
}

// Echoes the Authorization header, "-" when absent.
void serve_auth_echo(httplib::Server& server) {
  server.Get("/auth", [](const httplib::Request& req, httplib::Response& res) {
    res.set_content(req.has_header("Authorization") ? req.get_header_value("Authorization") : "-", "text/plain");
  });
}

} // namespace

TEST_SUITE("net::http_client") {
  TEST_CASE("http: GET returns status, reason, content type and body; sends only the caller's headers") {
    Fixture<> fx;
    std::string seen_accept, seen_ua, seen_custom, seen_encoding;
    fx.server.Get("/ok", [&](const httplib::Request& req, httplib::Response& res) {
      seen_accept = req.has_header("Accept") ? req.get_header_value("Accept") : "-";
      seen_ua = req.get_header_value("User-Agent");
      seen_custom = req.get_header_value("X-Custom");
      seen_encoding = req.has_header("Accept-Encoding") ? req.get_header_value("Accept-Encoding") : "-";
      res.set_content("[1,2]", "application/json; charset=utf-8");
      res.set_header("X-Extra", "yes");
    });
    fx.server.Get("/missing", [](const httplib::Request&, httplib::Response& res) { res.status = 404; });
    fx.start();
    auto client = make_client({});

    Result<net::HttpResponse> r = get(*client, fx.url("/ok"), {{"User-Agent", "ua/1"}, {"X-Custom", "v"}});
    REQUIRE_MESSAGE(r, error_of(r));
    CHECK(r->status == 200);
    CHECK(r->status_line() == "200 OK");
    CHECK(r->content_type == "application/json; charset=utf-8");
    CHECK(r->header("x-extra") == "yes");
    CHECK(r->body == "[1,2]");
    CHECK(seen_accept == "-"); // curl's default "Accept: */*" is not sent
    CHECK(seen_encoding == "-");
    CHECK(seen_ua == "ua/1");
    CHECK(seen_custom == "v");

    r = get(*client, fx.url("/missing"));
    REQUIRE(r);
    CHECK(r->status_line() == "404 Not Found");
  }

  TEST_CASE("http: connections are reused between requests") {
    Fixture<> fx;
    std::vector<int> ports;
    fx.server.Get("/", [&](const httplib::Request& req, httplib::Response& res) {
      ports.push_back(req.remote_port);
      res.set_content("x", "text/plain");
    });
    fx.start();
    auto client = make_client({});
    REQUIRE(get(*client, fx.url("/")));
    REQUIRE(get(*client, fx.url("/")));
    REQUIRE(ports.size() == 2);
    CHECK(ports[0] == ports[1]);
  }

  TEST_CASE("http: connection refused is a Go-shaped error") {
    Fixture<> fx;
    fx.start();
    std::string url = fx.url("/x");
    fx.stop(); // nothing listens there now
    auto client = make_client({});
    Result<net::HttpResponse> r = get(*client, url);
    REQUIRE(!r);
    CHECK(r.error().starts_with("Get \"" + url + "\": "));
  }

  TEST_CASE("auth: basic_auth inline and from a file, which is re-read and trimmed") {
    Fixture<> fx;
    serve_auth_echo(fx.server);
    fx.start();
    std::filesystem::path dir = scratch_dir();

    net::HttpClientConfig inline_config;
    inline_config.basic_auth.emplace() = {"alice", "", "", {"s3cret"}, "", ""};
    Result<net::HttpResponse> r = get(*make_client(inline_config), fx.url("/auth"));
    REQUIRE(r);
    CHECK(r->body == "Basic YWxpY2U6czNjcmV0"); // alice:s3cret

    write_file(dir / "password", "  first-pass\n");
    net::HttpClientConfig file_config;
    file_config.basic_auth.emplace() = {"bob", "", "", {}, (dir / "password").string(), ""};
    auto client = make_client(file_config);
    r = get(*client, fx.url("/auth"));
    REQUIRE(r);
    CHECK(r->body == "Basic Ym9iOmZpcnN0LXBhc3M="); // bob:first-pass
    write_file(dir / "password", "second-pass\r\n");
    r = get(*client, fx.url("/auth"));
    REQUIRE(r);
    CHECK(r->body == "Basic Ym9iOnNlY29uZC1wYXNz"); // bob:second-pass

    std::filesystem::remove(dir / "password");
    r = get(*client, fx.url("/auth"));
    REQUIRE(!r);
    CHECK(r.error() == "Get \"" + fx.url("/auth") + "\": unable to read basic auth password file " +
                           (dir / "password").string() + ": open " + (dir / "password").string() +
                           ": no such file or directory");
    CHECK(r.error().find("second-pass") == std::string::npos);
  }

  TEST_CASE("auth: bearer_token_file is read on every request") {
    Fixture<> fx;
    serve_auth_echo(fx.server);
    fx.start();
    std::filesystem::path dir = scratch_dir();
    write_file(dir / "token", "token-one\n");
    net::HttpClientConfig config;
    config.bearer_token_file = (dir / "token").string(); // legacy field, not yet moved by validate()
    auto client = make_client(config);
    Result<net::HttpResponse> r = get(*client, fx.url("/auth"));
    REQUIRE(r);
    CHECK(r->body == "Bearer token-one");
    write_file(dir / "token", "token-two");
    r = get(*client, fx.url("/auth"));
    REQUIRE(r);
    CHECK(r->body == "Bearer token-two");
  }

  TEST_CASE("auth: authorization type and credentials; a caller's Authorization wins") {
    Fixture<> fx;
    serve_auth_echo(fx.server);
    fx.start();
    net::HttpClientConfig config;
    config.authorization = net::Authorization{"Token", {"abc"}, "", ""};
    auto client = make_client(config);
    Result<net::HttpResponse> r = get(*client, fx.url("/auth"));
    REQUIRE(r);
    CHECK(r->body == "Token abc");
    r = get(*client, fx.url("/auth"), {{"Authorization", "Mine"}});
    REQUIRE(r);
    CHECK(r->body == "Mine");

    net::HttpClientConfig validated;
    validated.bearer_token = {"legacy"};
    CHECK(validated.validate().empty());
    r = get(*make_client(validated), fx.url("/auth"));
    REQUIRE(r);
    CHECK(r->body == "Bearer legacy");

    r = get(*make_client({}), fx.url("/auth"));
    REQUIRE(r);
    CHECK(r->body == "-");
  }

  TEST_CASE("redirects: followed by default with auth, returned as is when follow_redirects is off") {
    Fixture<> fx;
    std::atomic<int> hops{0};
    fx.server.Get("/start", [](const httplib::Request&, httplib::Response& res) { res.set_redirect("/auth"); });
    fx.server.Get(R"(/loop/(\d+))", [&](const httplib::Request& req, httplib::Response& res) {
      ++hops;
      res.set_redirect("/loop/" + std::to_string(std::stoi(req.matches[1]) + 1));
    });
    serve_auth_echo(fx.server);
    fx.start();

    net::HttpClientConfig config;
    config.authorization = net::Authorization{"Bearer", {"tok"}, "", ""};
    Result<net::HttpResponse> r = get(*make_client(config), fx.url("/start"));
    REQUIRE(r);
    CHECK(r->status == 200);
    CHECK(r->body == "Bearer tok");

    config.follow_redirects = false;
    r = get(*make_client(config), fx.url("/start"));
    REQUIRE(r);
    CHECK(r->status == 302);
    CHECK(r->header("Location") == "/auth");

    r = get(*make_client({}), fx.url("/loop/0"));
    REQUIRE(!r);
    CHECK(r.error() == "Get \"" + fx.url("/loop/0") + "\": stopped after 10 redirects");
    CHECK(hops == 10); // Go sends at most 10 requests
  }

  TEST_CASE("timeout and cancellation return promptly") {
    Fixture<> fx;
    std::atomic<bool> release{false};
    fx.server.Get("/slow", [&](const httplib::Request&, httplib::Response& res) {
      for (int i = 0; i < 500 && !release; ++i) {
        std::this_thread::sleep_for(10ms);
      }
      res.set_content("late", "text/plain");
    });
    fx.start();
    auto client = make_client({});

    auto start = std::chrono::steady_clock::now();
    Result<net::HttpResponse> r = get(*client, fx.url("/slow"), {}, 300ms);
    auto took = std::chrono::steady_clock::now() - start;
    REQUIRE(!r);
    CHECK(r.error() == "Get \"" + fx.url("/slow") +
                           "\": context deadline exceeded (Client.Timeout exceeded while awaiting headers)");
    CHECK(took >= 250ms);
    CHECK(took < 2s);

    std::stop_source stop;
    std::jthread stopper([&] {
      std::this_thread::sleep_for(200ms);
      stop.request_stop();
    });
    start = std::chrono::steady_clock::now();
    r = client->get(fx.url("/slow"), {}, 0ms, stop.get_token());
    took = std::chrono::steady_clock::now() - start;
    REQUIRE(!r);
    CHECK(r.error() == "Get \"" + fx.url("/slow") + "\": context canceled");
    CHECK(took < 700ms); // not curl's one-second progress tick
    release = true;

    r = client->get(fx.url("/slow"), {}, 0ms, stop.get_token()); // already stopped
    REQUIRE(!r);
    CHECK(r.error().ends_with("context canceled"));
  }

  TEST_CASE("tls: CA file, server_name, inline CA, insecure_skip_verify, versions") {
    const Pki& pki = Pki::get();
    Fixture<httplib::SSLServer> fx(pki.server_cert.c_str(), pki.server_key.c_str());
    REQUIRE(fx.server.is_valid());
    std::string seen_host;
    fx.server.Get("/", [&](const httplib::Request& req, httplib::Response& res) {
      seen_host = req.get_header_value("Host");
      res.set_content("secure", "text/plain");
    });
    fx.start();

    net::HttpClientConfig config;
    config.tls_config.ca_file = pki.ca;
    // The certificate names localhost, not 127.0.0.1.
    Result<net::HttpResponse> r = get(*make_client(config), fx.url("/"));
    CHECK(!r);

    config.tls_config.server_name = "sd.example.test";
    r = get(*make_client(config), fx.url("/"));
    REQUIRE_MESSAGE(r, error_of(r));
    CHECK(r->body == "secure");
    CHECK(seen_host == "127.0.0.1:" + std::to_string(fx.port)); // Host stays the URL's

    net::HttpClientConfig inline_ca;
    inline_ca.tls_config.ca = {read_text(pki.ca)};
    inline_ca.tls_config.server_name = "localhost";
    r = get(*make_client(inline_ca), fx.url("/"));
    CHECK_MESSAGE(r, error_of(r));

    net::HttpClientConfig wrong_ca;
    wrong_ca.tls_config.ca_file = pki.other_ca;
    wrong_ca.tls_config.server_name = "localhost";
    CHECK(!get(*make_client(wrong_ca), fx.url("/")));
    wrong_ca.tls_config.insecure_skip_verify = true;
    r = get(*make_client(wrong_ca), fx.url("/"));
    CHECK_MESSAGE(r, error_of(r));

    net::HttpClientConfig tls12;
    tls12.tls_config = config.tls_config;
    tls12.tls_config.max_version = "TLS12";
    r = get(*make_client(tls12), fx.url("/"));
    CHECK_MESSAGE(r, error_of(r));
    tls12.tls_config.min_version = "TLS13";
    Result<std::unique_ptr<net::HttpClient>> bad = net::HttpClient::make(tls12);
    REQUIRE(!bad);
    CHECK(bad.error() ==
          "tls_config.max_version must be greater than or equal to tls_config.min_version if both are specified");
  }

  TEST_CASE("tls: unreadable CA file and unusable client key pair fail at construction") {
    net::HttpClientConfig config;
    config.tls_config.ca_file = "/nonexistent/ca.pem";
    Result<std::unique_ptr<net::HttpClient>> client = net::HttpClient::make(config);
    REQUIRE(!client);
    CHECK(client.error() ==
          "unable to load specified CA cert /nonexistent/ca.pem: open /nonexistent/ca.pem: no such file or directory");

    std::filesystem::path dir = scratch_dir();
    write_file(dir / "empty.pem", "not a certificate\n");
    config.tls_config.ca_file = (dir / "empty.pem").string();
    client = net::HttpClient::make(config);
    REQUIRE(!client);
    CHECK(client.error() == "unable to use specified CA cert " + (dir / "empty.pem").string());

    net::HttpClientConfig pair;
    pair.tls_config.cert_file = (dir / "empty.pem").string();
    pair.tls_config.key = {"very-secret-key-text"};
    client = net::HttpClient::make(pair);
    REQUIRE(!client);
    CHECK(client.error() == "unable to use specified client cert (" + (dir / "empty.pem").string() +
                                ") & key (): tls: failed to find any PEM data in certificate input");
  }

  TEST_CASE("tls: client certificate authentication") {
    const Pki& pki = Pki::get();
    Fixture<httplib::SSLServer> fx(pki.server_cert.c_str(), pki.server_key.c_str(), pki.ca.c_str());
    REQUIRE(fx.server.is_valid());
    fx.server.Get("/", [](const httplib::Request&, httplib::Response& res) { res.set_content("mtls", "text/plain"); });
    fx.start();

    net::HttpClientConfig config;
    config.tls_config.ca_file = pki.ca;
    config.tls_config.server_name = "localhost";
    CHECK(!get(*make_client(config), fx.url("/"))); // no client certificate

    config.tls_config.cert_file = pki.client_cert;
    config.tls_config.key_file = pki.client_key;
    Result<net::HttpResponse> r = get(*make_client(config), fx.url("/"));
    REQUIRE_MESSAGE(r, error_of(r));
    CHECK(r->body == "mtls");

    net::HttpClientConfig inline_pair;
    inline_pair.tls_config.ca_file = pki.ca;
    inline_pair.tls_config.server_name = "localhost";
    inline_pair.tls_config.cert = {read_text(pki.client_cert)};
    inline_pair.tls_config.key = {read_text(pki.client_key)};
    r = get(*make_client(inline_pair), fx.url("/"));
    REQUIRE_MESSAGE(r, error_of(r));
    CHECK(r->body == "mtls");
  }

  TEST_CASE("proxy: proxy_url carries every request, no_proxy exempts loopback as Go does") {
    Fixture<> target;
    target.server.Get("/", [](const httplib::Request&, httplib::Response& res) {
      res.set_content("direct", "text/plain");
    });
    target.start();
    Fixture<> proxy;
    std::string proxied_target, proxy_header;
    proxy.server.Get(".*", [&](const httplib::Request& req, httplib::Response& res) {
      proxied_target = req.path;
      proxy_header = req.has_header("X-Proxy-Secret") ? req.get_header_value("X-Proxy-Secret") : "-";
      res.set_content("via proxy", "text/plain");
    });
    proxy.start();

    net::HttpClientConfig config;
    REQUIRE(model::parse_url(proxy.url(""), config.proxy.proxy_url).empty());
    config.proxy.proxy_connect_header["X-Proxy-Secret"] = {{"connect-only"}};
    Result<net::HttpResponse> r = get(*make_client(config), target.url("/"));
    REQUIRE_MESSAGE(r, error_of(r));
    CHECK(r->body == "via proxy");
    CHECK(proxied_target == target.url("/"));
    CHECK(proxy_header == "-"); // proxy_connect_header is for CONNECT only

    config.proxy.no_proxy = "example.com";
    r = get(*make_client(config), target.url("/"));
    REQUIRE_MESSAGE(r, error_of(r));
    CHECK(r->body == "direct");
  }

  TEST_CASE("proxy: without proxy settings the environment is ignored") {
    Fixture<> target;
    target.server.Get("/", [](const httplib::Request&, httplib::Response& res) {
      res.set_content("direct", "text/plain");
    });
    target.start();
    ::setenv("http_proxy", "http://127.0.0.1:9", 1);
    Result<net::HttpResponse> r = get(*make_client({}), target.url("/"));
    ::unsetenv("http_proxy");
    REQUIRE_MESSAGE(r, error_of(r));
    CHECK(r->body == "direct");
  }

  TEST_CASE("oauth2: client credentials token fetched, cached, refreshed when the secret changes") {
    Fixture<> fx;
    std::atomic<int> token_requests{0};
    std::string token_auth, token_body, token_ua;
    fx.server.Post("/token", [&](const httplib::Request& req, httplib::Response& res) {
      int n = ++token_requests;
      token_auth = req.get_header_value("Authorization");
      token_body = req.body;
      token_ua = req.get_header_value("User-Agent");
      res.set_content(R"({"access_token":"tok-)" + std::to_string(n) + R"(","token_type":"bearer","expires_in":3600})",
                      "application/json");
    });
    serve_auth_echo(fx.server);
    fx.start();
    std::filesystem::path dir = scratch_dir();
    write_file(dir / "secret", "client-secret-1\n");

    net::HttpClientConfig config;
    net::OAuth2& oauth2 = config.oauth2.emplace();
    oauth2.client_id = "my client";
    oauth2.client_secret_file = (dir / "secret").string();
    oauth2.token_url = fx.url("/token");
    oauth2.scopes = {"read", "write"};
    oauth2.endpoint_params = {{"audience", "sd"}};
    auto client = make_client(config);

    Result<net::HttpResponse> r = get(*client, fx.url("/auth"), {{"User-Agent", "Prometheus/2.45.0"}});
    REQUIRE_MESSAGE(r, error_of(r));
    CHECK(r->body == "Bearer tok-1");
    CHECK(token_auth == "Basic bXkrY2xpZW50OmNsaWVudC1zZWNyZXQtMQ=="); // my+client:client-secret-1
    CHECK(token_body == "audience=sd&grant_type=client_credentials&scope=read+write");
    CHECK(token_ua == "Prometheus/2.45.0");

    r = get(*client, fx.url("/auth"));
    REQUIRE(r);
    CHECK(r->body == "Bearer tok-1");
    CHECK(token_requests == 1);

    write_file(dir / "secret", "client-secret-2");
    r = get(*client, fx.url("/auth"));
    REQUIRE(r);
    CHECK(r->body == "Bearer tok-2");
    CHECK(token_requests == 2);
  }

  TEST_CASE("oauth2: a token that expires within 10s is fetched again") {
    Fixture<> fx;
    std::atomic<int> token_requests{0};
    fx.server.Post("/token", [&](const httplib::Request&, httplib::Response& res) {
      res.set_content("access_token=t" + std::to_string(++token_requests) + "&token_type=mac&expires_in=5",
                      "application/x-www-form-urlencoded");
    });
    serve_auth_echo(fx.server);
    fx.start();
    net::HttpClientConfig config = oauth2_client(fx.url("/token"), "shh-secret");
    auto client = make_client(config);
    Result<net::HttpResponse> r = get(*client, fx.url("/auth"));
    REQUIRE(r);
    CHECK(r->body == "MAC t1");
    r = get(*client, fx.url("/auth"));
    REQUIRE(r);
    CHECK(r->body == "MAC t2");
  }

  TEST_CASE("oauth2: expires_in as x/oauth2 reads it: an integer number or string, capped at MaxInt32") {
    Fixture<> fx;
    std::mutex mutex;
    std::string expires_in;
    int token_requests = 0;
    fx.server.Post("/token", [&](const httplib::Request&, httplib::Response& res) {
      std::lock_guard lock(mutex);
      res.set_content(R"({"access_token":"t","expires_in":)" + expires_in + "}", "application/json");
      ++token_requests;
    });
    serve_auth_echo(fx.server);
    fx.start();
    net::HttpClientConfig config = oauth2_client(fx.url("/token"), "shh");
    // How many token requests two GETs by a fresh client cause, or the error.
    auto requests_for = [&](const std::string& value) -> std::string {
      {
        std::lock_guard lock(mutex);
        expires_in = value;
        token_requests = 0;
      }
      auto client = make_client(config);
      for (int i = 0; i < 2; ++i) {
        if (Result<net::HttpResponse> r = get(*client, fx.url("/auth")); !r) {
          return r.error().substr(r.error().find("oauth2: "));
        }
      }
      std::lock_guard lock(mutex);
      return std::to_string(token_requests);
    };
    CHECK(requests_for("3600") == "1");
    CHECK(requests_for(R"("3600")") == "1");
    CHECK(requests_for("null") == "1"); // no expiry
    CHECK(requests_for("5") == "2");    // within the 10 s margin
    CHECK(requests_for("-5") == "2");
    CHECK(requests_for("99999999999") == "1");  // capped at MaxInt32
    CHECK(requests_for("-4294963696") == "1");  // kept as an int32: 3600
    CHECK(requests_for("3.5") == R"(oauth2: cannot parse json: strconv.ParseInt: parsing "3.5": invalid syntax)");
    CHECK(requests_for("1e30").starts_with("oauth2: cannot parse json: strconv.ParseInt: parsing \"1e"));
    CHECK(requests_for("18446744073709551615") ==
          R"(oauth2: cannot parse json: strconv.ParseInt: parsing "18446744073709551615": value out of range)");
    CHECK(requests_for(R"("99999999999999999999")") ==
          R"(oauth2: cannot parse json: strconv.ParseInt: parsing "99999999999999999999": value out of range)");
    CHECK(requests_for(R"("soon")") ==
          R"(oauth2: cannot parse json: json: invalid number literal, trying to unmarshal "\"soon\"" into Number)");
    CHECK(requests_for("true") ==
          "oauth2: cannot parse json: json: cannot unmarshal bool into Go value of type json.Number");
  }

  TEST_CASE("secrets never appear in error texts") {
    Fixture<> fx;
    // A token endpoint that echoes what it got, as some do in errors.
    fx.server.Post("/token", [](const httplib::Request& req, httplib::Response& res) {
      res.status = 401;
      res.set_content("bad credentials: " + req.body + " " + req.get_header_value("Authorization"), "text/plain");
    });
    fx.start();

    net::HttpClientConfig config = oauth2_client(fx.url("/token"), "oauth-client-secret");
    Result<net::HttpResponse> r = get(*make_client(config), fx.url("/x"));
    REQUIRE(!r);
    CHECK(r.error().starts_with("Get \"" + fx.url("/x") + "\": oauth2: cannot fetch token: 401 Unauthorized"));
    CHECK(r.error().find("oauth-client-secret") == std::string::npos);
    CHECK(r.error().find("<secret>") != std::string::npos);

    // Userinfo in the URL, a password, a proxy with credentials: all hidden.
    Fixture<> closed;
    closed.start();
    std::string closed_port = std::to_string(closed.port);
    closed.stop();
    net::HttpClientConfig basic;
    basic.basic_auth.emplace() = {"user", "", "", {"basic-password"}, "", ""};
    REQUIRE(model::parse_url("http://puser:proxy-password@127.0.0.1:" + closed_port, basic.proxy.proxy_url).empty());
    r = get(*make_client(basic), "http://u:url-password@127.0.0.1:" + closed_port + "/x");
    REQUIRE(!r);
    CHECK(r.error().starts_with("Get \"http://u:***@127.0.0.1:" + closed_port + "/x\": "));
    for (std::string_view secret : {"basic-password", "proxy-password", "url-password"}) {
      CHECK_MESSAGE(r.error().find(secret) == std::string::npos, r.error());
    }
  }

  TEST_CASE("http stream: chunks arrive as sent; consumer stop, cancellation, error bodies, idle limit") {
    Fixture<> fx;
    std::atomic<bool> first_seen{false};
    std::atomic<bool> server_done{false};
    std::atomic<bool> release{false}; // ends /forever
    fx.server.Get("/stream", [&](const httplib::Request&, httplib::Response& res) {
      res.set_chunked_content_provider("application/json", [&](size_t, httplib::DataSink& sink) {
        sink.write("one\n", 4);
        // The second chunk waits until the client has seen the first: the
        // body must be delivered as it arrives, not at the end.
        for (int i = 0; i < 300 && !first_seen; ++i) {
          std::this_thread::sleep_for(10ms);
        }
        sink.write("two\n", 4);
        sink.done();
        server_done = true;
        return true;
      });
    });
    fx.server.Get("/forever", [&](const httplib::Request&, httplib::Response& res) {
      res.set_chunked_content_provider("application/json", [&](size_t, httplib::DataSink& sink) {
        sink.write("x", 1);
        for (int i = 0; i < 300 && sink.is_writable() && !release; ++i) {
          std::this_thread::sleep_for(10ms);
        }
        sink.done();
        return true;
      });
    });
    fx.server.Get("/gone", [](const httplib::Request&, httplib::Response& res) {
      res.status = 410;
      res.set_content(R"({"kind":"Status","code":410})", "application/json");
    });
    fx.start();
    auto client = make_client({});

    std::string seen;
    bool first_before_done = false;
    auto collect = [&](std::string_view chunk) {
      if (seen.empty()) {
        first_before_done = !server_done;
      }
      seen += chunk;
      first_seen = seen.find('\n') != std::string::npos;
      return true;
    };
    Result<net::HttpResponse> r = client->stream(fx.url("/stream"), {}, collect, 0ms, std::stop_token{});
    REQUIRE_MESSAGE(r, (r ? "" : r.error()));
    CHECK(r->status == 200);
    CHECK(r->content_type == "application/json");
    CHECK(r->body.empty());
    CHECK(seen == "one\ntwo\n");
    CHECK(first_before_done);

    // on_data returning false ends the stream without an error.
    int calls = 0;
    r = client->stream(fx.url("/forever"), {}, [&](std::string_view) { return ++calls > 1; }, 0ms, std::stop_token{});
    REQUIRE_MESSAGE(r, (r ? "" : r.error()));
    CHECK(calls == 1);

    // A non-2xx body is kept, not streamed.
    seen.clear();
    r = client->stream(fx.url("/gone"), {}, collect, 0ms, std::stop_token{});
    REQUIRE(r);
    CHECK(r->status == 410);
    CHECK(r->body == R"({"kind":"Status","code":410})");
    CHECK(seen.empty());

    // Cancellation ends a quiet stream at once.
    std::stop_source stop;
    std::jthread stopper([&] {
      std::this_thread::sleep_for(200ms);
      stop.request_stop();
    });
    auto start = std::chrono::steady_clock::now();
    r = client->stream(fx.url("/forever"), {}, [](std::string_view) { return true; }, 0ms, stop.get_token());
    auto took = std::chrono::steady_clock::now() - start;
    REQUIRE(!r);
    CHECK(r.error() == "Get \"" + fx.url("/forever") + "\": context canceled");
    CHECK(took < 700ms);

    // The idle limit ends a stream that stopped sending.
    start = std::chrono::steady_clock::now();
    r = client->stream(fx.url("/forever"), {}, [](std::string_view) { return true; }, 1000ms, std::stop_token{});
    took = std::chrono::steady_clock::now() - start;
    REQUIRE_MESSAGE(!r, std::chrono::duration_cast<std::chrono::milliseconds>(took).count());
    CHECK(r.error() == "Get \"" + fx.url("/forever") + "\": stream idle for too long");
    CHECK(took < 2500ms);
    release = true;
  }
}
