// gce_sd: the instance list mapping (pure), Google API error texts, and the
// discoverer with Application Default Credentials against a loopback fake
// of Google's token endpoint, the Compute API and the metadata server that
// checks every request (the JWT's RS256 signature with the public key, the
// bearer token, the query) and answers as Google does.

#include <httplib.h> // CPPHTTPLIB_OPENSSL_SUPPORT comes from its pkg-config flags

#include <atomic>
#include <chrono>
#include <mutex>
#include <thread>

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include "discovery/gce.h"
#include "loopback_server.h"
#include "net/jwt.h"
#include "rsa_test_util.h"
#include "test_util.h"
#include "util/strings.h"

using namespace sdscope;
using namespace std::chrono_literals;
namespace gce = sdscope::discovery::gce;
using Json = nlohmann::ordered_json;

namespace {

// Google's real answers to a bad JWT and to a missing or bad access token.
constexpr std::string_view k_invalid_grant =
    R"({"error":"invalid_grant","error_description":"Invalid JWT Signature."})";
constexpr std::string_view k_unauthenticated = R"({
  "error": {
    "code": 401,
    "message": "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential. See https://developers.google.com/identity/sign-in/web/devconsole-project.",
    "errors": [
      {
        "message": "Invalid Credentials",
        "domain": "global",
        "reason": "authError",
        "location": "Authorization",
        "locationType": "header"
      }
    ],
    "status": "UNAUTHENTICATED"
  }
}
)";
constexpr std::string_view k_unauthenticated_text =
    "googleapi: Error 401: Request had invalid authentication credentials. Expected OAuth 2 access token, login "
    "cookie or other valid authentication credential. See "
    "https://developers.google.com/identity/sign-in/web/devconsole-project.\nMore details:\nReason: authError, "
    "Message: Invalid Credentials\n";

constexpr std::string_view k_page1 = R"({
  "kind": "compute#instanceList",
  "id": "projects/proj-1/zones/europe-west1-b/instances",
  "items": [
    {
      "kind": "compute#instance",
      "id": "8713942112375932487",
      "name": "web-1",
      "zone": "https://www.googleapis.com/compute/v1/projects/proj-1/zones/europe-west1-b",
      "status": "RUNNING",
      "machineType": "https://www.googleapis.com/compute/v1/projects/proj-1/zones/europe-west1-b/machineTypes/e2-small",
      "tags": {"items": ["http-server", "prod"], "fingerprint": "xx"},
      "metadata": {"items": [{"key": "ssh-keys", "value": "k"}, {"key": "team.name", "value": "ops"}, {"key": "nullv", "value": null}]},
      "labels": {"env": "prod", "app-tier": "front"},
      "networkInterfaces": [
        {"name": "nic0", "network": "https://www.googleapis.com/compute/v1/projects/proj-1/global/networks/default",
         "subnetwork": "https://www.googleapis.com/compute/v1/projects/proj-1/regions/europe-west1/subnetworks/default",
         "networkIP": "10.132.0.2",
         "accessConfigs": [{"type": "ONE_TO_ONE_NAT", "name": "External NAT", "natIP": "34.76.1.2"}]},
        {"name": "nic1", "network": "n2", "networkIP": "10.10.0.5"}
      ]
    },
    {"id": "2", "name": "no-nic", "status": "TERMINATED"}
  ],
  "nextPageToken": "page-2-token"
})";

constexpr std::string_view k_page2 = R"({
  "items": [
    {"id": "18446744073709551615", "name": "db-1", "zone": "z", "status": "STAGING", "machineType": "m",
     "networkInterfaces": [{"name": "nic0", "network": "n", "subnetwork": "s", "networkIP": "10.132.0.9",
                            "accessConfigs": [{"type": "DIRECT_IPV6", "natIP": "1.1.1.1"}]}]}
  ]
})";

model::Labels web1_labels(int port) {
  return {
      {"__address__", "10.132.0.2:" + std::to_string(port)},
      {"__meta_gce_instance_id", "8713942112375932487"},
      {"__meta_gce_instance_name", "web-1"},
      {"__meta_gce_instance_status", "RUNNING"},
      {"__meta_gce_interface_ipv4_nic0", "10.132.0.2"},
      {"__meta_gce_interface_ipv4_nic1", "10.10.0.5"},
      {"__meta_gce_label_app_tier", "front"},
      {"__meta_gce_label_env", "prod"},
      {"__meta_gce_machine_type",
       "https://www.googleapis.com/compute/v1/projects/proj-1/zones/europe-west1-b/machineTypes/e2-small"},
      {"__meta_gce_metadata_ssh_keys", "k"},
      {"__meta_gce_metadata_team_name", "ops"},
      {"__meta_gce_network", "https://www.googleapis.com/compute/v1/projects/proj-1/global/networks/default"},
      {"__meta_gce_private_ip", "10.132.0.2"},
      {"__meta_gce_project", "proj-1"},
      {"__meta_gce_public_ip", "34.76.1.2"},
      {"__meta_gce_subnetwork",
       "https://www.googleapis.com/compute/v1/projects/proj-1/regions/europe-west1/subnetworks/default"},
      {"__meta_gce_tags", ",http-server,prod,"},
      {"__meta_gce_zone", "https://www.googleapis.com/compute/v1/projects/proj-1/zones/europe-west1-b"},
  };
}

model::Labels db1_labels(int port) {
  return {
      {"__address__", "10.132.0.9:" + std::to_string(port)},
      {"__meta_gce_instance_id", "18446744073709551615"},
      {"__meta_gce_instance_name", "db-1"},
      {"__meta_gce_instance_status", "STAGING"},
      {"__meta_gce_interface_ipv4_nic0", "10.132.0.9"},
      {"__meta_gce_machine_type", "m"},
      {"__meta_gce_network", "n"},
      {"__meta_gce_private_ip", "10.132.0.9"},
      {"__meta_gce_project", "proj-1"},
      {"__meta_gce_subnetwork", "s"},
      {"__meta_gce_zone", "z"},
  };
}

gce::Config make_config(std::string_view extra = "") {
  test::SdResult r = test::decode_sd("gce", "{project: proj-1, zone: europe-west1-b" + std::string(extra) + "}");
  REQUIRE(r.errors.empty());
  return dynamic_cast<const gce::Config&>(*r.config);
}

struct SeenRequest {
  std::string method, path, query_text, authorization, user_agent, metadata_flavor, content_type, body;
  std::multimap<std::string, std::string> params;
};

// A fake of Google: the OAuth token endpoint (JWT-bearer and refresh-token
// grants), the Compute API's instances list, and the GCE metadata server.
class FakeGoogle {
public:
  FakeGoogle() {
    m_server.set_keep_alive_timeout(1);
    m_server.Post("/token", [this](const httplib::Request& req, httplib::Response& res) { token(req, res); });
    m_server.Get("/compute/v1/projects/proj-1/zones/europe-west1-b/instances",
                 [this](const httplib::Request& req, httplib::Response& res) { instances(req, res); });
    m_server.Get("/", [](const httplib::Request&, httplib::Response& res) {
      res.set_header("Metadata-Flavor", "Google");
      res.set_content("computeMetadata/\n", "application/text");
    });
    m_server.Get("/computeMetadata/v1/instance/service-accounts/default/token",
                 [this](const httplib::Request& req, httplib::Response& res) { metadata_token(req, res); });
    port = m_serving.start(m_server);
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port); }
  template <class Fn> auto locked(Fn fn) {
    std::lock_guard lock(m_mutex);
    return fn();
  }

  int port = 0;
  // Settings (under the lock).
  std::string public_pem = test::test_key().public_pem;
  std::string expected_aud; // the token URL the JWT must name
  int64_t expires_in = 3599;
  int compute_status = 0; // 0 = normal
  std::string compute_body;
  std::chrono::milliseconds compute_delay{0};
  bool paginate = true;
  // Records.
  std::vector<SeenRequest> requests;
  std::vector<Json> jwt_headers, jwt_claims;
  int tokens_issued = 0;
  std::set<std::string> valid_tokens;

private:
  static SeenRequest record(const httplib::Request& req) {
    SeenRequest seen{req.method, req.path, "", req.get_header_value("Authorization"),
                     req.get_header_value("User-Agent"), req.get_header_value("Metadata-Flavor"),
                     req.get_header_value("Content-Type"), req.body, {}};
    for (const auto& [k, v] : req.params) {
      seen.params.emplace(k, v);
    }
    return seen;
  }
  std::string issue_token() {
    std::string token = "ya29.test-access-token-" + std::to_string(++tokens_issued);
    valid_tokens.insert(token);
    return Json{{"access_token", token}, {"expires_in", expires_in}, {"token_type", "Bearer"}}.dump();
  }
  void token(const httplib::Request& req, httplib::Response& res) {
    std::lock_guard lock(m_mutex);
    requests.push_back(record(req));
    std::string grant = req.get_param_value("grant_type");
    if (grant == "refresh_token") {
      if (req.get_param_value("refresh_token") != "1//refresh-me" || req.get_param_value("client_id") != "cid" ||
          req.get_param_value("client_secret") != "csecret") {
        res.status = 400;
        res.set_content(R"({"error":"invalid_grant","error_description":"Bad Request"})", "application/json");
        return;
      }
      res.set_content(issue_token(), "application/json; charset=utf-8");
      return;
    }
    // The JWT-bearer grant: Google checks the signature with the service
    // account's public key, then the claims.
    std::vector<std::string> parts = util::split(req.get_param_value("assertion"), '.');
    bool valid = grant == "urn:ietf:params:oauth:grant-type:jwt-bearer" && parts.size() == 3;
    if (valid) {
      Result<std::string> signature = net::decode_base64url(parts[2]);
      valid = signature && test::rsa_verify(public_pem, parts[0] + "." + parts[1], *signature, "sha256");
    }
    if (!valid) {
      res.status = 400;
      res.set_content(std::string(k_invalid_grant), "application/json; charset=utf-8");
      return;
    }
    Json header = Json::parse(net::decode_base64url(parts[0]).value());
    Json claims = Json::parse(net::decode_base64url(parts[1]).value());
    jwt_headers.push_back(header);
    jwt_claims.push_back(claims);
    int64_t now = std::time(nullptr);
    if (claims.value("aud", "") != expected_aud || claims["iat"].get<int64_t>() > now ||
        claims["exp"].get<int64_t>() < now) {
      res.status = 400;
      res.set_content(R"({"error":"invalid_grant","error_description":"Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe. Check your iat and exp values in the JWT claim."})",
                      "application/json; charset=utf-8");
      return;
    }
    res.set_content(issue_token(), "application/json; charset=utf-8");
  }
  void instances(const httplib::Request& req, httplib::Response& res) {
    std::chrono::milliseconds delay;
    {
      std::lock_guard lock(m_mutex);
      requests.push_back(record(req));
      delay = compute_delay;
      std::string auth = req.get_header_value("Authorization");
      if (!util::starts_with(auth, "Bearer ") || !valid_tokens.contains(auth.substr(7))) {
        res.status = 401;
        res.set_header("WWW-Authenticate", R"(Bearer realm="https://accounts.google.com/")");
        res.set_content(std::string(k_unauthenticated), "application/json; charset=UTF-8");
      } else if (compute_status != 0) {
        res.status = compute_status;
        res.set_content(compute_body, "application/json; charset=UTF-8");
      } else if (!paginate) {
        res.set_content(R"({"items":[]})", "application/json; charset=UTF-8");
      } else if (req.get_param_value("pageToken") == "page-2-token") {
        res.set_content(std::string(k_page2), "application/json; charset=UTF-8");
      } else if (!req.has_param("pageToken")) {
        res.set_content(std::string(k_page1), "application/json; charset=UTF-8");
      } else {
        res.status = 400;
        res.set_content(R"({"error":{"code":400,"message":"Invalid value for field 'pageToken'.","errors":[{"message":"Invalid value for field 'pageToken'.","domain":"global","reason":"invalid"}]}})",
                        "application/json; charset=UTF-8");
      }
    }
    std::this_thread::sleep_for(delay);
  }
  void metadata_token(const httplib::Request& req, httplib::Response& res) {
    std::lock_guard lock(m_mutex);
    requests.push_back(record(req));
    if (req.get_header_value("Metadata-Flavor") != "Google") {
      res.status = 403;
      res.set_content("Missing Metadata-Flavor:Google header.\n", "text/html");
      return;
    }
    res.set_header("Metadata-Flavor", "Google");
    res.set_content(issue_token(), "application/json");
  }

  std::mutex m_mutex;
  httplib::Server m_server;
  test::LoopbackServer m_serving; // declared last: stops first
};

// An environment with no variables, an empty home and no Google hardware,
// the token and metadata URLs pointing at the fake.
gce::AdcEnvironment fake_environment(const FakeGoogle& fake, std::map<std::string, std::string> vars,
                                     std::string home) {
  gce::AdcEnvironment env;
  env.getenv = [vars](const std::string& name) {
    auto it = vars.find(name);
    return it == vars.end() ? std::string() : it->second;
  };
  env.home = [home] { return home; };
  env.system_suggests_gce = [] { return false; };
  env.token_url_override = fake.url() + "/token";
  env.metadata_url_override = fake.url();
  return env;
}

std::string service_account_json(const std::string& private_pem, const std::string& token_uri) {
  Json j = {{"type", "service_account"},
            {"project_id", "proj-1"},
            {"private_key_id", "0123456789abcdef0123456789abcdef01234567"},
            {"private_key", private_pem},
            {"client_email", "prometheus@proj-1.iam.gserviceaccount.com"},
            {"client_id", "111122223333444455556"},
            {"auth_uri", "https://accounts.google.com/o/oauth2/auth"}};
  if (!token_uri.empty()) {
    j["token_uri"] = token_uri;
  }
  return j.dump(2);
}

struct Setup {
  FakeGoogle fake;
  std::filesystem::path dir = test::scratch_dir();
  discovery::DiscovererOptions options;
  Setup() {
    options.endpoints["gce"] = fake.url();
    fake.locked([&] { return fake.expected_aud = fake.url() + "/token"; });
  }
  ~Setup() { std::filesystem::remove_all(dir); }
  // A service account key file named by GOOGLE_APPLICATION_CREDENTIALS.
  gce::AdcEnvironment service_account(const std::string& private_pem = test::test_key().private_pem,
                                      const std::string& token_uri = "") {
    test::write_file(dir / "sa.json", service_account_json(private_pem, token_uri));
    return fake_environment(fake, {{"GOOGLE_APPLICATION_CREDENTIALS", (dir / "sa.json").string()}},
                            (dir / "home").string());
  }
  Result<std::unique_ptr<gce::Discovery>> make(const gce::AdcEnvironment& env, std::string_view extra = "") {
    return gce::Discovery::make(make_config(extra), options, env);
  }
};

} // namespace

TEST_SUITE("gce_sd") {
  TEST_CASE("gce_sd: instances_to_targets maps every label; instances without interfaces are skipped") {
    gce::Config config = make_config();
    Result<gce::InstancePage> page = gce::instances_to_targets(k_page1, config);
    REQUIRE_MESSAGE(page, page.error());
    CHECK(page->next_page_token == "page-2-token");
    REQUIRE(page->targets.size() == 1);
    CHECK(page->targets[0] == web1_labels(80));
    page = gce::instances_to_targets(k_page2, make_config(", port: 9100, tag_separator: '|'"));
    REQUIRE(page);
    CHECK(page->next_page_token.empty());
    REQUIRE(page->targets.size() == 1);
    CHECK(page->targets[0] == db1_labels(9100)); // no NAT: not ONE_TO_ONE_NAT
  }

  TEST_CASE("gce_sd: tags use tag_separator at both ends; public_ip only from the first access config") {
    std::string body = R"({"items":[{"id":"7","networkInterfaces":[
        {"name":"a b","networkIP":"fd00::1","accessConfigs":[{"type":"OTHER","natIP":"9.9.9.9"},
                                                             {"type":"ONE_TO_ONE_NAT","natIP":"8.8.8.8"}]}],
        "tags":{"items":["x","y"]}}]})";
    Result<gce::InstancePage> page = gce::instances_to_targets(body, make_config(", tag_separator: '|'"));
    REQUIRE(page);
    REQUIRE(page->targets.size() == 1);
    const model::Labels& t = page->targets[0];
    CHECK(t.get("__meta_gce_tags") == "|x|y|");
    CHECK(t.get("__address__") == "fd00::1:80"); // v2.45 adds no brackets
    CHECK(t.get("__meta_gce_interface_ipv4_a_b") == "fd00::1");
    CHECK(!t.has("__meta_gce_public_ip"));
    CHECK(t.get("__meta_gce_instance_id") == "7");
  }

  TEST_CASE("gce_sd: bodies Go's decoder rejects") {
    gce::Config config = make_config();
    CHECK(gce::instances_to_targets("", config).error() == "EOF");
    CHECK(gce::instances_to_targets(R"({"items":[{"id":5}]})", config).error() ==
          "json: invalid use of ,string struct tag, trying to unmarshal unquoted value into uint64");
    CHECK(gce::instances_to_targets(R"({"items":[{"id":"x"}]})", config).error() ==
          R"(json: invalid use of ,string struct tag, trying to unmarshal "x" into uint64)");
    CHECK(gce::instances_to_targets(R"({"items":[{"name":5}]})", config).error() ==
          "json: cannot unmarshal number into Go struct field Instance.items.name of type string");
    CHECK(gce::instances_to_targets(R"({"items":{}})", config).error() ==
          "json: cannot unmarshal object into Go struct field InstanceList.items of type []*compute.Instance");
    CHECK(gce::instances_to_targets(R"([1])", config).error() ==
          "json: cannot unmarshal array into Go value of type compute.InstanceList");
    CHECK(gce::instances_to_targets(R"({"items":[]})", config)->targets.empty());
  }

  TEST_CASE("gce_sd: google_api_error words errors as googleapi.Error does") {
    CHECK(gce::google_api_error(401, k_unauthenticated) == k_unauthenticated_text);
    CHECK(gce::google_api_error(
              403, R"({"error":{"code":403,"message":"Required 'compute.instances.list' permission for 'projects/p'","errors":[{"message":"Required 'compute.instances.list' permission for 'projects/p'","domain":"global","reason":"forbidden"}]}})") ==
          "googleapi: Error 403: Required 'compute.instances.list' permission for 'projects/p', forbidden");
    CHECK(gce::google_api_error(502, "<html>bad gateway</html>") ==
          "googleapi: got HTTP response code 502 with body: <html>bad gateway</html>");
    CHECK(gce::google_api_error(500, R"({"error":{"code":500,"message":"Internal error"}})") ==
          "googleapi: Error 500: Internal error");
  }

  TEST_CASE("gce_sd: service account: signed JWT, token cached, every page requested with it") {
    Setup s;
    Result<std::unique_ptr<gce::Discovery>> d = s.make(s.service_account(), ", filter: 'status = RUNNING'");
    REQUIRE_MESSAGE(d, d.error());
    CHECK((*d)->tokens().kind() == "service_account");
    Result<std::vector<model::TargetGroup>> groups = (*d)->refresh({});
    REQUIRE_MESSAGE(groups, groups.error());
    REQUIRE(groups->size() == 1);
    CHECK((*groups)[0].source == "GCE_proj-1_europe-west1-b");
    CHECK((*groups)[0].targets == std::vector<model::Labels>{web1_labels(80), db1_labels(80)});
    CHECK((*d)->refresh({}));

    s.fake.locked([&] {
      // One token for both refreshes: 1 token + 2x2 pages.
      REQUIRE(s.fake.requests.size() == 5);
      const SeenRequest& token = s.fake.requests[0];
      CHECK(token.method == "POST");
      CHECK(token.content_type == "application/x-www-form-urlencoded");
      CHECK(util::starts_with(token.body, "assertion="));
      CHECK(token.body.find("&grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer") !=
            std::string::npos);
      REQUIRE(s.fake.jwt_headers.size() == 1);
      CHECK(s.fake.jwt_headers[0].dump() ==
            R"({"alg":"RS256","typ":"JWT","kid":"0123456789abcdef0123456789abcdef01234567"})"); // jws.Header's order
      const Json& claims = s.fake.jwt_claims[0];
      CHECK(claims["iss"] == "prometheus@proj-1.iam.gserviceaccount.com");
      CHECK(claims["scope"] == "https://www.googleapis.com/auth/compute.readonly");
      CHECK(claims["aud"] == s.fake.url() + "/token");
      CHECK(claims["exp"].get<int64_t>() - claims["iat"].get<int64_t>() == 3600);
      for (size_t i = 1; i < 5; ++i) {
        const SeenRequest& r = s.fake.requests[i];
        CHECK(r.method == "GET");
        CHECK(r.authorization == "Bearer ya29.test-access-token-1");
        CHECK(r.user_agent == "google-api-go-client/0.5");
        CHECK(r.params.find("alt")->second == "json");
        CHECK(r.params.find("prettyPrint")->second == "false");
        CHECK(r.params.find("filter")->second == "status = RUNNING");
        CHECK(r.params.count("pageToken") == (i % 2 == 0 ? 1 : 0));
      }
      return 0;
    });
  }

  TEST_CASE("gce_sd: a token about to expire is fetched again; a revoked one gets Google's 401") {
    Setup s;
    s.fake.locked([&] { return s.fake.expires_in = 10; }); // expired within x/oauth2's 10s margin
    auto d = s.make(s.service_account());
    REQUIRE(d);
    REQUIRE((*d)->refresh({}));
    REQUIRE((*d)->refresh({}));
    // Each request asks for a token, as oauth2.Transport does: 2 refreshes x 2 pages.
    CHECK(s.fake.locked([&] { return s.fake.tokens_issued; }) == 4);

    s.fake.locked([&] {
      s.fake.expires_in = 3600;
      return 0;
    });
    REQUIRE((*d)->refresh({}));
    s.fake.locked([&] {
      s.fake.valid_tokens.clear(); // revoked behind the client's back
      return 0;
    });
    Result<std::vector<model::TargetGroup>> groups = (*d)->refresh({});
    REQUIRE(!groups);
    CHECK(groups.error() == "error retrieving refresh targets from gce: " + std::string(k_unauthenticated_text));
    CHECK(s.fake.locked([&] { return s.fake.tokens_issued; }) == 5);
  }

  TEST_CASE("gce_sd: a JWT signed with the wrong key gets Google's invalid_grant; no secret in the error") {
    Setup s;
    auto d = s.make(s.service_account(test::other_test_key().private_pem));
    REQUIRE(d);
    Result<std::vector<model::TargetGroup>> groups = (*d)->refresh({});
    REQUIRE(!groups);
    std::string url = s.fake.url() +
                      "/compute/v1/projects/proj-1/zones/europe-west1-b/instances?alt=json&prettyPrint=false";
    CHECK(groups.error() == "error retrieving refresh targets from gce: Get \"" + url +
                                "\": oauth2: cannot fetch token: 400 Bad Request\nResponse: " +
                                std::string(k_invalid_grant));
    CHECK(groups.error().find("PRIVATE KEY") == std::string::npos);
    // No compute request went out without a token.
    CHECK(s.fake.locked([&] { return s.fake.requests.size(); }) == 1);
  }

  TEST_CASE("gce_sd: the token_uri of the key file is honoured; a bad key fails each refresh") {
    Setup s;
    s.fake.locked([&] { return s.fake.expected_aud = "http://127.0.0.1:" + std::to_string(s.fake.port) + "/token"; });
    gce::AdcEnvironment env = s.service_account(test::test_key().private_pem,
                                                "http://127.0.0.1:" + std::to_string(s.fake.port) + "/token");
    env.token_url_override = "http://127.0.0.1:1/unused";
    auto d = s.make(env);
    REQUIRE(d);
    CHECK((*d)->tokens().token_url() == s.fake.url() + "/token");
    CHECK((*d)->refresh({}));

    auto bad = s.make(s.service_account("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"));
    REQUIRE(bad);
    Result<std::vector<model::TargetGroup>> groups = (*bad)->refresh({});
    REQUIRE(!groups);
    CHECK(groups.error().find("private key should be a PEM or plain PKCS1 or PKCS8; parse error: ") !=
          std::string::npos);
  }

  TEST_CASE("gce_sd: gcloud's well-known file (authorized_user) refreshes with the refresh token") {
    Setup s;
    std::filesystem::create_directories(s.dir / "home/.config/gcloud");
    test::write_file(s.dir / "home/.config/gcloud/application_default_credentials.json",
                     R"({"client_id":"cid","client_secret":"csecret","refresh_token":"1//refresh-me",)"
                     R"("type":"authorized_user"})");
    auto d = s.make(fake_environment(s.fake, {}, (s.dir / "home").string()));
    REQUIRE_MESSAGE(d, d.error());
    CHECK((*d)->tokens().kind() == "authorized_user");
    REQUIRE((*d)->refresh({}));
    s.fake.locked([&] {
      CHECK(s.fake.requests[0].body ==
            "client_id=cid&client_secret=csecret&grant_type=refresh_token&refresh_token=1%2F%2Frefresh-me");
      CHECK(s.fake.requests[1].authorization == "Bearer ya29.test-access-token-1");
      return 0;
    });
  }

  TEST_CASE("gce_sd: without files, the metadata server's token with Metadata-Flavor: Google") {
    Setup s;
    auto d = s.make(fake_environment(s.fake, {}, (s.dir / "nohome").string()));
    REQUIRE_MESSAGE(d, d.error());
    CHECK((*d)->tokens().kind() == "metadata");
    REQUIRE((*d)->refresh({}));
    s.fake.locked([&] {
      const SeenRequest& r = s.fake.requests[0];
      CHECK(r.path == "/computeMetadata/v1/instance/service-accounts/default/token");
      CHECK(r.params.find("scopes")->second == "https://www.googleapis.com/auth/compute.readonly");
      CHECK(r.metadata_flavor == "Google");
      CHECK(s.fake.requests[1].authorization == "Bearer ya29.test-access-token-1");
      return 0;
    });
  }

  TEST_CASE("gce_sd: creation fails as FindDefaultCredentials does") {
    Setup s;
    gce::AdcEnvironment env = fake_environment(s.fake, {}, (s.dir / "nohome").string());
    env.metadata_url_override = "http://127.0.0.1:1"; // nobody answers
    CHECK(s.make(env).error() ==
          "error setting up communication with GCE service: google: could not find default credentials. See "
          "https://developers.google.com/accounts/docs/application-default-credentials for more information.");
    env = fake_environment(s.fake, {{"GOOGLE_APPLICATION_CREDENTIALS", (s.dir / "missing.json").string()}}, "");
    CHECK(s.make(env).error() == "error setting up communication with GCE service: google: error getting "
                                 "credentials using GOOGLE_APPLICATION_CREDENTIALS environment variable: open " +
                                     (s.dir / "missing.json").string() + ": no such file or directory");
    test::write_file(s.dir / "odd.json", R"({"type":"weird"})");
    env = fake_environment(s.fake, {{"GOOGLE_APPLICATION_CREDENTIALS", (s.dir / "odd.json").string()}}, "");
    CHECK(s.make(env).error().ends_with(": unknown credential type: \"weird\""));
    test::write_file(s.dir / "notype.json", R"({"client_email":"x"})");
    env = fake_environment(s.fake, {{"GOOGLE_APPLICATION_CREDENTIALS", (s.dir / "notype.json").string()}}, "");
    CHECK(s.make(env).error().ends_with(": missing 'type' field in credentials"));
  }

  TEST_CASE("gce_sd: failures: 403, 500, malformed body, unreachable, timeout") {
    Setup s;
    auto d = s.make(s.service_account(), ", refresh_interval: 500ms");
    REQUIRE(d);
    auto refresh_error = [&] {
      Result<std::vector<model::TargetGroup>> groups = (*d)->refresh({});
      REQUIRE(!groups);
      return groups.error();
    };
    s.fake.locked([&] {
      s.fake.compute_status = 403;
      s.fake.compute_body = R"({"error":{"code":403,"message":"Compute Engine API has not been used in project 1 before or it is disabled.","errors":[{"message":"Compute Engine API has not been used in project 1 before or it is disabled.","domain":"usageLimits","reason":"accessNotConfigured"}]}})";
      return 0;
    });
    CHECK(refresh_error() == "error retrieving refresh targets from gce: googleapi: Error 403: Compute Engine API "
                             "has not been used in project 1 before or it is disabled., accessNotConfigured");
    s.fake.locked([&] {
      s.fake.compute_status = 500;
      s.fake.compute_body = "oops";
      return 0;
    });
    CHECK(refresh_error() ==
          "error retrieving refresh targets from gce: googleapi: got HTTP response code 500 with body: oops");
    s.fake.locked([&] {
      s.fake.compute_status = 200;
      s.fake.compute_body = "{\"items\": [";
      return 0;
    });
    CHECK(util::starts_with(refresh_error(), "error retrieving refresh targets from gce: "));
    s.fake.locked([&] {
      s.fake.compute_status = 0;
      s.fake.compute_delay = 1500ms;
      return 0;
    });
    auto start = std::chrono::steady_clock::now();
    CHECK(refresh_error().find("error retrieving refresh targets from gce: Get \"") == 0);
    CHECK(std::chrono::steady_clock::now() - start < 1400ms);

    s.options.endpoints["gce"] = "http://127.0.0.1:1";
    auto unreachable = s.make(s.service_account());
    REQUIRE(unreachable);
    Result<std::vector<model::TargetGroup>> groups = (*unreachable)->refresh({});
    REQUIRE(!groups);
    CHECK(util::starts_with(groups.error(), "error retrieving refresh targets from gce: Get \"http://127.0.0.1:1/"));
  }

  TEST_CASE("gce_sd: the discoverer reports failures and keeps the last good targets") {
    Setup s;
    s.fake.locked([&] { return s.fake.paginate = true; });
    gce::Config config = make_config(", refresh_interval: 1s");
    test::RecordingSink sink;
    {
      test::RunningDiscoverer running(config.make_discoverer_in(s.options, s.service_account()), sink);
      REQUIRE(sink.wait_for_reports(1));
      CHECK(sink.report(0) == "");
      s.fake.locked([&] {
        s.fake.compute_status = 500;
        s.fake.compute_body = "down";
        return 0;
      });
      REQUIRE(sink.wait_for_reports(2, 5s));
      CHECK(sink.report(1) ==
            "error retrieving refresh targets from gce: googleapi: got HTTP response code 500 with body: down");
    }
    REQUIRE(sink.update_count() == 1); // the failure sent nothing: the first targets stay
    CHECK(sink.updates[0][0]->targets.size() == 2);
  }
}
