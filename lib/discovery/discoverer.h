#pragma once

// What runs a service discovery: a Discoverer sends target groups to a Sink
// until it is asked to stop (spec/core.md §7-§8).

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <stop_token>
#include <string>
#include <vector>

#include "model/labels.h"
#include "util/result.h"

namespace sdscope::discovery {

// Where a running discoverer reports. Implementations are thread-safe.
class Sink {
public:
  virtual ~Sink() = default;
  // Each group replaces the earlier group with the same Source; a group
  // without targets empties its Source.
  virtual void update(std::vector<std::shared_ptr<const model::TargetGroup>> groups) = 0;
  void update(std::vector<model::TargetGroup> groups);
  // Called after every attempt to discover: "" when it worked, else why not
  // (never with a secret in it). The first call means the first full result
  // is in (or the first attempt failed); a failure keeps the groups sent
  // before it.
  virtual void report(std::string error) = 0;
};

class Discoverer {
public:
  virtual ~Discoverer() = default;
  // Runs until stop is requested (returning promptly then), sending to sink.
  virtual void run(std::stop_token stop, Sink& sink) = 0;
};

// Settings that do not come from the config file.
struct DiscovererOptions {
  // Base URLs replacing a mechanism's fixed API endpoint, by mechanism name,
  // for mechanisms whose config has no endpoint field; for "dns", the name
  // servers ("host:port,...") used instead of resolv.conf's.
  std::map<std::string, std::string> endpoints;
};

// Waits for d unless stop is requested first; returns false if it was.
bool sleep_for(std::stop_token stop, std::chrono::milliseconds d);

// The refresh helper (spec/core.md §8): refresh at once, then every
// interval; a success sends the full list, a failure sends nothing.
class RefreshDiscoverer : public Discoverer {
public:
  using RefreshFn = std::function<Result<std::vector<model::TargetGroup>>(std::stop_token)>;
  // Prometheus panics on a zero interval (check warns of it); here the
  // interval is at least a second.
  RefreshDiscoverer(int64_t interval_ms, RefreshFn refresh)
      : m_interval(std::max<int64_t>(interval_ms, 1000)), m_refresh(std::move(refresh)) {}
  void run(std::stop_token stop, Sink& sink) override;

private:
  std::chrono::milliseconds m_interval;
  RefreshFn m_refresh;
};

// A RefreshDiscoverer around the Discovery that `Discovery::make(config,
// args...)` builds (a class with `Result<std::vector<model::TargetGroup>>
// refresh(std::stop_token)`); fails where make fails.
template <class Discovery, class Config, class... Args>
Result<std::unique_ptr<Discoverer>> make_refresh_discoverer(const Config& config, int64_t interval_ms,
                                                            const Args&... args) {
  Result<std::unique_ptr<Discovery>> discovery = Discovery::make(config, args...);
  if (!discovery) {
    return fail(discovery.error());
  }
  std::shared_ptr<Discovery> shared = std::move(*discovery);
  return std::unique_ptr<Discoverer>(std::make_unique<RefreshDiscoverer>(
      interval_ms, [shared](std::stop_token stop) { return shared->refresh(std::move(stop)); }));
}

} // namespace sdscope::discovery
