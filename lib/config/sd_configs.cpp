#include "config/sd_configs.h"

#include <algorithm>

#include <fmt/format.h>

namespace sdscope::config {

bool SdList::empty() const {
  return std::none_of(configs->begin(), configs->end(),
                      [&](const auto& c) { return c->mechanism() == mechanism->name; });
}

void SdList::accept(yaml::Printer& v) const {
  v.emitter() << YAML::BeginSeq;
  for (const auto& c : *configs) {
    if (c->mechanism() == mechanism->name) {
      c->accept(v);
    }
  }
  v.emitter() << YAML::EndSeq;
}

void decode_value(yaml::Decoder& d, yaml::Node n, SdList& out) {
  if (!n.is_sequence()) {
    d.type_error(n, "discovery.Configs");
    return;
  }
  for (size_t i = 0; i < n.size(); ++i) {
    yaml::Node element = n.element(i);
    if (element.is_null()) {
      d.error(element, fmt::format("empty or null section in {}", out.mechanism->key));
      continue;
    }
    if (std::unique_ptr<discovery::SdConfig> config = out.mechanism->parse(d, element)) {
      out.configs->push_back(std::move(config));
    }
  }
}

void SdConfigs::validate(yaml::Checker& c) {
  auto rank = [](const discovery::SdConfig& config) {
    auto all = discovery::mechanisms();
    for (size_t i = 0; i < all.size(); ++i) {
      if (all[i].name == config.mechanism()) {
        return i;
      }
    }
    return all.size();
  };
  std::stable_sort(configs.begin(), configs.end(),
                   [&](const auto& a, const auto& b) { return rank(*a) < rank(*b); });
  yaml::Node list = c.field("static_configs");
  for (size_t i = 0; list.is_sequence() && i < list.size(); ++i) {
    if (list.element(i).is_null()) {
      c.decoder().error(list.element(i), "empty or null section in static_configs");
      return;
    }
  }
}

} // namespace sdscope::config
