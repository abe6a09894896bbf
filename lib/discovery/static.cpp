#include "discovery/static.h"

#include <algorithm>

namespace sdscope::discovery {

namespace {

using SharedGroups = std::vector<std::shared_ptr<const model::TargetGroup>>;

class StaticDiscoverer : public Discoverer {
public:
  explicit StaticDiscoverer(SharedGroups groups) : m_groups(std::move(groups)) {}
  void run(std::stop_token, Sink& sink) override {
    sink.update(m_groups);
    sink.report("");
  }

private:
  SharedGroups m_groups;
};

} // namespace

StaticConfig::StaticConfig(std::vector<model::TargetGroup> groups) {
  for (model::TargetGroup& g : groups) {
    m_groups.push_back(std::make_shared<const model::TargetGroup>(std::move(g)));
  }
}

bool StaticConfig::equals(const SdConfig& other) const {
  const auto* o = dynamic_cast<const StaticConfig*>(&other);
  return o != nullptr && std::equal(m_groups.begin(), m_groups.end(), o->m_groups.begin(), o->m_groups.end(),
                                    [](const auto& a, const auto& b) { return *a == *b; });
}

Result<std::unique_ptr<Discoverer>> StaticConfig::make_discoverer(const DiscovererOptions&) const {
  return std::make_unique<StaticDiscoverer>(m_groups);
}

} // namespace sdscope::discovery
