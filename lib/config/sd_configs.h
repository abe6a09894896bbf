#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "discovery/registry.h"
#include "model/labels.h"
#include "yaml/decode.h"
#include "yaml/visit.h"

namespace sdscope::config {

// One entry of static_configs (a target group in YAML form).
struct StaticGroup {
  static constexpr std::string_view k_go_type =
      "struct { Targets []string \"yaml:\\\"targets\\\"\"; Labels model.LabelSet \"yaml:\\\"labels\\\"\" }";
  static constexpr std::string_view k_go_name = "targetgroup.Group";
  std::vector<std::string> targets;
  model::LabelSet labels;
  yaml::Mark mark;

  template <class V> void fields(V& v) {
    v("targets", targets);
    v("labels", labels);
  }
  void validate(yaml::Checker& c) { mark = c.node().mark(); }
  bool operator==(const StaticGroup& o) const { return targets == o.targets && labels == o.labels; }
};

using StaticGroups = std::vector<std::optional<StaticGroup>>;

// The service discovery part of a job or alertmanager block: one list per
// registered mechanism (key <name>_sd_configs) plus static_configs.
struct SdConfigs {
  // Every SD block, ordered by mechanism key, then file order (the order
  // Prometheus starts a job's providers in).
  std::vector<std::unique_ptr<discovery::SdConfig>> configs;
  StaticGroups static_configs;

  template <class V> void fields(V& v);
  // Sorts configs into provider order and reports null static entries.
  void validate(yaml::Checker& c);
};

// The <name>_sd_configs list of one mechanism, seen through SdConfigs.
struct SdList {
  const discovery::Mechanism* mechanism;
  std::vector<std::unique_ptr<discovery::SdConfig>>* configs;

  bool empty() const;
  void accept(yaml::Printer& v) const;
  template <class V> void accept(V& v) const {
    for (auto& c : *configs) {
      if (c->mechanism() == mechanism->name) {
        c->accept(v);
      }
    }
  }
};
void decode_value(yaml::Decoder& d, yaml::Node n, SdList& out);

template <class V> void SdConfigs::fields(V& v) {
  for (const discovery::Mechanism& m : discovery::mechanisms()) {
    SdList list{&m, &configs};
    if (m.since.empty()) {
      v(m.key, list);
    } else {
      v.since(m.since, m.key, list);
    }
  }
  v("static_configs", static_configs);
}

} // namespace sdscope::config
