#include <doctest/doctest.h>

#include "relabel/rule.h"
#include "scrape/populate.h"
#include "util/strings.h"
#include "test_util.h"

// Expected values marked "promtool 2.42" were confirmed with Debian's
// Prometheus 2.42: `promtool check config` (without --syntax-only) for the
// error texts of §5.2 (it reports the first failing static target as
// `instance <i> in group <n>: ...`), and `promtool check service-discovery`
// for final labels (also with --enable-feature=no-default-scrape-port, which
// `check config` ignores: it always builds targets with default ports).
// Duration messages are v2.45's (2.42 says `not a valid duration string` for
// every malformed duration).

using namespace sdscope;
using scrape::JobSettings;
using scrape::Target;

namespace {

JobSettings job(std::string_view relabel_yaml = "") {
  JobSettings j;
  j.job_name = "j";
  j.scrape_interval = model::Duration::minutes(1);
  j.scrape_timeout = model::Duration::seconds(10);
  if (!relabel_yaml.empty()) {
    auto errors = test::decode_errors(relabel_yaml, j.relabel_configs);
    INFO(relabel_yaml);
    REQUIRE(errors.empty());
  }
  return j;
}

model::TargetGroup group(std::vector<std::string> addresses, model::Labels labels = {}, std::string source = "0") {
  model::TargetGroup g;
  for (const std::string& a : addresses) {
    g.targets.push_back(model::Labels{{"__address__", a}});
  }
  g.labels = std::move(labels);
  g.source = std::move(source);
  return g;
}

std::vector<Target> build(const JobSettings& j, const model::TargetGroup& g, bool no_default_port = false) {
  return scrape::targets_from_group(g, j, scrape::PopulateOptions{no_default_port});
}

// The one target built from address with job j.
Target one(const JobSettings& j, std::string address, model::Labels labels = {}, bool no_default_port = false) {
  auto targets = build(j, group({std::move(address)}, std::move(labels)), no_default_port);
  REQUIRE(targets.size() == 1);
  return targets[0];
}

std::string error_of(std::string_view relabel_yaml, std::string address = "localhost:1", model::Labels labels = {}) {
  JobSettings j = job(relabel_yaml);
  return one(j, std::move(address), std::move(labels)).error;
}

std::string address_of(const JobSettings& j, std::string address, bool no_default_port = false) {
  Target t = one(j, std::move(address), {}, no_default_port);
  INFO(t.error);
  REQUIRE(t.active());
  return std::string(t.labels.get("__address__"));
}

} // namespace

TEST_SUITE("scrape") {
  TEST_CASE("an active target has every internal and public label") {
    // promtool 2.42.
    JobSettings j = job();
    auto targets = build(j, group({"127.0.0.1", "localhost:9090"}, {{"env", "prod"}}));
    REQUIRE(targets.size() == 2);
    CHECK(targets[0].active());
    CHECK(targets[0].discovered == model::Labels{{"__address__", "127.0.0.1"},
                                                 {"__metrics_path__", "/metrics"},
                                                 {"__scheme__", "http"},
                                                 {"__scrape_interval__", "1m"},
                                                 {"__scrape_timeout__", "10s"},
                                                 {"env", "prod"},
                                                 {"job", "j"}});
    CHECK(targets[0].labels == model::Labels{{"__address__", "127.0.0.1:80"},
                                             {"__metrics_path__", "/metrics"},
                                             {"__scheme__", "http"},
                                             {"__scrape_interval__", "1m"},
                                             {"__scrape_timeout__", "10s"},
                                             {"env", "prod"},
                                             {"instance", "127.0.0.1:80"},
                                             {"job", "j"}});
    CHECK(targets[1].labels.get("instance") == "localhost:9090");
    CHECK(scrape::public_labels(targets[1].labels) ==
          model::Labels{{"env", "prod"}, {"instance", "localhost:9090"}, {"job", "j"}});
  }

  TEST_CASE("merging: target labels win, group __address__ never fills in") {
    // promtool 2.42: targets ["", "127.0.0.2:1"] with group label
    // __address__=127.0.0.1:1 -> `instance 0 in group 0: no address`.
    JobSettings j = job();
    auto targets = build(j, group({"", "127.0.0.2:1"}, {{"__address__", "127.0.0.1:1"}, {"job", "g"}}, "src"));
    REQUIRE(targets.size() == 2);
    CHECK(targets[0].error == "instance 0 in group src: no address");
    CHECK(targets[0].labels.empty());
    CHECK(targets[1].labels.get("__address__") == "127.0.0.2:1");
    CHECK(targets[1].labels.get("job") == "g");

    model::TargetGroup g;
    g.targets.push_back({{"__address__", "h:1"}, {"a", "target"}});
    g.labels = {{"a", "group"}, {"b", "group"}};
    auto merged = scrape::targets_from_group(g, j);
    REQUIRE(merged.size() == 1);
    CHECK(merged[0].labels.get("a") == "target");
    CHECK(merged[0].labels.get("b") == "group");
  }

  TEST_CASE("job defaults are overridden by discovered labels; params are not") {
    // promtool 2.42.
    JobSettings j = job();
    j.params = {{"a", {"cfg", "second"}}, {"b", {""}}, {"c", {}}};
    Target t = one(j, "127.0.0.1",
                   {{"__meta_x", "y"},
                    {"__tmp_a", "b"},
                    {"instance", "mine"},
                    {"job", "other"},
                    {"__scheme__", "https"},
                    {"__metrics_path__", "m"},
                    {"__param_a", "disc"},
                    {"__param_b", "disc"}});
    REQUIRE(t.active());
    CHECK(t.labels == model::Labels{{"__address__", "127.0.0.1:443"},
                                    {"__metrics_path__", "m"},
                                    {"__param_a", "cfg"},
                                    {"__scheme__", "https"},
                                    {"__scrape_interval__", "1m"},
                                    {"__scrape_timeout__", "10s"},
                                    {"__tmp_a", "b"},
                                    {"instance", "mine"},
                                    {"job", "other"}});
    CHECK(t.discovered.get("__meta_x") == "y");
    CHECK(t.discovered.get("__param_a") == "cfg");
    CHECK(!t.discovered.has("__param_b"));
    CHECK(scrape::public_labels(t.labels) == model::Labels{{"instance", "mine"}, {"job", "other"}});
    CHECK(scrape::scrape_url(t.labels, j.params) == "https://127.0.0.1:443/m?a=cfg&a=second&b=");
  }

  TEST_CASE("job settings are rendered into the defaults") {
    JobSettings j = job();
    j.job_name = "name";
    j.scrape_interval = model::Duration{90 * 1000};
    j.scrape_timeout = model::Duration{1500};
    j.metrics_path = "/x";
    j.scheme = "https";
    Target t = one(j, "h:1");
    CHECK(t.labels.get("job") == "name");
    CHECK(t.labels.get("__scrape_interval__") == "1m30s");
    CHECK(t.labels.get("__scrape_timeout__") == "1s500ms");
    CHECK(t.labels.get("__metrics_path__") == "/x");
    CHECK(t.labels.get("__scheme__") == "https");
    j.metrics_path = ""; // `metrics_path: ~`: no label at all
    CHECK(!one(j, "h:1").labels.has("__metrics_path__"));
  }

  TEST_CASE("a dropped target keeps its discovered labels and the rule index") {
    JobSettings j = job("- target_label: x\n  replacement: y\n"
                        "- source_labels: [__address__]\n  regex: 'drop.*'\n  action: drop\n");
    auto targets = build(j, group({"keep:1", "drop:1"}));
    REQUIRE(targets.size() == 2);
    CHECK(targets[0].active());
    CHECK(targets[0].labels.get("x") == "y");
    CHECK(targets[1].dropped());
    CHECK(!targets[1].failed());
    CHECK(targets[1].dropped_by == 1);
    CHECK(targets[1].labels.empty());
    CHECK(targets[1].discovered.get("__address__") == "drop:1");
    CHECK(!targets[1].discovered.has("x")); // discovered = before relabeling
  }

  TEST_CASE("default ports") {
    // promtool 2.42 for every address.
    JobSettings j = job();
    CHECK(address_of(j, "127.0.0.1") == "127.0.0.1:80");
    CHECK(address_of(j, "[::1]") == "[::1]:80");
    CHECK(address_of(j, "::1") == "::1"); // can never split: no port, no error
    CHECK(address_of(j, "a:b:c") == "a:b:c");
    CHECK(address_of(j, "host:") == "host:");
    CHECK(address_of(j, "[::1]:9") == "[::1]:9");
    CHECK(address_of(j, "localhost:99999") == "localhost:99999");
    CHECK(address_of(j, "x y") == "x y:80");
    CHECK(one(j, "::1").labels.get("instance") == "::1");
    CHECK(one(j, "127.0.0.1").labels.get("instance") == "127.0.0.1:80");
    j.scheme = "https";
    CHECK(address_of(j, "127.0.0.1") == "127.0.0.1:443");
    CHECK(address_of(j, "[::1]") == "[::1]:443");
    // An empty __scheme__ counts as http.
    JobSettings e = job("- target_label: __scheme__\n  replacement: ''\n");
    CHECK(address_of(e, "127.0.0.1") == "127.0.0.1:80");
  }

  TEST_CASE("invalid scheme shows the configured scheme") {
    // promtool 2.42.
    JobSettings j = job();
    j.scheme = "ftp";
    auto targets = build(j, group({"127.0.0.1:1", "127.0.0.1"}));
    CHECK(targets[0].active()); // a port is present: any scheme passes
    CHECK(targets[1].error == "instance 1 in group 0: invalid scheme: \"ftp\"");
    CHECK(error_of("- target_label: __scheme__\n  replacement: ftp\n", "127.0.0.1") ==
          "instance 0 in group 0: invalid scheme: \"http\"");
  }

  TEST_CASE("no-default-scrape-port") {
    // promtool 2.42 check service-discovery --enable-feature=no-default-scrape-port.
    JobSettings j = job();
    auto check = [&](std::string address, std::string_view want_address, std::string_view want_instance) {
      Target t = one(j, std::move(address), {}, true);
      INFO(t.error);
      REQUIRE(t.active());
      CHECK(t.labels.get("__address__") == want_address);
      CHECK(t.labels.get("instance") == want_instance);
    };
    check("127.0.0.1", "127.0.0.1", "127.0.0.1");
    check("127.0.0.1:80", "127.0.0.1", "127.0.0.1:80");
    check("127.0.0.1:443", "127.0.0.1:443", "127.0.0.1:443");
    check("[::1]:80", "::1", "[::1]:80");
    check(":80", "", ":80"); // stripped to "", so __address__ is gone
    check("a:b:c", "a:b:c", "a:b:c");
    j.scheme = "https";
    check("127.0.0.1", "127.0.0.1", "127.0.0.1");
    check("127.0.0.1:80", "127.0.0.1:80", "127.0.0.1:80");
    check("127.0.0.1:443", "127.0.0.1", "127.0.0.1:443");
    check("[::1]:443", "::1", "[::1]:443");
    j.scheme = "ftp"; // no scheme error in this mode
    check("127.0.0.1", "127.0.0.1", "127.0.0.1");
    check("127.0.0.1:80", "127.0.0.1:80", "127.0.0.1:80");
  }

  TEST_CASE("errors after relabeling, in order") {
    // promtool 2.42 check config for each text, except the two duration
    // parse messages that are v2.45's.
    CHECK(error_of("- regex: job\n  action: labelkeep\n") == "instance 0 in group 0: no address");
    CHECK(error_of("- target_label: __address__\n  replacement: 'a/b'\n", "127.0.0.1") ==
          "instance 0 in group 0: \"a/b:80\" is not a valid hostname");
    CHECK(error_of("- target_label: __address__\n  replacement: 'a/b:1'\n") ==
          "instance 0 in group 0: \"a/b:1\" is not a valid hostname");
    CHECK(error_of("- target_label: __scrape_interval__\n  replacement: '1x'\n") ==
          "instance 0 in group 0: error parsing scrape interval: unknown unit \"x\" in duration \"1x\"");
    CHECK(error_of("- target_label: __scrape_interval__\n  replacement: '30'\n") ==
          "instance 0 in group 0: error parsing scrape interval: not a valid duration string: \"30\"");
    CHECK(error_of("- target_label: __scrape_interval__\n  replacement: '0s'\n") ==
          "instance 0 in group 0: scrape interval cannot be 0");
    CHECK(error_of("- regex: __scrape_interval__\n  action: labeldrop\n") ==
          "instance 0 in group 0: error parsing scrape interval: empty duration string");
    CHECK(error_of("- target_label: __scrape_timeout__\n  replacement: '-1m'\n") ==
          "instance 0 in group 0: error parsing scrape timeout: not a valid duration string: \"-1m\"");
    CHECK(error_of("- target_label: __scrape_timeout__\n  replacement: '0'\n") ==
          "instance 0 in group 0: scrape timeout cannot be 0");
    CHECK(error_of("- target_label: __scrape_timeout__\n  replacement: '2m'\n") ==
          "instance 0 in group 0: scrape timeout cannot be greater than scrape interval (\"2m\" > \"1m\")");
    CHECK(error_of("", "localhost:1", {{"__scrape_interval__", "5s"}, {"__scrape_timeout__", "6000ms"}}) ==
          "instance 0 in group 0: scrape timeout cannot be greater than scrape interval (\"6000ms\" > \"5s\")");
    CHECK(error_of("", "localhost:1", {{"__scrape_interval__", "5s"}, {"__scrape_timeout__", "5000ms"}}) == "");
    // The earliest failing step wins.
    CHECK(error_of("- target_label: __scrape_interval__\n  replacement: '0s'\n", "a/b") ==
          "instance 0 in group 0: \"a/b:80\" is not a valid hostname");
  }

  TEST_CASE("invalid label values are reported in sorted order") {
    JobSettings j = job();
    Target t = one(j, "h:1", {{"z", "\xff"}, {"b", "ok\xc3"}});
    CHECK(t.error == "instance 0 in group 0: invalid label value for \"b\": \"ok\\xc3\"");
    CHECK(t.labels.empty());
    // __meta_ labels are deleted first.
    CHECK(one(j, "h:1", {{"__meta_bad", "\xff"}}).active());
  }

  TEST_CASE("__meta_ labels are removed, other __ labels survive") {
    JobSettings j = job("- source_labels: [__meta_x]\n  target_label: __tmp_y\n");
    Target t = one(j, "h:1", {{"__meta_x", "1"}, {"__meta_", "2"}, {"__metax", "3"}});
    REQUIRE(t.active());
    CHECK(!t.labels.has("__meta_x"));
    CHECK(!t.labels.has("__meta_"));
    CHECK(t.labels.get("__metax") == "3");
    CHECK(t.labels.get("__tmp_y") == "1");
  }

  TEST_CASE("Populator reuse and group order") {
    JobSettings j = job();
    scrape::Populator p(j);
    std::vector<Target> out;
    p.from_group(group({"a:1", "b:1"}, {}, "g1"), out);
    p.from_group(group({"c:1", "a/b:1"}, {}, "g2"), out);
    REQUIRE(out.size() == 4);
    CHECK(out[2].labels.get("instance") == "c:1");
    CHECK(out[3].error == "instance 1 in group g2: \"a/b:1\" is not a valid hostname");
    Target t;
    CHECK(p.populate({{"__address__", "x:1"}}, t) == "");
    CHECK(t.labels.get("instance") == "x:1");
    CHECK(p.populate({}, t) == "no address");
  }

  TEST_CASE("scrape URL") {
    model::Labels l{{"__address__", "127.0.0.1:80"}, {"__scheme__", "http"}, {"__metrics_path__", "/metrics"}};
    std::map<std::string, std::vector<std::string>> none;
    CHECK(scrape::scrape_url(l, none) == "http://127.0.0.1:80/metrics");
    // Params sorted by key, form-encoded; labels replace the first value.
    std::map<std::string, std::vector<std::string>> params{
        {"module", {"a b", "c&d"}}, {"b&", {"\xc3\xa9"}}, {"empty", {}}, {"z", {"1", "2"}}};
    CHECK(scrape::scrape_url(l, params) == "http://127.0.0.1:80/metrics?b%26=%C3%A9&module=a+b&module=c%26d&z=1&z=2");
    model::Labels p = l;
    p.set("__param_module", "x/y");
    p.set("__param_empty", "e");
    p.set("__param_a", "~-._*");
    p.set("__param_", "nokey");
    CHECK(scrape::scrape_url(p, params) ==
          "http://127.0.0.1:80/metrics?=nokey&a=~-._%2A&b%26=%C3%A9&empty=e&module=x%2Fy&module=c%26d&z=1&z=2");
    // Go url.URL.String rendering of path and host.
    auto url = [](std::string scheme, std::string host, std::string path) {
      model::Labels labels{{"__scheme__", scheme}, {"__address__", host}, {"__metrics_path__", path}};
      return scrape::scrape_url(labels, {});
    };
    CHECK(url("http", "h:1", "m") == "http://h:1/m");
    CHECK(url("http", "h:1", "") == "http://h:1");
    CHECK(url("https", "h:1", "/a b?c#d%e!'()*,;=:@$&+~") == "https://h:1/a%20b%3Fc%23d%25e%21%27%28%29%2A,;=:@$&+~");
    CHECK(url("http", "h:1", "*") == "http://h:1/*");
    CHECK(url("http", "x y\xc3\xa9:1", "/") == "http://x%20y%C3%A9:1/");
    CHECK(url("http", "[::1]:80", "/") == "http://[::1]:80/");
    CHECK(url("http", "a!$&'()*+,;=<>\"{}|:1", "/") == "http://a!$&'()*+,;=<>\"%7B%7D%7C:1/");
    CHECK(url("", "h:1", "/m") == "//h:1/m");
    CHECK(url("", "", "a:b/c") == "./a:b/c");
    CHECK(url("http", "", "/m") == "http:///m");
    CHECK(url("http", "", "") == "http:");
  }

  TEST_CASE("split_host_port follows net.SplitHostPort") {
    auto ok = [](std::string_view hp, std::string_view host, std::string_view port) {
      util::HostPort r = util::split_host_port(hp);
      INFO(hp);
      CHECK(r.ok());
      CHECK(r.host == host);
      CHECK(r.port == port);
    };
    auto fails = [](std::string_view hp, std::string_view why) {
      util::HostPort r = util::split_host_port(hp);
      INFO(hp);
      CHECK(r.error == why);
      CHECK(r.host.empty());
      CHECK(r.port.empty());
    };
    ok("127.0.0.1:80", "127.0.0.1", "80");
    ok("[::1]:80", "::1", "80");
    ok("host:", "host", "");
    ok(":80", "", "80");
    ok("[]:x", "", "x");
    fails("", "missing port in address");
    fails("127.0.0.1", "missing port in address");
    fails("::1", "too many colons in address");
    fails("a:b:c", "too many colons in address");
    fails("[::1]", "missing port in address");
    fails("[::1]x:1", "missing port in address");
    fails("[::1]:1:2", "too many colons in address");
    fails("[::1", "missing ']' in address");
    fails("a[b:1", "unexpected '[' in address");
    fails("a]b:1", "unexpected ']' in address");
    fails("[a]:1]", "unexpected ']' in address");
    fails("[a[b]:1", "unexpected '[' in address");
  }
}
