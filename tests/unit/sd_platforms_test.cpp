// Config blocks of the platform and registry SD mechanisms: defaults, every
// load-time rule with Prometheus v2.45's exact message, and the fields that
// only later releases know.
#include <doctest/doctest.h>

#include <algorithm>
#include <functional>
#include <string>
#include <string_view>

#include <fmt/format.h>

#include "discovery/consul.h"
#include "discovery/dns.h"
#include "discovery/docker.h"
#include "discovery/dockerswarm.h"
#include "discovery/eureka.h"
#include "discovery/kubernetes.h"
#include "discovery/kuma.h"
#include "discovery/marathon.h"
#include "discovery/nerve.h"
#include "discovery/nomad.h"
#include "discovery/puppetdb.h"
#include "discovery/serverset.h"
#include "discovery/triton.h"
#include "discovery/uyuni.h"
#include "yaml/visit.h"
#include "test_util.h"

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

constexpr std::string_view k_zero_refresh =
    "refresh_interval 0 is accepted by Prometheus but makes its discovery panic at run time (non-positive interval "
    "for NewTicker)";

} // namespace

TEST_SUITE("sd_platforms") {
  TEST_CASE("consul: full block and defaults") {
    auto r = test::decode_sd("consul", R"(
server: 127.0.0.1:8500
path_prefix: /consul
token: s3cr3t
datacenter: dc1
namespace: ns
partition: part
tag_separator: ";"
scheme: https
username: user
password: pass
allow_stale: false
refresh_interval: 10s
services: [web, db]
tags: [prod]
node_meta: {rack: a}
tls_config: {insecure_skip_verify: true}
follow_redirects: false
)");
    CHECK(r.errors.empty());
    const auto& c = config_of<discovery::consul::Config>(r);
    CHECK(c.server == "127.0.0.1:8500");
    CHECK(c.path_prefix == "/consul");
    CHECK(c.namespace_ == "ns");
    CHECK(c.partition == "part");
    CHECK(c.tag_separator == ";");
    CHECK(c.scheme == "https");
    CHECK(!c.allow_stale);
    CHECK(c.refresh_interval == model::Duration::seconds(10));
    CHECK(c.services == std::vector<std::string>{"web", "db"});
    CHECK(c.tags == std::vector<std::string>{"prod"});
    CHECK(c.node_meta.at("rack") == "a");
    CHECK(!c.http_client.follow_redirects);
    // Prometheus moves username and password into basic_auth.
    REQUIRE(c.http_client.basic_auth);
    CHECK(c.http_client.basic_auth->username == "user");
    CHECK(c.http_client.basic_auth->password.value == "pass");
    auto secrets = secrets_of(r);
    CHECK(std::count(secrets.begin(), secrets.end(), "s3cr3t") == 1);

    auto d = test::decode_sd("consul", "{}");
    CHECK(d.errors.empty());
    const auto& def = config_of<discovery::consul::Config>(d);
    CHECK(def.server == "localhost:8500");
    CHECK(def.scheme == "http");
    CHECK(def.tag_separator == ",");
    CHECK(def.allow_stale);
    CHECK(def.refresh_interval == model::Duration::seconds(30));
    CHECK(def.services.empty());
    CHECK(!def.http_client.basic_auth);
    CHECK(def.http_client.follow_redirects);
    CHECK(def.http_client.enable_http2);
  }

  TEST_CASE("consul: rules") {
    auto check_error = error_checker("consul");
    check_error("{server: ''}", "consul SD configuration requires a server address");
    check_error("{server: \" \\t\\u00A0\"}", "consul SD configuration requires a server address");
    check_error("{server: ~}", "consul SD configuration requires a server address");
    check_error("{username: u, basic_auth: {username: v}}",
                "at most one of consul SD configuration username and password and basic auth can be configured");
    check_error("{password: p, basic_auth: {username: v}}",
                "at most one of consul SD configuration username and password and basic auth can be configured");
    check_error("{token: t, authorization: {credentials: c}}",
                "at most one of consul SD token, authorization, or oauth2 can be configured");
    check_error("{token: t, oauth2: {client_id: i, client_secret: s, token_url: 'http://127.0.0.1/'}}",
                "at most one of consul SD token, authorization, or oauth2 can be configured");
    // The username becomes basic_auth before the HTTP client is validated.
    check_error("{username: u, bearer_token: b}",
                "at most one of basic_auth, oauth2, bearer_token & bearer_token_file must be configured");
    check_error("{bearer_token: a, bearer_token_file: b}",
                "at most one of bearer_token & bearer_token_file must be configured");
    check_error("{bogus_key: 1}", "field bogus_key not found in type consul.plain");
    check_error("{services: web}", "cannot unmarshal !!str `web` into []string");

    auto filter = test::decode_sd("consul", "{filter: 'Service.Tags contains \"x\"', health_filter: x}");
    CHECK(error_count(filter) == 0);
    CHECK(has_warning(filter, "field filter is new in Prometheus 3.0; v2.45 rejects it"));
    CHECK(has_warning(filter, "field health_filter is new in Prometheus 3.11.2; v2.45 rejects it"));
    CHECK(has_warning(test::decode_sd("consul", "{refresh_interval: 0s}"), k_zero_refresh));
  }

  TEST_CASE("dns: full block, defaults and rules") {
    auto r = test::decode_sd("dns", "{names: [a.example, b.example], type: a, port: 9100, refresh_interval: 1m}");
    CHECK(r.errors.empty());
    const auto& c = config_of<discovery::dns::Config>(r);
    CHECK(c.names.size() == 2);
    CHECK(c.type == "a");
    CHECK(c.port == 9100);
    CHECK(c.refresh_interval == model::Duration::minutes(1));
    auto defaults = test::decode_sd("dns", "{names: [_x._tcp.example]}");
    const auto& def = config_of<discovery::dns::Config>(defaults);
    CHECK(def.type == "SRV");
    CHECK(def.port == 0);
    CHECK(def.refresh_interval == model::Duration::seconds(30));

    auto check_error = error_checker("dns");
    check_error("{}", "DNS-SD config must contain at least one SRV record name");
    check_error("{names: [], type: A, port: 80}", "DNS-SD config must contain at least one SRV record name");
    check_error("{names: [a], type: A}", "a port is required in DNS-SD configs for all record types except SRV");
    check_error("{names: [a], type: aaaa}", "a port is required in DNS-SD configs for all record types except SRV");
    check_error("{names: [a], type: MX, port: 0}",
                "a port is required in DNS-SD configs for all record types except SRV");
    check_error("{names: [a], type: TXT, port: 53}", "invalid DNS-SD records type TXT");
    check_error("{names: [a], type: ~}", "invalid DNS-SD records type ");
    check_error("{names: [a], port: x}", "cannot unmarshal !!str `x` into int");
    check_error("{names: [a], basic_auth: {username: u}}", "field basic_auth not found in type dns.plain");
    // Negative ports and SRV without a port are accepted; Go's ToUpper
    // turns U+017F into 'S'.
    check_clean("dns", "{names: [a], type: A, port: -1}");
    check_clean("dns", "{names: [a], type: srv}");
    check_clean("dns", "{names: [a], type: \"\\u017Frv\"}");

    auto ns = test::decode_sd("dns", "{names: [a], type: NS, port: 53}");
    CHECK(test::first_error(ns) == "invalid DNS-SD records type NS");
    CHECK(has_warning(ns, "record type NS is new in Prometheus 2.49; v2.45 rejects it"));
    CHECK(has_warning(test::decode_sd("dns", "{names: [a], refresh_interval: 0s}"), k_zero_refresh));
  }

  TEST_CASE("docker: full block, defaults and rules") {
    auto r = test::decode_sd("docker", R"(
host: http://127.0.0.1:2375
port: 8080
host_networking_host: 127.0.0.1
filters: [{name: label, values: [a=b, c]}]
refresh_interval: 30s
basic_auth: {username: u, password: p}
)");
    CHECK(r.errors.empty());
    const auto& c = config_of<discovery::docker::Config>(r);
    CHECK(c.host == "http://127.0.0.1:2375");
    CHECK(c.port == 8080);
    CHECK(c.host_networking_host == "127.0.0.1");
    REQUIRE(c.filters.size() == 1);
    CHECK(c.filters[0].name == "label");
    CHECK(c.filters[0].values == std::vector<std::string>{"a=b", "c"});
    CHECK(c.refresh_interval == model::Duration::seconds(30));
    auto defaults = test::decode_sd("docker", "{host: unix:///run/d.sock}");
    const auto& def = config_of<discovery::docker::Config>(defaults);
    CHECK(def.port == 80);
    CHECK(def.host_networking_host == "localhost");
    CHECK(def.filters.empty());
    CHECK(!def.match_first_network); // absent: v2.45 behaviour
    CHECK(def.refresh_interval == model::Duration::seconds(60));

    auto check_error = error_checker("docker");
    check_error("{}", "host missing");
    check_error("{host: ~}", "host missing");
    check_error("{host: 'tcp://[::1'}", "parse \"tcp://[::1\": missing ']' in host");
    check_error("{host: h, filters: [{name: label, value: x}]}",
                "field value not found in type moby.Filter (did you mean values?)");
    check_error("{host: h, basic_auth: {username: u}, oauth2: {client_id: i}}",
                "at most one of basic_auth, oauth2 & authorization must be configured");
    check_error("{host: h, role: nodes}", "field role not found in type moby.plain");
    auto later = test::decode_sd("docker", "{host: h, match_first_network: false}");
    CHECK(error_count(later) == 0);
    CHECK(has_warning(later, "field match_first_network is new in Prometheus 2.54; v2.45 rejects it"));
    CHECK(has_warning(test::decode_sd("docker", "{host: h, refresh_interval: 0s}"), k_zero_refresh));
  }

  TEST_CASE("dockerswarm: full block, defaults and rules") {
    auto r = test::decode_sd("dockerswarm", R"(
host: tcp://127.0.0.1:2376
role: tasks
port: 9323
filters: [{name: desired-state, values: [running]}]
refresh_interval: 2m
tls_config: {insecure_skip_verify: true}
)");
    CHECK(r.errors.empty());
    const auto& c = config_of<discovery::dockerswarm::Config>(r);
    CHECK(c.role == "tasks");
    CHECK(c.port == 9323);
    CHECK(c.filters.size() == 1);
    CHECK(c.refresh_interval == model::Duration::minutes(2));
    auto defaults = test::decode_sd("dockerswarm", "{host: h, role: nodes}");
    const auto& def = config_of<discovery::dockerswarm::Config>(defaults);
    CHECK(def.port == 80);
    CHECK(def.refresh_interval == model::Duration::seconds(60));

    auto check_error = error_checker("dockerswarm");
    check_error("{role: nodes}", "host missing");
    check_error("{host: 'http://[::1', role: nodes}", "parse \"http://[::1\": missing ']' in host");
    check_error("{host: h}", "role missing (one of: tasks, services, nodes)");
    check_error("{host: h, role: containers}", "invalid role containers, expected tasks, services, or nodes");
    check_error("{host: h, role: nodes, basic_auth: {password: a, password_file: b}}",
                "at most one of basic_auth password & password_file must be configured");
    check_error("{host: h, role: nodes, host_networking_host: x}",
                "field host_networking_host not found in type moby.plain");
  }

  TEST_CASE("eureka: full block, defaults and rules") {
    auto r = test::decode_sd("eureka", "{server: 'http://127.0.0.1:8761/eureka', refresh_interval: 10s, "
                                       "authorization: {credentials: c}}");
    CHECK(r.errors.empty());
    const auto& c = config_of<discovery::eureka::Config>(r);
    CHECK(c.server == "http://127.0.0.1:8761/eureka");
    CHECK(c.refresh_interval == model::Duration::seconds(10));
    REQUIRE(c.http_client.authorization);
    CHECK(c.http_client.authorization->type == "Bearer");
    CHECK(config_of<discovery::eureka::Config>(test::decode_sd("eureka", "{server: 'http://h'}")).refresh_interval ==
          model::Duration::seconds(30));

    auto check_error = error_checker("eureka");
    check_error("{}", "eureka_sd: empty or null eureka server");
    check_error("{server: ~}", "eureka_sd: empty or null eureka server");
    check_error("{server: eureka.com}", "eureka_sd: invalid eureka server URL");
    check_error("{server: /eureka}", "eureka_sd: invalid eureka server URL");
    check_error("{server: 'http://[::1'}", "parse \"http://[::1\": missing ']' in host");
    check_error("{server: 'http://h', bearer_token: b, authorization: {credentials: c}}",
                "authorization is not compatible with bearer_token & bearer_token_file");
  }

  TEST_CASE("kubernetes: full block and defaults") {
    auto r = test::decode_sd("kubernetes", R"(
api_server: https://127.0.0.1:6443/prefix
role: endpointslice
namespaces: {names: [default, kube-system]}
selectors:
  - {role: pod, label: "app in (web, api),!canary", field: "spec.nodeName=n1"}
  - {role: service, label: tier=front}
  - {role: endpointslice, field: "metadata.name!=x"}
attach_metadata: {node: true}
bearer_token: tok
tls_config: {insecure_skip_verify: true}
)");
    CHECK(r.errors.empty());
    const auto& c = config_of<discovery::kubernetes::Config>(r);
    REQUIRE(c.api_server);
    CHECK(c.api_server->host == "127.0.0.1:6443");
    CHECK(c.api_server->path == "/prefix");
    CHECK(c.role.value == "endpointslice");
    CHECK(c.namespaces.names == std::vector<std::string>{"default", "kube-system"});
    CHECK(!c.namespaces.own_namespace);
    REQUIRE(c.selectors.size() == 3);
    CHECK(c.selectors[0].role.value == "pod");
    CHECK(c.selectors[0].field == "spec.nodeName=n1");
    CHECK(c.attach_metadata.node);
    // bearer_token has become authorization, as in Prometheus.
    REQUIRE(c.http_client.authorization);
    CHECK(c.http_client.authorization->credentials.value == "tok");
    CHECK(secrets_of(r) == std::vector<std::string>{"tok"});

    auto d = test::decode_sd("kubernetes", "{role: pod}");
    CHECK(d.errors.empty());
    const auto& def = config_of<discovery::kubernetes::Config>(d);
    CHECK(!def.api_server);
    CHECK(def.kubeconfig_file.empty());
    CHECK(def.selectors.empty());
    CHECK(!def.attach_metadata.node);

    auto kubeconfig = test::decode_sd("kubernetes", "{role: node, kubeconfig_file: conf/kubeconfig}");
    CHECK(kubeconfig.errors.empty());
    yaml::PathJoiner joiner("/etc/prometheus");
    kubeconfig.config->accept(joiner);
    CHECK(config_of<discovery::kubernetes::Config>(kubeconfig).kubeconfig_file ==
          "/etc/prometheus/conf/kubeconfig");
    check_clean("kubernetes", "{role: service, namespaces: {own_namespace: true}}");
    check_clean("kubernetes", "{role: ingress, api_server: ~, kubeconfig_file: k}");
  }

  TEST_CASE("kubernetes: role and client rules, in Prometheus's order") {
    auto check_error = error_checker("kubernetes");
    check_error("{}", "role missing (one of: pod, service, endpoints, endpointslice, node, ingress)");
    check_error("{role: ~}", "role missing (one of: pod, service, endpoints, endpointslice, node, ingress)");
    auto bad_role = test::decode_sd("kubernetes", "{api_server: 'kubernetes:443', role: vacation}");
    CHECK(test::first_error(bad_role) == "unknown Kubernetes SD role \"vacation\"");
    CHECK(bad_role.errors.size() == 1);
    check_error("{role: Pod}", "unknown Kubernetes SD role \"Pod\"");
    // A quoted "" is not null, so the role's own hook rejects it.
    auto empty_role = test::decode_sd("kubernetes", "{role: ''}");
    CHECK(test::first_error(empty_role) == "unknown Kubernetes SD role \"\"");
    CHECK(empty_role.errors.size() == 1);
    check_error("{role: [pod]}", "cannot unmarshal !!seq into string");
    check_error("{role: pod, api_server: [a]}", "cannot unmarshal !!seq into string");
    check_error("{role: pod, api_server: 'http://[::1'}", "parse \"http://[::1\": missing ']' in host");
    check_error("{role: node, api_server: 'https://localhost:1234', bearer_token: 1234, bearer_token_file: f}",
                "at most one of bearer_token & bearer_token_file must be configured");
    check_error("{role: pod, api_server: 'https://localhost:1234', bearer_token: 1, basic_auth: {username: u}}",
                "at most one of basic_auth, oauth2, bearer_token & bearer_token_file must be configured");
    check_error("{role: pod, api_server: 'https://localhost:1234', authorization: {credentials: 1}, "
                "basic_auth: {username: u}}",
                "at most one of basic_auth, oauth2 & authorization must be configured");
    // The HTTP client is validated before the mutual-exclusion checks.
    check_error("{role: pod, kubeconfig_file: k, api_server: 'https://h', bearer_token: a, bearer_token_file: b}",
                "at most one of bearer_token & bearer_token_file must be configured");
    check_error("{role: endpoints, api_server: 'https://localhost:1234', kubeconfig_file: /user1/.kube/config}",
                "cannot use 'kubeconfig_file' and 'api_server' simultaneously");
    // config.URL is set by any non-null value, even "".
    check_error("{role: pod, api_server: '', kubeconfig_file: k}",
                "cannot use 'kubeconfig_file' and 'api_server' simultaneously");
    check_error("{role: endpoints, kubeconfig_file: k, basic_auth: {username: user, password: password}}",
                "cannot use a custom HTTP client configuration together with 'kubeconfig_file'");
    // Any deviation from the client defaults counts as custom.
    check_error("{role: pod, kubeconfig_file: k, follow_redirects: false}",
                "cannot use a custom HTTP client configuration together with 'kubeconfig_file'");
    check_error("{role: pod, authorization: {credentials: 1234}}",
                "to use custom HTTP client configuration please provide the 'api_server' URL explicitly");
    check_error("{role: pod, enable_http2: false}",
                "to use custom HTTP client configuration please provide the 'api_server' URL explicitly");
    check_error("{role: pod, follow_redirects: ~}",
                "to use custom HTTP client configuration please provide the 'api_server' URL explicitly");
    check_error("{role: pod, proxy_url: ''}",
                "to use custom HTTP client configuration please provide the 'api_server' URL explicitly");
    check_error("{role: pod, proxy_connect_header: {}}",
                "to use custom HTTP client configuration please provide the 'api_server' URL explicitly");
    check_clean("kubernetes", "{role: pod, tls_config: {}, basic_auth: ~, follow_redirects: true}");
    check_error("{role: endpoints, api_server: 'https://localhost:1234', namespaces: {own_namespace: true}}",
                "cannot use 'api_server' and 'namespaces.own_namespace' simultaneously");
    check_error("{role: endpoints, kubeconfig_file: /home/User1/.kubeconfig, namespaces: {own_namespace: true}}",
                "cannot use 'kubeconfig_file' and 'namespaces.own_namespace' simultaneously");
    check_error("{role: endpoints, namespaces: {foo: bar}}", "field foo not found in type kubernetes.plain");
    check_error("{role: pod, attach_metadata: {nodes: true}}",
                "field nodes not found in type kubernetes.AttachMetadataConfig (did you mean node?)");
    check_error("{role: pod, selectors: [{role: pod, labels: x}]}",
                "field labels not found in type kubernetes.SelectorConfig (did you mean label?)");
    check_error("{role: pod, bogus_key: 1}", "field bogus_key not found in type kubernetes.plain");

    auto later = test::decode_sd("kubernetes", "{role: pod, attach_metadata: {namespace: true, deployment: true}}");
    CHECK(error_count(later) == 0);
    CHECK(has_warning(later, "field namespace is new in Prometheus 3.6; v2.45 rejects it"));
    CHECK(has_warning(later, "field deployment is new in Prometheus 3.11; v2.45 rejects it"));
  }

  TEST_CASE("kubernetes: selector rules") {
    auto check_error = error_checker("kubernetes");
    check_error("{role: endpoints, selectors: [{role: pod, label: foo=bar}, {role: pod, field: a=b}]}",
                "duplicated selector role: pod");
    struct Mismatch {
      std::string_view role, selector, message;
    };
    const Mismatch mismatches[] = {
        {"pod", "node", "pod role supports only pod selectors"},
        {"service", "pod", "service role supports only service selectors"},
        {"endpoints", "node", "endpoints role supports only pod, service, endpoints selectors"},
        {"endpointslice", "endpoints", "endpointslice role supports only pod, service, endpointslice selectors"},
        {"node", "pod", "node role supports only node selectors"},
        {"ingress", "node", "ingress role supports only ingress selectors"},
    };
    for (const Mismatch& m : mismatches) {
      check_error(fmt::format("{{role: {}, selectors: [{{role: {}, label: foo=bar}}]}}", m.role, m.selector),
                  m.message);
    }
    check_error("{role: pod, selectors: [{label: foo=bar}]}", "pod role supports only pod selectors");
    check_clean("kubernetes", "{role: endpoints, selectors: [{role: pod}, {role: service}, {role: endpoints}]}");
    check_clean("kubernetes",
                "{role: endpointslice, selectors: [{role: pod}, {role: service}, {role: endpointslice}]}");
    check_clean("kubernetes", "{role: node, selectors: [{role: node, label: foo=bar, field: metadata.name=n}]}");
    check_clean("kubernetes", "{role: ingress, selectors: [{role: ingress, label: 'foo in (bar,baz)'}]}");

    auto pod_node = test::decode_sd("kubernetes", "{role: pod, selectors: [{role: node}]}");
    CHECK(test::first_error(pod_node) == "pod role supports only pod selectors");
    CHECK(has_warning(pod_node,
                      "node selectors for the pod role are accepted from Prometheus 3.11; v2.45 rejects them"));

    auto bad_selector_role = test::decode_sd("kubernetes", "{role: pod, selectors: [{role: deployment}]}");
    CHECK(test::first_error(bad_selector_role) == "unknown Kubernetes SD role \"deployment\"");
    CHECK(bad_selector_role.errors.size() == 1);
    auto empty_selector_role = test::decode_sd("kubernetes", "{role: pod, selectors: [{role: \"\"}]}");
    CHECK(test::first_error(empty_selector_role) == "unknown Kubernetes SD role \"\"");
    CHECK(empty_selector_role.errors.size() == 1);

    check_error("{role: endpoints, selectors: [{role: pod, field: metadata.status-Running}]}",
                "invalid selector: 'metadata.status-Running'; can't understand 'metadata.status-Running'");
    check_error("{role: pod, selectors: [{role: pod, label: 'foo in bar'}]}",
                "unable to parse requirement: found 'bar' expected: '('");
    // The field selector is checked before the label selector.
    check_error("{role: pod, selectors: [{role: pod, label: '=', field: x}]}",
                "invalid selector: 'x'; can't understand 'x'");
    // Positions point at the offending selector key.
    auto positioned = test::decode_sd("kubernetes", "role: pod\nselectors:\n  - role: pod\n    field: x\n");
    REQUIRE(!positioned.errors.empty());
    CHECK(positioned.errors[0] == "4:5: invalid selector: 'x'; can't understand 'x'");
  }

  TEST_CASE("kubernetes: field selector syntax (apimachinery fields.ParseSelector)") {
    using discovery::kubernetes::check_field_selector;
    CHECK(check_field_selector("") == "");
    CHECK(check_field_selector("a=b,c!=d,e==f") == "");
    CHECK(check_field_selector("a=b,,c=") == "");
    CHECK(check_field_selector("a=b\\,c\\=d\\\\") == "");
    CHECK(check_field_selector("metadata.status-Running") ==
          "invalid selector: 'metadata.status-Running'; can't understand 'metadata.status-Running'");
    // Terms are checked in sorted order.
    CHECK(check_field_selector("z-1,a-2") == "invalid selector: 'z-1,a-2'; can't understand 'a-2'");
    CHECK(check_field_selector("a=b=c") == "invalid field selector: unescaped character in value: 61");
    CHECK(check_field_selector("a!=b\\x") == "invalid field selector: invalid escape sequence: \\x");
    CHECK(check_field_selector("a=b\\\xC3\xA9") == "invalid field selector: invalid escape sequence: \\\xC3\xA9");
    CHECK(check_field_selector("a=b\\") == "invalid field selector: invalid escape sequence: \\");
  }

  TEST_CASE("kubernetes: label selector syntax (apimachinery labels.Parse)") {
    using discovery::kubernetes::check_label_selector;
    for (std::string_view ok : {"", "foo=bar", "foo==bar,baz!=qux", "foo in (bar,baz)", "!foo", "foo,bar notin (a)",
                                "x in (foo,,baz),y,z notin ()", "a>1", "a<5", "foo=", "in in (in)",
                                "example.com/app=web", " foo = bar "}) {
      INFO(ok);
      CHECK(check_label_selector(ok) == "");
    }
    CHECK(check_label_selector("a>b") ==
          "unable to parse requirement: values[0]: Invalid value: \"b\": for 'Gt', 'Lt' operators, the value must be "
          "an integer");
    const std::string value_rule =
        "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must "
        "start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for "
        "validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')";
    CHECK(check_label_selector("a=-b") == "unable to parse requirement: values[0][a]: Invalid value: \"-b\": " +
                                              value_rule);
    CHECK(check_label_selector("a>-b") ==
          "unable to parse requirement: [values[0]: Invalid value: \"-b\": for 'Gt', 'Lt' operators, the value must "
          "be an integer, values[0][a]: Invalid value: \"-b\": " +
              value_rule + "]");
    CHECK(check_label_selector("a in (x,-y)") ==
          "unable to parse requirement: values[0][a]: Invalid value: \"-y\": " + value_rule);
    const std::string name_rule =
        "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric "
        "character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is "
        "'([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')";
    CHECK(check_label_selector("-a") ==
          "unable to parse requirement: <nil>: Invalid value: \"-a\": name part " + name_rule);
    CHECK(check_label_selector("Example.com/a") ==
          "unable to parse requirement: <nil>: Invalid value: \"Example.com/a\": prefix part a lowercase RFC 1123 "
          "subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an "
          "alphanumeric character (e.g. 'example.com', regex used for validation is "
          "'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')");
    CHECK(check_label_selector("/a") ==
          "unable to parse requirement: <nil>: Invalid value: \"/a\": prefix part must be non-empty");
    CHECK(check_label_selector("a/") == "unable to parse requirement: <nil>: Invalid value: \"a/\": name part must "
                                        "be non-empty; name part " +
                                            name_rule);
    CHECK(check_label_selector("a/b/c") ==
          "unable to parse requirement: <nil>: Invalid value: \"a/b/c\": a qualified name " + name_rule +
              " with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')");
    CHECK(check_label_selector(std::string(64, 'a')) ==
          "unable to parse requirement: <nil>: Invalid value: \"" + std::string(64, 'a') +
              "\": name part must be no more than 63 characters");
    CHECK(check_label_selector("foo bar") ==
          "unable to parse requirement: found 'bar', expected: in, notin, =, ==, !=, gt, lt");
    CHECK(check_label_selector("foo!") == "unable to parse requirement: found '!', expected: in, notin, =, ==, !=, "
                                          "gt, lt");
    CHECK(check_label_selector("foo=bar baz") == "found 'baz', expected: ',' or 'end of string'");
    CHECK(check_label_selector("foo=bar,") == "found '', expected: identifier after ','");
    CHECK(check_label_selector("=foo") == "found '=', expected: !, identifier, or 'end of string'");
    CHECK(check_label_selector("foo in (bar") == "unable to parse requirement: found '', expected: ',' or ')'");
    CHECK(check_label_selector("foo in (=)") ==
          "unable to parse requirement: found '=', expected: ',', ')' or identifier");
    CHECK(check_label_selector("foo in (a,=)") == "unable to parse requirement: found '=', expected: ',', or "
                                                  "identifier");
    CHECK(check_label_selector("foo = (") == "unable to parse requirement: found '(', expected: identifier");
    CHECK(check_label_selector("!") == "unable to parse requirement: found '', expected: identifier");
    CHECK(check_label_selector("!a=b") == "found '=', expected: ',' or 'end of string'");
  }

  TEST_CASE("kuma: full block, defaults and rules") {
    auto r = test::decode_sd("kuma", "{server: 'http://127.0.0.1:5676', refresh_interval: 30s, fetch_timeout: 1m, "
                                     "basic_auth: {username: u}}");
    CHECK(r.errors.empty());
    const auto& c = config_of<discovery::kuma::Config>(r);
    CHECK(c.server == "http://127.0.0.1:5676");
    CHECK(c.refresh_interval == model::Duration::seconds(30));
    CHECK(c.fetch_timeout == model::Duration::minutes(1));
    auto defaults = test::decode_sd("kuma", "{server: 'http://h'}");
    const auto& def = config_of<discovery::kuma::Config>(defaults);
    CHECK(def.refresh_interval == model::Duration::seconds(15));
    CHECK(def.fetch_timeout == model::Duration::minutes(2));

    auto check_error = error_checker("kuma");
    check_error("{}", "kuma SD server must not be empty: ");
    check_error("{server: 'localhost:5676'}", "kuma SD server must not be empty and have a scheme: localhost:5676");
    check_error("{server: '//h:5676'}", "kuma SD server must not be empty and have a scheme: //h:5676");
    check_error("{server: 'http://[::1'}", "parse \"http://[::1\": missing ']' in host");
    check_error("{server: 'http://h', oauth2: {client_id: i, client_secret: s}}",
                "oauth2 token_url must be configured");
    check_error("{server: 'http://h', bogus_key: 1}", "field bogus_key not found in type xds.plainKumaConf");

    auto id = test::decode_sd("kuma", "{server: 'http://h', client_id: prom-1}");
    CHECK(error_count(id) == 0);
    CHECK(has_warning(id, "field client_id is new in Prometheus 2.50; v2.45 rejects it"));
    auto grpc = test::decode_sd("kuma", "{server: 'grpc://h:5676'}");
    CHECK(error_count(grpc) == 0);
    CHECK(has_warning(grpc, "Prometheus accepts this at load but cannot start the discoverer: kuma_sd: invalid xDS "
                            "server URL protocol. must be either 'http' or 'https'"));
  }

  TEST_CASE("marathon: full block, defaults and rules") {
    auto r = test::decode_sd("marathon", "{servers: ['http://127.0.0.1:8080', 'http://localhost:8080'], "
                                         "refresh_interval: 1m, auth_token: tok, tls_config: {server_name: m}}");
    CHECK(r.errors.empty());
    const auto& c = config_of<discovery::marathon::Config>(r);
    CHECK(c.servers.size() == 2);
    CHECK(c.refresh_interval == model::Duration::minutes(1));
    CHECK(c.auth_token.value == "tok");
    CHECK(secrets_of(r) == std::vector<std::string>{"tok"});
    auto file = test::decode_sd("marathon", "{servers: ['http://h'], auth_token_file: token}");
    CHECK(file.errors.empty());
    yaml::PathJoiner joiner("/etc/prometheus");
    file.config->accept(joiner);
    CHECK(config_of<discovery::marathon::Config>(file).auth_token_file == "/etc/prometheus/token");
    CHECK(config_of<discovery::marathon::Config>(test::decode_sd("marathon", "{servers: [a]}")).refresh_interval ==
          model::Duration::seconds(30));

    auto check_error = error_checker("marathon");
    check_error("{servers: }", "marathon_sd: must contain at least one Marathon server");
    check_error("{}", "marathon_sd: must contain at least one Marathon server");
    check_error("{servers: [a], auth_token: 1234, auth_token_file: somefile}",
                "marathon_sd: at most one of auth_token & auth_token_file must be configured");
    check_error("{servers: [a], auth_token: 1234, basic_auth: {username: user, password: password}}",
                "marathon_sd: at most one of basic_auth, auth_token & auth_token_file must be configured");
    check_error("{servers: [a], auth_token_file: f, bearer_token: 4567}",
                "marathon_sd: at most one of bearer_token, bearer_token_file, auth_token & auth_token_file must be "
                "configured");
    check_error("{servers: [a], auth_token: 1234, authorization: {credentials: 4567}}",
                "marathon_sd: at most one of auth_token, auth_token_file & authorization must be configured");
    check_error("{servers: [a], authorization: {type: Basic}}",
                "authorization type cannot be set to \"basic\", use \"basic_auth\" instead");
    check_error("{servers: [a], bogus_key: 1}", "field bogus_key not found in type marathon.plain");
  }

  TEST_CASE("nomad: full block, defaults and rules") {
    auto r = test::decode_sd("nomad", "{server: 'http://127.0.0.1:4646', namespace: ops, region: eu, "
                                      "allow_stale: false, tag_separator: '|', refresh_interval: 30s, "
                                      "authorization: {credentials: t}}");
    CHECK(r.errors.empty());
    const auto& c = config_of<discovery::nomad::Config>(r);
    CHECK(c.namespace_ == "ops");
    CHECK(c.region == "eu");
    CHECK(!c.allow_stale);
    CHECK(c.tag_separator == "|");
    auto d = test::decode_sd("nomad", "{}");
    CHECK(d.errors.empty());
    const auto& def = config_of<discovery::nomad::Config>(d);
    CHECK(def.server == "http://localhost:4646");
    CHECK(def.namespace_ == "default");
    CHECK(def.region == "global");
    CHECK(def.allow_stale);
    CHECK(def.tag_separator == ",");
    CHECK(def.refresh_interval == model::Duration::seconds(60));

    auto check_error = error_checker("nomad");
    check_error("{server: ''}", "nomad SD configuration requires a server address");
    check_error("{server: '  '}", "nomad SD configuration requires a server address");
    check_error("{oauth2: {client_id: i, client_secret: s}}", "oauth2 token_url must be configured");
    check_error("{datacenter: x}", "field datacenter not found in type nomad.plain");
    CHECK(has_warning(test::decode_sd("nomad", "{refresh_interval: 0s}"), k_zero_refresh));
  }

  TEST_CASE("serverset and nerve: full block, defaults and rules") {
    for (std::string_view mechanism : {"serverset", "nerve"}) {
      INFO(mechanism);
      auto r = test::decode_sd(mechanism, "{servers: ['127.0.0.1:2181', localhost], paths: [/a, /b/c], "
                                          "timeout: 30s}");
      CHECK(r.errors.empty());
      auto d = test::decode_sd(mechanism, "{servers: [z], paths: [/]}");
      CHECK(d.errors.empty());
      if (mechanism == "serverset") {
        const auto& c = config_of<discovery::serverset::Config>(r);
        CHECK(c.paths == std::vector<std::string>{"/a", "/b/c"});
        CHECK(c.timeout == model::Duration::seconds(30));
        CHECK(config_of<discovery::serverset::Config>(d).timeout == model::Duration::seconds(10));
      } else {
        const auto& c = config_of<discovery::nerve::Config>(r);
        CHECK(c.servers.size() == 2);
        CHECK(c.timeout == model::Duration::seconds(30));
        CHECK(config_of<discovery::nerve::Config>(d).timeout == model::Duration::seconds(10));
      }
      auto check_error = error_checker(mechanism);
      std::string name(mechanism);
      check_error("{paths: [/a]}", name + " SD config must contain at least one Zookeeper server");
      check_error("{servers: [z]}", name + " SD config must contain at least one path");
      check_error("{servers: [z], paths: [/a, aurora/jobs]}",
                  name + " SD config paths must begin with '/': aurora/jobs");
      check_error("{servers: [z], paths: ['']}", name + " SD config paths must begin with '/': ");
      check_error("{servers: [z], paths: [/a], timeout: ten}", "not a valid duration string: \"ten\"");
      check_error("{servers: [z], paths: [/a], bogus_key: 1}", "field bogus_key not found in type zookeeper.plain");
    }
  }

  TEST_CASE("puppetdb: full block, defaults and rules") {
    auto r = test::decode_sd("puppetdb", "{url: 'https://127.0.0.1:8081', query: 'resources { type = \"Class\" }', "
                                         "include_parameters: true, port: 9100, refresh_interval: 2m}");
    CHECK(r.errors.empty());
    const auto& c = config_of<discovery::puppetdb::Config>(r);
    CHECK(c.include_parameters);
    CHECK(c.port == 9100);
    auto defaults = test::decode_sd("puppetdb", "{url: 'http://h', query: q}");
    const auto& def = config_of<discovery::puppetdb::Config>(defaults);
    CHECK(def.port == 80);
    CHECK(!def.include_parameters);
    CHECK(def.refresh_interval == model::Duration::seconds(60));

    auto check_error = error_checker("puppetdb");
    check_error("{query: q}", "URL is missing");
    check_error("{url: 'ftp://puppet', query: q}", "URL scheme must be 'http' or 'https'");
    check_error("{url: 'puppet', query: q}", "URL scheme must be 'http' or 'https'");
    check_error("{url: 'http://', query: q}", "host is missing in URL");
    check_error("{url: 'http://[::1', query: q}", "parse \"http://[::1\": missing ']' in host");
    check_error("{url: 'http://puppetserver/'}", "query missing");
    check_error("{url: 'http://h', query: q, port: '80'}", "cannot unmarshal !!str `80` into int");
    // v2.45 does not validate the HTTP client of puppetdb.
    check_clean("puppetdb", "{url: 'http://h', query: q, bearer_token: a, bearer_token_file: b}");
  }

  TEST_CASE("triton: full block, defaults and rules") {
    auto r = test::decode_sd("triton", R"(
account: acme
role: cn
dns_suffix: triton.example
endpoint: 127.0.0.1
groups: [web, db]
port: 9200
refresh_interval: 5m
tls_config: {insecure_skip_verify: true}
version: 2
)");
    CHECK(r.errors.empty());
    const auto& c = config_of<discovery::triton::Config>(r);
    CHECK(c.role == "cn");
    CHECK(c.groups.size() == 2);
    CHECK(c.port == 9200);
    CHECK(c.version == 2);
    CHECK(c.tls_config.insecure_skip_verify);
    auto defaults = test::decode_sd("triton", "{account: a, dns_suffix: d, endpoint: e}");
    const auto& def = config_of<discovery::triton::Config>(defaults);
    CHECK(def.role == "container");
    CHECK(def.port == 9163);
    CHECK(def.version == 1);
    CHECK(def.refresh_interval == model::Duration::seconds(60));

    auto check_error = error_checker("triton");
    check_error("{role: vm}", "triton SD configuration requires role to be 'container' or 'cn'");
    check_error("{}", "triton SD configuration requires an account");
    check_error("{account: a}", "triton SD configuration requires a dns_suffix");
    check_error("{account: a, dns_suffix: d}", "triton SD configuration requires an endpoint");
    check_error("{account: a, dns_suffix: d, endpoint: e, refresh_interval: 0s}",
                "triton SD configuration requires RefreshInterval to be a positive integer");
    check_error("{account: a, dns_suffix: d, endpoint: e, bearer_token: x}",
                "field bearer_token not found in type triton.plain");
    check_error("{account: a, dns_suffix: d, endpoint: e, tls_config: {ca: x, ca_file: y}}",
                "at most one of ca and ca_file must be configured");
  }

  TEST_CASE("uyuni: full block, defaults and rules") {
    auto r = test::decode_sd("uyuni", "{server: 'https://127.0.0.1', username: admin, password: pw, "
                                      "entitlement: container_build_host, separator: ';', refresh_interval: 5m}");
    CHECK(r.errors.empty());
    const auto& c = config_of<discovery::uyuni::Config>(r);
    CHECK(c.username == "admin");
    CHECK(c.entitlement == "container_build_host");
    CHECK(c.separator == ";");
    CHECK(secrets_of(r) == std::vector<std::string>{"pw"});
    auto defaults = test::decode_sd("uyuni", "{server: 'https://h', username: u, password: p}");
    const auto& def = config_of<discovery::uyuni::Config>(defaults);
    CHECK(def.entitlement == "monitoring_entitled");
    CHECK(def.separator == ",");
    CHECK(def.refresh_interval == model::Duration::minutes(1));

    auto check_error = error_checker("uyuni");
    check_error("{server: }", "Uyuni SD configuration requires server host");
    check_error("{server: '://uyuni', username: u, password: p}",
                "Uyuni Server URL is not valid: parse \"://uyuni\": missing protocol scheme");
    check_error("{server: 'https://h', password: p}", "Uyuni SD configuration requires a username");
    check_error("{server: 'https://h', username: u}", "Uyuni SD configuration requires a password");
    check_error("{server: [a]}", "cannot unmarshal !!seq into string");
    // v2.45 does not validate the HTTP client of uyuni.
    check_clean("uyuni", "{server: 'https://h', username: u, password: p, bearer_token: a, bearer_token_file: b}");
  }
}
