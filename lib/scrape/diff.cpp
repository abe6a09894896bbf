#include "scrape/diff.h"

#include <algorithm>
#include <map>
#include <unordered_map>

namespace sdscope::scrape {

namespace {

enum class State { active, dropped, failed };

// One target of one side with what it is matched by.
struct Entry {
  std::string identity;
  std::string_view address;
  State state;
  const JobTarget* target;
};

// The labels discovery gave a target (its own over its group's), as one
// string: config-made labels (job, __scheme__, ...) are left out, so a
// target is still the same when only the job's settings change.
std::string identity_of(const JobTargets& job, const JobTarget& t) {
  const model::TargetGroup& group = *job.groups[t.group].group;
  model::Labels labels = group.targets[t.index];
  for (const auto& [name, value] : group.labels) {
    if (!labels.has(name)) {
      labels.set(name, value);
    }
  }
  std::string key;
  for (const auto& [name, value] : labels) {
    key.append(name).push_back('\xff');
    key.append(value).push_back('\xfe');
  }
  return key;
}

std::vector<Entry> entries_of(const JobTargets& job) {
  std::vector<Entry> out;
  auto add = [&](const std::vector<JobTarget>& targets, State state) {
    for (const JobTarget& t : targets) {
      const model::Labels& own = job.groups[t.group].group->targets[t.index];
      out.push_back({identity_of(job, t), own.get("__address__"), state, &t});
    }
  };
  add(job.active, State::active);
  add(job.dropped, State::dropped);
  add(job.failed, State::failed);
  return out;
}

DiffTarget diff_target(const JobTargets& job, const Entry& e) {
  return {job.url(*e.target), public_labels(e.target->labels.unpack()), "", e.identity};
}

// The label differences, skipping `job` when it only follows a rename.
std::vector<LabelChange> label_changes(const model::Labels& before, const model::Labels& after,
                                       const JobDiff& job) {
  std::vector<LabelChange> out;
  std::map<std::string_view, std::pair<std::optional<std::string_view>, std::optional<std::string_view>>> both;
  for (const auto& [name, value] : before) {
    both[name].first = value;
  }
  for (const auto& [name, value] : after) {
    both[name].second = value;
  }
  for (const auto& [name, values] : both) {
    if (values.first == values.second) {
      continue;
    }
    if (job.status == JobStatus::renamed && name == "job" && values.first == job.old_name &&
        values.second == job.name) {
      continue;
    }
    LabelChange& c = out.emplace_back();
    c.name = name;
    if (values.first) {
      c.old_value = std::string(*values.first);
    }
    if (values.second) {
      c.new_value = std::string(*values.second);
    }
  }
  return out;
}

void compare_pair(const JobTargets& old_job, const Entry& o, const JobTargets& new_job, const Entry& n,
                  JobDiff& out) {
  if (o.state == State::active && n.state == State::active) {
    model::Labels before = o.target->labels.unpack();
    model::Labels after = n.target->labels.unpack();
    std::vector<LabelChange> changes = label_changes(before, after, out);
    if (!changes.empty()) {
      out.changed.push_back({new_job.url(*n.target), public_labels(after), std::move(changes)});
    }
  } else if (o.state == State::active) {
    DroppedTarget& d = out.dropped.emplace_back();
    d.url = old_job.url(*o.target);
    d.labels = public_labels(o.target->labels.unpack());
    if (n.state == State::dropped) {
      d.rule = n.target->dropped_by;
      d.by = &new_job.settings->relabel_configs.at(static_cast<size_t>(d.rule));
    } else {
      d.error = *n.target->error;
    }
  } else if (n.state == State::active) {
    out.added.push_back(diff_target(new_job, n));
  }
}

// Matches the targets of one job in both configs.
void compare_job(const JobTargets& old_job, const JobTargets& new_job, JobDiff& out) {
  std::vector<Entry> olds = entries_of(old_job);
  std::vector<Entry> news = entries_of(new_job);
  std::vector<int> partner(olds.size(), -1);
  std::vector<bool> taken(news.size(), false);

  std::unordered_multimap<std::string_view, size_t> by_identity;
  for (size_t i = 0; i < news.size(); ++i) {
    by_identity.emplace(news[i].identity, i);
  }
  for (size_t i = 0; i < olds.size(); ++i) {
    auto [first, last] = by_identity.equal_range(olds[i].identity);
    for (auto it = first; it != last; ++it) {
      if (!taken[it->second]) {
        taken[it->second] = true;
        partner[i] = static_cast<int>(it->second);
        break;
      }
    }
  }
  // Then by address, where it names one unmatched target on each side (a
  // static target whose labels were edited is still the same target).
  std::map<std::string_view, std::pair<std::vector<size_t>, std::vector<size_t>>> by_address;
  for (size_t i = 0; i < olds.size(); ++i) {
    if (partner[i] < 0) {
      by_address[olds[i].address].first.push_back(i);
    }
  }
  for (size_t i = 0; i < news.size(); ++i) {
    if (!taken[i]) {
      by_address[news[i].address].second.push_back(i);
    }
  }
  for (const auto& [address, sides] : by_address) {
    if (sides.first.size() == 1 && sides.second.size() == 1) {
      partner[sides.first[0]] = static_cast<int>(sides.second[0]);
      taken[sides.second[0]] = true;
    }
  }

  for (size_t i = 0; i < olds.size(); ++i) {
    if (partner[i] >= 0) {
      compare_pair(old_job, olds[i], new_job, news[static_cast<size_t>(partner[i])], out);
    } else if (olds[i].state == State::active) {
      out.removed.push_back(diff_target(old_job, olds[i]));
    }
  }
  for (size_t i = 0; i < news.size(); ++i) {
    if (!taken[i] && news[i].state == State::active) {
      out.added.push_back(diff_target(new_job, news[i]));
    }
  }
}

std::vector<std::string> active_identities(const JobTargets& job) {
  std::vector<std::string> out;
  for (const JobTarget& t : job.active) {
    out.push_back(identity_of(job, t));
  }
  std::sort(out.begin(), out.end());
  return out;
}

// A target removed from one job and added to another has moved: the two
// entries name each other instead of counting as a loss and a gain.
void mark_moves(std::vector<JobDiff>& jobs) {
  std::unordered_multimap<std::string_view, std::pair<JobDiff*, DiffTarget*>> removed;
  for (JobDiff& job : jobs) {
    for (DiffTarget& t : job.removed) {
      removed.emplace(t.identity, std::pair{&job, &t});
    }
  }
  for (JobDiff& job : jobs) {
    for (DiffTarget& t : job.added) {
      auto [first, last] = removed.equal_range(t.identity);
      for (auto it = first; it != last; ++it) {
        auto [from_job, from] = it->second;
        if (from_job != &job && from->moved.empty()) {
          from->moved = job.name;
          t.moved = from_job->name;
          break;
        }
      }
    }
  }
}

JobStatus status_of(const JobDiff& job) {
  bool same = job.added.empty() && job.removed.empty() && job.changed.empty() && job.dropped.empty();
  return same ? JobStatus::unchanged : JobStatus::changed;
}

} // namespace

std::string_view status_name(JobStatus s) {
  switch (s) {
  case JobStatus::unchanged:
    return "unchanged";
  case JobStatus::changed:
    return "changed";
  case JobStatus::added:
    return "added";
  case JobStatus::removed:
    return "removed";
  case JobStatus::renamed:
    return "renamed";
  case JobStatus::not_compared:
    return "not compared";
  }
  return "";
}

ConfigDiff diff_targets(const std::vector<DiffJob>& old_jobs, const std::vector<DiffJob>& new_jobs) {
  auto find = [](const std::vector<DiffJob>& jobs, const std::string& name) -> const DiffJob* {
    auto it = std::find_if(jobs.begin(), jobs.end(), [&](const DiffJob& j) { return j.config->job_name == name; });
    return it == jobs.end() ? nullptr : &*it;
  };
  // Jobs in only one config that can be compared: candidates for renames.
  std::vector<const DiffJob*> only_old;
  for (const DiffJob& o : old_jobs) {
    if (find(new_jobs, o.config->job_name) == nullptr && o.targets != nullptr && !o.targets->active.empty()) {
      only_old.push_back(&o);
    }
  }
  std::map<const DiffJob*, const DiffJob*> renamed_from; // new job -> old job
  std::vector<std::vector<std::string>> old_sets;
  for (const DiffJob* o : only_old) {
    old_sets.push_back(active_identities(*o->targets));
  }
  for (const DiffJob& n : new_jobs) {
    if (find(old_jobs, n.config->job_name) != nullptr || n.targets == nullptr || n.targets->active.empty()) {
      continue;
    }
    std::vector<std::string> set = active_identities(*n.targets);
    for (size_t i = 0; i < only_old.size(); ++i) {
      if (only_old[i] != nullptr && old_sets[i] == set) {
        renamed_from[&n] = only_old[i];
        only_old[i] = nullptr;
        break;
      }
    }
  }

  ConfigDiff out;
  auto compare = [&](const DiffJob* o, const DiffJob* n, JobDiff& d) {
    d.old_config = o != nullptr ? o->config : nullptr;
    d.new_config = n != nullptr ? n->config : nullptr;
    d.old_active = o != nullptr && o->targets != nullptr ? o->targets->active.size() : 0;
    d.new_active = n != nullptr && n->targets != nullptr ? n->targets->active.size() : 0;
    for (const DiffJob* side : {o, n}) {
      if (side != nullptr && side->targets == nullptr) {
        d.status = JobStatus::not_compared;
        d.not_compared = side->not_compared;
        return;
      }
    }
    if (o == nullptr) {
      for (const Entry& e : entries_of(*n->targets)) {
        if (e.state == State::active) {
          d.added.push_back(diff_target(*n->targets, e));
        }
      }
      return;
    }
    if (n == nullptr) {
      for (const Entry& e : entries_of(*o->targets)) {
        if (e.state == State::active) {
          d.removed.push_back(diff_target(*o->targets, e));
        }
      }
      return;
    }
    compare_job(*o->targets, *n->targets, d);
    if (d.status != JobStatus::renamed) {
      d.status = status_of(d);
    }
  };
  for (const DiffJob& n : new_jobs) {
    JobDiff& d = out.jobs.emplace_back();
    d.name = n.config->job_name;
    const DiffJob* o = find(old_jobs, d.name);
    if (auto it = renamed_from.find(&n); it != renamed_from.end()) {
      o = it->second;
      d.status = JobStatus::renamed;
    } else if (o == nullptr) {
      d.status = JobStatus::added;
    }
    d.old_name = o != nullptr ? o->config->job_name : "";
    compare(o, &n, d);
  }
  for (const DiffJob& o : old_jobs) {
    bool renamed = std::any_of(renamed_from.begin(), renamed_from.end(), [&](auto& r) { return r.second == &o; });
    if (find(new_jobs, o.config->job_name) == nullptr && !renamed) {
      JobDiff& d = out.jobs.emplace_back();
      d.name = d.old_name = o.config->job_name;
      d.status = JobStatus::removed;
      compare(&o, nullptr, d);
    }
  }
  mark_moves(out.jobs);
  return out;
}

DiffSummary ConfigDiff::summary() const {
  DiffSummary s;
  for (const JobDiff& job : jobs) {
    switch (job.status) {
    case JobStatus::added:
      ++s.jobs_added;
      break;
    case JobStatus::removed:
      ++s.jobs_removed;
      break;
    case JobStatus::renamed:
      ++s.jobs_renamed;
      break;
    case JobStatus::changed:
      ++s.jobs_changed;
      break;
    case JobStatus::not_compared:
      ++s.jobs_not_compared;
      break;
    case JobStatus::unchanged:
      break;
    }
    for (const DiffTarget& t : job.added) {
      ++(t.moved.empty() ? s.added : s.moved);
    }
    for (const DiffTarget& t : job.removed) {
      s.removed += t.moved.empty() ? 1 : 0;
    }
    s.changed += job.changed.size();
    s.dropped += job.dropped.size();
  }
  return s;
}

} // namespace sdscope::scrape
