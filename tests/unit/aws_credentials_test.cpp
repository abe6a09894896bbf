// The AWS credential chain (discovery/aws_credentials.h) and the signed
// request helper (discovery/aws_request.h) against loopback fixtures for
// the instance metadata service and STS.
#include <doctest/doctest.h>

#include <atomic>

#include "aws_fixture.h"
#include "discovery/aws_credentials.h"
#include "discovery/aws_request.h"
#include "loopback_server.h"
#include "net/http_client.h"
#include "test_util.h"

using namespace sdscope;
using discovery::aws::CredentialsOptions;
using discovery::aws::CredentialsProvider;

namespace {

std::shared_ptr<net::HttpClient> plain_client() {
  Result<std::unique_ptr<net::HttpClient>> client = net::HttpClient::make(net::HttpClientConfig{});
  REQUIRE(client);
  return std::shared_ptr<net::HttpClient>(std::move(*client));
}

CredentialsOptions isolated() {
  CredentialsOptions options;
  options.environment = std::map<std::string, std::string>{{"AWS_EC2_METADATA_DISABLED", "true"}};
  options.home = test::scratch_dir().string();
  options.timeout = std::chrono::seconds(5);
  return options;
}

} // namespace

TEST_SUITE("aws_credentials") {

TEST_CASE("aws_credentials: static keys win; v2.45 uses them when either is set") {
  CredentialsOptions options = isolated();
  options.access_key = "AKIDSTATIC";
  options.secret_key = "static-secret";
  (*options.environment)["AWS_ACCESS_KEY_ID"] = "AKIDENV";
  (*options.environment)["AWS_SECRET_ACCESS_KEY"] = "env-secret";
  CredentialsProvider provider(options, plain_client());
  Result<net::aws::Credentials> c = provider.get({});
  REQUIRE(c);
  CHECK(c->access_key_id == "AKIDSTATIC");
  CHECK(c->secret_access_key == "static-secret");
  CHECK(!c->expires);

  options.secret_key.clear(); // half a pair: the static provider, which fails
  CredentialsProvider half(options, plain_client());
  Result<net::aws::Credentials> h = half.get({});
  REQUIRE(!h);
  CHECK(h.error() == "EmptyStaticCreds: static credentials are empty");
}

TEST_CASE("aws_credentials: the environment, with the alternative names and a session token") {
  CredentialsOptions options = isolated();
  (*options.environment)["AWS_ACCESS_KEY"] = "AKIDENV";
  (*options.environment)["AWS_SECRET_KEY"] = "env-secret";
  (*options.environment)["AWS_SESSION_TOKEN"] = "env-token";
  CredentialsProvider provider(options, plain_client());
  Result<net::aws::Credentials> c = provider.get({});
  REQUIRE(c);
  CHECK(*c == net::aws::Credentials{"AKIDENV", "env-secret", "env-token", std::nullopt});
}

TEST_CASE("aws_credentials: the shared credentials file, profile from the config or AWS_PROFILE") {
  CredentialsOptions options = isolated();
  std::filesystem::create_directories(options.home + "/.aws");
  test::write_file(options.home + "/.aws/credentials", "# comment\n[default]\naws_access_key_id = AKIDDEFAULT\n"
                                                       "aws_secret_access_key = default-secret\n\n[prod]\n"
                                                       "aws_access_key_id=AKIDPROD\naws_secret_access_key=prod-secret\n"
                                                       "aws_session_token = prod-token\n");
  test::write_file(options.home + "/.aws/config", "[profile cfg]\naws_access_key_id = AKIDCFG\n"
                                                  "aws_secret_access_key = cfg-secret\n");
  {
    CredentialsProvider provider(options, plain_client());
    Result<net::aws::Credentials> c = provider.get({});
    REQUIRE(c);
    CHECK(c->access_key_id == "AKIDDEFAULT");
  }
  {
    CredentialsOptions o = options;
    o.profile = "prod";
    (*o.environment)["AWS_ACCESS_KEY_ID"] = "AKIDENV"; // an explicit profile goes before the environment
    (*o.environment)["AWS_SECRET_ACCESS_KEY"] = "env-secret";
    CredentialsProvider provider(o, plain_client());
    Result<net::aws::Credentials> c = provider.get({});
    REQUIRE(c);
    CHECK(*c == net::aws::Credentials{"AKIDPROD", "prod-secret", "prod-token", std::nullopt});
  }
  {
    CredentialsOptions o = options;
    (*o.environment)["AWS_PROFILE"] = "cfg";
    CredentialsProvider without_config(o, plain_client());
    Result<net::aws::Credentials> missing = without_config.get({});
    REQUIRE(!missing); // ~/.aws/config is read only with AWS_SDK_LOAD_CONFIG
    CHECK(missing.error() == "SharedConfigProfileNotExistsError: failed to get profile, cfg");
    (*o.environment)["AWS_SDK_LOAD_CONFIG"] = "1";
    CredentialsProvider with_config(o, plain_client());
    Result<net::aws::Credentials> c = with_config.get({});
    REQUIRE(c);
    CHECK(c->access_key_id == "AKIDCFG");
  }
  {
    CredentialsOptions o = options;
    (*o.environment)["AWS_SHARED_CREDENTIALS_FILE"] = options.home + "/nowhere";
    CredentialsProvider provider(o, plain_client());
    Result<net::aws::Credentials> c = provider.get({});
    REQUIRE(!c); // no file, no environment, metadata service disabled
    CHECK(c.error() == "NoCredentialProviders: no valid providers in chain. Deprecated.\n"
                       "\tFor verbose messaging see aws.Config.CredentialsChainVerboseErrors");
  }
}

TEST_CASE("aws_credentials: the instance metadata service with an IMDSv2 token, cached until 5 minutes before expiry") {
  httplib::Server imds;
  std::atomic<int> token_requests = 0, credential_requests = 0;
  std::atomic<bool> token_enabled = true;
  imds.Put("/latest/api/token", [&](const httplib::Request& req, httplib::Response& res) {
    ++token_requests;
    if (!token_enabled || req.get_header_value("X-aws-ec2-metadata-token-ttl-seconds") != "21600") {
      res.status = 403;
      return;
    }
    res.set_content("imds-token", "text/plain");
  });
  auto token_ok = [&](const httplib::Request& req) {
    return !token_enabled || req.get_header_value("X-aws-ec2-metadata-token") == "imds-token";
  };
  imds.Get("/latest/meta-data/iam/security-credentials/", [&](const httplib::Request& req, httplib::Response& res) {
    res.status = token_ok(req) ? 200 : 401;
    res.set_content("prom-role\n", "text/plain");
  });
  imds.Get("/latest/meta-data/iam/security-credentials/prom-role",
           [&](const httplib::Request& req, httplib::Response& res) {
             ++credential_requests;
             res.status = token_ok(req) ? 200 : 401;
             res.set_content(R"({"Code":"Success","LastUpdated":"2026-11-28T04:00:00Z","Type":"AWS-HMAC",
                 "AccessKeyId":"ASIAROLE","SecretAccessKey":"role-secret","Token":"role-token",
                 "Expiration":"2026-11-28T06:00:00Z"})",
                             "application/json");
           });
  test::LoopbackServer server;
  int port = server.start(imds);

  CredentialsOptions options = isolated();
  options.environment->erase("AWS_EC2_METADATA_DISABLED");
  (*options.environment)["AWS_EC2_METADATA_SERVICE_ENDPOINT"] = "http://127.0.0.1:" + std::to_string(port) + "/";
  auto clock = std::make_shared<std::chrono::system_clock::time_point>(
      std::chrono::system_clock::from_time_t(1795838400)); // 2026-11-28T04:00:00Z
  options.now = [clock] { return *clock; };
  CredentialsProvider provider(options, plain_client());
  Result<net::aws::Credentials> c = provider.get({});
  REQUIRE_MESSAGE(c, (c ? "" : c.error()));
  CHECK(c->access_key_id == "ASIAROLE");
  CHECK(c->session_token == "role-token");
  REQUIRE(c->expires);
  CHECK(*c->expires == std::chrono::system_clock::from_time_t(1795838400 + 7200));
  CHECK(provider.get({}));
  CHECK(credential_requests == 1); // cached

  *clock += std::chrono::minutes(116); // inside the 5-minute window
  token_enabled = false;               // IMDSv1 only: the token PUT fails, GETs go without it
  Result<net::aws::Credentials> again = provider.get({});
  REQUIRE_MESSAGE(again, (again ? "" : again.error()));
  CHECK(credential_requests == 2);
  CHECK(token_requests == 2);
}

TEST_CASE("aws_credentials: role_arn assumes the role through STS, signed with the base credentials") {
  httplib::Server sts;
  std::atomic<int> calls = 0;
  std::string last_body;
  std::mutex mutex;
  sts.Post("/", [&](const httplib::Request& req, httplib::Response& res) {
    ++calls;
    {
      std::lock_guard lock(mutex);
      last_body = req.body;
    }
    if (!test::aws::check_signature(req, {{"AKIDBASE", "base-secret"}}, "us-east-1", "sts").empty()) {
      test::aws::reply_query_signature_error(res);
      return;
    }
    res.set_content(R"(<AssumeRoleResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <AssumeRoleResult><Credentials><AccessKeyId>ASIAASSUMED</AccessKeyId>
    <SecretAccessKey>assumed-secret</SecretAccessKey><SessionToken>assumed-token</SessionToken>
    <Expiration>2026-11-28T04:15:00Z</Expiration></Credentials>
    <AssumedRoleUser><Arn>arn:aws:sts::123456789012:assumed-role/prom/1</Arn></AssumedRoleUser>
  </AssumeRoleResult><ResponseMetadata><RequestId>r-1</RequestId></ResponseMetadata></AssumeRoleResponse>)",
                    "text/xml");
  });
  test::LoopbackServer server;
  int port = server.start(sts);

  CredentialsOptions options = isolated();
  options.access_key = "AKIDBASE";
  options.secret_key = "base-secret";
  options.role_arn = "arn:aws:iam::123456789012:role/prom";
  options.region = "eu-west-1";
  options.sts_endpoint = "http://127.0.0.1:" + std::to_string(port);
  auto clock = std::make_shared<std::chrono::system_clock::time_point>(
      std::chrono::system_clock::from_time_t(1795838400));
  options.now = [clock] { return *clock; };
  CredentialsProvider provider(options, plain_client());
  Result<net::aws::Credentials> c = provider.get({});
  REQUIRE_MESSAGE(c, (c ? "" : c.error()));
  CHECK(*c == net::aws::Credentials{"ASIAASSUMED", "assumed-secret", "assumed-token",
                                    std::chrono::system_clock::from_time_t(1795838400 + 900)});
  {
    std::lock_guard lock(mutex);
    CHECK(last_body == "Action=AssumeRole&DurationSeconds=900&RoleArn=arn%3Aaws%3Aiam%3A%3A123456789012%3Arole%2Fprom"
                       "&RoleSessionName=1795838400000000000&Version=2011-06-15");
  }
  CHECK(provider.get({}));
  CHECK(calls == 1);
  *clock += std::chrono::seconds(895); // 10 seconds before expiry: assumed again
  CHECK(provider.get({}));
  CHECK(calls == 2);

  options.secret_key = "wrong-secret";
  CredentialsProvider wrong(options, plain_client());
  Result<net::aws::Credentials> denied = wrong.get({});
  REQUIRE(!denied);
  CHECK(denied.error() == "SignatureDoesNotMatch: The request signature we calculated does not match the signature "
                          "you provided. Check your AWS Secret Access Key and signing method. Consult the service "
                          "documentation for details.\n\tstatus code: 403, request id: "
                          "c0ffee00-0000-4000-8000-000000000002");
  CHECK(denied.error().find("wrong-secret") == std::string::npos);
}

TEST_CASE("aws_credentials: AWS_STS_REGIONAL_ENDPOINTS=regional signs STS for the region") {
  httplib::Server sts;
  std::string problem = "not called";
  sts.Post("/", [&](const httplib::Request& req, httplib::Response& res) {
    problem = test::aws::check_signature(req, {{"AKIDBASE", "base-secret"}}, "eu-west-1", "sts");
    res.set_content("<AssumeRoleResponse><AssumeRoleResult><Credentials><AccessKeyId>A</AccessKeyId>"
                    "<SecretAccessKey>S</SecretAccessKey><SessionToken>T</SessionToken>"
                    "<Expiration>2099-01-01T00:00:00Z</Expiration></Credentials></AssumeRoleResult>"
                    "</AssumeRoleResponse>",
                    "text/xml");
  });
  test::LoopbackServer server;
  int port = server.start(sts);
  CredentialsOptions options = isolated();
  (*options.environment)["AWS_STS_REGIONAL_ENDPOINTS"] = "regional";
  options.access_key = "AKIDBASE";
  options.secret_key = "base-secret";
  options.role_arn = "arn:aws:iam::123456789012:role/prom";
  options.region = "eu-west-1";
  options.sts_endpoint = "http://127.0.0.1:" + std::to_string(port);
  CredentialsProvider provider(options, plain_client());
  CHECK(provider.get({}));
  CHECK(problem == "");
}

TEST_CASE("aws_credentials: container credentials (relative and full URI) instead of the metadata service") {
  httplib::Server ecs;
  std::atomic<int> calls = 0;
  ecs.Get("/v2/credentials/abc", [&](const httplib::Request& req, httplib::Response& res) {
    ++calls;
    bool authorized = !req.has_header("Authorization") || req.get_header_value("Authorization") == "ecs-auth";
    res.status = authorized ? 200 : 401;
    res.set_content(R"({"RoleArn":"arn:aws:iam::1:role/task","AccessKeyId":"ASIATASK","SecretAccessKey":"task-secret",
        "Token":"task-token","Expiration":"2099-01-01T00:00:00Z"})",
                    "application/json");
  });
  test::LoopbackServer server;
  std::string base = "http://127.0.0.1:" + std::to_string(server.start(ecs));

  CredentialsOptions options = isolated();
  options.environment->erase("AWS_EC2_METADATA_DISABLED");
  (*options.environment)["AWS_EC2_METADATA_SERVICE_ENDPOINT"] = "http://127.0.0.1:1"; // never asked
  (*options.environment)["AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"] = "/v2/credentials/abc";
  options.container_endpoint = base;
  CredentialsProvider relative(options, plain_client());
  Result<net::aws::Credentials> c = relative.get({});
  REQUIRE_MESSAGE(c, (c ? "" : c.error()));
  CHECK(c->access_key_id == "ASIATASK");
  CHECK(c->session_token == "task-token");

  options.environment->erase("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI");
  (*options.environment)["AWS_CONTAINER_CREDENTIALS_FULL_URI"] = base + "/v2/credentials/abc";
  (*options.environment)["AWS_CONTAINER_AUTHORIZATION_TOKEN"] = "ecs-auth";
  CredentialsProvider full(options, plain_client());
  CHECK(full.get({}));
  CHECK(calls == 2);
  (*options.environment)["AWS_CONTAINER_AUTHORIZATION_TOKEN"] = "wrong";
  CredentialsProvider denied(options, plain_client());
  Result<net::aws::Credentials> d = denied.get({});
  REQUIRE(!d);
  CHECK(d.error().starts_with("NoCredentialProviders: no valid providers in chain."));
}

TEST_CASE("aws_credentials: a web identity token is exchanged through AssumeRoleWithWebIdentity") {
  httplib::Server sts;
  std::string body;
  std::string authorization = "unset";
  std::mutex mutex;
  sts.Post("/", [&](const httplib::Request& req, httplib::Response& res) {
    std::lock_guard lock(mutex);
    body = req.body;
    authorization = req.get_header_value("Authorization");
    res.set_content("<AssumeRoleWithWebIdentityResponse><AssumeRoleWithWebIdentityResult><Credentials>"
                    "<AccessKeyId>ASIAWEB</AccessKeyId><SecretAccessKey>web-secret</SecretAccessKey>"
                    "<SessionToken>web-token</SessionToken><Expiration>2099-01-01T00:00:00Z</Expiration>"
                    "</Credentials></AssumeRoleWithWebIdentityResult></AssumeRoleWithWebIdentityResponse>",
                    "text/xml");
  });
  test::LoopbackServer server;
  CredentialsOptions options = isolated();
  options.sts_endpoint = "http://127.0.0.1:" + std::to_string(server.start(sts));
  test::write_file(options.home + "/token", "eyJ.web.token\n");
  (*options.environment)["AWS_WEB_IDENTITY_TOKEN_FILE"] = options.home + "/token";
  (*options.environment)["AWS_ROLE_ARN"] = "arn:aws:iam::1:role/web";
  (*options.environment)["AWS_ROLE_SESSION_NAME"] = "prom";
  CredentialsProvider provider(options, plain_client());
  Result<net::aws::Credentials> c = provider.get({});
  REQUIRE_MESSAGE(c, (c ? "" : c.error()));
  CHECK(c->access_key_id == "ASIAWEB");
  std::lock_guard lock(mutex);
  CHECK(body == "Action=AssumeRoleWithWebIdentity&RoleArn=arn%3Aaws%3Aiam%3A%3A1%3Arole%2Fweb&RoleSessionName=prom"
                "&Version=2011-06-15&WebIdentityToken=eyJ.web.token");
  CHECK(authorization == ""); // unsigned
}

TEST_CASE("aws_request: error bodies of each protocol in the SDK's wording") {
  net::HttpResponse ec2;
  ec2.status = 400;
  ec2.body = "<Response><Errors><Error><Code>InvalidParameterValue</Code><Message>bad filter</Message></Error>"
             "</Errors><RequestID>req-9</RequestID></Response>";
  discovery::aws::AwsError e = discovery::aws::error_from_response(discovery::aws::Protocol::query, ec2);
  CHECK(e.code == "InvalidParameterValue");
  CHECK(e.text == "InvalidParameterValue: bad filter\n\tstatus code: 400, request id: req-9");

  net::HttpResponse json;
  json.status = 400;
  json.headers = {{"X-Amzn-Requestid", "req-7"}};
  json.body = R"({"__type":"com.amazonaws.lightsail#AccessDeniedException","message":"no"})";
  e = discovery::aws::error_from_response(discovery::aws::Protocol::json, json);
  CHECK(e.code == "AccessDeniedException");
  CHECK(e.text == "AccessDeniedException: no\n\tstatus code: 400, request id: req-7");

  net::HttpResponse garbage;
  garbage.status = 500;
  garbage.body = "<html>";
  e = discovery::aws::error_from_response(discovery::aws::Protocol::query, garbage);
  CHECK(e.code == "SerializationError");
  CHECK(discovery::aws::is_retryable(e));

  CHECK(discovery::aws::form_encode({{"Version", "2016-11-15"}, {"Action", "DescribeInstances"},
                                     {"Filter.1.Value.1", "a b"}, {"Filter.1.Name", "tag:Name"}}) ==
        "Action=DescribeInstances&Filter.1.Name=tag%3AName&Filter.1.Value.1=a+b&Version=2016-11-15");
  CHECK(discovery::aws::normalize_endpoint("ec2.example.com/") == "https://ec2.example.com");
  CHECK(discovery::aws::default_endpoint("ec2", "cn-north-1") == "https://ec2.cn-north-1.amazonaws.com.cn");
}

} // TEST_SUITE
