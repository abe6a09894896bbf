#pragma once

#include <optional>
#include <string>
#include <vector>

#include "model/labels.h"
#include "relabel/regexp.h"
#include "yaml/decode.h"

namespace sdscope::relabel {

enum class Action : uint8_t {
  none, // `action: ~`
  replace,
  keep,
  drop,
  keepequal,
  dropequal,
  hashmod,
  labelmap,
  labeldrop,
  labelkeep,
  lowercase,
  uppercase,
};

std::string_view action_name(Action a);

// The action field: matched case-insensitively, stored lower-cased.
struct ActionField {
  Action value = Action::replace;
  bool operator==(const ActionField&) const = default;
  static ActionField zero() { return {Action::none}; }
};
std::string parse_text(std::string_view text, ActionField& out);
inline std::string format_text(const ActionField& a) { return std::string(action_name(a.value)); }

// One relabel rule (relabel.Config) with Prometheus's defaults.
struct Rule {
  static constexpr std::string_view k_go_type = "relabel.plain";
  static constexpr std::string_view k_go_name = "relabel.Config";
  std::optional<std::vector<model::LabelName>> source_labels; // nullopt: not given
  std::string separator = ";";
  Regexp regex;
  yaml::GoUint64 modulus = 0;
  std::string target_label;
  std::string replacement = "$1";
  ActionField action;
  uint32_t line = 0; // where the rule starts, for "dropped by" reports

  template <class V> void fields(V& v) {
    v("source_labels", source_labels);
    v("separator", separator);
    v("regex", regex);
    v("modulus", modulus);
    v("target_label", target_label);
    v("replacement", replacement);
    v("action", action);
  }
  // The load-time checks of v2.45 (spec/core.md §4.2, steps 3-10).
  void validate(yaml::Checker& c);
  bool operator==(const Rule& o) const {
    return source_labels == o.source_labels && separator == o.separator && regex == o.regex &&
           modulus == o.modulus && target_label == o.target_label && replacement == o.replacement &&
           action == o.action;
  }
};

// Returns the first load-time problem of rule r, or "".
std::string check_rule(const Rule& r);

} // namespace sdscope::relabel
