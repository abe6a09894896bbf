#include "discovery/target_groups.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "util/strings.h"
#include "yaml/decode.h"

namespace sdscope::discovery {

namespace {

std::string json_kind(const nlohmann::json& v) {
  switch (v.type()) {
  case nlohmann::json::value_t::object: return "object";
  case nlohmann::json::value_t::array: return "array";
  case nlohmann::json::value_t::string: return "string";
  case nlohmann::json::value_t::boolean: return "bool";
  case nlohmann::json::value_t::null: return "null";
  default: return "number";
  }
}

// The YAML form of one group (the same anonymous struct static_configs use).
struct YamlGroup {
  static constexpr std::string_view k_go_type =
      "struct { Targets []string \"yaml:\\\"targets\\\"\"; Labels model.LabelSet \"yaml:\\\"labels\\\"\" }";
  std::vector<std::string> targets;
  model::LabelSet labels;
  template <class V> void fields(V& v) {
    v("targets", targets);
    v("labels", labels);
  }
};

model::TargetGroup make_group(const std::vector<std::string>& targets, const std::map<std::string, std::string>& labels) {
  model::TargetGroup group;
  group.targets.reserve(targets.size());
  for (const std::string& t : targets) {
    model::Labels target;
    target.set("__address__", t);
    group.targets.push_back(std::move(target));
  }
  for (const auto& [name, value] : labels) {
    group.labels.set(name, value);
  }
  return group;
}

} // namespace

Result<std::vector<model::TargetGroup>> parse_groups_json(std::string_view text) {
  if (text.find_first_not_of(" \t\r\n") == std::string_view::npos) {
    return fail("unexpected end of JSON input");
  }
  nlohmann::json doc;
  try {
    doc = nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) { // a syntax error, or a number out of range
    return fail(fmt::format("invalid JSON: {}", e.what()));
  }
  if (!doc.is_array()) {
    if (doc.is_null()) {
      return std::vector<model::TargetGroup>{};
    }
    return fail(fmt::format("json: cannot unmarshal {} into Go value of type []*targetgroup.Group", json_kind(doc)));
  }
  std::vector<model::TargetGroup> groups;
  groups.reserve(doc.size());
  for (const nlohmann::json& item : doc) {
    if (item.is_null()) {
      return fail("nil target group item found");
    }
    if (!item.is_object()) {
      return fail(fmt::format("json: cannot unmarshal {} into Go value of type struct {{ Targets []string "
                              "\"json:\\\"targets\\\"\"; Labels model.LabelSet \"json:\\\"labels\\\"\" }}",
                              json_kind(item)));
    }
    std::vector<std::string> targets;
    std::map<std::string, std::string> labels;
    for (const auto& [key, value] : item.items()) {
      if (key == "targets") {
        if (value.is_null()) {
          continue;
        }
        if (!value.is_array()) {
          return fail(fmt::format("json: cannot unmarshal {} into Go struct field .targets of type []string",
                                  json_kind(value)));
        }
        for (const nlohmann::json& t : value) {
          if (!t.is_string() && !t.is_null()) {
            return fail(fmt::format("json: cannot unmarshal {} into Go struct field .targets of type string",
                                    json_kind(t)));
          }
          targets.push_back(t.is_string() ? t.get<std::string>() : "");
        }
      } else if (key == "labels") {
        if (value.is_null()) {
          continue;
        }
        if (!value.is_object()) {
          return fail(fmt::format("json: cannot unmarshal {} into Go value of type model.LabelSet", json_kind(value)));
        }
        for (const auto& [name, label] : value.items()) {
          if (!model::is_valid_label_name(name)) {
            return fail(fmt::format("{} is not a valid label name", util::go_quote(name)));
          }
          if (!label.is_string() && !label.is_null()) {
            return fail(fmt::format("json: cannot unmarshal {} into Go value of type model.LabelValue",
                                    json_kind(label)));
          }
          labels[name] = label.is_string() ? label.get<std::string>() : "";
        }
      } else {
        return fail(fmt::format("json: unknown field {}", util::go_quote(key)));
      }
    }
    groups.push_back(make_group(targets, labels));
  }
  return groups;
}

std::vector<model::TargetGroup> parse_groups_yaml(std::string_view text, const std::string& file,
                                                  yaml::Diagnostics& diagnostics) {
  std::vector<model::TargetGroup> groups;
  auto doc = yaml::Document::parse(text);
  if (!doc) {
    diagnostics.error(file, doc.error().mark, doc.error().message, yaml::Stage::content);
    return groups;
  }
  yaml::Node root = doc->root();
  if (!root || root.is_null()) {
    return groups;
  }
  yaml::Diagnostics local;
  yaml::Decoder decoder(local, file);
  if (!root.is_sequence()) {
    decoder.type_error(root, "[]*targetgroup.Group");
  } else {
    for (size_t i = 0; i < root.size(); ++i) {
      if (root.element(i).is_null()) {
        decoder.error(root.element(i), "nil target group item found");
        continue;
      }
      YamlGroup group;
      decoder.decode(root.element(i), group);
      groups.push_back(make_group(group.targets, group.labels));
    }
  }
  for (yaml::Diagnostic d : local.items()) {
    d.stage = yaml::Stage::content;
    diagnostics.add(std::move(d));
  }
  return groups;
}

} // namespace sdscope::discovery
