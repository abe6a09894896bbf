#include "discovery/static.h"

namespace sdscope::discovery {

namespace {

class StaticDiscoverer : public Discoverer {
public:
  explicit StaticDiscoverer(std::vector<model::TargetGroup> groups) : m_groups(std::move(groups)) {}
  void run(std::stop_token, Sink& sink) override {
    sink.update(m_groups);
    sink.report("");
  }

private:
  std::vector<model::TargetGroup> m_groups;
};

} // namespace

bool StaticConfig::equals(const SdConfig& other) const {
  const auto* o = dynamic_cast<const StaticConfig*>(&other);
  return o != nullptr && o->m_groups == m_groups;
}

Result<std::unique_ptr<Discoverer>> StaticConfig::make_discoverer(const DiscovererOptions&) const {
  return std::make_unique<StaticDiscoverer>(m_groups);
}

} // namespace sdscope::discovery
