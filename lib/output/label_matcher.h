#pragma once

// Label matchers in Prometheus selector syntax, for filtering the targets
// of `sdscope watch`: name="v", name!="v", name=~"re", name!~"re", comma
// separated, optionally in braces.

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "model/labels.h"
#include "util/result.h"

namespace re2 {
class RE2;
}

namespace sdscope::output {

struct LabelMatcher {
  enum class Op { equal, not_equal, regex, not_regex };
  std::string name;
  Op op = Op::equal;
  std::string value;                    // unquoted
  std::shared_ptr<const re2::RE2> re; // regex ops: value anchored at both ends

  // An absent label matches as the empty value, as in PromQL.
  bool matches(std::string_view label_value) const;
};

// Every matcher must match; an empty selector matches everything.
class LabelSelector {
public:
  // Parses text: quoted values take Go's string escapes ("..." and '...')
  // or none (`...`), regexes are RE2 anchored at both ends as Prometheus
  // anchors them. The error names the column (from 1) where parsing failed.
  static Result<LabelSelector> parse(std::string_view text);

  bool empty() const { return m_matchers.empty(); }
  bool matches(const model::Labels& labels) const;
  const std::vector<LabelMatcher>& matchers() const { return m_matchers; }

private:
  std::vector<LabelMatcher> m_matchers;
};

} // namespace sdscope::output
