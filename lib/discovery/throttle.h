#pragma once

// Prometheus's discovery manager sends its consumers at most one update per
// tick of a 5 s ticker, and only when something changed since the last one
// (spec/core.md §7.3, `updatert`). This is that rule without a thread: the
// caller says when it saw a change, asks when the update is due, and takes
// it then. Time is passed in, so tests need no sleeps.

#include <chrono>
#include <optional>

namespace sdscope::discovery {

class UpdateThrottle {
public:
  using Clock = std::chrono::steady_clock;

  // Ticks fall at start + k * interval (k >= 1), like a Go ticker started
  // with the manager: the first update comes no sooner than one interval
  // after start. A zero interval delivers every change at once.
  UpdateThrottle(Clock::duration interval, Clock::time_point start) : m_interval(interval), m_start(start) {}

  // Something changed (seen at now). Changes before the due tick coalesce.
  void changed(Clock::time_point now);
  bool pending() const { return m_due.has_value(); }
  // The tick at which the pending change goes out; nullopt when none is.
  std::optional<Clock::time_point> due() const { return m_due; }
  // Whether an update is to be delivered at now; true clears the pending
  // change (the caller delivers the whole current state then).
  bool take(Clock::time_point now);

private:
  Clock::duration m_interval;
  Clock::time_point m_start;
  std::optional<Clock::time_point> m_due;
};

} // namespace sdscope::discovery
