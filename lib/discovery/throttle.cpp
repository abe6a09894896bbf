#include "discovery/throttle.h"

#include <algorithm>

namespace sdscope::discovery {

void UpdateThrottle::changed(Clock::time_point now) {
  if (m_due) {
    return; // goes out with the update already due
  }
  if (m_interval <= Clock::duration::zero()) {
    m_due = now;
    return;
  }
  // The first tick at or after now. A tick missed while the caller was busy
  // is not made up for, as Go's ticker drops ticks for a slow reader.
  auto ticks = (now - m_start + m_interval - Clock::duration(1)) / m_interval;
  m_due = m_start + std::max<decltype(ticks)>(ticks, 1) * m_interval;
}

bool UpdateThrottle::take(Clock::time_point now) {
  if (!m_due || now < *m_due) {
    return false;
  }
  m_due.reset();
  return true;
}

} // namespace sdscope::discovery
