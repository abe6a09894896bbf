#include "discovery/discoverer.h"

#include <condition_variable>
#include <mutex>

namespace sdscope::discovery {

void Sink::update(std::vector<model::TargetGroup> groups) {
  std::vector<std::shared_ptr<const model::TargetGroup>> shared;
  shared.reserve(groups.size());
  for (model::TargetGroup& g : groups) {
    shared.push_back(std::make_shared<const model::TargetGroup>(std::move(g)));
  }
  update(std::move(shared));
}

bool sleep_for(std::stop_token stop, std::chrono::milliseconds d) {
  std::mutex mutex;
  std::condition_variable_any wake;
  std::unique_lock lock(mutex);
  return !wake.wait_for(lock, stop, d, [] { return false; }) && !stop.stop_requested();
}

void RefreshDiscoverer::run(std::stop_token stop, Sink& sink) {
  // A ticker: the next refresh is due one interval after the previous was
  // due, so a slow refresh does not shift the schedule (no catch-up bursts).
  auto due = std::chrono::steady_clock::now();
  while (!stop.stop_requested()) {
    Result<std::vector<model::TargetGroup>> groups = m_refresh(stop);
    if (stop.stop_requested()) {
      return; // a cancelled refresh is not a failure
    }
    if (groups) {
      sink.update(std::move(*groups));
      sink.report("");
    } else {
      sink.report(groups.error());
    }
    auto now = std::chrono::steady_clock::now();
    do {
      due += m_interval;
    } while (due <= now);
    if (!sleep_for(stop, std::chrono::duration_cast<std::chrono::milliseconds>(due - now))) {
      return;
    }
  }
}

} // namespace sdscope::discovery
