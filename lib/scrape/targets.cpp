#include "scrape/targets.h"

#include <unordered_map>

#include "discovery/static.h"

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

size_t hash_labels(const model::Labels& labels) {
  size_t h = 0xcbf29ce484222325ULL;
  std::hash<std::string> hash;
  for (const auto& [name, value] : labels) {
    h = (h ^ hash(name)) * 0x100000001b3ULL;
    h = (h ^ hash(value)) * 0x100000001b3ULL;
  }
  return h;
}

} // namespace

JobTargets build_targets(const config::ScrapeConfig& job, const std::vector<discovery::ProvidedGroup>& groups,
                         PopulateOptions options) {
  JobTargets out;
  out.job = &job;
  JobSettings settings = settings_of(job);
  Populator populator(settings, options);
  std::unordered_multimap<size_t, size_t> active_by_hash; // label hash -> index in out.active
  std::vector<Target> built;
  for (const discovery::ProvidedGroup& provided : groups) {
    built.clear();
    populator.from_group(provided.group, built);
    std::string source = provided.provider + ":" + provided.group.source;
    for (Target& t : built) {
      if (t.failed()) {
        out.failed.push_back({std::move(t), source, {}});
      } else if (t.dropped()) {
        out.dropped.push_back({std::move(t), source, {}});
      } else {
        size_t h = hash_labels(t.labels);
        auto [first, last] = active_by_hash.equal_range(h);
        auto same = std::find_if(first, last, [&](const auto& e) { return out.active[e.second].target.labels == t.labels; });
        if (same != last) {
          JobTarget& kept = out.active[same->second];
          kept.target.discovered = std::move(t.discovered);
          kept.source = source;
          ++out.duplicates_merged;
          continue;
        }
        active_by_hash.emplace(h, out.active.size());
        std::string url = scrape_url(t.labels, job.params);
        out.active.push_back({std::move(t), source, std::move(url)});
      }
    }
  }
  return out;
}

} // namespace sdscope::scrape
