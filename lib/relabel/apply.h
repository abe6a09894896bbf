#pragma once

// Running relabel rules on a label set (model/relabel/relabel.go, v2.45.0;
// spec/core.md §4.3-§4.7).

#include <span>
#include <string>
#include <string_view>

#include "model/labels.h"
#include "relabel/rule.h"

namespace re2 {
class RE2;
}

namespace sdscope::relabel {

// Expands tmpl the way Go's Regexp.ExpandString does (§4.5): `$$` is `$`;
// `$name` takes the longest run of letters, digits and `_` as the name (so
// `$1x` names group "1x"); `${name}` delimits it; an all-digit name is a group
// number unless it has a leading zero or more than 9 digits; other names are
// looked up among re's named groups. Unknown or non-participating groups
// expand to "". A malformed reference copies the `$` and scanning resumes
// after it. groups[i] is the text of group i (0 = whole match); a group that
// did not participate has data() == nullptr (as RE2 reports it).
std::string expand_template(std::string_view tmpl, const re2::RE2& re,
                            std::span<const std::string_view> groups);
// Same, appending to out.
void expand_template_to(std::string& out, std::string_view tmpl, const re2::RE2& re,
                        std::span<const std::string_view> groups);

// Go's strings.ToLower / strings.ToUpper: ASCII fast path; otherwise per-rune
// simple case mapping (Unicode 13.0.0, Go 1.17-1.20) with every invalid UTF-8
// byte replaced by U+FFFD.
std::string go_to_lower(std::string_view s);
std::string go_to_upper(std::string_view s);

// Go's Regexp.ReplaceAllString(src, repl) with re (which must already be the
// wrapped pattern): every non-overlapping leftmost-first match is replaced by
// the expansion of repl; the unmatched text is kept.
std::string replace_all(const re2::RE2& re, std::string_view src, std::string_view repl);

struct ApplyResult {
  bool kept = true;
  int dropped_by = -1; // index into rules of the rule that dropped the label set
};

// Applies rules in order to labels (v2.45.0 semantics, §4.4). Processing stops
// at the first keep/drop/keepequal/dropequal rejection. labelmap, labeldrop and
// labelkeep iterate a snapshot of the labels in sorted name order (§4.7: 2.45
// uses Go map order there, which is random; sorted order is what 2.42 does),
// so on a labelmap collision the sorted-last source label wins.
//
// Every regex is run as an unanchored search of the already wrapped pattern
// `^(?:text)$`, exactly as Go's MatchString / FindStringSubmatchIndex /
// ReplaceAllString do: for a well-formed pattern that is a full match, and a
// pattern that leaks out of the wrapper (`a)|(b`, §4.6) behaves as in
// Prometheus (an RE2 ANCHOR_BOTH match would not).
//
// Known difference: Go's matcher reads an invalid UTF-8 byte as U+FFFD, which
// `.` and negated classes match; RE2 matches no invalid byte with them, so
// e.g. `(.*)` does not match a value holding invalid UTF-8 here. Such values
// practically never occur: YAML rejects them and Go's JSON decoding (file,
// HTTP and API based discovery) replaces them with U+FFFD.
ApplyResult apply(std::span<const Rule> rules, model::Labels& labels);

} // namespace sdscope::relabel
