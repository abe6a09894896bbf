#include "output/watch_events.h"

#include <ctime>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "model/duration.h"

namespace sdscope::output {

namespace {

using Json = nlohmann::ordered_json;

Json label_object(const model::Labels& labels) {
  Json out = Json::object();
  for (const auto& [name, value] : labels) {
    out[name] = value;
  }
  return out;
}

// One line, whatever the labels hold (invalid UTF-8 becomes U+FFFD).
void write_line(std::ostream& out, const Json& doc) {
  out << doc.dump(-1, ' ', false, Json::error_handler_t::replace) << '\n';
}

const char* kind_name(scrape::ChangeKind kind) {
  switch (kind) {
  case scrape::ChangeKind::added:
    return "added";
  case scrape::ChangeKind::removed:
    return "removed";
  case scrape::ChangeKind::changed:
    return "changed";
  }
  return "?";
}

std::string duration_text(std::chrono::milliseconds d) { return model::format_text(model::Duration{d.count()}); }

Json summary_json(const scrape::WatchSnapshot& snapshot, std::chrono::milliseconds watched, size_t updates) {
  Json doc;
  doc["watched"] = duration_text(watched);
  doc["updates"] = updates;
  doc["jobs"] = Json::array();
  for (const scrape::JobChurn& job : snapshot.jobs) {
    Json j;
    j["job"] = job.job;
    j["active"] = job.active;
    j["dropped"] = job.dropped;
    j["failed"] = job.failed;
    j["initial"] = job.initial;
    j["added"] = job.total_added;
    j["removed"] = job.total_removed;
    j["flapping"] = job.flapping;
    j["flappingTargets"] = job.flapping_targets;
    doc["jobs"].push_back(std::move(j));
  }
  doc["providers"] = Json::array();
  for (const discovery::ProviderStatus& p : snapshot.providers) {
    Json j;
    j["name"] = p.name;
    j["jobs"] = p.jobs;
    j["state"] = !p.synced ? "syncing" : p.error.empty() ? "ok" : "failing";
    if (!p.error.empty()) {
      j["error"] = p.error;
    }
    doc["providers"].push_back(std::move(j));
  }
  return doc;
}

void write_summary_text(std::ostream& out, const scrape::WatchSnapshot& snapshot, std::chrono::milliseconds watched,
                        size_t updates) {
  out << fmt::format("watched {}, {} update{}\n", duration_text(watched), updates, updates == 1 ? "" : "s");
  size_t width = 3;
  for (const scrape::JobChurn& job : snapshot.jobs) {
    width = std::max(width, job.job.size());
  }
  out << fmt::format("{:<{}}  {:>7}  {:>7}  {:>7}  {:>7}  {:>8}\n", "JOB", width, "ACTIVE", "INITIAL", "ADDED",
                     "REMOVED", "FLAPPING");
  for (const scrape::JobChurn& job : snapshot.jobs) {
    out << fmt::format("{:<{}}  {:>7}  {:>7}  {:>7}  {:>7}  {:>8}\n", job.job, width, job.active, job.initial,
                       job.total_added, job.total_removed, job.flapping);
  }
  for (const scrape::JobChurn& job : snapshot.jobs) {
    for (const std::string& target : job.flapping_targets) {
      out << fmt::format("flapping in job \"{}\": {}\n", job.job, target);
    }
    if (job.flapping > job.flapping_targets.size()) {
      out << fmt::format("flapping in job \"{}\": {} more\n", job.job, job.flapping - job.flapping_targets.size());
    }
  }
}

} // namespace

std::string rfc3339(scrape::WallClock::time_point t) {
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
  std::time_t seconds = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                     tm.tm_hour, tm.tm_min, tm.tm_sec, ms % 1000);
}

void write_change_event(std::ostream& out, const scrape::TargetChange& change) {
  Json doc;
  doc["time"] = rfc3339(change.time);
  doc["job"] = change.job;
  doc["event"] = kind_name(change.kind);
  doc["target"] = label_object(change.labels);
  doc["discoveredLabels"] = label_object(change.discovered);
  if (change.kind == scrape::ChangeKind::changed) {
    doc["previous"] = label_object(change.previous);
  }
  write_line(out, doc);
}

void write_reload_event(std::ostream& out, scrape::WallClock::time_point time, const std::string& text, bool failed) {
  Json doc;
  doc["time"] = rfc3339(time);
  doc["event"] = failed ? "reload_failed" : "reload";
  doc[failed ? "error" : "message"] = text;
  write_line(out, doc);
}

void write_churn_summary(std::ostream& out, const scrape::WatchSnapshot& snapshot, std::chrono::milliseconds watched,
                         size_t updates, SummaryFormat format) {
  switch (format) {
  case SummaryFormat::text:
    write_summary_text(out, snapshot, watched, updates);
    return;
  case SummaryFormat::json:
    out << summary_json(snapshot, watched, updates).dump(2, ' ', false, Json::error_handler_t::replace) << '\n';
    return;
  case SummaryFormat::event: {
    Json doc;
    doc["time"] = rfc3339(scrape::WallClock::now());
    doc["event"] = "summary";
    doc.update(summary_json(snapshot, watched, updates));
    write_line(out, doc);
    return;
  }
  }
}

} // namespace sdscope::output
