#include <doctest/doctest.h>

#include "model/duration.h"
#include "model/labels.h"
#include "model/size.h"
#include "model/url.h"
#include "util/strings.h"

using namespace sdscope;

TEST_SUITE("model") {
  TEST_CASE("durations parse with v2.45's rules and messages") {
    auto ms = [](std::string_view text) {
      model::Duration d;
      REQUIRE_MESSAGE(model::parse_text(text, d).empty(), text);
      return d.ms;
    };
    auto error = [](std::string_view text) {
      model::Duration d;
      return model::parse_text(text, d);
    };
    CHECK(ms("0") == 0);
    CHECK(ms("000ms") == 0);
    CHECK(ms("1h30m") == 5400000);
    CHECK(ms("1d25h") == 49 * 3600000LL);
    CHECK(ms("90s") == 90000);
    CHECK(ms("1y") == 365LL * 24 * 3600000);
    CHECK(error("") == "empty duration string");
    CHECK(error("30") == "not a valid duration string: \"30\"");
    CHECK(error("00") == "not a valid duration string: \"00\"");
    CHECK(error("-1m") == "not a valid duration string: \"-1m\"");
    CHECK(error("1m1h") == "not a valid duration string: \"1m1h\"");
    CHECK(error("1h1h") == "not a valid duration string: \"1h1h\"");
    CHECK(error("1.5h") == "unknown unit \".\" in duration \"1.5h\"");
    CHECK(error("10sec") == "unknown unit \"sec\" in duration \"10sec\"");
    CHECK(error("300y") == "duration out of range");
    CHECK(error("99999999999999999999999s") == "not a valid duration string: \"99999999999999999999999s\"");
  }

  TEST_CASE("durations render like Prometheus") {
    auto render = [](int64_t ms) { return model::format_text(model::Duration{ms}); };
    CHECK(render(0) == "0s");
    CHECK(render(60000) == "1m");
    CHECK(render(90000) == "1m30s");
    CHECK(render(14LL * 86400000) == "2w");
    CHECK(render(90LL * 86400000) == "90d");
    CHECK(render(365LL * 86400000) == "1y");
    CHECK(render(366LL * 86400000) == "366d");
    CHECK(render(1500) == "1s500ms");
  }

  TEST_CASE("sizes parse with alecthomas/units' two unit tables") {
    auto bytes = [](std::string_view text) {
      model::Size s;
      REQUIRE_MESSAGE(model::parse_text(text, s).empty(), text);
      return s.bytes;
    };
    auto error = [](std::string_view text) {
      model::Size s;
      return model::parse_text(text, s);
    };
    CHECK(bytes("0") == 0);
    CHECK(bytes("1KB512B") == 1536);
    CHECK(bytes("10MiB") == 10485760);
    CHECK(bytes("1.5KB") == 1536);
    CHECK(bytes(".5KiB") == 512);
    CHECK(bytes("-1KB") == -1024);
    CHECK(error("1000") == "units: unknown unit  in 1000");
    CHECK(error("1kB") == "units: unknown unit kB in 1kB");
    CHECK(error("1GiB512MB") == "units: unknown unit GiB in 1GiB512MB");
    CHECK(error("9EB") == "units: overflow parsing unit");
    CHECK(error("KB") == "units: invalid KB");
    CHECK(model::format_text(model::Size{1536}) == "1KiB512B");
    CHECK(model::format_text(model::Size{0}) == "0B");
  }

  TEST_CASE("label names follow the 2.x rule") {
    CHECK(model::is_valid_label_name("a"));
    CHECK(model::is_valid_label_name("_a1"));
    CHECK(model::is_valid_label_name("__address__"));
    CHECK_FALSE(model::is_valid_label_name(""));
    CHECK_FALSE(model::is_valid_label_name("1a"));
    CHECK_FALSE(model::is_valid_label_name("not$allowed"));
    CHECK_FALSE(model::is_valid_label_name("not:allowed"));
    CHECK_FALSE(model::is_valid_label_name("é"));
    model::LabelName name;
    CHECK(model::parse_text("a-b", name) == "\"a-b\" is not a valid label name");
  }

  TEST_CASE("Labels keep sorted order and treat empty as absent") {
    model::Labels l{{"b", "2"}, {"a", "1"}};
    CHECK(l.pairs().front().first == "a");
    l.set("a", "");
    CHECK_FALSE(l.has("a"));
    CHECK(l.size() == 1);
    CHECK(l.get("missing").empty());
  }

  TEST_CASE("URLs parse like Go's net/url") {
    model::Url u;
    CHECK(model::parse_url("http://127.0.0.1:9090/path?q=1", u).empty());
    CHECK(u.scheme == "http");
    CHECK(u.host == "127.0.0.1:9090");
    CHECK(u.hostname() == "127.0.0.1");
    CHECK(u.path == "/path");
    CHECK(model::parse_url("http://[::1]:80/", u).empty());
    CHECK(u.hostname() == "::1");
    CHECK(model::parse_url("http://[::1", u) == "parse \"http://[::1\": missing ']' in host");
    CHECK(model::parse_url("http://a:port/", u) == "parse \"http://a:port/\": invalid port \":port\" after host");
    CHECK(model::parse_url(":foo", u) == "parse \":foo\": missing protocol scheme");
    CHECK(model::parse_url("http://a b/", u) == "parse \"http://a b/\": invalid character \" \" in host name");
    CHECK(model::parse_url("http://a/%zz", u) == "parse \"http://a/%zz\": invalid URL escape \"%zz\"");
    CHECK(model::parse_url("a:b/c", u).empty()); // opaque
    CHECK(u.opaque == "b/c");
  }

  TEST_CASE("URLs print with their password redacted, as config.URL marshals") {
    model::Url u;
    auto printed = [&](std::string_view text) {
      REQUIRE(model::parse_url(text, u).empty());
      return model::format_text(u);
    };
    CHECK(printed("http://u:pw@127.0.0.1:9/p?q=a@b") == "http://u:xxxxx@127.0.0.1:9/p?q=a@b");
    CHECK(printed("http://u@127.0.0.1/") == "http://u@127.0.0.1/");
    CHECK(printed("http://127.0.0.1:9/a:b@c") == "http://127.0.0.1:9/a:b@c");
  }

  TEST_CASE("go_quote matches Go's %q") {
    CHECK(util::go_quote("a\"b") == "\"a\\\"b\"");
    CHECK(util::go_quote("\xff") == "\"\\xff\"");
    CHECK(util::go_quote("tab\t") == "\"tab\\t\"");
    CHECK(util::go_quote("é") == "\"é\"");
  }
}
