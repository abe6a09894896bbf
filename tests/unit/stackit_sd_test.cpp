// stackit_sd: the server list mapping (pure), and the discoverer against a
// loopback fake of the STACKIT IaaS API and service-account token endpoint
// that checks every request: the HTTP block's bearer token, or the key
// flow's RS512 JWT (verified with the public key), its access and refresh
// tokens, and answers as STACKIT does.

#include <httplib.h> // CPPHTTPLIB_OPENSSL_SUPPORT comes from its pkg-config flags

#include <chrono>
#include <mutex>
#include <set>
#include <thread>

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include "discovery/stackit.h"
#include "loopback_server.h"
#include "net/jwt.h"
#include "rsa_test_util.h"
#include "test_util.h"
#include "util/strings.h"

using namespace sdscope;
using namespace std::chrono_literals;
namespace stackit = sdscope::discovery::stackit;
using Json = nlohmann::ordered_json;

namespace {

constexpr std::string_view k_servers = R"({"items":[
  {"id":"3f1e0c2a-0000-4000-8000-000000000001","name":"web-1","availabilityZone":"eu01-1","status":"ACTIVE",
   "powerStatus":"RUNNING","machineType":"c1.2","labels":{"env":"prod","team.name":"ops","count":3,"flag":true},
   "nics":[{"networkName":"private net","ipv4":"10.0.0.5"},{"networkName":"pub","ipv4":"10.1.0.5","publicIp":"193.148.1.2"},
           {"networkName":"later","publicIp":"193.148.9.9"}]},
  {"id":"id-2","name":"db-1","availabilityZone":"eu01-2","status":"ACTIVE","powerStatus":"STOPPED","machineType":"g1.4",
   "nics":[{"networkName":"net","ipv4":"fd00::5"}]},
  {"id":"id-3","name":"no-nics"},
  {"id":"id-4","name":"no-ip","nics":[{"networkName":"x"}]}
]})";

model::Labels web1(int port) {
  return {
      {"__address__", "193.148.1.2:" + std::to_string(port)},
      {"__meta_stackit_availability_zone", "eu01-1"},
      {"__meta_stackit_id", "3f1e0c2a-0000-4000-8000-000000000001"},
      {"__meta_stackit_label_env", "prod"},
      {"__meta_stackit_label_team_name", "ops"},
      {"__meta_stackit_labelpresent_env", "true"},
      {"__meta_stackit_labelpresent_team_name", "true"},
      {"__meta_stackit_name", "web-1"},
      {"__meta_stackit_power_status", "RUNNING"},
      {"__meta_stackit_private_ipv4_private_net", "10.0.0.5"},
      {"__meta_stackit_private_ipv4_pub", "10.1.0.5"},
      {"__meta_stackit_project", "p1"},
      {"__meta_stackit_public_ipv4", "193.148.1.2"},
      {"__meta_stackit_status", "ACTIVE"},
      {"__meta_stackit_type", "c1.2"},
  };
}

model::Labels db1(int port) {
  return {
      {"__address__", "[fd00::5]:" + std::to_string(port)},
      {"__meta_stackit_availability_zone", "eu01-2"},
      {"__meta_stackit_id", "id-2"},
      {"__meta_stackit_name", "db-1"},
      {"__meta_stackit_power_status", "STOPPED"},
      {"__meta_stackit_private_ipv4_net", "fd00::5"},
      {"__meta_stackit_project", "p1"},
      {"__meta_stackit_status", "ACTIVE"},
      {"__meta_stackit_type", "g1.4"},
  };
}

stackit::Config make_config(const std::string& yaml) {
  test::SdResult r = test::decode_sd("stackit", yaml);
  REQUIRE_MESSAGE(r.errors.empty(), (r.errors.empty() ? "" : r.errors[0]));
  return dynamic_cast<const stackit::Config&>(*r.config);
}

// An unsigned JWT-shaped token with an expiry (STACKIT's tokens are JWTs).
std::string token_with_exp(const std::string& id, int64_t exp) {
  return net::encode_base64url(R"({"alg":"RS512","typ":"JWT"})") + "." +
         net::encode_base64url(Json{{"exp", exp}, {"jti", id}}.dump()) + ".c2ln";
}

struct Seen {
  std::string path, authorization, accept, content_type, body;
};

class FakeStackit {
public:
  FakeStackit() {
    m_server.set_keep_alive_timeout(1);
    m_server.Post("/token", [this](const httplib::Request& req, httplib::Response& res) { token(req, res); });
    m_server.Get("/v1/projects/p1/servers", [this](const httplib::Request& req, httplib::Response& res) {
      std::chrono::milliseconds wait;
      {
        std::lock_guard lock(m_mutex);
        requests.push_back({req.path, req.get_header_value("Authorization"), req.get_header_value("Accept"), "", ""});
        wait = delay;
        std::string auth = req.get_header_value("Authorization");
        bool ok = req.get_param_value("details") == "true" &&
                  (auth == "Bearer static-token" ||
                   (util::starts_with(auth, "Bearer ") && access_tokens.contains(auth.substr(7))));
        if (!ok) {
          res.status = 401;
          res.set_content(R"({"code":401,"msg":"Unauthorized"})", "application/json");
        } else if (status != 200) {
          res.status = status;
          res.set_content(body, "application/json");
        } else {
          res.set_content(body, "application/json");
        }
      }
      std::this_thread::sleep_for(wait);
    });
    port = m_serving.start(m_server);
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port); }
  template <class Fn> auto locked(Fn fn) {
    std::lock_guard lock(m_mutex);
    return fn();
  }

  int port = 0;
  int status = 200;
  std::string body = std::string(k_servers);
  std::chrono::milliseconds delay{0};
  int64_t access_lifetime = 3600;
  std::vector<Seen> requests, token_requests;
  std::vector<Json> jwt_headers, jwt_claims;
  std::set<std::string> access_tokens, refresh_tokens;
  int issued = 0;

private:
  void issue(httplib::Response& res) {
    int64_t now = std::time(nullptr);
    ++issued;
    std::string access = token_with_exp("access-" + std::to_string(issued), now + access_lifetime);
    std::string refresh = token_with_exp("refresh-" + std::to_string(issued), now + 7200);
    access_tokens.insert(access);
    refresh_tokens.insert(refresh);
    res.set_content(Json{{"access_token", access},
                         {"expires_in", access_lifetime},
                         {"refresh_token", refresh},
                         {"scope", ""},
                         {"token_type", "Bearer"}}
                        .dump(),
                    "application/json");
  }
  void token(const httplib::Request& req, httplib::Response& res) {
    std::lock_guard lock(m_mutex);
    token_requests.push_back({req.path, req.get_header_value("Authorization"), "",
                              req.get_header_value("Content-Type"), req.body});
    std::string grant = req.get_param_value("grant_type");
    std::string assertion = req.get_param_value("assertion");
    if (grant == "refresh_token" && refresh_tokens.contains(assertion)) {
      issue(res);
      return;
    }
    std::vector<std::string> parts = util::split(assertion, '.');
    bool valid = grant == "urn:ietf:params:oauth:grant-type:jwt-bearer" && parts.size() == 3;
    if (valid) {
      Result<std::string> signature = net::decode_base64url(parts[2]);
      valid = signature && test::rsa_verify(test::test_key().public_pem, parts[0] + "." + parts[1], *signature,
                                            "sha512");
    }
    if (!valid) {
      res.status = 400;
      res.set_content(R"({"error":"invalid_grant","error_description":"Invalid assertion"})", "application/json");
      return;
    }
    jwt_headers.push_back(Json::parse(net::decode_base64url(parts[0]).value()));
    jwt_claims.push_back(Json::parse(net::decode_base64url(parts[1]).value()));
    issue(res);
  }

  std::mutex m_mutex;
  httplib::Server m_server;
  test::LoopbackServer m_serving;
};

std::string key_json(bool with_private_key) {
  Json credentials = {{"aud", "https://stackit-service-account-prod.apps.01.cf.eu01.stackit.cloud"},
                      {"iss", "prometheus-sa@sa.stackit.cloud"},
                      {"kid", "7f1b6c3a-1111-4222-8333-444455556666"},
                      {"sub", "a1b2c3d4-0000-4000-8000-000000000042"}};
  if (with_private_key) {
    credentials["privateKey"] = test::test_key().private_pem;
  }
  return Json{{"active", true},
              {"createdAt", "2025-01-01T00:00:00Z"},
              {"credentials", credentials},
              {"id", "9e8d7c6b-0000-4000-8000-000000000001"},
              {"keyAlgorithm", "RSA_2048"},
              {"keyOrigin", "USER_PROVIDED"},
              {"keyType", "USER_MANAGED"},
              {"publicKey", test::test_key().public_pem}}
      .dump();
}

struct KeySetup {
  FakeStackit fake;
  std::filesystem::path dir = test::scratch_dir();
  discovery::DiscovererOptions options;
  KeySetup() { options.endpoints["stackit_token"] = fake.url() + "/token"; }
  ~KeySetup() { std::filesystem::remove_all(dir); }
  stackit::Config config(bool private_key_in_json, const std::string& pem = test::test_key().private_pem) {
    test::write_file(dir / "key.json", key_json(private_key_in_json));
    test::write_file(dir / "key.pem", pem);
    std::string yaml = "{project: p1, endpoint: '" + fake.url() + "', service_account_key_path: '" +
                       (dir / "key.json").string() + "'";
    if (!private_key_in_json) {
      yaml += ", private_key_path: '" + (dir / "key.pem").string() + "'";
    }
    return make_config(yaml + "}");
  }
};

} // namespace

TEST_SUITE("stackit_sd") {
  TEST_CASE("stackit_sd: servers_to_group maps every label; the first public IP wins; string labels only") {
    Result<model::TargetGroup> group = stackit::servers_to_group(k_servers, make_config("{project: p1}"));
    REQUIRE_MESSAGE(group, group.error());
    CHECK(group->source == "stackit");
    CHECK(group->targets == std::vector<model::Labels>{web1(80), db1(80)});
    group = stackit::servers_to_group(k_servers, make_config("{project: p1, port: 9100}"));
    CHECK(group->targets[1] == db1(9100));
  }

  TEST_CASE("stackit_sd: empty, null and malformed bodies") {
    stackit::Config config = make_config("{project: p1}");
    CHECK(stackit::servers_to_group(R"({"items":[]})", config)->targets.empty());
    CHECK(stackit::servers_to_group(R"({})", config)->source == "stackit");
    CHECK(stackit::servers_to_group("null", config)->targets.empty());
    CHECK(stackit::servers_to_group("", config).error() == "EOF");
    CHECK(stackit::servers_to_group(R"({"items":[{"name":1}]})", config).error() ==
          "json: cannot unmarshal number into Go struct field Server.items.name of type string");
    CHECK(stackit::servers_to_group(R"({"items":{}})", config).error() ==
          "json: cannot unmarshal object into Go struct field ServerListResponse.items of type []stackit.Server");
  }

  TEST_CASE("stackit_sd: the HTTP block's bearer token, Accept: application/json, details=true") {
    FakeStackit fake;
    stackit::Config config =
        make_config("{project: p1, endpoint: '" + fake.url() + "/', authorization: {credentials: static-token}}");
    auto d = stackit::Discovery::make(config, {});
    REQUIRE_MESSAGE(d, d.error());
    Result<std::vector<model::TargetGroup>> groups = (*d)->refresh({});
    REQUIRE_MESSAGE(groups, groups.error());
    CHECK((*groups)[0].targets == std::vector<model::Labels>{web1(80), db1(80)});
    fake.locked([&] {
      REQUIRE(fake.requests.size() == 1);
      CHECK(fake.requests[0].authorization == "Bearer static-token");
      CHECK(fake.requests[0].accept == "application/json");
      return 0;
    });
    // Without a token, STACKIT's 401.
    auto anonymous = stackit::Discovery::make(make_config("{project: p1, endpoint: '" + fake.url() + "'}"), {});
    REQUIRE(anonymous);
    CHECK((*anonymous)->refresh({}).error() == R"(unexpected status code 401: {"code":401,"msg":"Unauthorized"})");
  }

  TEST_CASE("stackit_sd: key flow: RS512 JWT verified with the public key; the token is reused until it expires") {
    KeySetup s;
    auto d = stackit::Discovery::make(s.config(false), s.options);
    REQUIRE_MESSAGE(d, d.error());
    REQUIRE((*d)->refresh({}));
    REQUIRE((*d)->refresh({}));
    s.fake.locked([&] {
      CHECK(s.fake.token_requests.size() == 1);
      CHECK(s.fake.token_requests[0].content_type == "application/x-www-form-urlencoded");
      CHECK(s.fake.token_requests[0].authorization.empty());
      REQUIRE(s.fake.jwt_headers.size() == 1);
      CHECK(s.fake.jwt_headers[0]["alg"] == "RS512");
      CHECK(s.fake.jwt_headers[0]["kid"] == "7f1b6c3a-1111-4222-8333-444455556666");
      const Json& claims = s.fake.jwt_claims[0];
      CHECK(claims["iss"] == "prometheus-sa@sa.stackit.cloud");
      CHECK(claims["sub"] == "a1b2c3d4-0000-4000-8000-000000000042");
      CHECK(claims["aud"] == "https://stackit-service-account-prod.apps.01.cf.eu01.stackit.cloud");
      CHECK(claims["jti"].get<std::string>().size() == 36);
      CHECK(claims["exp"].get<int64_t>() - claims["iat"].get<int64_t>() == 3600);
      REQUIRE(s.fake.requests.size() == 2);
      CHECK(s.fake.requests[0].authorization == s.fake.requests[1].authorization);
      CHECK(util::starts_with(s.fake.requests[0].authorization, "Bearer "));
      return 0;
    });
  }

  TEST_CASE("stackit_sd: key flow: an expired access token is renewed with the refresh token") {
    KeySetup s;
    s.fake.locked([&] { return s.fake.access_lifetime = -5; }); // already expired when issued
    auto d = stackit::Discovery::make(s.config(true), s.options); // key inside the key JSON
    REQUIRE_MESSAGE(d, d.error());
    REQUIRE((*d)->refresh({}));
    REQUIRE((*d)->refresh({}));
    s.fake.locked([&] {
      REQUIRE(s.fake.token_requests.size() == 2);
      CHECK(util::starts_with(s.fake.token_requests[0].body, "assertion="));
      CHECK(s.fake.token_requests[0].body.find("grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer") !=
            std::string::npos);
      CHECK(s.fake.token_requests[1].body.find("grant_type=refresh_token") != std::string::npos);
      CHECK(s.fake.jwt_headers.size() == 1); // the second token came from the refresh token
      return 0;
    });
  }

  TEST_CASE("stackit_sd: key flow with the wrong key: the token endpoint refuses; no secret in errors") {
    KeySetup s;
    auto d = stackit::Discovery::make(s.config(false, test::other_test_key().private_pem), s.options);
    REQUIRE(d);
    Result<std::vector<model::TargetGroup>> groups = (*d)->refresh({});
    REQUIRE(!groups);
    CHECK(groups.error() == "sending request: Get \"" + s.fake.url() +
                                "/v1/projects/p1/servers?details=true\": get new access token: status code 400, "
                                "Body: {\"error\":\"invalid_grant\",\"error_description\":\"Invalid assertion\"}");
    CHECK(groups.error().find("PRIVATE") == std::string::npos);
    CHECK(s.fake.locked([&] { return s.fake.requests.size(); }) == 0);
  }

  TEST_CASE("stackit_sd: key flow setup failures") {
    KeySetup s;
    stackit::Config config = s.config(false);
    config.private_key_path = (s.dir / "missing.pem").string();
    CHECK(stackit::Discovery::make(config, s.options).error() ==
          "setting up authentication: reading private key: open " + (s.dir / "missing.pem").string() +
              ": no such file or directory");
    config = s.config(false, "not a pem");
    CHECK(stackit::Discovery::make(config, s.options).error() ==
          "setting up authentication: configuring key flow: parse private key from PEM file: no PEM data found");
  }

  TEST_CASE("stackit_sd: failures: 500, malformed body, unreachable, timeout") {
    FakeStackit fake;
    auto d = stackit::Discovery::make(
        make_config("{project: p1, endpoint: '" + fake.url() + "', authorization: {credentials: static-token}, "
                    "refresh_interval: 500ms}"),
        {});
    REQUIRE(d);
    fake.locked([&] {
      fake.status = 500;
      fake.body = R"({"code":500,"msg":"internal error"})";
      return 0;
    });
    CHECK((*d)->refresh({}).error() == R"(unexpected status code 500: {"code":500,"msg":"internal error"})");
    fake.locked([&] {
      fake.status = 200;
      fake.body = "{\"items\":[";
      return 0;
    });
    CHECK(util::starts_with((*d)->refresh({}).error(), "decoding response: "));
    fake.locked([&] {
      fake.body = std::string(k_servers);
      fake.delay = 1500ms;
      return 0;
    });
    auto start = std::chrono::steady_clock::now();
    CHECK(util::starts_with((*d)->refresh({}).error(), "sending request: Get \""));
    CHECK(std::chrono::steady_clock::now() - start < 1400ms);
    auto unreachable =
        stackit::Discovery::make(make_config("{project: p1, endpoint: 'http://127.0.0.1:1'}"), {});
    REQUIRE(unreachable);
    CHECK(util::starts_with((*unreachable)->refresh({}).error(),
                            "sending request: Get \"http://127.0.0.1:1/v1/projects/p1/servers?details=true\": "));
  }

  TEST_CASE("stackit_sd: the discoverer reports failures and keeps the last good targets") {
    FakeStackit fake;
    stackit::Config config = make_config("{project: p1, endpoint: '" + fake.url() +
                                         "', authorization: {credentials: static-token}, refresh_interval: 1s}");
    test::RecordingSink sink;
    {
      test::RunningDiscoverer running(config.make_discoverer({}), sink);
      REQUIRE(sink.wait_for_reports(1));
      CHECK(sink.report(0) == "");
      fake.locked([&] {
        fake.status = 503;
        fake.body = "busy";
        return 0;
      });
      REQUIRE(sink.wait_for_reports(2, 5s));
      CHECK(sink.report(1) == "unexpected status code 503: busy");
    }
    REQUIRE(sink.update_count() == 1);
    CHECK(sink.updates[0][0]->targets.size() == 2);
  }
}
