#pragma once

// The text side of `sdscope watch`: the event log (one JSON object per
// line, for jq and log shippers) and the churn summary of --once-after.
// The full-screen view is elsewhere (output/watch_view.h).

#include <chrono>
#include <ostream>
#include <string>

#include "scrape/watch_state.h"

namespace sdscope::output {

// RFC 3339 in UTC with milliseconds: "2024-05-01T12:00:00.123Z".
std::string rfc3339(scrape::WallClock::time_point t);

// {"time":…,"job":…,"event":"added|removed|changed","target":{labels},
//  "discoveredLabels":{…}}, plus "previous":{labels} for "changed"; one
// line.
void write_change_event(std::ostream& out, const scrape::TargetChange& change);

// {"time":…,"event":"reload","message":…} after a config reload, or
// {"time":…,"event":"reload_failed","error":…} when the new config was
// rejected (the old one keeps running); one line.
void write_reload_event(std::ostream& out, scrape::WallClock::time_point time, const std::string& text, bool failed);

enum class SummaryFormat { text, json, event };

// The churn of every job since watching began: active targets now, the
// job's first targets, targets added and removed after them, flapping
// targets (with their scrape URLs) and the providers' states. text: a
// table; json: one document; event: one line {"time":…,"event":"summary",…}
// to end an event log.
void write_churn_summary(std::ostream& out, const scrape::WatchSnapshot& snapshot, std::chrono::milliseconds watched,
                         size_t updates, SummaryFormat format);

} // namespace sdscope::output
