// oci_sd: the instance mapping (pure), the OCI request signature (checked by
// recomputing the signing string and verifying it with the public key), and
// the discoverer against a loopback fake of the OCI Identity and Core
// (iaas) APIs that verifies every request's signature, pages with
// opc-next-page and answers a badly signed request with OCI's 401.

#include <httplib.h> // CPPHTTPLIB_OPENSSL_SUPPORT comes from its pkg-config flags

#include <chrono>
#include <mutex>
#include <thread>

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include <openssl/evp.h>

#include "discovery/oci.h"
#include "net/jwt.h"
#include "loopback_server.h"
#include "rsa_test_util.h"
#include "test_util.h"
#include "util/base64.h"
#include "util/strings.h"

using namespace sdscope;
using namespace std::chrono_literals;
namespace oci = sdscope::discovery::oci;
using Json = nlohmann::ordered_json;

namespace {

constexpr std::string_view k_tenancy = "ocid1.tenancy.oc1..aaaatenancy";
constexpr std::string_view k_key_id =
    "ocid1.tenancy.oc1..aaaatenancy/ocid1.user.oc1..aaaauser/20:3b:97:13:55:1c:5b:0d:d3:37:d8:50:4e:c5:3a:34";
constexpr std::string_view k_not_authenticated =
    R"({"code":"NotAuthenticated","message":"The required information to complete authentication was not provided or was incorrect."})";

// A value of the Authorization header's comma-separated key="value" list.
std::string auth_param(const std::string& header, const std::string& name) {
  size_t at = header.find(name + "=\"");
  if (at == std::string::npos) {
    return "";
  }
  at += name.size() + 2;
  return header.substr(at, header.find('"', at) - at);
}

Json instance(const std::string& id, const std::string& compartment, const std::string& name) {
  return {{"id", id},
          {"compartmentId", compartment},
          {"displayName", name},
          {"lifecycleState", "RUNNING"},
          {"shape", "VM.Standard.E4.Flex"},
          {"availabilityDomain", "Uocm:EU-FRANKFURT-1-AD-1"},
          {"faultDomain", "FAULT-DOMAIN-2"},
          {"region", "eu-frankfurt-1"},
          {"imageId", "ocid1.image.oc1..img"},
          {"freeformTags", {{"team.name", "ops"}}},
          {"definedTags", {{"Ops", {{"cost", 12.5}, {"tier", "gold"}, {"on", true}, {"list", Json::array()}}}}}};
}

struct Seen {
  std::string target, authorization, date;
};

class FakeOci {
public:
  FakeOci() {
    m_server.set_keep_alive_timeout(1);
    m_server.Get("/opc/v2/identity/(cert|key|intermediate).pem",
                 [this](const httplib::Request& req, httplib::Response& res) {
                   std::lock_guard lock(m_mutex);
                   metadata_requests.push_back(req.path + " " + req.get_header_value("Authorization"));
                   if (req.get_header_value("Authorization") != "Bearer Oracle") {
                     res.status = 401;
                     return;
                   }
                   std::string what = req.matches[1];
                   res.set_content(what == "key" ? test::test_key().private_pem : leaf_cert_pem, "text/plain");
                 });
    m_server.Post("/v1/x509", [this](const httplib::Request& req, httplib::Response& res) { federate(req, res); });
    m_server.Get(".*", [this](const httplib::Request& req, httplib::Response& res) { handle(req, res); });
    port = m_serving.start(m_server);
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port); }
  template <class Fn> auto locked(Fn fn) {
    std::lock_guard lock(m_mutex);
    return fn();
  }

  int port = 0;
  std::string public_pem = test::test_key().public_pem;
  int instances_status = 200;
  std::chrono::milliseconds delay{0};
  bool vnic_fails = false;
  std::vector<Seen> requests;
  std::string leaf_cert_pem;   // instance principal: served by the metadata fake
  std::string security_token;  // issued by the federation fake
  std::string session_pem;     // the session key it was issued for
  std::string federation_key_id;
  std::vector<std::string> metadata_requests;
  int federations = 0;

private:
  // Recomputes the signing string from the request and verifies it.
  bool signed_correctly(const httplib::Request& req) {
    std::string auth = req.get_header_value("Authorization");
    std::string key_id = auth_param(auth, "keyId");
    std::string pem = key_id == k_key_id ? public_pem
                      : !security_token.empty() && key_id == "ST$" + security_token ? session_pem
                                                                                     : "";
    if (!util::starts_with(auth, "Signature ") || auth_param(auth, "version") != "1" ||
        auth_param(auth, "algorithm") != "rsa-sha256" || pem.empty() ||
        auth_param(auth, "headers") != "date (request-target) host") {
      return false;
    }
    std::string signing = "date: " + req.get_header_value("Date") + "\n(request-target): get " + req.target +
                          "\nhost: " + req.get_header_value("Host");
    Result<std::string> signature = util::decode_base64_std(auth_param(auth, "signature"));
    return signature && test::rsa_verify(pem, signing, *signature, "sha256");
  }
  // The federation endpoint: the body's hash, the signature over six
  // headers with the leaf certificate's key, then a security token.
  void federate(const httplib::Request& req, httplib::Response& res) {
    std::lock_guard lock(m_mutex);
    std::string auth = req.get_header_value("Authorization");
    federation_key_id = auth_param(auth, "keyId");
    std::string signing = "date: " + req.get_header_value("Date") + "\n(request-target): post " + req.target +
                          "\nhost: " + req.get_header_value("Host") +
                          "\ncontent-length: " + req.get_header_value("Content-Length") +
                          "\ncontent-type: " + req.get_header_value("Content-Type") +
                          "\nx-content-sha256: " + req.get_header_value("X-Content-Sha256");
    unsigned char digest[32];
    unsigned int n = 0;
    EVP_Digest(req.body.data(), req.body.size(), digest, &n, EVP_sha256(), nullptr);
    Result<std::string> signature = util::decode_base64_std(auth_param(auth, "signature"));
    bool ok = auth_param(auth, "headers") == "date (request-target) host content-length content-type x-content-sha256" &&
              util::starts_with(federation_key_id, std::string(k_tenancy) + "/fed-x509/") &&
              req.get_header_value("X-Content-Sha256") ==
                  util::encode_base64_std(std::string_view(reinterpret_cast<char*>(digest), n)) &&
              signature && test::rsa_verify(test::test_key().public_pem, signing, *signature, "sha256");
    if (!ok) {
      res.status = 401;
      res.set_content(std::string(k_not_authenticated), "application/json");
      return;
    }
    Json body = Json::parse(req.body);
    std::string der = body["publicKey"].get<std::string>();
    session_pem = "-----BEGIN PUBLIC KEY-----\n";
    for (size_t i = 0; i < der.size(); i += 64) {
      session_pem += der.substr(i, 64) + "\n";
    }
    session_pem += "-----END PUBLIC KEY-----\n";
    ++federations;
    security_token = net::encode_base64url(R"({"alg":"RS256"})") + "." +
                     net::encode_base64url(Json{{"exp", std::time(nullptr) + 1200}, {"n", federations}}.dump()) +
                     ".c2ln";
    res.set_content(Json{{"token", security_token}}.dump(), "application/json");
  }
  void json(httplib::Response& res, const Json& body, const std::string& next = "") {
    if (!next.empty()) {
      res.set_header("opc-next-page", next);
    }
    res.set_content(body.dump(), "application/json");
  }
  void handle(const httplib::Request& req, httplib::Response& res) {
    std::chrono::milliseconds wait;
    {
      std::lock_guard lock(m_mutex);
      requests.push_back({req.target, req.get_header_value("Authorization"), req.get_header_value("Date")});
      wait = delay;
      respond(req, res);
    }
    std::this_thread::sleep_for(wait);
  }
  void respond(const httplib::Request& req, httplib::Response& res) {
    if (!signed_correctly(req)) {
      res.status = 401;
      res.set_header("opc-request-id", "req-401");
      res.set_content(std::string(k_not_authenticated), "application/json");
      return;
    }
    std::string page = req.get_param_value("page");
    std::string compartment = req.get_param_value("compartmentId");
    if (req.path == "/20160918/compartments") {
      if (compartment == k_tenancy && page.empty()) {
        json(res, Json::array({{{"id", "c-a"}, {"lifecycleState", "ACTIVE"}}}), "cp2");
      } else if (compartment == k_tenancy && page == "cp2") {
        json(res, Json::array({{{"id", "c-deleted"}, {"lifecycleState", "DELETED"}}}));
      } else {
        json(res, Json::array());
      }
    } else if (req.path == "/20160918/instances") {
      if (instances_status != 200) {
        res.status = instances_status;
        res.set_header("opc-request-id", "req-500");
        res.set_content(R"({"code":"InternalError","message":"Internal error occurred"})", "application/json");
      } else if (compartment == "c-a" && page.empty()) {
        json(res, Json::array({instance("i-1", "c-a", "web-1")}), "ip2");
      } else if (compartment == "c-a" && page == "ip2") {
        json(res, Json::array({instance("i-2", "c-a", "web-2"), instance("i-3", "c-a", "broken"),
                               {{"displayName", "no id"}}}));
      } else {
        json(res, Json::array());
      }
    } else if (req.path == "/20160918/vnicAttachments") {
      std::string id = req.get_param_value("instanceId");
      if (id == "i-1") {
        json(res, Json::array({{{"vnicId", "v-detached"}, {"lifecycleState", "DETACHED"}},
                               {{"vnicId", "v-sec"}, {"lifecycleState", "ATTACHED"}}}),
             page.empty() ? "vp2" : "");
        if (!page.empty()) {
          json(res, Json::array({{{"vnicId", "v-1"}, {"lifecycleState", "ATTACHED"}}}));
        }
      } else if (id == "i-2") {
        json(res, Json::array({{{"vnicId", "v-2"}, {"lifecycleState", "ATTACHED"}}}));
      } else {
        json(res, Json::array({{{"vnicId", "v-missing"}, {"lifecycleState", "ATTACHED"}}}));
      }
    } else if (req.path == "/20160918/vnics/v-sec") {
      json(res, {{"id", "v-sec"}, {"privateIp", "10.0.9.9"}, {"isPrimary", false}});
    } else if (req.path == "/20160918/vnics/v-1") {
      json(res, {{"id", "v-1"},
                 {"privateIp", "10.0.0.2"},
                 {"publicIp", "130.61.1.2"},
                 {"hostnameLabel", "web1"},
                 {"ipv6Addresses", {"2603:c020::9", "2603:c020::1"}},
                 {"isPrimary", true}});
    } else if (req.path == "/20160918/vnics/v-2" && !vnic_fails) {
      json(res, {{"id", "v-2"}, {"ipv6Addresses", {"2603:c020::7"}}, {"isPrimary", true}});
    } else {
      res.status = 404;
      res.set_content(R"({"code":"NotAuthorizedOrNotFound","message":"Authorization failed or requested resource not found."})",
                      "application/json");
    }
  }

  std::mutex m_mutex;
  httplib::Server m_server;
  test::LoopbackServer m_serving;
};

model::Labels web1() {
  return {{"__address__", "10.0.0.2:9100"},
          {"__meta_oci_availability_domain", "Uocm:EU-FRANKFURT-1-AD-1"},
          {"__meta_oci_compartment_id", "c-a"},
          {"__meta_oci_defined_tag_Ops_cost", "12.5"},
          {"__meta_oci_defined_tag_Ops_on", "true"},
          {"__meta_oci_defined_tag_Ops_tier", "gold"},
          {"__meta_oci_fault_domain", "FAULT-DOMAIN-2"},
          {"__meta_oci_hostname_label", "web1"},
          {"__meta_oci_image_id", "ocid1.image.oc1..img"},
          {"__meta_oci_instance_id", "i-1"},
          {"__meta_oci_instance_name", "web-1"},
          {"__meta_oci_instance_shape", "VM.Standard.E4.Flex"},
          {"__meta_oci_instance_state", "RUNNING"},
          {"__meta_oci_ipv6_addresses", ",2603:c020::1,2603:c020::9,"},
          {"__meta_oci_private_ip", "10.0.0.2"},
          {"__meta_oci_public_ip", "130.61.1.2"},
          {"__meta_oci_region", "eu-frankfurt-1"},
          {"__meta_oci_tag_team_name", "ops"},
          {"__meta_oci_tenancy_id", std::string(k_tenancy)},
          {"__meta_oci_vnic_id", "v-1"}};
}

struct Setup {
  FakeOci fake;
  std::filesystem::path dir = test::scratch_dir();
  discovery::DiscovererOptions options;
  Setup() {
    options.endpoints["oci_identity"] = fake.url();
    options.endpoints["oci_iaas"] = fake.url();
  }
  ~Setup() { std::filesystem::remove_all(dir); }
  oci::Config config(const std::string& pem = test::test_key().private_pem, const std::string& extra = "") {
    test::write_file(dir / "oci.pem", pem);
    test::SdResult r = test::decode_sd(
        "oci", "{region: eu-frankfurt-1, tenancy: '" + std::string(k_tenancy) +
                   "', user: ocid1.user.oc1..aaaauser, fingerprint: '20:3b:97:13:55:1c:5b:0d:d3:37:d8:50:4e:c5:3a:34', "
                   "key_file: '" + (dir / "oci.pem").string() + "', port: 9100" + extra + "}");
    REQUIRE_MESSAGE(r.errors.empty(), (r.errors.empty() ? "" : r.errors[0]));
    return dynamic_cast<const oci::Config&>(*r.config);
  }
  // One refresh through the discoverer, its first report.
  std::pair<std::string, std::vector<model::Labels>> run_once(const oci::Config& config) {
    test::RecordingSink sink;
    test::RunningDiscoverer running(config.make_discoverer(options), sink);
    REQUIRE(sink.wait_for_reports(1));
    running.stop();
    std::vector<model::Labels> targets;
    if (sink.update_count() > 0) {
      targets = sink.updates[0][0]->targets;
    }
    return {sink.report(0), targets};
  }
};

} // namespace

// A certificate for the test key whose subject names the tenancy, as an
// OCI instance's identity certificate does (TEST KEY, made per run).
std::string instance_certificate() {
  std::filesystem::path dir = test::scratch_dir();
  test::write_file(dir / "key.pem", test::test_key().private_pem);
  std::string command = "openssl req -x509 -new -key " + (dir / "key.pem").string() + " -out " +
                        (dir / "cert.pem").string() + " -days 1 -subj '/CN=ocid1.instance.oc1..i/OU=opc-certtype:instance/OU=opc-tenant:" +
                        std::string(k_tenancy) + "' 2>/dev/null";
  REQUIRE(std::system(command.c_str()) == 0);
  std::string pem = test::read_text(dir / "cert.pem");
  std::filesystem::remove_all(dir);
  return pem;
}

TEST_SUITE("oci_sd") {
  TEST_CASE("oci_sd: sign_request signs date, (request-target), host with RSA-SHA256") {
    net::RsaPrivateKey key = net::RsaPrivateKey::from_pem(test::test_key().private_pem).value();
    Result<oci::OciSignature> s = oci::sign_request({{"date", "Thu, 05 Jan 2014 21:31:40 GMT"},
                                                     {"(request-target)", "get /20160918/instances?compartmentId=c"},
                                                     {"host", "iaas.us-phoenix-1.oraclecloud.com"}},
                                                    "t/u/f", key);
    REQUIRE(s);
    CHECK(s->signing_string == "date: Thu, 05 Jan 2014 21:31:40 GMT\n(request-target): get "
                               "/20160918/instances?compartmentId=c\nhost: iaas.us-phoenix-1.oraclecloud.com");
    CHECK(util::starts_with(s->authorization, R"(Signature version="1",headers="date (request-target) host",)"
                                              R"(keyId="t/u/f",algorithm="rsa-sha256",signature=")"));
    std::string signature = util::decode_base64_std(auth_param(s->authorization, "signature")).value();
    CHECK(test::rsa_verify(test::test_key().public_pem, s->signing_string, signature, "sha256"));
  }

  TEST_CASE("oci_sd: instance_target labels; address falls back to public, then the first sorted IPv6") {
    oci::Vnic vnic{"v", "", "", "h", {"fd00::9", "fd00::1"}};
    std::optional<model::Labels> t = oci::instance_target(instance("i", "c", "n"), vnic, "ten", 80);
    REQUIRE(t);
    CHECK(t->get("__address__") == "[fd00::1]:80");
    CHECK(t->get("__meta_oci_ipv6_addresses") == ",fd00::1,fd00::9,");
    vnic.public_ip = "1.2.3.4";
    CHECK(oci::instance_target(instance("i", "c", "n"), vnic, "ten", 80)->get("__address__") == "1.2.3.4:80");
    CHECK(!oci::instance_target(instance("i", "c", "n"), oci::Vnic{}, "ten", 80));
    CHECK(!oci::instance_target(Json{{"id", "i"}}, vnic, "ten", 80)); // no compartmentId
  }

  TEST_CASE("oci_sd: walks compartments, pages everything, finds primary VNICs; every request signed") {
    Setup s;
    auto [report, targets] = s.run_once(s.config());
    CHECK(report == "");
    REQUIRE(targets.size() == 2);
    CHECK(targets[0] == web1());
    CHECK(targets[1].get("__address__") == "[2603:c020::7]:9100");
    CHECK(targets[1].get("__meta_oci_instance_name") == "web-2");
    s.fake.locked([&] {
      std::vector<std::string> want_prefix = {
          "/20160918/compartments?accessLevel=ACCESSIBLE&compartmentId=ocid1.tenancy.oc1..aaaatenancy&"
          "compartmentIdInSubtree=false&limit=100",
          "/20160918/compartments?accessLevel=ACCESSIBLE&compartmentId=ocid1.tenancy.oc1..aaaatenancy&"
          "compartmentIdInSubtree=false&limit=100&page=cp2",
          "/20160918/compartments?accessLevel=ACCESSIBLE&compartmentId=c-a&compartmentIdInSubtree=false&limit=100",
          "/20160918/instances?compartmentId=ocid1.tenancy.oc1..aaaatenancy&limit=100",
          "/20160918/instances?compartmentId=c-a&limit=100",
          "/20160918/instances?compartmentId=c-a&limit=100&page=ip2",
          "/20160918/vnicAttachments?compartmentId=c-a&instanceId=i-1&limit=100",
      };
      REQUIRE(s.fake.requests.size() >= want_prefix.size());
      for (size_t i = 0; i < want_prefix.size(); ++i) {
        CHECK(s.fake.requests[i].target == want_prefix[i]);
      }
      for (const Seen& r : s.fake.requests) {
        CHECK(r.date.ends_with(" GMT"));
      }
      return 0;
    });
  }

  TEST_CASE("oci_sd: configured compartments skip the walk; a wrongly signed request gets OCI's 401") {
    Setup s;
    auto [report, targets] = s.run_once(s.config(test::test_key().private_pem, ", compartments: [c-a]"));
    CHECK(report == "");
    CHECK(targets.size() == 2);
    CHECK(util::starts_with(s.fake.locked([&] { return s.fake.requests[0].target; }), "/20160918/instances?"));

    Setup wrong;
    auto [error, none] = wrong.run_once(wrong.config(test::other_test_key().private_pem, ", compartments: [c-a]"));
    CHECK(error == "listing OCI instances in compartment c-a: Error returned by Compute Service. Http Status Code: "
                   "401. Error Code: NotAuthenticated. Opc request id: req-401. Message: The required information to "
                   "complete authentication was not provided or was incorrect.");
    CHECK(none.empty());
  }

  TEST_CASE("oci_sd: an encrypted key with key_passphrase_file") {
    Setup s;
    test::write_file(s.dir / "pass", "pa55word\n");
    auto [report, targets] = s.run_once(s.config(test::test_key().encrypted_pem("pa55word"),
                                                 ", compartments: [c-a], key_passphrase_file: '" +
                                                     (s.dir / "pass").string() + "'"));
    CHECK(report == "");
    CHECK(targets.size() == 2);
  }

  TEST_CASE("oci_sd: a failing VNIC lookup skips only that instance; 500, unreachable, timeout fail") {
    Setup s;
    s.fake.locked([&] { return s.fake.vnic_fails = true; });
    auto [report, targets] = s.run_once(s.config(test::test_key().private_pem, ", compartments: [c-a]"));
    CHECK(report == "");
    REQUIRE(targets.size() == 1);
    CHECK(targets[0] == web1());

    s.fake.locked([&] { return s.fake.instances_status = 500; });
    CHECK(s.run_once(s.config(test::test_key().private_pem, ", compartments: [c-a]")).first ==
          "listing OCI instances in compartment c-a: Error returned by Compute Service. Http Status Code: 500. Error "
          "Code: InternalError. Opc request id: req-500. Message: Internal error occurred");

    s.fake.locked([&] {
      s.fake.instances_status = 200;
      s.fake.delay = 1500ms;
      return 0;
    });
    CHECK(util::starts_with(s.run_once(s.config(test::test_key().private_pem,
                                                ", compartments: [c-a], refresh_interval: 500ms"))
                                .first,
                            "listing OCI instances in compartment c-a: Get \""));
    s.options.endpoints["oci_iaas"] = "http://127.0.0.1:1";
    CHECK(util::starts_with(s.run_once(s.config(test::test_key().private_pem, ", compartments: [c-a]")).first,
                            "listing OCI instances in compartment c-a: Get \"http://127.0.0.1:1/20160918/instances?"));
  }

  TEST_CASE("oci_sd: creation fails on an unreadable or unparsable key, and for instance_principal") {
    Setup s;
    oci::Config config = s.config("garbage");
    CHECK(config.make_discoverer(s.options).error() == "oci_sd: parsing key_file: no PEM data found");
    config.key_file = (s.dir / "missing.pem").string();
    CHECK(config.make_discoverer(s.options).error() ==
          "oci_sd: reading key_file: open " + config.key_file + ": no such file or directory");
  }

  TEST_CASE("oci_sd: instance_principal: metadata identity, signed federation, session-key signed API calls") {
    Setup s;
    s.fake.locked([&] { return s.fake.leaf_cert_pem = instance_certificate(); });
    s.options.endpoints["oci_metadata"] = s.fake.url();
    s.options.endpoints["oci_auth"] = s.fake.url();
    test::SdResult r = test::decode_sd("oci", "{region: eu-frankfurt-1, auth: instance_principal, port: 9100}");
    REQUIRE(r.errors.empty());
    test::RecordingSink sink;
    {
      test::RunningDiscoverer running(r.config->make_discoverer(s.options), sink);
      REQUIRE(sink.wait_for_reports(1));
    }
    CHECK(sink.report(0) == "");
    REQUIRE(sink.update_count() == 1);
    REQUIRE(sink.updates[0][0]->targets.size() == 2);
    CHECK(sink.updates[0][0]->targets[0] == web1()); // tenancy_id from the certificate
    s.fake.locked([&] {
      CHECK(s.fake.federations == 1); // the token is reused for every call
      CHECK(s.fake.federation_key_id.size() == std::string(k_tenancy).size() + 10 + 59);
      CHECK(s.fake.metadata_requests.size() == 3);
      CHECK(s.fake.metadata_requests[0] == "/opc/v2/identity/cert.pem Bearer Oracle");
      for (const Seen& seen : s.fake.requests) {
        CHECK(util::starts_with(auth_param(seen.authorization, "keyId"), "ST$"));
      }
      return 0;
    });
  }
}
