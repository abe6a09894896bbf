// Config blocks of the cloud SD mechanisms: defaults, every load-time rule
// with Prometheus v2.45's exact message (3.x's for the mechanisms added
// later), and the lint notes for what v2.45 does not know.
#include <doctest/doctest.h>

#include <algorithm>
#include <functional>
#include <string>
#include <string_view>
#include <utility>

#include <fmt/format.h>

#include "config/config.h"
#include "discovery/aws.h"
#include "discovery/azure.h"
#include "discovery/digitalocean.h"
#include "discovery/ec2.h"
#include "discovery/ecs.h"
#include "discovery/elasticache.h"
#include "discovery/gce.h"
#include "discovery/hetzner.h"
#include "discovery/ionos.h"
#include "discovery/lightsail.h"
#include "discovery/linode.h"
#include "discovery/msk.h"
#include "discovery/oci.h"
#include "discovery/openstack.h"
#include "discovery/outscale.h"
#include "discovery/ovhcloud.h"
#include "discovery/rds.h"
#include "discovery/scaleway.h"
#include "discovery/stackit.h"
#include "discovery/vultr.h"
#include "test_util.h"
#include "yaml/visit.h"

using namespace sdscope;

namespace {

template <class C> const C& config_of(const test::SdResult& r) {
  const auto* c = dynamic_cast<const C*>(r.config.get());
  REQUIRE(c != nullptr);
  return *c;
}

size_t error_count(const test::SdResult& r) {
  return static_cast<size_t>(std::count_if(r.errors.begin(), r.errors.end(), [](const std::string& e) {
    return e.find(": warning: ") == std::string::npos;
  }));
}

// A copy of the config decoded from yaml, which must have no errors.
template <class C> C decode_as(std::string_view mechanism, std::string_view yaml) {
  INFO(yaml);
  test::SdResult r = test::decode_sd(mechanism, yaml);
  CHECK(error_count(r) == 0);
  return config_of<C>(r);
}

bool has_warning(const test::SdResult& r, std::string_view text) {
  return std::any_of(r.errors.begin(), r.errors.end(), [&](const std::string& e) {
    size_t at = e.find(": warning: ");
    return at != std::string::npos && e.substr(at + 11) == text;
  });
}

// check_error(yaml, message): the block's first error is exactly message.
std::function<void(std::string_view, std::string_view)> error_checker(std::string_view mechanism) {
  return [mechanism = std::string(mechanism)](std::string_view yaml, std::string_view want) {
    INFO(yaml);
    test::SdResult r = test::decode_sd(mechanism, yaml);
    CHECK(test::first_error(r) == want);
  };
}

// check_warning(yaml, note): the block decodes without errors and notes this.
std::function<void(std::string_view, std::string_view)> warning_checker(std::string_view mechanism) {
  return [mechanism = std::string(mechanism)](std::string_view yaml, std::string_view want) {
    INFO(yaml);
    test::SdResult r = test::decode_sd(mechanism, yaml);
    CHECK(error_count(r) == 0);
    CHECK(has_warning(r, want));
  };
}

void check_clean(std::string_view mechanism, std::string_view yaml) {
  INFO(yaml);
  test::SdResult r = test::decode_sd(mechanism, yaml);
  CHECK(r.errors.empty());
}

std::vector<std::string> secrets_of(const test::SdResult& r) {
  yaml::SecretCollector collector;
  r.config->accept(collector);
  return collector.secrets;
}

// Diagnostics of a whole config, "line:col: [warning: ]message".
std::vector<std::string> config_diagnostics(std::string_view text) {
  yaml::Diagnostics diags;
  config::load_text(text, "prometheus.yml", diags);
  std::vector<std::string> out;
  for (const yaml::Diagnostic& d : diags.sorted()) {
    out.push_back(std::to_string(d.mark.line) + ":" + std::to_string(d.mark.column) + ": " +
                  (d.severity == yaml::Severity::warning ? "warning: " : "") + d.message);
  }
  return out;
}

constexpr std::string_view k_zero_refresh =
    "refresh_interval 0 is accepted by Prometheus but makes its discovery panic at run time (non-positive interval "
    "for NewTicker)";
constexpr std::string_view k_bearer_conflict = "at most one of bearer_token & bearer_token_file must be configured";

// A valid Scaleway block without role, for the rules that come after it.
constexpr std::string_view k_scw_ids = "project_id: 11111111-2222-3333-4444-555555555555, "
                                       "access_key: SCWABCDEFGHIJ0123456";
constexpr std::string_view k_scw_secret = "secret_key: 66666666-7777-8888-9999-000000000000";

std::string scw(std::string_view extra) {
  return "{role: instance, " + std::string(k_scw_ids) + ", " + std::string(k_scw_secret) + (extra.empty() ? "" : ", ") +
         std::string(extra) + "}";
}

} // namespace

TEST_SUITE("sd_cloud") {
  TEST_CASE("ec2: full block and defaults") {
    auto r = test::decode_sd("ec2", R"(
endpoint: http://127.0.0.1:8080
region: eu-west-1
access_key: AKIAEXAMPLE
secret_key: example-secret
profile: default
role_arn: arn:aws:iam::123456789012:role/prom
refresh_interval: 2m
port: 9100
filters:
  - name: tag:Environment
    values: [prod, staging]
follow_redirects: false
)");
    CHECK(r.errors.empty());
    const auto& c = config_of<discovery::ec2::Config>(r);
    CHECK(c.access.endpoint == "http://127.0.0.1:8080");
    CHECK(c.access.region == "eu-west-1");
    CHECK(c.access.access_key == "AKIAEXAMPLE");
    CHECK(c.access.profile == "default");
    CHECK(c.access.role_arn == "arn:aws:iam::123456789012:role/prom");
    CHECK(c.refresh_interval == model::Duration::minutes(2));
    CHECK(c.port == 9100);
    REQUIRE(c.filters.size() == 1);
    REQUIRE(c.filters[0]);
    CHECK(c.filters[0]->name == "tag:Environment");
    CHECK(c.filters[0]->values == std::vector<std::string>{"prod", "staging"});
    CHECK(!c.http_client.follow_redirects);
    CHECK(secrets_of(r) == std::vector<std::string>{"example-secret"});

    auto d = test::decode_sd("ec2", "{region: us-east-1}");
    CHECK(d.errors.empty());
    const auto& def = config_of<discovery::ec2::Config>(d);
    CHECK(def.port == 80);
    CHECK(def.refresh_interval == model::Duration::seconds(60));
    CHECK(def.access.endpoint.empty());
    CHECK(def.filters.empty());
    CHECK(def.http_client.follow_redirects);
    CHECK(def.http_client.enable_http2);
  }

  TEST_CASE("ec2: rules") {
    auto check_error = error_checker("ec2");
    check_error("{region: r, filters: [{name: a, values: []}]}", "EC2 SD configuration filter values cannot be empty");
    check_error("{region: r, filters: [{name: a}]}", "EC2 SD configuration filter values cannot be empty");
    check_error("{region: r, filters: [{name: a, values: ~}]}", "EC2 SD configuration filter values cannot be empty");
    check_error("{region: r, filters: [{name: a, values: [x]}, {name: b, values: []}]}",
                "EC2 SD configuration filter values cannot be empty");
    check_error("{region: r, filters: [~]}",
                "null entry in filters: Prometheus v2.45 crashes on it (nil pointer dereference)");
    check_error("{region: r, filters: [{name: a, values: [x], foo: 1}]}", "field foo not found in type aws.EC2Filter");
    check_error("{region: r, port: http}", "cannot unmarshal !!str `http` into int");
    check_error("{region: r, bogus_key: 1}", "field bogus_key not found in type aws.plain");
    // v2.45 does not validate the HTTP client block of ec2.
    check_clean("ec2", "{region: r, bearer_token: a, bearer_token_file: b}");

    // An empty region is looked up from IMDS at load: only a note here, and
    // the later checks still run.
    auto no_region = test::decode_sd("ec2", "{access_key: a, filters: [{name: a}]}");
    CHECK(test::first_error(no_region) == "EC2 SD configuration filter values cannot be empty");
    CHECK(has_warning(no_region,
                      "region is empty: Prometheus v2.45 asks the EC2 instance metadata service for it at load time "
                      "and, off EC2, rejects the config with \"EC2 SD configuration requires a region\""));
    auto check_warning = warning_checker("ec2");
    check_warning("{region: r, external_id: abc}", "field external_id is new in Prometheus 3.12; v2.45 rejects it");
    check_warning("{region: r, refresh_interval: 0s}", k_zero_refresh);
  }

  TEST_CASE("lightsail: full block, defaults and rules") {
    auto r = test::decode_sd("lightsail", R"(
endpoint: http://127.0.0.1:8081
region: eu-central-1
access_key: AKIAEXAMPLE
secret_key: example-secret
profile: p
role_arn: arn:aws:iam::123456789012:role/prom
refresh_interval: 5m
port: 9100
tls_config: {insecure_skip_verify: true}
)");
    CHECK(r.errors.empty());
    const auto& c = config_of<discovery::lightsail::Config>(r);
    CHECK(c.access.region == "eu-central-1");
    CHECK(c.access.secret_key.value == "example-secret");
    CHECK(c.refresh_interval == model::Duration::minutes(5));
    CHECK(c.port == 9100);
    CHECK(c.http_client.tls_config.insecure_skip_verify);
    const auto& def = decode_as<discovery::lightsail::Config>("lightsail", "{region: r}");
    CHECK(def.port == 80);
    CHECK(def.refresh_interval == model::Duration::seconds(60));

    auto check_error = error_checker("lightsail");
    check_error("{region: r, filters: [{name: x, values: [y]}]}", "field filters not found in type aws.plain");
    check_clean("lightsail", "{region: r, bearer_token: a, bearer_token_file: b}");
    auto check_warning = warning_checker("lightsail");
    check_warning("{}", "region is empty: Prometheus v2.45 asks the EC2 instance metadata service for it at load "
                        "time and, off EC2, rejects the config with \"Lightsail SD configuration requires a region\"");
    check_warning("{region: r, external_id: e}", "field external_id is new in Prometheus 3.12; v2.45 rejects it");
    check_warning("{region: r, refresh_interval: 0s}", k_zero_refresh);
  }

  TEST_CASE("azure: full block and defaults") {
    auto r = test::decode_sd("azure", R"(
environment: AzureChinaCloud
port: 9100
subscription_id: 11AAAA11-A11A-111A-A111-1111A1111A11
tenant_id: BBBB222B-B2B2-2B22-B222-2BB2222BB2B2
client_id: 333333CC-3C33-3333-CCC3-33C3CCCCC33C
client_secret: mysecret
refresh_interval: 10m
authentication_method: OAuth
resource_group: my-resource-group
enable_http2: false
)");
    CHECK(r.errors.empty());
    const auto& c = config_of<discovery::azure::Config>(r);
    CHECK(c.environment == "AzureChinaCloud");
    CHECK(c.port == 9100);
    CHECK(c.subscription_id == "11AAAA11-A11A-111A-A111-1111A1111A11");
    CHECK(c.tenant_id == "BBBB222B-B2B2-2B22-B222-2BB2222BB2B2");
    CHECK(c.client_id == "333333CC-3C33-3333-CCC3-33C3CCCCC33C");
    CHECK(c.refresh_interval == model::Duration::minutes(10));
    CHECK(c.resource_group == "my-resource-group");
    CHECK(!c.http_client.enable_http2);
    CHECK(secrets_of(r) == std::vector<std::string>{"mysecret"});

    auto d = test::decode_sd("azure", "{subscription_id: s, authentication_method: ManagedIdentity}");
    CHECK(d.errors.empty());
    const auto& def = config_of<discovery::azure::Config>(d);
    CHECK(def.environment == "AzurePublicCloud");
    CHECK(def.port == 80);
    CHECK(def.refresh_interval == model::Duration::minutes(5));
    CHECK(def.tenant_id.empty());
    CHECK(def.resource_group.empty());
    CHECK(decode_as<discovery::azure::Config>("azure", "{subscription_id: s, tenant_id: t, client_id: c, "
                                                       "client_secret: x}")
              .authentication_method == "OAuth");
  }

  TEST_CASE("azure: rules") {
    auto check_error = error_checker("azure");
    check_error("{}", "azure SD configuration requires a subscription_id");
    check_error("{subscription_id: ~, tenant_id: t, client_id: c, client_secret: s}",
                "azure SD configuration requires a subscription_id");
    check_error("{subscription_id: s, client_id: c, client_secret: x}", "azure SD configuration requires a tenant_id");
    check_error("{subscription_id: s, tenant_id: t, client_id: ~, client_secret: x}",
                "azure SD configuration requires a client_id");
    check_error("{subscription_id: s, tenant_id: t, client_id: c, client_secret: ''}",
                "azure SD configuration requires a client_secret");
    // The subscription comes first, whatever the method.
    check_error("{authentication_method: bogus}", "azure SD configuration requires a subscription_id");
    check_error("{subscription_id: s, authentication_method: invalid}",
                "unknown authentication_type \"invalid\". Supported types are \"OAuth\" or \"ManagedIdentity\"");
    check_error("{subscription_id: s, authentication_method: managedidentity}",
                "unknown authentication_type \"managedidentity\". Supported types are \"OAuth\" or "
                "\"ManagedIdentity\"");
    check_error("{subscription_id: s, authentication_method: ''}",
                "unknown authentication_type \"\". Supported types are \"OAuth\" or \"ManagedIdentity\"");
    check_error("{subscription_id: s, bogus_key: 1}", "field bogus_key not found in type azure.plain");
    // v2.45 does not validate the HTTP client block of azure.
    check_clean("azure", "{subscription_id: s, authentication_method: ManagedIdentity, bearer_token: a, "
                         "bearer_token_file: b}");
    check_clean("azure",
                "{subscription_id: s, authentication_method: ManagedIdentity, environment: azureusgovernment}");

    auto check_warning = warning_checker("azure");
    // Methods of later releases: still v2.45's error, with a note naming the
    // release.
    for (auto [method, since] : {std::pair{"SDK", "2.52"}, std::pair{"WorkloadIdentity", "3.11"}}) {
      auto later = test::decode_sd("azure", fmt::format("{{subscription_id: s, authentication_method: {}}}", method));
      CHECK(test::first_error(later) ==
            fmt::format("unknown authentication_type \"{}\". Supported types are \"OAuth\" or \"ManagedIdentity\"",
                        method));
      CHECK(has_warning(
          later, fmt::format("authentication_method \"{}\" is new in Prometheus {}; v2.45 rejects it", method, since)));
    }
    check_warning("{subscription_id: s, authentication_method: ManagedIdentity, environment: Mars}",
                  "every refresh will fail: could not create Azure client: autorest/azure: There is no cloud "
                  "environment matching the name \"MARS\"");
    check_warning("{subscription_id: s, authentication_method: ManagedIdentity, refresh_interval: 0s}", k_zero_refresh);
  }

  TEST_CASE("gce: full block, defaults and rules") {
    auto r = test::decode_sd("gce", R"(
project: my-project
zone: europe-west1-b
filter: 'labels.env = "prod"'
refresh_interval: 2m
port: 9100
tag_separator: ";"
)");
    CHECK(r.errors.empty());
    const auto& c = config_of<discovery::gce::Config>(r);
    CHECK(c.project == "my-project");
    CHECK(c.zone == "europe-west1-b");
    CHECK(c.filter == "labels.env = \"prod\"");
    CHECK(c.refresh_interval == model::Duration::minutes(2));
    CHECK(c.port == 9100);
    CHECK(c.tag_separator == ";");
    const auto& def = decode_as<discovery::gce::Config>("gce", "{project: p, zone: z}");
    CHECK(def.port == 80);
    CHECK(def.refresh_interval == model::Duration::seconds(60));
    CHECK(def.tag_separator == ",");
    CHECK(def.filter.empty());

    auto check_error = error_checker("gce");
    check_error("{zone: z}", "GCE SD configuration requires a project");
    check_error("{}", "GCE SD configuration requires a project");
    check_error("{project: p}", "GCE SD configuration requires a zone");
    check_error("{project: p, zone: ''}", "GCE SD configuration requires a zone");
    check_error("{project: p, zone: z, bearer_token: x}", "field bearer_token not found in type gce.plain");
    warning_checker("gce")("{project: p, zone: z, refresh_interval: 0s}", k_zero_refresh);
  }

  TEST_CASE("digitalocean: full block, defaults and rules") {
    auto r =
        test::decode_sd("digitalocean", "{authorization: {credentials: abcdef}, refresh_interval: 2m, port: 9100}");
    CHECK(r.errors.empty());
    const auto& c = config_of<discovery::digitalocean::Config>(r);
    REQUIRE(c.http_client.authorization);
    CHECK(c.http_client.authorization->credentials.value == "abcdef");
    CHECK(c.refresh_interval == model::Duration::minutes(2));
    CHECK(c.port == 9100);
    const auto& def = decode_as<discovery::digitalocean::Config>("digitalocean", "{}");
    CHECK(def.port == 80);
    CHECK(def.refresh_interval == model::Duration::seconds(60));
    CHECK(def.role == "droplets");

    // The legacy bearer_token moves into authorization during validation.
    const auto& moved = decode_as<discovery::digitalocean::Config>("digitalocean", "{bearer_token: t}");
    REQUIRE(moved.http_client.authorization);
    CHECK(moved.http_client.authorization->credentials.value == "t");

    auto check_error = error_checker("digitalocean");
    check_error("{bearer_token: a, bearer_token_file: b}", k_bearer_conflict);
    check_error("{basic_auth: {username: u}, authorization: {credentials: c}}",
                "at most one of basic_auth, oauth2 & authorization must be configured");
    check_error("{bogus_key: 1}", "field bogus_key not found in type digitalocean.plain");
    check_error("{role: ''}", "role missing (one of: droplets, databases)");
    check_error("{role: ~}", "role missing (one of: droplets, databases)");
    check_error("{role: volumes}", "unknown DigitalOcean SD role \"volumes\"");

    auto check_warning = warning_checker("digitalocean");
    check_warning("{role: databases}", "field role is new in Prometheus 3.12; v2.45 rejects it");
    check_warning("{refresh_interval: 0s}", k_zero_refresh);
    CHECK(decode_as<discovery::digitalocean::Config>("digitalocean", "{role: databases}").role == "databases");
  }

  TEST_CASE("hetzner: full block, defaults and rules") {
    auto r = test::decode_sd("hetzner", "{role: hcloud, authorization: {credentials: t}, port: 9100, "
                                        "refresh_interval: 2m}");
    CHECK(r.errors.empty());
    const auto& c = config_of<discovery::hetzner::Config>(r);
    CHECK(c.role.value == "hcloud");
    CHECK(c.port == 9100);
    CHECK(c.refresh_interval == model::Duration::minutes(2));
    const auto& def =
        decode_as<discovery::hetzner::Config>("hetzner", "{role: robot, basic_auth: {username: u, password: p}}");
    CHECK(def.role.value == "robot");
    CHECK(def.port == 80);
    CHECK(def.refresh_interval == model::Duration::seconds(60));
    CHECK(def.label_selector.empty());

    auto check_error = error_checker("hetzner");
    check_error("{authorization: {credentials: t}}", "role missing (one of: robot, hcloud)");
    check_error("{role: ~}", "role missing (one of: robot, hcloud)");
    check_error("{role: invalid}", "unknown role \"invalid\"");
    check_error("{role: ''}", "unknown role \"\"");
    check_error("{role: Hcloud}", "unknown role \"Hcloud\"");
    check_error("{role: [hcloud]}", "cannot unmarshal !!seq into string");
    check_error("{role: robot, basic_auth: {username: u}, bearer_token: t}",
                "at most one of basic_auth, oauth2, bearer_token & bearer_token_file must be configured");
    check_error("{role: robot, bogus_key: 1}", "field bogus_key not found in type hetzner.plain");
    // The role hook stops Prometheus before the HTTP client is checked.
    auto bad = test::decode_sd("hetzner", "{role: cloud, bearer_token: a, bearer_token_file: b}");
    CHECK(error_count(bad) == 1);

    auto check_warning = warning_checker("hetzner");
    check_warning("{role: hcloud, label_selector: env=prod}",
                  "field label_selector is new in Prometheus 3.5; v2.45 rejects it");
    check_warning("{role: hcloud, refresh_interval: 0s}", k_zero_refresh);
  }

  TEST_CASE("ionos: full block, defaults and rules") {
    auto r = test::decode_sd("ionos", "{datacenter_id: 8feda53f-15f0-447f-badf-ebe32dad2fc0, "
                                      "basic_auth: {username: u, password: p}, port: 9100, refresh_interval: 2m}");
    CHECK(r.errors.empty());
    const auto& c = config_of<discovery::ionos::Config>(r);
    CHECK(c.datacenter_id == "8feda53f-15f0-447f-badf-ebe32dad2fc0");
    CHECK(c.port == 9100);
    CHECK(c.refresh_interval == model::Duration::minutes(2));
    const auto& def = decode_as<discovery::ionos::Config>("ionos", "{datacenter_id: d}");
    CHECK(def.port == 80);
    CHECK(def.refresh_interval == model::Duration::seconds(60));

    auto check_error = error_checker("ionos");
    check_error("{}", "datacenter id can't be empty");
    check_error("{datacenter_id: ''}", "datacenter id can't be empty");
    check_error("{datacenter_id: ~, bearer_token: a, bearer_token_file: b}", "datacenter id can't be empty");
    check_error("{datacenter_id: d, bearer_token: a, bearer_token_file: b}", k_bearer_conflict);
    check_error("{datacenter_id: d, bogus_key: 1}", "field bogus_key not found in type ionos.plain");
    warning_checker("ionos")("{datacenter_id: d, refresh_interval: 0s}", k_zero_refresh);
  }

  TEST_CASE("linode: full block, defaults and rules") {
    auto r = test::decode_sd("linode", "{authorization: {credentials: t}, port: 9100, refresh_interval: 2m, "
                                       "tag_separator: ';'}");
    CHECK(r.errors.empty());
    const auto& c = config_of<discovery::linode::Config>(r);
    CHECK(c.port == 9100);
    CHECK(c.refresh_interval == model::Duration::minutes(2));
    CHECK(c.tag_separator == ";");
    const auto& def = decode_as<discovery::linode::Config>("linode", "{}");
    CHECK(def.port == 80);
    CHECK(def.refresh_interval == model::Duration::seconds(60));
    CHECK(def.tag_separator == ",");
    CHECK(def.region.empty());

    auto check_error = error_checker("linode");
    check_error("{bearer_token: a, bearer_token_file: b}", k_bearer_conflict);
    check_error("{bogus_key: 1}", "field bogus_key not found in type linode.plain");
    auto check_warning = warning_checker("linode");
    check_warning("{region: us-east}", "field region is new in Prometheus 2.52; v2.45 rejects it");
    check_warning("{refresh_interval: 0s}", k_zero_refresh);
  }

  TEST_CASE("vultr: full block, defaults and rules") {
    auto r = test::decode_sd("vultr", "{authorization: {credentials: t}, port: 9100, refresh_interval: 2m}");
    CHECK(r.errors.empty());
    const auto& c = config_of<discovery::vultr::Config>(r);
    CHECK(c.port == 9100);
    CHECK(c.refresh_interval == model::Duration::minutes(2));
    const auto& def = decode_as<discovery::vultr::Config>("vultr", "{}");
    CHECK(def.port == 80);
    CHECK(def.refresh_interval == model::Duration::seconds(60));

    auto check_error = error_checker("vultr");
    check_error("{bearer_token: a, bearer_token_file: b}", k_bearer_conflict);
    check_error("{tag_separator: ','}", "field tag_separator not found in type vultr.plain");
    warning_checker("vultr")("{refresh_interval: 0s}", k_zero_refresh);
  }

  TEST_CASE("scaleway: full block and defaults") {
    auto r = test::decode_sd("scaleway", R"(
role: instance
project_id: 11111111-2222-3333-4444-555555555555
access_key: SCWABCDEFGHIJ0123456
secret_key: 66666666-7777-8888-9999-000000000000
zone: nl-ams-1
api_url: http://127.0.0.1:8080
name_filter: web
tags_filter: [prod, web]
port: 9100
refresh_interval: 2m
)");
    CHECK(r.errors.empty());
    const auto& c = config_of<discovery::scaleway::Config>(r);
    CHECK(c.role.value == "instance");
    CHECK(c.project_id == "11111111-2222-3333-4444-555555555555");
    CHECK(c.access_key == "SCWABCDEFGHIJ0123456");
    CHECK(c.zone == "nl-ams-1");
    CHECK(c.api_url == "http://127.0.0.1:8080");
    CHECK(c.name_filter == "web");
    CHECK(c.tags_filter == std::vector<std::string>{"prod", "web"});
    CHECK(c.port == 9100);
    CHECK(c.refresh_interval == model::Duration::minutes(2));
    CHECK(secrets_of(r) == std::vector<std::string>{"66666666-7777-8888-9999-000000000000"});

    auto d = test::decode_sd("scaleway", "{role: baremetal, " + std::string(k_scw_ids) +
                                             ", secret_key_file: /etc/prometheus/scw-secret}");
    CHECK(d.errors.empty());
    const auto& def = config_of<discovery::scaleway::Config>(d);
    CHECK(def.role.value == "baremetal");
    CHECK(def.secret_key_file == "/etc/prometheus/scw-secret");
    CHECK(def.api_url == "https://api.scaleway.com");
    CHECK(def.zone == "fr-par-1");
    CHECK(def.port == 80);
    CHECK(def.refresh_interval == model::Duration::seconds(60));
    CHECK(def.tags_filter.empty());
  }

  TEST_CASE("scaleway: rules") {
    auto check_error = error_checker("scaleway");
    std::string ids(k_scw_ids);
    std::string secret(k_scw_secret);
    check_error("{" + ids + ", " + secret + "}", "role missing (one of: instance, baremetal)");
    check_error("{role: ~, " + ids + ", " + secret + "}", "role missing (one of: instance, baremetal)");
    check_error("{role: invalid, " + ids + ", secret_key_file: bar}", "unknown role \"invalid\"");
    check_error("{role: ''}", "unknown role \"\"");
    check_error("{role: instance, access_key: SCWABCDEFGHIJ0123456, " + secret + "}", "project_id is mandatory");
    check_error("{role: instance, " + ids + "}", "one of secret_key & secret_key_file must be configured");
    check_error("{role: instance, " + ids + ", " + secret + ", secret_key_file: bar}",
                "at most one of secret_key & secret_key_file must be configured");
    check_error("{role: instance, project_id: 11111111-2222-3333-4444-555555555555, " + secret + "}",
                "access_key is mandatory");
    // The SDK client's checks, in its order.
    check_error("{role: instance, project_id: 11111111-2222-3333-4444-555555555555, access_key: ABC123, " + secret +
                    "}",
                "scaleway-sdk-go: invalid access key format 'ABC123', expected SCWXXXXXXXXXXXXXXXXX format");
    check_error("{role: instance, project_id: 11111111-2222-3333-4444-555555555555, "
                "access_key: SCWABCDEFGHIJ012345a, " +
                    secret + "}",
                "scaleway-sdk-go: invalid access key format 'SCWABCDEFGHIJ012345a', expected SCWXXXXXXXXXXXXXXXXX "
                "format");
    check_error("{role: instance, " + ids + ", secret_key: not-a-uuid}",
                "scaleway-sdk-go: invalid secret key format '<secret>', expected a UUID: "
                "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx");
    check_error("{role: instance, " + ids + ", secret_key: zz66666666-7777-8888-9999-000000000000}",
                "scaleway-sdk-go: invalid secret key format '<secret>', expected a "
                "UUID: xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx");
    check_error("{role: instance, project_id: 1111111G-2222-3333-4444-555555555555, "
                "access_key: SCWABCDEFGHIJ0123456, " +
                    secret + "}",
                "scaleway-sdk-go: invalid project ID format '1111111G-2222-3333-4444-555555555555', expected a "
                "UUID: xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx");
    check_error(scw("zone: ''"), "scaleway-sdk-go: default zone cannot be empty");
    check_error(scw("zone: paris"), "scaleway-sdk-go: invalid default zone format 'paris', available zones are: "
                                    "fr-par-1, fr-par-2, fr-par-3, nl-ams-1, nl-ams-2, pl-waw-1, pl-waw-2");
    check_error(scw("zone: fr-pari-1"), "scaleway-sdk-go: invalid default zone format 'fr-pari-1', available zones "
                                        "are: fr-par-1, fr-par-2, fr-par-3, nl-ams-1, nl-ams-2, pl-waw-1, pl-waw-2");
    check_error(scw("api_url: 'http://[::1'"), "scaleway-sdk-go: invalid url http://[::1");
    check_error(scw("api_url: '::'"), "scaleway-sdk-go: invalid url ::");
    check_error(scw("api_url: 'https://api.scaleway.com/'"),
                "scaleway-sdk-go: invalid url https://api.scaleway.com/ it should not have a trailing slash");
    check_error(scw("api_url: ''"),
                "empty api_url: Prometheus v2.45 crashes on it (slice bounds out of range in scaleway-sdk-go)");
    check_error(scw("bearer_token: a, bearer_token_file: b"), k_bearer_conflict);
    check_error(scw("bogus_key: 1"), "field bogus_key not found in type scaleway.plain");
    // Accepted: upper-case hex in UUIDs, an unlisted zone of the right shape,
    // a relative API URL, and a key file (a zero UUID stands in for it).
    check_clean("scaleway", scw("zone: fr-par-9"));
    check_clean("scaleway", scw("api_url: foo"));
    check_clean("scaleway", "{role: instance, project_id: 1111111A-2222-3333-4444-555555555555, "
                            "access_key: SCWABCDEFGHIJ0123456, secret_key: 6666666A-7777-8888-9999-000000000000}");
    check_clean("scaleway", "{role: instance, " + ids + ", secret_key_file: bar}");
    warning_checker("scaleway")(scw("refresh_interval: 0s"), k_zero_refresh);
  }

  TEST_CASE("ovhcloud: full block, defaults and rules") {
    auto r = test::decode_sd("ovhcloud", R"(
endpoint: http://127.0.0.1:8080/1.0
application_key: testAppKey
application_secret: testAppSecret
consumer_key: testConsumerKey
refresh_interval: 2m
service: dedicated_server
)");
    CHECK(r.errors.empty());
    const auto& c = config_of<discovery::ovhcloud::Config>(r);
    CHECK(c.endpoint == "http://127.0.0.1:8080/1.0");
    CHECK(c.application_key == "testAppKey");
    CHECK(c.service == "dedicated_server");
    CHECK(c.refresh_interval == model::Duration::minutes(2));
    auto secrets = secrets_of(r);
    CHECK(secrets == std::vector<std::string>{"testAppSecret", "testConsumerKey"});
    const auto& def = decode_as<discovery::ovhcloud::Config>(
        "ovhcloud", "{application_key: a, application_secret: b, consumer_key: c, service: vps}");
    CHECK(def.endpoint == "ovh-eu");
    CHECK(def.refresh_interval == model::Duration::seconds(60));

    auto check_error = error_checker("ovhcloud");
    check_error("{endpoint: '', application_key: a, application_secret: b, consumer_key: c, service: vps}",
                "endpoint can not be empty");
    check_error("{application_secret: b, consumer_key: c, service: vps}", "application key can not be empty");
    check_error("{application_key: a, consumer_key: c, service: dedicated_server}",
                "application secret can not be empty");
    check_error("{application_key: a, application_secret: b, service: vps}", "consumer key can not be empty");
    check_error("{application_key: a, application_secret: b, consumer_key: c, service: fakeservice}",
                "unknown service: fakeservice");
    check_error("{application_key: a, application_secret: b, consumer_key: c}", "unknown service: ");
    check_error("{application_key: a, application_secret: b, consumer_key: c, service: vps, port: 80}",
                "field port not found in type ovhcloud.plain");
    check_error("{application_key: a, application_secret: b, consumer_key: c, service: vps, bearer_token: t}",
                "field bearer_token not found in type ovhcloud.plain");

    // The endpoint is only resolved by the client built at each refresh.
    auto check_warning = warning_checker("ovhcloud");
    check_clean("ovhcloud", "{endpoint: kimsufi-ca, application_key: a, application_secret: b, consumer_key: c, "
                            "service: vps}");
    check_warning("{endpoint: ovh-de, application_key: a, application_secret: b, consumer_key: c, service: vps}",
                  "every refresh will fail: unknown endpoint 'ovh-de', consider checking 'Endpoints' list of using "
                  "an URL");
    check_warning("{endpoint: 'https://eu.api.ovh.com/1.0/', application_key: a, application_secret: b, "
                  "consumer_key: c, service: vps}",
                  "every refresh will fail: endpoint name cannot have a tailing slash");
    check_warning("{application_key: a, application_secret: b, consumer_key: c, service: vps, refresh_interval: 0s}",
                  k_zero_refresh);
  }

  TEST_CASE("openstack: full block and defaults") {
    auto r = test::decode_sd("openstack", R"(
identity_endpoint: http://127.0.0.1:5000/v3/
username: admin
userid: 0123
password: pw
project_name: demo
project_id: p1
domain_name: Default
domain_id: default
application_credential_name: app
application_credential_id: appid
application_credential_secret: appsecret
role: instance
region: RegionOne
refresh_interval: 2m
port: 9100
all_tenants: true
tls_config: {insecure_skip_verify: true}
availability: internal
)");
    CHECK(r.errors.empty());
    const auto& c = config_of<discovery::openstack::Config>(r);
    CHECK(c.identity_endpoint == "http://127.0.0.1:5000/v3/");
    CHECK(c.username == "admin");
    CHECK(c.userid == "0123");
    CHECK(c.project_name == "demo");
    CHECK(c.project_id == "p1");
    CHECK(c.domain_name == "Default");
    CHECK(c.domain_id == "default");
    CHECK(c.application_credential_name == "app");
    CHECK(c.application_credential_id == "appid");
    CHECK(c.role.value == "instance");
    CHECK(c.region == "RegionOne");
    CHECK(c.refresh_interval == model::Duration::minutes(2));
    CHECK(c.port == 9100);
    CHECK(c.all_tenants);
    CHECK(c.tls_config.insecure_skip_verify);
    CHECK(c.availability == "internal");
    CHECK(secrets_of(r) == std::vector<std::string>{"pw", "appsecret"});

    const auto& def = decode_as<discovery::openstack::Config>("openstack", "{role: hypervisor, region: r}");
    CHECK(def.availability == "public");
    CHECK(def.port == 80);
    CHECK(def.refresh_interval == model::Duration::seconds(60));
    CHECK(!def.all_tenants);
  }

  TEST_CASE("openstack: rules") {
    auto check_error = error_checker("openstack");
    check_error("{availability: invalid}", "unknown availability invalid, must be one of admin, internal or public");
    check_error("{role: instance, region: r, availability: ~}",
                "unknown availability , must be one of admin, internal or public");
    check_error("{region: r}", "role missing (one of: instance, hypervisor)");
    check_error("{role: ~, region: r}", "role missing (one of: instance, hypervisor)");
    check_error("{role: invalid}", "unknown OpenStack SD role \"invalid\"");
    check_error("{role: ''}", "unknown OpenStack SD role \"\"");
    // The role's own hook runs while decoding, before the availability check.
    check_error("{role: bogus, availability: bad}", "unknown OpenStack SD role \"bogus\"");
    check_error("{role: instance}", "openstack SD configuration requires a region");
    check_error("{role: instance, region: r, tls_config: {ca: a, ca_file: b}}",
                "at most one of ca and ca_file must be configured");
    check_error("{role: instance, region: r, bearer_token: t}", "field bearer_token not found in type openstack.plain");
    check_clean("openstack", "{role: hypervisor, region: r, availability: admin}");

    auto check_warning = warning_checker("openstack");
    // 3.2's role: v2.45's hook rejects it, with a note naming the release.
    auto lb = test::decode_sd("openstack", "{role: loadbalancer, region: r}");
    CHECK(test::first_error(lb) == "unknown OpenStack SD role \"loadbalancer\"");
    CHECK(error_count(lb) == 1);
    CHECK(has_warning(lb, "role \"loadbalancer\" is new in Prometheus 3.2; v2.45 rejects it"));
    check_warning("{role: instance, region: r, refresh_interval: 0s}", k_zero_refresh);
  }

  TEST_CASE("aws (3.8+): full block, defaults and rules") {
    auto r = test::decode_sd("aws", R"(
role: ecs
region: eu-west-1
endpoint: http://127.0.0.1:8080
access_key: AKIAEXAMPLE
secret_key: example-secret
profile: p
role_arn: arn:aws:iam::123456789012:role/prom
refresh_interval: 2m
port: 9100
filters: [{name: tag:env, values: [prod]}]
clusters: [arn:aws:ecs:eu-west-1:123456789012:cluster/main]
)");
    CHECK(r.errors.empty());
    const auto& c = config_of<discovery::aws::Config>(r);
    CHECK(c.role == "ecs");
    CHECK(c.access.region == "eu-west-1");
    CHECK(c.access.endpoint == "http://127.0.0.1:8080");
    CHECK(c.refresh_interval == model::Duration::minutes(2));
    CHECK(c.port == 9100);
    CHECK(c.filters.size() == 1);
    CHECK(c.clusters == std::vector<std::string>{"arn:aws:ecs:eu-west-1:123456789012:cluster/main"});
    const auto& def = decode_as<discovery::aws::Config>("aws", "{role: ec2}");
    CHECK(def.port == 80);
    CHECK(def.refresh_interval == model::Duration::seconds(60));

    auto check_error = error_checker("aws");
    check_error("{}", "unknown AWS SD role \"\"");
    check_error("{role: s3}", "unknown AWS SD role \"s3\"");
    check_error("{role: ec2, request_concurrency: 5}", "field request_concurrency not found in type aws.plain");
    // Neither the EC2 filter check nor the HTTP client validation runs here.
    check_clean("aws", "{role: ec2, filters: [{name: a, values: []}], bearer_token: a, bearer_token_file: b}");
    check_clean("aws", "{role: lightsail}");

    auto check_warning = warning_checker("aws");
    check_warning("{role: msk}", "role \"msk\" is new in Prometheus 3.10; v2.45 rejects it");
    check_warning("{role: elasticache}", "role \"elasticache\" is new in Prometheus 3.11; v2.45 rejects it");
    check_warning("{role: rds}", "role \"rds\" is new in Prometheus 3.11; v2.45 rejects it");
    check_warning("{role: ec2, external_id: e}", "field external_id is new in Prometheus 3.12; v2.45 rejects it");
    check_warning("{role: ec2, refresh_interval: 0s}", k_zero_refresh);
  }

  TEST_CASE("ecs, msk, elasticache, rds: full blocks, defaults and rules") {
    auto full = [](std::string_view extra) {
      return "{region: eu-west-1, endpoint: 'http://127.0.0.1:8080', access_key: AKIAEXAMPLE, secret_key: s, "
             "profile: p, role_arn: 'arn:aws:iam::123456789012:role/prom', clusters: [c1, c2], port: 9100, "
             "refresh_interval: 2m, request_concurrency: 5" +
             std::string(extra) + "}";
    };
    auto e = test::decode_sd("ecs", full(""));
    CHECK(e.errors.empty());
    const auto& ecs = config_of<discovery::ecs::Config>(e);
    CHECK(ecs.access.region == "eu-west-1");
    CHECK(ecs.clusters == std::vector<std::string>{"c1", "c2"});
    CHECK(ecs.port == 9100);
    CHECK(ecs.refresh_interval == model::Duration::minutes(2));
    CHECK(ecs.request_concurrency == 5);
    CHECK(decode_as<discovery::ecs::Config>("ecs", "{}").request_concurrency == 20);

    auto m = test::decode_sd("msk", full(""));
    CHECK(m.errors.empty());
    CHECK(config_of<discovery::msk::Config>(m).clusters.size() == 2);
    const auto& msk_def = decode_as<discovery::msk::Config>("msk", "{}");
    CHECK(msk_def.request_concurrency == 10);
    CHECK(msk_def.port == 80);
    CHECK(msk_def.refresh_interval == model::Duration::seconds(60));

    auto ec = test::decode_sd("elasticache", full(""));
    CHECK(ec.errors.empty());
    CHECK(decode_as<discovery::elasticache::Config>("elasticache", "{}").request_concurrency == 10);

    auto rd = test::decode_sd("rds", full(", filters: [{name: engine, values: [aurora-mysql]}]"));
    CHECK(rd.errors.empty());
    const auto& rds = config_of<discovery::rds::Config>(rd);
    REQUIRE(rds.filters.size() == 1);
    CHECK(rds.filters[0]->name == "engine");
    CHECK(decode_as<discovery::rds::Config>("rds", "{}").request_concurrency == 10);

    for (std::string_view mech : {"ecs", "msk", "elasticache", "rds"}) {
      INFO(mech);
      auto check_error = error_checker(mech);
      // These standalone keys validate their HTTP client block.
      check_error("{bearer_token: a, bearer_token_file: b}", k_bearer_conflict);
      check_error("{role: ec2}", "field role not found in type aws.plain");
      check_clean(mech, "{}");
      auto check_warning = warning_checker(mech);
      check_warning("{external_id: e}", "field external_id is new in Prometheus 3.12; v2.45 rejects it");
      check_warning("{refresh_interval: 0s}", k_zero_refresh);
    }
    error_checker("ecs")("{filters: []}", "field filters not found in type aws.plain");
    // RDS filters are passed on without the EC2 check.
    check_clean("rds", "{filters: [{name: engine, values: []}]}");
  }

  TEST_CASE("oci (3.14+): full block, defaults and rules") {
    auto r = test::decode_sd("oci", R"(
auth: api_key
tenancy: ocid1.tenancy.oc1..aaa
user: ocid1.user.oc1..bbb
fingerprint: "12:34:56"
key_file: /etc/prometheus/oci.pem
key_passphrase: pass
region: eu-frankfurt-1
compartments: [ocid1.compartment.oc1..ccc]
port: 9100
refresh_interval: 2m
authorization: {credentials: unused}
)");
    CHECK(r.errors.empty());
    const auto& c = config_of<discovery::oci::Config>(r);
    CHECK(c.auth == "api_key");
    CHECK(c.tenancy == "ocid1.tenancy.oc1..aaa");
    CHECK(c.user == "ocid1.user.oc1..bbb");
    CHECK(c.fingerprint == "12:34:56");
    CHECK(c.key_file == "/etc/prometheus/oci.pem");
    CHECK(c.region == "eu-frankfurt-1");
    CHECK(c.compartments.size() == 1);
    CHECK(c.port == 9100);
    CHECK(c.refresh_interval == model::Duration::minutes(2));
    CHECK(secrets_of(r) == std::vector<std::string>{"pass", "unused"});
    auto d = test::decode_sd("oci", "{auth: instance_principal, region: r}");
    CHECK(d.errors.empty());
    const auto& def = config_of<discovery::oci::Config>(d);
    CHECK(def.port == 80);
    CHECK(def.refresh_interval == model::Duration::seconds(60));
    CHECK(decode_as<discovery::oci::Config>("oci", "{region: r, tenancy: t, user: u, fingerprint: f, key_file: k}")
              .auth == "api_key");

    auto check_error = error_checker("oci");
    std::string key = "tenancy: t, user: u, fingerprint: f, key_file: k";
    check_error("{" + key + "}", "oci_sd: region is required");
    check_error("{auth: bogus}", "oci_sd: region is required");
    check_error("{region: r}", "oci_sd: api_key auth requires tenancy");
    check_error("{region: r, tenancy: t}", "oci_sd: api_key auth requires user");
    check_error("{region: r, tenancy: t, user: u}", "oci_sd: api_key auth requires fingerprint");
    check_error("{region: r, tenancy: t, user: u, fingerprint: f}", "oci_sd: api_key auth requires key_file");
    check_error("{region: r, " + key + ", key_passphrase: p, key_passphrase_file: pf}",
                "oci_sd: at most one of key_passphrase and key_passphrase_file must be configured");
    std::string principal_error = "oci_sd: instance_principal auth must not have tenancy, user, fingerprint, "
                                  "key_file, key_passphrase, or key_passphrase_file set";
    check_error("{auth: instance_principal, region: r, tenancy: t}", principal_error);
    check_error("{auth: instance_principal, region: r, key_passphrase_file: pf}", principal_error);
    check_error("{auth: ApiKey, region: r}",
                "oci_sd: unknown auth method \"ApiKey\", expected \"api_key\" or \"instance_principal\"");
    check_error("{auth: instance_principal, region: r, compartments: [a, '']}",
                "oci_sd: compartments[1] must not be empty");
    check_error("{auth: instance_principal, region: r, refresh_interval: 0s}",
                "oci_sd: refresh_interval must be positive, got 0s");
    check_error("{auth: instance_principal, region: r, bearer_token: a, bearer_token_file: b}", k_bearer_conflict);
    check_error("{auth: instance_principal, region: r, bogus_key: 1}", "field bogus_key not found in type oci.plain");
  }

  TEST_CASE("outscale (3.12+): full block, defaults and rules") {
    auto r = test::decode_sd("outscale", "{endpoint: 'http://127.0.0.1:8080/api/v1', region: eu-west-2, "
                                         "access_key: AK, secret_key: SK, refresh_interval: 2m, port: 9100}");
    CHECK(r.errors.empty());
    const auto& c = config_of<discovery::outscale::Config>(r);
    CHECK(c.endpoint == "http://127.0.0.1:8080/api/v1");
    CHECK(c.access_key == "AK");
    CHECK(c.port == 9100);
    CHECK(c.refresh_interval == model::Duration::minutes(2));
    CHECK(secrets_of(r) == std::vector<std::string>{"SK"});
    auto d = test::decode_sd("outscale", "{access_key: AK, secret_key_file: /etc/prometheus/osc}");
    CHECK(d.errors.empty());
    const auto& def = config_of<discovery::outscale::Config>(d);
    CHECK(def.region == "eu-west-2");
    // Filled in at load from the region.
    CHECK(def.endpoint == "https://api.eu-west-2.outscale.com/api/v1");
    CHECK(def.port == 80);
    CHECK(def.refresh_interval == model::Duration::seconds(60));

    auto check_error = error_checker("outscale");
    check_error("{region: '', access_key: AK, secret_key: SK}", "outscale SD configuration requires a region");
    check_error("{secret_key: SK}", "outscale SD configuration requires access_key");
    check_error("{access_key: AK}", "one of secret_key & secret_key_file must be configured");
    check_error("{access_key: AK, secret_key: SK, secret_key_file: f}",
                "at most one of secret_key & secret_key_file must be configured");
    check_error("{access_key: AK, secret_key: SK, bearer_token: a, bearer_token_file: b}", k_bearer_conflict);
    check_error("{access_key: AK, secret_key: SK, bogus_key: 1}", "field bogus_key not found in type outscale.plain");
    warning_checker("outscale")("{access_key: AK, secret_key: SK, refresh_interval: 0s}", k_zero_refresh);
  }

  TEST_CASE("stackit (3.5+): full block, defaults and rules") {
    auto r = test::decode_sd("stackit", R"(
project: 11111111-2222-3333-4444-555555555555
refresh_interval: 2m
port: 9100
region: eu01
endpoint: http://127.0.0.1:8080
service_account_key: '{"id": "x"}'
private_key: pem
service_account_key_path: /etc/prometheus/sa.json
private_key_path: /etc/prometheus/key.pem
credentials_file_path: /etc/prometheus/credentials.json
authorization: {credentials: token}
)");
    CHECK(r.errors.empty());
    const auto& c = config_of<discovery::stackit::Config>(r);
    CHECK(c.project == "11111111-2222-3333-4444-555555555555");
    CHECK(c.endpoint == "http://127.0.0.1:8080");
    CHECK(c.service_account_key_path == "/etc/prometheus/sa.json");
    CHECK(c.private_key_path == "/etc/prometheus/key.pem");
    CHECK(c.credentials_file_path == "/etc/prometheus/credentials.json");
    CHECK(c.port == 9100);
    CHECK(c.refresh_interval == model::Duration::minutes(2));
    CHECK(secrets_of(r) == std::vector<std::string>{"token", "{\"id\": \"x\"}", "pem"});
    const auto& def = decode_as<discovery::stackit::Config>("stackit", "{}");
    CHECK(def.region == "eu01");
    CHECK(def.endpoint.empty());
    CHECK(def.port == 80);
    CHECK(def.refresh_interval == model::Duration::seconds(60));

    auto check_error = error_checker("stackit");
    check_error("{region: ''}", "stackit_sd: endpoint and region missing");
    check_error("{endpoint: 'http://[::1'}",
                "stackit_sd: invalid endpoint \"http://[::1\": parse \"http://[::1\": missing ']' in host");
    check_error("{bearer_token: a, bearer_token_file: b}", k_bearer_conflict);
    check_error("{bogus_key: 1}", "field bogus_key not found in type stackit.plain");
    check_clean("stackit", "{region: '', endpoint: 'http://127.0.0.1:8080'}");
    warning_checker("stackit")("{refresh_interval: 0s}", k_zero_refresh);
  }

  TEST_CASE("registry: cloud mechanisms, their release and Debian's build") {
    struct Want {
      std::string_view name;
      std::string_view since;
      bool in_debian;
    };
    constexpr Want k_want[] = {
        {"aws", "3.8", false},     {"azure", "", true},     {"digitalocean", "", true},
        {"ec2", "", true},         {"ecs", "3.8", false},   {"elasticache", "3.11", false},
        {"gce", "", true},         {"hetzner", "", true},   {"ionos", "", true},
        {"lightsail", "", true},   {"linode", "", false},   {"msk", "3.10", false},
        {"oci", "3.14", false},    {"openstack", "", true}, {"outscale", "3.12", false},
        {"ovhcloud", "", true},    {"rds", "3.11", false},  {"scaleway", "", true},
        {"stackit", "3.5", false}, {"vultr", "", true},
    };
    for (const Want& w : k_want) {
      INFO(w.name);
      const discovery::Mechanism* m = discovery::find_mechanism(w.name);
      REQUIRE(m != nullptr);
      CHECK(m->key == std::string(w.name) + "_sd_configs");
      CHECK(m->since == w.since);
      CHECK(m->in_debian == w.in_debian);
    }
  }

  TEST_CASE("post-2.45 mechanisms get a lint note where their key is read") {
    auto diags = config_diagnostics(R"(
scrape_configs:
  - job_name: cloud
    aws_sd_configs: [{role: ec2, region: r}]
    ecs_sd_configs: [{region: r}]
    msk_sd_configs: [{region: r}]
    elasticache_sd_configs: [{region: r}]
    rds_sd_configs: [{region: r}]
    oci_sd_configs: [{auth: instance_principal, region: r}]
    outscale_sd_configs: [{access_key: a, secret_key: s}]
    stackit_sd_configs: [{project: p}]
)");
    std::vector<std::string> want = {
        "4:5: warning: field aws_sd_configs is new in Prometheus 3.8; v2.45 rejects it",
        "5:5: warning: field ecs_sd_configs is new in Prometheus 3.8; v2.45 rejects it",
        "6:5: warning: field msk_sd_configs is new in Prometheus 3.10; v2.45 rejects it",
        "7:5: warning: field elasticache_sd_configs is new in Prometheus 3.11; v2.45 rejects it",
        "8:5: warning: field rds_sd_configs is new in Prometheus 3.11; v2.45 rejects it",
        "9:5: warning: field oci_sd_configs is new in Prometheus 3.14; v2.45 rejects it",
        "10:5: warning: field outscale_sd_configs is new in Prometheus 3.12; v2.45 rejects it",
        "11:5: warning: field stackit_sd_configs is new in Prometheus 3.5; v2.45 rejects it",
    };
    CHECK(diags == want);
  }
}
