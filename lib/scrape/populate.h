#pragma once

// Building targets from a target group for one job (scrape/target.go,
// TargetsFromGroup / PopulateLabels / Target.URL, v2.45.0; spec/core.md §5).

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "model/duration.h"
#include "model/labels.h"
#include "relabel/rule.h"

namespace sdscope::scrape {

// What target building needs of a job; the config layer fills it from its
// ScrapeConfig after inheritance from `global`.
struct JobSettings {
  std::string job_name;
  model::Duration scrape_interval;
  model::Duration scrape_timeout;
  std::string metrics_path = "/metrics";
  std::string scheme = "http";
  std::map<std::string, std::vector<std::string>> params;
  std::vector<relabel::Rule> relabel_configs;
  bool honor_labels = false;
};

struct PopulateOptions {
  bool no_default_scrape_port = false; // --enable-feature=no-default-scrape-port
};

// One entry of a target group after §5. Exactly one of three outcomes:
// active (labels set), dropped by relabeling (dropped_by >= 0, labels empty)
// or failed (error set, labels empty).
struct Target {
  model::Labels labels;     // full result incl. `__` labels, sorted; empty unless active
  model::Labels discovered; // the labels before relabeling (§5.2 step 3)
  int dropped_by = -1;      // index into relabel_configs of the dropping rule
  // `instance <i> in group <source>: <error>`. Prometheus keeps nothing of a
  // failed target; discovered is still filled here, for diagnostics.
  std::string error;

  bool active() const { return dropped_by < 0 && error.empty(); }
  bool dropped() const { return dropped_by >= 0; }
  bool failed() const { return !error.empty(); }
};

// Builds targets for one job. Everything that does not depend on the target
// (rendered durations, `__param_*` names) is prepared once. The JobSettings
// must outlive the Populator.
class Populator {
public:
  explicit Populator(const JobSettings& job, PopulateOptions options = {});

  // §5.2 on labels (the merged labels of one target, §5.1). Returns "" or the
  // error without the `instance ...` prefix (target.error is left empty;
  // from_group fills it); fills target.labels, target.discovered and
  // target.dropped_by.
  std::string populate(model::Labels labels, Target& target) const;

  // §5.1-§5.3 for every target of group, appended to out in group order;
  // target.discovered stays empty unless keep_discovered.
  void from_group(const model::TargetGroup& group, std::vector<Target>& out, bool keep_discovered = true) const;
  // §5.1-§5.3 for target i of group into target (discovered left empty).
  // For building many: the memory of target and of scratch is reused.
  void build(const model::TargetGroup& group, size_t i, Target& target, model::Labels& scratch) const;

  // The discovered labels of target i of group (what populate() fills in
  // target.discovered), computed again: cheaper than keeping them.
  model::Labels discovered(const model::TargetGroup& group, size_t i) const;
  // The same, given to fn(name, value) in name order without building them.
  template <class Fn> void for_each_discovered(const model::TargetGroup& group, size_t i, Fn fn) const;

  const JobSettings& job() const { return *m_job; }

private:
  void add_job_labels(model::Labels& labels) const; // §5.2 steps 1-2
  void discovered_into(const model::TargetGroup& group, size_t i, model::Labels& labels) const;
  // §5.2 steps 4-13 on the discovered labels; returns "" or the error.
  std::string relabel_and_check(model::Labels& labels, Target& target) const;

  const JobSettings* m_job;
  PopulateOptions m_options;
  std::string m_interval; // job interval rendered (§3.2)
  std::string m_timeout;
  struct JobLabel {
    std::string name;
    std::string value;
    bool overrides; // params replace a discovered label; defaults do not
  };
  std::vector<JobLabel> m_job_labels; // sorted by name
};

template <class Fn> void Populator::for_each_discovered(const model::TargetGroup& group, size_t i, Fn fn) const {
  // A three-way merge by name: the target's labels win over the group's
  // (whose __address__ never fills in), job defaults fill what both lack,
  // params replace whatever is there (an empty one removes it).
  const model::Labels& target = group.targets[i];
  auto t = target.begin();
  auto g = group.labels.begin();
  auto d = m_job_labels.begin();
  while (t != target.end() || g != group.labels.end() || d != m_job_labels.end()) {
    std::string_view name;
    for (std::string_view head : {t != target.end() ? std::string_view(t->first) : std::string_view(),
                                  g != group.labels.end() ? std::string_view(g->first) : std::string_view(),
                                  d != m_job_labels.end() ? std::string_view(d->name) : std::string_view()}) {
      if (!head.empty() && (name.empty() || head < name)) {
        name = head;
      }
    }
    std::string_view value;
    if (t != target.end() && t->first == name) {
      value = (t++)->second;
    }
    if (g != group.labels.end() && g->first == name) {
      if (value.empty() && name != "__address__") {
        value = g->second;
      }
      ++g;
    }
    if (d != m_job_labels.end() && d->name == name) {
      if (value.empty() || d->overrides) {
        value = d->value;
      }
      ++d;
    }
    if (!value.empty()) {
      fn(name, value);
    }
  }
}

// Convenience: one Target per entry of group.targets.
std::vector<Target> targets_from_group(const model::TargetGroup& group, const JobSettings& job,
                                       PopulateOptions options = {});

// The scrape URL of a target (§5.4): scheme `__scheme__`, host `__address__`,
// path `__metrics_path__` as Go's url.URL.String renders them, query = params
// with each `__param_<k>` label replacing the first value of k (or adding
// it), form-encoded sorted by key.
std::string scrape_url(const model::Labels& labels, const std::map<std::string, std::vector<std::string>>& params);
std::string scrape_url(const model::PackedLabels& labels,
                       const std::map<std::string, std::vector<std::string>>& params);

// The labels without any `__`-prefixed name (what series and UIs show).
model::Labels public_labels(const model::Labels& labels);

} // namespace sdscope::scrape
