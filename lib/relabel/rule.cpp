#include "relabel/rule.h"

#include <fmt/format.h>
#include <re2/re2.h>

#include "util/strings.h"

namespace sdscope::relabel {

namespace {

constexpr std::pair<std::string_view, Action> k_actions[] = {
    {"replace", Action::replace},     {"keep", Action::keep},           {"drop", Action::drop},
    {"keepequal", Action::keepequal}, {"dropequal", Action::dropequal}, {"hashmod", Action::hashmod},
    {"labelmap", Action::labelmap},   {"labeldrop", Action::labeldrop}, {"labelkeep", Action::labelkeep},
    {"lowercase", Action::lowercase}, {"uppercase", Action::uppercase},
};

// A legacy label name in which $name / ${name} references may appear.
bool valid_template_label(const std::string& s) {
  static const re2::RE2 k_pattern(R"(^(?:(?:[a-zA-Z_]|\$(?:\{\w+\}|\w+))+\w*)+$)");
  return RE2::FullMatch(s, k_pattern);
}

} // namespace

std::string_view action_name(Action a) {
  for (const auto& [name, action] : k_actions) {
    if (action == a) {
      return name;
    }
  }
  return "";
}

std::string parse_text(std::string_view text, ActionField& out) {
  std::string lower = util::to_lower_ascii(text);
  for (const auto& [name, action] : k_actions) {
    if (name == lower) {
      out.value = action;
      return "";
    }
  }
  return fmt::format("unknown relabel action {}", util::go_quote(text));
}

std::string check_rule(const Rule& r) {
  Action a = r.action.value;
  std::string_view name = action_name(a);
  if (a == Action::none) {
    return "relabel action cannot be empty";
  }
  if (a == Action::hashmod && r.modulus == 0) {
    return "relabel configuration for hashmod requires non-zero modulus";
  }
  bool needs_target = a == Action::replace || a == Action::hashmod || a == Action::lowercase ||
                      a == Action::uppercase || a == Action::keepequal || a == Action::dropequal;
  if (needs_target && r.target_label.empty()) {
    return fmt::format("relabel configuration for {} action requires 'target_label' value", name);
  }
  bool templated_target = a == Action::replace || a == Action::lowercase || a == Action::uppercase ||
                          a == Action::keepequal || a == Action::dropequal;
  if (templated_target && !valid_template_label(r.target_label)) {
    return fmt::format("{} is invalid 'target_label' for {} action", util::go_quote(r.target_label), name);
  }
  bool fixed_replacement = a == Action::lowercase || a == Action::uppercase || a == Action::keepequal ||
                           a == Action::dropequal;
  if (fixed_replacement && r.replacement != "$1") {
    return fmt::format("'replacement' can not be set for {} action", name);
  }
  if (a == Action::labelmap && !valid_template_label(r.replacement)) {
    return fmt::format("{} is invalid 'replacement' for labelmap action", util::go_quote(r.replacement));
  }
  if (a == Action::hashmod && !model::is_valid_label_name(r.target_label)) {
    return fmt::format("{} is invalid 'target_label' for hashmod action", util::go_quote(r.target_label));
  }
  if ((a == Action::keepequal || a == Action::dropequal) &&
      (r.regex.is_explicit || r.modulus != 0 || r.separator != ";" || r.replacement != "$1")) {
    return fmt::format("{} action requires only 'source_labels' and `target_label`, and no other fields", name);
  }
  if ((a == Action::labeldrop || a == Action::labelkeep) &&
      (r.source_labels || !r.target_label.empty() || r.modulus != 0 || r.separator != ";" ||
       r.replacement != "$1")) {
    return fmt::format("{} action requires only 'regex', and no other fields", name);
  }
  return "";
}

void Rule::validate(yaml::Checker& c) {
  line = c.node().mark().line;
  if (std::string message = check_rule(*this); !message.empty()) {
    c.error(std::move(message));
  }
}

} // namespace sdscope::relabel
