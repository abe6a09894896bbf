#include "scrape/churn.h"

#include <algorithm>

#include <fmt/format.h>

namespace sdscope::scrape {

namespace {

constexpr size_t k_flapping_names = 100;

// The final labels without `__` ones, as Prometheus's API shows them.
template <class Fn> void for_each_shown(const JobTarget& t, Fn fn) {
  t.labels.for_each([&](std::string_view name, std::string_view value) {
    if (!name.starts_with("__")) {
      fn(name, value);
    }
  });
}

model::Labels shown_labels(const JobTarget& t) {
  model::Labels out;
  for_each_shown(t, [&](std::string_view name, std::string_view value) { out.append_sorted(name, value); });
  return out;
}

// Whether labels are exactly the pairs for_each passes, in their order,
// without building a label set of them.
template <class ForEach> bool same_pairs(const model::Labels& labels, ForEach for_each) {
  auto it = labels.begin();
  bool same = true;
  for_each([&](std::string_view name, std::string_view value) {
    same = same && it != labels.end() && it->first == name && it->second == value;
    if (same) {
      ++it;
    }
  });
  return same && it == labels.end();
}

// Names whose value is new or different in after, for highlighting.
std::vector<std::string> changed_names(const model::Labels& before, const model::Labels& after) {
  std::vector<std::string> out;
  for (const auto& [name, value] : after) {
    if (before.get(name) != value) {
      out.push_back(name);
    }
  }
  return out;
}

std::string identity_with_labels(const std::string& url, const model::Labels& labels) {
  std::string key = url;
  for (const auto& [name, value] : labels) {
    key += fmt::format(" {}=\"{}\"", name, value);
  }
  return key;
}

} // namespace

ChurnTracker::ChurnTracker(ChurnLimits limits) : m_limits(limits) {}

std::vector<TargetChange> ChurnTracker::update(const std::vector<JobInput>& jobs, WallClock::time_point now) {
  ++m_updates;
  m_snapshot.time = now;
  std::vector<TargetChange> changes;
  std::vector<JobChurn> next;
  next.reserve(jobs.size());
  std::unordered_map<std::string_view, JobChurn*> old;
  for (JobChurn& churn : m_snapshot.jobs) {
    old.emplace(churn.job, &churn);
  }
  for (const JobInput& input : jobs) {
    JobChurn& churn = next.emplace_back();
    if (auto it = old.find(input.job); it != old.end()) {
      churn = std::move(*it->second);
      old.erase(it);
    } else {
      churn.job = input.job;
    }
    JobState& state = m_states[input.job];
    churn.added = churn.removed = 0;
    if (input.targets != nullptr) {
      update_job(churn, state, *input.targets, now, changes);
    }
    churn.active_history.push_back(churn.active);
    if (churn.active_history.size() > m_limits.history) {
      churn.active_history.erase(churn.active_history.begin());
    }
    count_recent(churn, state, now);
  }
  for (auto& [name, churn] : old) {
    remove_all(*churn, m_states[churn->job], now, changes);
    m_states.erase(churn->job);
  }
  m_snapshot.jobs = std::move(next);

  for (const TargetChange& change : changes) {
    m_snapshot.events.push_front(change);
  }
  while (m_snapshot.events.size() > m_limits.events) {
    m_snapshot.events.pop_back();
  }
  return changes;
}

void ChurnTracker::update_job(JobChurn& churn, JobState& state, const JobTargets& targets, WallClock::time_point now,
                              std::vector<TargetChange>& changes) {
  bool baseline = !churn.delivered;
  churn.delivered = true;
  std::vector<WatchedTarget> list;
  list.reserve(targets.active.size() + targets.dropped.size());
  // keys is never reallocated (reserved), so index can view its strings.
  std::vector<std::string> keys;
  keys.reserve(targets.active.size());
  std::unordered_map<std::string_view, size_t> index;
  index.reserve(targets.active.size());
  std::vector<bool> kept(state.keys.size(), false);
  size_t added = 0;
  size_t changed = 0;

  for (const JobTarget& t : targets.active) {
    std::string url = targets.url(t);
    std::string labelled; // the identity when an earlier target has the same URL
    if (index.contains(url)) {
      labelled = identity_with_labels(url, shown_labels(t));
    }
    const std::string& key = labelled.empty() ? url : labelled;
    WatchedTarget w;
    auto before = state.index.find(key);
    if (before == state.index.end()) {
      w.labels = shown_labels(t);
      w.discovered = targets.discovered(t);
      w.scrape_url = url;
      ++added;
      changes.push_back({now, churn.job, ChangeKind::added, w.labels, {}, w.discovered, w.scrape_url});
      record(churn, state, key, true, baseline, now);
    } else {
      kept[before->second] = true;
      WatchedTarget& old = churn.targets[before->second];
      if (!same_pairs(old.labels, [&](auto fn) { for_each_shown(t, fn); })) {
        w.labels = shown_labels(t);
        w.discovered = targets.discovered(t);
        w.scrape_url = url;
        ++changed;
        w.changed_labels = changed_names(old.labels, w.labels);
        changes.push_back({now, churn.job, ChangeKind::changed, w.labels, old.labels, w.discovered, w.scrape_url});
      } else {
        // Unchanged, as nearly all are at each update: the old entry is
        // moved over, not built again (100,000 targets' label sets
        // rebuilt at every update were most of watch's time).
        w = std::move(old);
        if (!same_pairs(w.discovered, [&](auto fn) { targets.for_each_discovered(t, fn); })) {
          w.discovered = targets.discovered(t);
        }
      }
    }
    keys.push_back(labelled.empty() ? std::move(url) : std::move(labelled));
    index.emplace(keys.back(), list.size());
    list.push_back(std::move(w));
  }
  size_t removed = 0;
  for (size_t i = 0; i < kept.size(); ++i) {
    if (!kept[i]) {
      ++removed;
      WatchedTarget& old = churn.targets[i];
      changes.push_back({now, churn.job, ChangeKind::removed, std::move(old.labels), {}, std::move(old.discovered),
                         std::move(old.scrape_url)});
      record(churn, state, state.keys[i], false, baseline, now);
    }
  }
  for (const JobTarget& t : targets.dropped) {
    WatchedTarget& w = list.emplace_back();
    w.discovered = targets.discovered(t);
    w.dropped = true;
  }

  churn.active = targets.active.size();
  churn.dropped = targets.dropped.size();
  churn.failed = targets.failed.size();
  churn.added = added;
  churn.removed = removed;
  if (baseline) {
    churn.initial = added;
  } else {
    churn.total_added += added;
    churn.total_removed += removed;
  }
  if (added + removed + changed > 0) {
    churn.last_change = now;
  }
  if (added + removed > 0) {
    state.recent.push_back({now, added, removed});
  }
  churn.targets = std::move(list);
  state.index = std::move(index);
  state.keys = std::move(keys);
  if (state.seen.size() > state.index.size() + m_limits.forgotten) {
    forget(state);
  }
}

void ChurnTracker::remove_all(JobChurn& churn, JobState& state, WallClock::time_point now,
                              std::vector<TargetChange>& changes) {
  for (size_t i = 0; i < state.keys.size(); ++i) {
    WatchedTarget& old = churn.targets[i];
    changes.push_back({now, churn.job, ChangeKind::removed, std::move(old.labels), {}, std::move(old.discovered),
                       std::move(old.scrape_url)});
  }
}

void ChurnTracker::record(JobChurn& churn, JobState& state, const std::string& key, bool present, bool baseline,
                          WallClock::time_point now) {
  Presence& p = state.seen[key];
  p.present = present;
  p.last_change = now;
  if (baseline) {
    return; // being there from the start is no coming
  }
  // Came, went, came again (or went, came, went): flapping from the third.
  if (++p.transitions == 3) {
    ++churn.flapping;
    if (churn.flapping_targets.size() < k_flapping_names) {
      churn.flapping_targets.push_back(key);
    }
  }
}

void ChurnTracker::forget(JobState& state) const {
  // Keeps the vanished targets that changed last; the others' history is
  // lost, so one of them coming back later counts as new.
  std::vector<std::pair<WallClock::time_point, const std::string*>> gone;
  for (const auto& [key, p] : state.seen) {
    if (!p.present) {
      gone.emplace_back(p.last_change, &key);
    }
  }
  size_t drop = gone.size() - m_limits.forgotten / 2;
  std::nth_element(gone.begin(), gone.begin() + static_cast<std::ptrdiff_t>(drop), gone.end());
  std::vector<std::string> keys;
  for (size_t i = 0; i < drop; ++i) {
    keys.push_back(*gone[i].second);
  }
  for (const std::string& key : keys) {
    state.seen.erase(key);
  }
}

bool ChurnTracker::count_recent(JobChurn& churn, JobState& state, WallClock::time_point now) const {
  auto old_end = std::find_if(state.recent.begin(), state.recent.end(),
                              [&](const Recent& r) { return r.time + m_limits.window > now; });
  state.recent.erase(state.recent.begin(), old_end);
  size_t added = 0;
  size_t removed = 0;
  for (const Recent& r : state.recent) {
    added += r.added;
    removed += r.removed;
  }
  bool changed = added != churn.added_last_minute || removed != churn.removed_last_minute;
  churn.added_last_minute = added;
  churn.removed_last_minute = removed;
  return changed;
}

bool ChurnTracker::expire(WallClock::time_point now) {
  bool changed = false;
  for (JobChurn& churn : m_snapshot.jobs) {
    changed |= count_recent(churn, m_states[churn.job], now);
  }
  return changed;
}

std::optional<WallClock::time_point> ChurnTracker::next_expiry() const {
  std::optional<WallClock::time_point> next;
  for (const auto& [job, state] : m_states) {
    if (!state.recent.empty()) {
      WallClock::time_point t = state.recent.front().time + m_limits.window;
      next = next ? std::min(*next, t) : t;
    }
  }
  return next;
}

} // namespace sdscope::scrape
