#include <doctest/doctest.h>

#include <fmt/format.h>
#include <re2/re2.h>

#include "relabel/apply.h"
#include "relabel/rule.h"
#include "test_util.h"
#include "util/strings.h"

// Expected values marked "promtool 2.42" were confirmed with Debian's
// Prometheus 2.42 (`promtool check service-discovery CONFIG JOB`): a static
// target with the labels shown, run through the same relabel_configs, and the
// final labels compared. The relabel engine of 2.42 equals 2.45's except for
// the labelmap iteration order, where 2.42 is sorted like this implementation.

using namespace sdscope;

namespace {

std::vector<relabel::Rule> rules(std::string_view yaml) {
  std::vector<relabel::Rule> out;
  auto errors = test::decode_errors(yaml, out);
  INFO(yaml);
  REQUIRE(errors.empty());
  return out;
}

// Applies the rules of yaml to labels; returns the result.
model::Labels run(std::string_view yaml, model::Labels labels, relabel::ApplyResult* result = nullptr) {
  std::vector<relabel::Rule> rs = rules(yaml);
  relabel::ApplyResult r = relabel::apply(rs, labels);
  if (result != nullptr) {
    *result = r;
  }
  return labels;
}

// Matches value against regex (wrapped like a relabel regex) and expands tmpl.
std::string expand(std::string_view regex, std::string_view value, std::string_view tmpl) {
  relabel::Regexp re;
  REQUIRE(relabel::parse_text(regex, re) == "");
  int n = re.re->NumberOfCapturingGroups() + 1;
  std::vector<re2::StringPiece> pieces(static_cast<size_t>(n));
  REQUIRE(re.re->Match(re2::StringPiece(value.data(), value.size()), 0, value.size(), re2::RE2::UNANCHORED,
                       pieces.data(), n));
  std::vector<std::string_view> groups;
  for (const auto& p : pieces) {
    groups.emplace_back(p.data(), p.size());
  }
  return relabel::expand_template(tmpl, *re.re, groups);
}

// A single replace rule from v into `out` (which starts as "orig").
model::Labels replace(std::string_view regex, std::string_view replacement, std::string_view value,
                      std::string_view target = "out") {
  std::string yaml = fmt::format("- source_labels: [v]\n  regex: {}\n  target_label: {}\n  replacement: {}\n",
                                 util::go_quote(regex), util::go_quote(target), util::go_quote(replacement));
  return run(yaml, {{"v", std::string(value)}, {"out", "orig"}});
}

std::string replace_out(std::string_view regex, std::string_view replacement, std::string_view value) {
  return std::string(replace(regex, replacement, value).get("out"));
}

} // namespace

TEST_SUITE("relabel") {
  TEST_CASE("expansion: $$, greedy names, braces, malformed references") {
    // promtool 2.42: value "abc", regex (.*).
    CHECK(replace_out("(.*)", "$1x|${1}x|$$|$01|$0|$|$-|${|${}|$10|${1", "abc") ==
          "|abcx|$||abc|$|$-|${|${}||${1");
    CHECK(expand("(.*)", "abc", "") == "");
    CHECK(expand("(.*)", "abc", "$") == "$");
    CHECK(expand("(.*)", "abc", "$$1") == "$1");
    CHECK(expand("(.*)", "abc", "$$$1") == "$abc");
    CHECK(expand("(.*)", "abc", "${1}") == "abc");
    CHECK(expand("(.*)", "abc", "${ 1}") == "${ 1}");
    CHECK(expand("(.*)", "abc", "$_") == "");
    CHECK(expand("(.*)", "abc", "a$1.b") == "aabc.b");
  }

  TEST_CASE("expansion: digit rules and Unicode names") {
    // promtool 2.42: `$10` is group 10, `$1_` and `$1é` are names, leading
    // zeros and more than 9 digits make names.
    CHECK(replace_out("(a)(b)(c)(d)(e)(f)(g)(h)(i)(j)(k)",
                      "$10.$11.$1_$1é${1}é.$000000001.$0000000001.$12345678901", "abcdefghijk") == "j.k.aé...");
    CHECK(expand("(a)(b)", "ab", "$2$1$3") == "ba");
    CHECK(expand("(a)(b)", "ab", "$123456789") == "");
    CHECK(expand("(a)", "a", "$1\xce\xb1") == "");     // α is a letter: name "1α"
    CHECK(expand("(a)", "a", "$1\xe2\x82\xac") == "a\xe2\x82\xac"); // € is not: group 1
    CHECK(expand("(a)", "a", "$1\xd9\xa3") == "");     // Arabic-Indic digit three
    CHECK(expand("(a)", "a", "$1\xff") == "a\xff");    // invalid byte ends the name
  }

  TEST_CASE("expansion: named and non-participating groups") {
    // promtool 2.42.
    CHECK(replace_out("(?P<first>[a-z]+)-(?P<second>[0-9]+)?(x)?", "[$first][${second}][$3][$2][$firstx][${first}x]",
                      "abc-") == "[abc][][][][][abcx]");
    CHECK(replace_out("(?P<first>[a-z]+)-(?P<second>[0-9]+)?(x)?", "[$first][${second}][$3][$2]", "abc-12x") ==
          "[abc][12][x][12]");
    CHECK(expand("(?P<n>a)|(b)", "b", "[$n][$2][$nope]") == "[][b][]");
    // promtool 2.42: Go accepts a name used twice; the first participating
    // group of that name is used. Names may start with a digit.
    CHECK(replace_out("(?P<n>a)|(?P<n>b)", "[$n]", "b") == "[b]");
    CHECK(replace_out("(?P<n>a)|(?P<n>b)", "[$n]", "a") == "[a]");
    CHECK(replace_out("(?P<1x>b)", "[$1x]", "b") == "[b]");
  }

  TEST_CASE("replace: matching is leftmost-first, full and without newlines") {
    // promtool 2.42.
    CHECK(replace_out("(a|ab)(c|bcd)(d*)", "$1,$2,$3", "abcd") == "a,bcd,");
    CHECK(replace_out("b", "x", "abc") == "orig");             // full match only
    CHECK(replace_out("(.*)", "changed", "a\nb") == "orig");   // `.` excludes \n
    CHECK(replace_out("(?s)(.*)", "changed", "a\nb") == "changed");
    CHECK(replace_out("", "x", "") == "x");
    CHECK(replace_out("[a-z]+$", "x", "abc\n") == "orig"); // `$` is the very end
  }

  TEST_CASE("replace: the anchoring leak of a)|(b") {
    // promtool 2.42: ^(?:a)|(b)$ matches a prefix `a` or a suffix `b`.
    CHECK(replace_out("a)|(b", "[$0][$1]", "axyz") == "[a][]");
    CHECK(replace_out("a)|(b", "[$0][$1]", "xyzb") == "[b][b]");
    CHECK(replace_out("a)|(b", "[$0][$1]", "xyz") == "orig");
    const char* keep = "- source_labels: [v]\n  regex: a)|(b\n  action: keep\n";
    relabel::ApplyResult r;
    run(keep, {{"v", "abba"}}, &r);
    CHECK(r.kept);
    run(keep, {{"v", "xb"}}, &r);
    CHECK(r.kept);
    run(keep, {{"v", "ba"}}, &r);
    CHECK(!r.kept);
  }

  TEST_CASE("replace: sources, separator and defaults") {
    auto l = run("- source_labels: [a, missing, b]\n  separator: '--'\n  target_label: t\n",
                 {{"a", "x"}, {"b", "y"}});
    CHECK(l.get("t") == "x----y");
    l = run("- source_labels: [a, b]\n  separator: ''\n  regex: '(.)(.*)'\n  target_label: t\n  replacement: '$2$1'\n",
            {{"a", "x"}, {"b", "yz"}});
    CHECK(l.get("t") == "yzx");
    // No source labels: the value is "" and (.*) matches it.
    l = run("- target_label: t\n  replacement: fixed\n", {{"a", "x"}});
    CHECK(l.get("t") == "fixed");
    // The default rule copies `$1`; an empty source deletes the target.
    l = run("- source_labels: [missing]\n  target_label: a\n", {{"a", "x"}});
    CHECK(!l.has("a"));
    // Action names are case-insensitive.
    l = run("- source_labels: [a]\n  target_label: t\n  action: RePlAcE\n", {{"a", "x"}});
    CHECK(l.get("t") == "x");
  }

  TEST_CASE("replace: target expansion and the literal-target delete quirks") {
    // promtool 2.42 for every case.
    CHECK(replace("(.*)", "", "abc").get("out") == "");              // literal target: deleted
    CHECK(replace("(.*)", "", "abc", "${1}").get("out") == "orig");  // templated: deletes `${1}` only
    CHECK(replace("(.*)", "x", "1abc", "${1}").get("out") == "orig"); // invalid name "1abc": no change
    CHECK(replace("(.*)", "$2", "abc").get("out") == "");            // empty expansion deletes
    auto l = replace("(.*)", "x", "abc", "${1}_$1");
    CHECK(l.get("abc_abc") == "x");
    CHECK(l.get("out") == "orig");
    CHECK(replace("(.*)", "x", "abc", "p_${2}").get("p_") == "x");
    CHECK(replace("(.*)", "x", "abc", "p_$2").get("p_") == "x");
    CHECK(replace("(.*)", "x", "abc", "$2").size() == 2); // expands to "": invalid, nothing set

    // A label literally named `${1}` (made by lowercase) is what gets deleted,
    // by an invalid expanded target and by an empty replacement.
    l = run("- source_labels: [v]\n  target_label: '${1}'\n  action: lowercase\n"
            "- source_labels: [w]\n  target_label: '${1}'\n",
            {{"v", "ABC"}, {"w", "1abc"}});
    CHECK(l == model::Labels{{"v", "ABC"}, {"w", "1abc"}});
    l = run("- source_labels: [v]\n  target_label: '${1}'\n  action: uppercase\n"
            "- source_labels: [v]\n  target_label: '${1}'\n  replacement: ''\n",
            {{"v", "abc"}});
    CHECK(l == model::Labels{{"v", "abc"}});
  }

  TEST_CASE("keep, drop and the index of the dropping rule") {
    const char* yaml = "- source_labels: [a]\n  regex: x.*\n  action: keep\n"
                       "- source_labels: [b]\n  regex: 'y|'\n  action: drop\n"
                       "- target_label: after\n  replacement: set\n";
    relabel::ApplyResult r;
    auto l = run(yaml, {{"a", "xa"}, {"b", "z"}}, &r);
    CHECK(r.kept);
    CHECK(r.dropped_by == -1);
    CHECK(l.get("after") == "set");
    l = run(yaml, {{"a", "ya"}}, &r);
    CHECK(!r.kept);
    CHECK(r.dropped_by == 0);
    CHECK(!l.has("after"));
    l = run(yaml, {{"a", "x"}}, &r); // b absent: "" matches `y|`
    CHECK(!r.kept);
    CHECK(r.dropped_by == 1);
    CHECK(!l.has("after")); // processing stopped
    // An explicitly empty regex matches only "".
    run("- source_labels: [a]\n  regex: ''\n  action: keep\n", {}, &r);
    CHECK(r.kept);
    run("- source_labels: [a]\n  regex: ~\n  action: keep\n", {{"a", "x"}}, &r);
    CHECK(!r.kept);
  }

  TEST_CASE("keepequal and dropequal compare with the target label") {
    const char* keep = "- source_labels: [a, b]\n  target_label: c\n  action: keepequal\n";
    const char* drop = "- source_labels: [a]\n  target_label: c\n  action: dropequal\n";
    relabel::ApplyResult r;
    run(keep, {{"a", "1"}, {"b", "2"}, {"c", "1;2"}}, &r);
    CHECK(r.kept);
    run(keep, {{"a", "1"}, {"c", "1"}}, &r);
    CHECK(!r.kept);
    CHECK(r.dropped_by == 0);
    run(drop, {}, &r); // both "" (absent)
    CHECK(!r.kept);
    run(drop, {{"a", "1"}}, &r);
    CHECK(r.kept);
    run(drop, {{"a", "1"}, {"c", "1"}}, &r);
    CHECK(!r.kept);
  }

  TEST_CASE("hashmod: MD5 bytes 8..15, big-endian, modulo") {
    // Expected values from python3 hashlib (md5(v).digest()[8:16], big
    // endian, % modulus) and promtool 2.42.
    auto l = run("- source_labels: [a]\n  target_label: h1\n  modulus: 10\n  action: hashmod\n"
                 "- source_labels: [a, b]\n  target_label: h2\n  modulus: 1000000\n  action: hashmod\n"
                 "- source_labels: [missing]\n  target_label: h3\n  modulus: 18446744073709551615\n"
                 "  action: hashmod\n"
                 "- source_labels: [a]\n  target_label: h4\n  modulus: 1\n  action: hashmod\n"
                 "- source_labels: [c]\n  target_label: h5\n  modulus: 3\n  action: hashmod\n"
                 "- source_labels: [d]\n  target_label: h6\n  modulus: 18446744073709551615\n"
                 "  action: hashmod\n",
                 {{"a", "localhost:9100"}, {"b", "x"}, {"c", "10.0.0.1:9100"}, {"d", "\xc3\xa9"}});
    CHECK(l.get("h1") == "1");
    CHECK(l.get("h2") == "457441");
    CHECK(l.get("h3") == "16825458760271544958");
    CHECK(l.get("h4") == "0");
    CHECK(l.get("h5") == "2");
    CHECK(l.get("h6") == "17796970744824711023");
  }

  TEST_CASE("labelmap, labeldrop, labelkeep: what a rule made of a name is remembered per regex and replacement") {
    // The same regex in rules with different replacements and actions, over
    // many targets (the names' verdicts are remembered between them).
    std::vector<relabel::Rule> rs = rules("- regex: 'a_(.+)'\n  action: labelmap\n"
                                          "- regex: 'a_(.+)'\n  replacement: 'b_$1'\n  action: labelmap\n"
                                          "- regex: 'a_(.+)'\n  action: labeldrop\n"
                                          "- regex: '[a-z]_(x|y)|[xyz]'\n  action: labelkeep\n");
    for (int i = 0; i < 3; ++i) {
      model::Labels l{{"a_x", "1"}, {"a_y", std::to_string(i)}, {"z", "z"}, {"w", "w"}};
      REQUIRE(relabel::apply(rs, l).kept);
      CHECK(l == model::Labels{{"b_x", "1"}, {"b_y", std::to_string(i)}, {"x", "1"}, {"y", std::to_string(i)},
                               {"z", "z"}});
    }
  }

  TEST_CASE("labelmap: replace-all over names, sorted order on collisions") {
    // promtool 2.42 for every case.
    auto l = run("- regex: '__meta_(.+)'\n  action: labelmap\n"
                 "- regex: 'e(n)v'\n  replacement: 'x_${1}_$0'\n  action: labelmap\n",
                 {{"__meta_env", "prod"}, {"env", "dev"}});
    CHECK(l == model::Labels{{"__meta_env", "prod"}, {"env", "prod"}, {"x_n_env", "prod"}});
    // Two sources map to x: the sorted-last one wins (2.45 would be random).
    l = run("- regex: '__meta_[ab]_(x)'\n  action: labelmap\n",
            {{"__meta_a_x", "1"}, {"__meta_b_x", "2"}, {"x", "0"}});
    CHECK(l.get("x") == "2");
    // Leaked anchors: only the matched parts of the name are replaced.
    l = run("- regex: 'a)|(b'\n  replacement: X\n  action: labelmap\n",
            {{"abc", "1"}, {"cab", "2"}, {"bab", "3"}, {"ab", "4"}, {"ccc", "5"}, {"job", "j"}});
    CHECK(l == model::Labels{{"XX", "4"},   {"Xbc", "1"}, {"ab", "4"},  {"abc", "1"}, {"baX", "3"}, {"bab", "3"},
                             {"caX", "2"},  {"cab", "2"}, {"ccc", "5"}, {"joX", "j"}, {"job", "j"}});
    // Empty matches at the start and the end of every name.
    l = run("- regex: ')|('\n  replacement: X\n  action: labelmap\n", {{"ab", "1"}, {"__address__", "h:1"}});
    CHECK(l == model::Labels{{"XabX", "1"}, {"X__address__X", "h:1"}, {"__address__", "h:1"}, {"ab", "1"}});
    // A replacement that expands to "" creates a label with an empty name.
    l = run("- regex: '(z)'\n  replacement: '$2'\n  action: labelmap\n", {{"z", "1"}});
    CHECK(l.size() == 2);
    CHECK(l.get("") == "1");
    // The snapshot is taken at rule start: a label created by the rule is
    // not mapped again.
    l = run("- regex: 'a(.*)'\n  replacement: 'aa$1'\n  action: labelmap\n", {{"ab", "1"}});
    CHECK(l == model::Labels{{"aab", "1"}, {"ab", "1"}});
  }

  TEST_CASE("replace_all mirrors Go's ReplaceAllString") {
    relabel::Regexp re;
    REQUIRE(relabel::parse_text("a)|(b", re) == "");
    CHECK(relabel::replace_all(*re.re, "ab", "<$1>") == "<><b>");
    REQUIRE(relabel::parse_text("x*)|(", re) == "");
    CHECK(relabel::replace_all(*re.re, "xxa", "-") == "-a-");
    CHECK(relabel::replace_all(*re.re, "", "-") == "-");
    REQUIRE(relabel::parse_text(")|(", re) == "");
    CHECK(relabel::replace_all(*re.re, "\xc3\xa9", "-") == "-\xc3\xa9-");
  }

  TEST_CASE("labeldrop and labelkeep apply to every label") {
    auto l = run("- regex: '__.*|b'\n  action: labeldrop\n",
                 {{"__address__", "h:1"}, {"__scheme__", "http"}, {"a", "1"}, {"b", "2"}, {"bb", "3"}});
    CHECK(l == model::Labels{{"a", "1"}, {"bb", "3"}});
    l = run("- regex: 'a|job'\n  action: labelkeep\n", {{"__address__", "h:1"}, {"a", "1"}, {"job", "j"}});
    CHECK(l == model::Labels{{"a", "1"}, {"job", "j"}});
    l = run("- regex: 'a)|(b'\n  action: labeldrop\n", {{"axe", "1"}, {"cab", "2"}, {"cat", "3"}});
    CHECK(l == model::Labels{{"cat", "3"}});
  }

  TEST_CASE("lowercase and uppercase") {
    // promtool 2.42 for the rule results.
    auto l = run("- source_labels: [a]\n  target_label: lo\n  action: lowercase\n"
                 "- source_labels: [a]\n  target_label: up\n  action: uppercase\n"
                 "- source_labels: [b]\n  target_label: lo2\n  action: lowercase\n"
                 "- source_labels: [b]\n  target_label: up2\n  action: uppercase\n"
                 "- source_labels: [c]\n  target_label: up3\n  action: uppercase\n"
                 "- source_labels: [c]\n  target_label: lo3\n  action: lowercase\n"
                 "- source_labels: [missing]\n  target_label: a\n  action: lowercase\n",
                 {{"a", "ÄÖÜ straße ΣΊΣΥΦΟΣ Привет İı ǅ ſ µ ÿ"},
                  {"b", "MiXeD 123"},
                  {"c", "ﬀ ᾳ ԱԲ Ⓐ ⓐ 𐐀 𐐨 Ꙁ ꙁ ꞔ \u1c89 𞤀"}});
    CHECK(l.get("lo") == "äöü straße σίσυφοσ привет iı ǆ ſ µ ÿ");
    CHECK(l.get("up") == "ÄÖÜ STRAßE ΣΊΣΥΦΟΣ ПРИВЕТ İI Ǆ S Μ Ÿ");
    CHECK(l.get("lo2") == "mixed 123");
    CHECK(l.get("up2") == "MIXED 123");
    CHECK(l.get("lo3") == "ﬀ ᾳ աբ ⓐ ⓐ 𐐨 𐐨 ꙁ ꙁ ꞔ \u1c89 𞤢");
    CHECK(l.get("up3") == "ﬀ ᾼ ԱԲ Ⓐ Ⓐ 𐐀 𐐀 Ꙁ Ꙁ Ꞔ \u1c89 𞤀");
    CHECK(!l.has("a")); // an empty result deletes the target

    // The target is never expanded: `${1}` names the label.
    l = run("- source_labels: [v]\n  target_label: '${1}'\n  action: lowercase\n", {{"v", "LocalHost:80"}});
    CHECK(l.get("${1}") == "localhost:80");
  }

  TEST_CASE("Go case mapping of strings") {
    CHECK(relabel::go_to_upper("abc-XYZ_09") == "ABC-XYZ_09");
    CHECK(relabel::go_to_lower("abc-XYZ_09") == "abc-xyz_09");
    CHECK(relabel::go_to_lower("") == "");
    // Any byte >= 0x80 takes the rune path, where each invalid byte becomes
    // U+FFFD (a valid U+FFFD stays as it is).
    CHECK(relabel::go_to_lower("A\xff") == "a\xef\xbf\xbd");
    CHECK(relabel::go_to_upper("\xc3\xa9\xc3") == "\xc3\x89\xef\xbf\xbd");
    CHECK(relabel::go_to_upper("\xe2\x82") == "\xef\xbf\xbd\xef\xbf\xbd");
    CHECK(relabel::go_to_lower("\xed\xa0\x80") == "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"); // surrogate
    CHECK(relabel::go_to_lower("\xef\xbf\xbd") == "\xef\xbf\xbd");
    // Latin-1, Latin Extended, Greek, Cyrillic, Armenian, Georgian.
    CHECK(relabel::go_to_upper("àáâãäåæçèéêëìíîïðñòóôõöøùúûüýþÿ") == "ÀÁÂÃÄÅÆÇÈÉÊËÌÍÎÏÐÑÒÓÔÕÖØÙÚÛÜÝÞŸ");
    CHECK(relabel::go_to_lower("ÀÁÂÃÄÅÆÇÈÉÊËÌÍÎÏÐÑÒÓÔÕÖØÙÚÛÜÝÞ") == "àáâãäåæçèéêëìíîïðñòóôõöøùúûüýþ");
    CHECK(relabel::go_to_upper("×÷ß") == "×÷ß");
    CHECK(relabel::go_to_upper("āăąćĉċčďđēĳķĸĺżž") == "ĀĂĄĆĈĊČĎĐĒĲĶĸĹŻŽ");
    CHECK(relabel::go_to_lower("ĀĂĄĆĈĊČĎĐĒĲĶĹŻŽ") == "āăąćĉċčďđēĳķĺżž");
    CHECK(relabel::go_to_upper("αβγδεζηθικλμνξοπρςστυφχψωάέήίόύώϊϋΐ") == "ΑΒΓΔΕΖΗΘΙΚΛΜΝΞΟΠΡΣΣΤΥΦΧΨΩΆΈΉΊΌΎΏΪΫΐ");
    CHECK(relabel::go_to_lower("ΑΒΓΔΕΖΗΘΙΚΛΜΝΞΟΠΡΣΤΥΦΧΨΩΆΈΉΊΌΎΏΪΫ") == "αβγδεζηθικλμνξοπρστυφχψωάέήίόύώϊϋ");
    CHECK(relabel::go_to_upper("абвгдеёжзийклмнопрстуфхцчшщъыьэюяіїєґ") == "АБВГДЕЁЖЗИЙКЛМНОПРСТУФХЦЧШЩЪЫЬЭЮЯІЇЄҐ");
    CHECK(relabel::go_to_lower("АБВГДЕЁЖЗИЙКЛМНОПРСТУФХЦЧШЩЪЫЬЭЮЯІЇЄҐ") == "абвгдеёжзийклмнопрстуфхцчшщъыьэюяіїєґ");
    CHECK(relabel::go_to_upper("ⴀ") == "Ⴀ");
    CHECK(relabel::go_to_lower("Ⴀ") == "ⴀ");
    CHECK(relabel::go_to_lower("ᲐᲑ") == "აბ"); // Georgian Mtavruli (Unicode 11)
    CHECK(relabel::go_to_upper("ﬁ") == "ﬁ");  // no simple mapping
    CHECK(relabel::go_to_upper("ŉ") == "ŉ");
  }
}
