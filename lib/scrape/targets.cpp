#include "scrape/targets.h"

#include <algorithm>
#include <iterator>

#include "discovery/static.h"
#include "util/parallel.h"

namespace sdscope::scrape {

JobSettings settings_of(const config::ScrapeConfig& job) {
  JobSettings settings{job.job_name, job.scrape_interval, job.scrape_timeout, job.metrics_path, job.scheme,
                       job.params, {}, job.honor_labels};
  for (const auto& rule : job.relabel_configs) {
    if (rule) {
      settings.relabel_configs.push_back(*rule);
    }
  }
  return settings;
}

std::vector<discovery::JobDiscovery> discovery_of(const std::vector<const config::ScrapeConfig*>& jobs,
                                                  std::vector<std::unique_ptr<discovery::SdConfig>>& owned) {
  std::vector<discovery::JobDiscovery> out;
  for (const config::ScrapeConfig* job : jobs) {
    discovery::JobDiscovery& d = out.emplace_back();
    d.job = job->job_name;
    for (const auto& config : job->sd.configs) {
      d.configs.push_back(config.get());
    }
    std::vector<model::TargetGroup> groups;
    const config::StaticGroups& entries = job->sd.static_configs;
    for (size_t i = 0; i < entries.size(); ++i) {
      if (!entries[i]) {
        continue;
      }
      model::TargetGroup& group = groups.emplace_back();
      for (const std::string& t : entries[i]->targets) {
        group.targets.push_back(model::Labels{{"__address__", t}});
      }
      for (const auto& [name, value] : entries[i]->labels) {
        group.labels.set(name, value);
      }
      group.source = std::to_string(i);
    }
    if (!groups.empty()) {
      owned.push_back(std::make_unique<discovery::StaticConfig>(std::move(groups)));
      d.configs.push_back(owned.back().get());
    }
  }
  return out;
}

namespace {

// Keeps the first of every set of active targets with equal labels, showing
// the discovered labels (and source) of the last; counts the others.
size_t merge_duplicates(std::vector<JobTarget>& active) {
  std::vector<std::pair<size_t, uint32_t>> by_hash; // (label hash, index)
  by_hash.reserve(active.size());
  for (size_t i = 0; i < active.size(); ++i) {
    by_hash.emplace_back(active[i].labels.hash(), static_cast<uint32_t>(i));
  }
  std::sort(by_hash.begin(), by_hash.end());
  std::vector<bool> merged(active.size(), false);
  size_t count = 0;
  for (size_t run = 0; run < by_hash.size();) {
    size_t end = run + 1;
    while (end < by_hash.size() && by_hash[end].first == by_hash[run].first) {
      ++end;
    }
    // Equal hashes are rare and few: compare every pair (in index order).
    for (size_t a = run; a < end; ++a) {
      JobTarget& first = active[by_hash[a].second];
      for (size_t b = a + 1; b < end && !merged[by_hash[a].second]; ++b) {
        JobTarget& later = active[by_hash[b].second];
        if (!merged[by_hash[b].second] && later.labels == first.labels) {
          first.group = later.group;
          first.index = later.index;
          merged[by_hash[b].second] = true;
          ++count;
        }
      }
    }
    run = end;
  }
  if (count > 0) {
    size_t kept = 0;
    for (size_t i = 0; i < active.size(); ++i) {
      if (!merged[i]) {
        if (kept != i) {
          active[kept] = std::move(active[i]);
        }
        ++kept;
      }
    }
    active.resize(kept);
  }
  return count;
}

} // namespace

model::Labels JobTargets::discovered(const JobTarget& t) const {
  return populator->discovered(*groups[t.group].group, t.index);
}

std::string JobTargets::url(const JobTarget& t) const { return scrape_url(t.labels, job->params); }

JobTargets build_targets(const config::ScrapeConfig& job, const std::vector<discovery::ProvidedGroup>& groups,
                         PopulateOptions options) {
  JobTargets out;
  out.job = &job;
  out.groups = groups;
  out.settings = std::make_unique<JobSettings>(settings_of(job));
  out.populator = std::make_unique<Populator>(*out.settings, options);
  out.sources.reserve(groups.size());
  for (const discovery::ProvidedGroup& g : groups) {
    out.sources.push_back(g.provider + ":" + g.group->source);
  }
  // Groups are built independently (on every core when there are many
  // targets), then joined in group order.
  struct Built {
    std::vector<JobTarget> active, dropped, failed;
    std::unique_ptr<char[]> label_storage; // of active
  };
  std::vector<Built> built(groups.size());
  size_t total = 0;
  for (const discovery::ProvidedGroup& provided : groups) {
    total += provided.group->targets.size();
  }
  constexpr size_t k_parallel_from = 5000; // targets; fewer are not worth a thread
  util::parallel_for(
      groups.size(),
      [&](size_t group) {
        const model::TargetGroup& from = *groups[group].group;
        Built& b = built[group];
        b.active.reserve(from.targets.size()); // usually most are
        Target target;
        model::Labels scratch;
        std::string packed;           // the active targets' labels, one after the other
        std::vector<size_t> ends;     // where each one's end in packed
        for (uint32_t i = 0; i < from.targets.size(); ++i) {
          out.populator->build(from, i, target, scratch);
          JobTarget built_target{{}, static_cast<uint32_t>(group), i, target.dropped_by, nullptr};
          if (target.failed()) {
            built_target.error = std::make_shared<const std::string>(std::move(target.error));
            b.failed.push_back(std::move(built_target));
          } else if (target.dropped()) {
            b.dropped.push_back(std::move(built_target));
          } else {
            size_t at = packed.size();
            packed.resize(at + model::PackedLabels::packed_size(target.labels));
            model::PackedLabels::pack(target.labels, packed.data() + at);
            ends.push_back(packed.size());
            b.active.push_back(std::move(built_target));
          }
        }
        b.label_storage = std::make_unique_for_overwrite<char[]>(packed.size());
        std::copy(packed.begin(), packed.end(), b.label_storage.get());
        for (size_t k = 0, start = 0; k < ends.size(); start = ends[k++]) {
          b.active[k].labels = model::PackedLabels(std::string_view(b.label_storage.get() + start, ends[k] - start));
        }
      },
      total >= k_parallel_from ? 1 : groups.size());
  auto join = [&](std::vector<JobTarget> Built::*part, std::vector<JobTarget>& to) {
    size_t n = 0;
    for (const Built& b : built) {
      n += (b.*part).size();
    }
    to.reserve(n);
    for (Built& b : built) {
      std::move((b.*part).begin(), (b.*part).end(), std::back_inserter(to));
      (b.*part) = {};
    }
  };
  join(&Built::active, out.active);
  join(&Built::dropped, out.dropped);
  join(&Built::failed, out.failed);
  out.label_storage.reserve(built.size());
  for (Built& b : built) {
    out.label_storage.push_back(std::move(b.label_storage));
  }
  out.duplicates_merged = merge_duplicates(out.active);
  return out;
}

} // namespace sdscope::scrape
