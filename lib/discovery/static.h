#pragma once

// static_configs: a job's static groups as one provider that sends them
// once (spec/core.md §6.3).

#include <vector>

#include "discovery/sd_config.h"
#include "model/labels.h"

namespace sdscope::discovery {

// Not a YAML block of its own: the config layer builds it from a job's
// static_configs (Source = index of the entry).
class StaticConfig final : public SdConfig {
public:
  explicit StaticConfig(std::vector<model::TargetGroup> groups);
  std::string_view mechanism() const override { return "static"; }
  void accept(yaml::Printer&) const override {}
  void accept(yaml::PathJoiner&) override {}
  void accept(yaml::FileCollector&) override {}
  void accept(yaml::SecretCollector&) override {}
  bool equals(const SdConfig& other) const override;
  Result<std::unique_ptr<Discoverer>> make_discoverer(const DiscovererOptions& options) const override;

private:
  std::vector<std::shared_ptr<const model::TargetGroup>> m_groups; // shared with the provider, not copied
};

} // namespace sdscope::discovery
