#include <doctest/doctest.h>

#include "model/duration.h"
#include "model/labels.h"
#include "yaml/decode.h"
#include "test_util.h"

using namespace sdscope;
using test::decode_errors;

namespace {

struct Inner {
  static constexpr std::string_view k_go_type = "test.inner";
  std::string name;
  bool flag = true;
  template <class V> void fields(V& v) {
    v("name", name);
    v("flag", flag);
  }
};

struct Outer {
  static constexpr std::string_view k_go_type = "test.plain";
  uint64_t limit = 0;
  model::Duration interval = model::Duration::minutes(1);
  std::vector<std::string> list;
  std::optional<Inner> inner;
  template <class V> void fields(V& v) {
    v("limit", limit);
    v("interval", interval);
    v("list", list);
    v("inner", inner);
  }
};

} // namespace

TEST_SUITE("yaml") {
  TEST_CASE("decodes fields, defaults and nulls") {
    Outer o;
    CHECK(decode_errors("limit: 5\nlist: [a, 1, yes]\ninner: {name: x}\n", o).empty());
    CHECK(o.limit == 5);
    CHECK(o.interval == model::Duration::minutes(1));
    CHECK(o.list == std::vector<std::string>{"a", "1", "yes"});
    REQUIRE(o.inner);
    CHECK(o.inner->flag);
    Outer z;
    CHECK(decode_errors("interval: ~\ninner: ~\n", z).empty());
    CHECK(z.interval.ms == 0);
    CHECK(!z.inner);
  }

  TEST_CASE("type errors and unknown keys are collected") {
    Outer o;
    auto errors = decode_errors("limit: -1\nlimt: 3\ninner:\n  flag: \"true\"\n  flag: yes\n", o);
    REQUIRE(errors.size() == 4);
    CHECK(errors[0] == "1:8: cannot unmarshal !!int `-1` into uint");
    CHECK(errors[1] == "2:1: field limt not found in type test.plain (did you mean limit?)");
    CHECK(errors[2] == "4:9: cannot unmarshal !!str `true` into bool");
    CHECK(errors[3] == "5:3: field flag already set in type test.inner");
  }

  TEST_CASE("hook errors come first") {
    Outer o;
    auto errors = decode_errors("list: {}\ninterval: 30\n", o);
    REQUIRE(errors.size() == 2);
    CHECK(errors[0] == "2:11: not a valid duration string: \"30\"");
    CHECK(errors[1] == "1:7: cannot unmarshal !!map into []string");
  }

  TEST_CASE("merge keys") {
    Outer o;
    CHECK(decode_errors("base: &b {name: a, flag: no}\n", o).size() == 1);
    Outer m;
    CHECK(decode_errors("inner:\n  <<: {name: a, flag: no}\n  name: b\n", m).empty());
    CHECK(m.inner->name == "b");
    CHECK(!m.inner->flag);
  }
}
