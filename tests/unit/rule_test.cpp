#include <doctest/doctest.h>

#include "relabel/rule.h"
#include "test_util.h"

using namespace sdscope;

TEST_SUITE("relabel rules") {
  // The first diagnostic of decoding one rule, without its position.
  auto first = [](std::string_view yaml) {
    relabel::Rule rule;
    std::vector<std::string> errors = test::decode_errors(yaml, rule);
    return errors.empty() ? std::string() : errors[0].substr(errors[0].find(": ") + 2);
  };

  TEST_CASE("defaults") {
    relabel::Rule rule;
    CHECK(test::decode_errors("target_label: a", rule).empty());
    CHECK(rule.action.value == relabel::Action::replace);
    CHECK(rule.separator == ";");
    CHECK(rule.replacement == "$1");
    CHECK(rule.regex.text == "(.*)");
    CHECK_FALSE(rule.regex.is_explicit);
  }

  TEST_CASE("every load-time check of v2.45, with its message") {
    CHECK(first("action: Foo") == "unknown relabel action \"Foo\"");
    CHECK(first("action: ~") == "relabel action cannot be empty");
    CHECK(first("action: HashMod\ntarget_label: a") == "relabel configuration for hashmod requires non-zero modulus");
    CHECK(first("regex: (foo") == "error parsing regexp: missing closing ): `^(?:(foo)$`");
    CHECK(first("regex: a(?=b)") == "error parsing regexp: invalid or unsupported Perl syntax: `(?=`");
    CHECK(first("regex: (?<n>a)") == "error parsing regexp: invalid or unsupported Perl syntax: `(?<`");
    CHECK(first("regex: \\1") == "error parsing regexp: invalid escape sequence: `\\1`");
    CHECK(first("regex: a{1001}") == "error parsing regexp: invalid repeat count: `{1001}`");
    CHECK(first("regex: \\C") == "error parsing regexp: invalid escape sequence: `\\C`");
    CHECK(first("source_labels: [a]") == "relabel configuration for replace action requires 'target_label' value");
    CHECK(first("target_label: 1a") == "\"1a\" is invalid 'target_label' for replace action");
    CHECK(first("target_label: ${1}x").empty());
    CHECK(first("action: lowercase\ntarget_label: a\nreplacement: x") ==
          "'replacement' can not be set for lowercase action");
    CHECK(first("action: labelmap\nreplacement: l-$1") == "\"l-$1\" is invalid 'replacement' for labelmap action");
    CHECK(first("action: hashmod\nmodulus: 2\ntarget_label: ${1}") ==
          "\"${1}\" is invalid 'target_label' for hashmod action");
    CHECK(first("action: keepequal\ntarget_label: a\nregex: (.*)") ==
          "keepequal action requires only 'source_labels' and `target_label`, and no other fields");
    CHECK(first("action: dropequal\ntarget_label: a\nseparator: ','") ==
          "dropequal action requires only 'source_labels' and `target_label`, and no other fields");
    CHECK(first("action: labeldrop\nsource_labels: []") == "labeldrop action requires only 'regex', and no other fields");
    CHECK(first("action: labelkeep\nreplacement: $1").empty()); // explicitly the default is fine
    CHECK(first("modulus: -1") == "cannot unmarshal !!int `-1` into uint64");
    CHECK(first("source_labels: a") == "cannot unmarshal !!str `a` into model.LabelNames");
    CHECK(first("source_labels: [a-b]") == "\"a-b\" is not a valid label name");
    CHECK(first("foo: 1") == "field foo not found in type relabel.plain");
  }

  TEST_CASE("a null regex is the empty regex") {
    relabel::Rule rule;
    CHECK(test::decode_errors("regex: ~\ntarget_label: a", rule).empty());
    CHECK(rule.regex.text.empty());
    CHECK(rule.regex.is_explicit);
  }
}
