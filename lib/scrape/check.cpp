// The checks `sdscope check` adds to loading a config (spec/core.md §1.1,
// level L3): what promtool checks without --syntax-only, done for every job
// and reported with locations, plus lint notes.
#include "scrape/check.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <map>

#include <fmt/format.h>
#include <re2/re2.h>

#include "discovery/file.h"
#include "discovery/target_groups.h"
#include "relabel/apply.h"
#include "scrape/populate.h"
#include "scrape/targets.h"
#include "util/strings.h"
#include "yaml/visit.h"

namespace sdscope::scrape {

namespace {

using yaml::Stage;

// How promtool names the files it checks in its messages.
std::string describe_file_field(std::string_view field) {
  static const std::map<std::string_view, std::string_view> k_names = {
      {"cert_file", "client cert file"},
      {"key_file", "client key file"},
      {"ca_file", "CA file"},
      {"credentials_file", "authorization credentials or bearer token file"},
      {"bearer_token_file", "authorization credentials or bearer token file"},
      {"password_file", "basic auth password file"},
      {"client_secret_file", "oauth2 client secret file"},
      {"kubeconfig_file", "kubeconfig file"},
  };
  auto it = k_names.find(field);
  if (it != k_names.end()) {
    return std::string(it->second);
  }
  std::string name(field);
  for (char& c : name) {
    c = c == '_' ? ' ' : c;
  }
  return name;
}

// "" when path exists, else why not (strerror of stat).
std::string stat_error(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0) {
    return "";
  }
  std::string why = std::strerror(errno);
  why[0] = static_cast<char>(std::tolower(why[0])); // Go's error texts are lower case
  return why;
}

class Checker {
public:
  Checker(std::string path, yaml::Diagnostics& diagnostics, const CheckOptions& options)
      : m_path(std::move(path)), m_result(diagnostics), m_out(&diagnostics), m_options(options) {}

  // Checks a job while the config is still being loaded
  // (LoadOptions::consume_job); run() reports the result in its place.
  void check_job_early(const config::ScrapeConfig& job) {
    yaml::Diagnostics found;
    m_out = &found;
    check_job(job);
    m_out = &m_result;
    // The duplicate-target lint needs file order: it runs in run().
    m_checked_early.push_back({job.mark, job.job_name, found.items(),
                               m_options.syntax_only ? config::StaticGroups{} : job.sd.static_configs});
  }

  // promtool runs static targets through relabeling even with
  // --syntax-only; everything else here is skipped then.
  void run(const config::Config& config) {
    bool full = !m_options.syntax_only;
    if (full) {
      check_rule_files(config);
    }
    // Jobs checked early are gone from the config (jobs with a YAML anchor
    // are not among them): report each where it stood in the main file.
    auto next_early = m_checked_early.begin();
    auto report_early_before = [&](const config::ScrapeConfig* job) {
      for (; next_early != m_checked_early.end() && (!job || job->file != m_path || next_early->mark < job->mark);
           ++next_early) {
        for (const yaml::Diagnostic& d : next_early->found) {
          m_out->add(d);
        }
        lint_duplicate_targets(next_early->job_name, m_path, next_early->static_configs);
      }
    };
    for (const config::ScrapeConfig* job : config::jobs(config)) {
      report_early_before(job);
      check_job(*job);
      lint_duplicate_targets(job->job_name, job->file, job->sd.static_configs);
    }
    report_early_before(nullptr);
    for (const auto& am : config.alerting.alertmanagers) {
      if (am) {
        check_alertmanager_targets(*am);
        if (full) {
          check_files(*am, m_path, {});
        }
      }
    }
    for (const auto& rw : config.remote_write) {
      if (rw && full) {
        check_files(*rw, m_path, {});
      }
    }
    for (const auto& rr : config.remote_read) {
      if (rr && full) {
        check_files(*rr, m_path, {});
      }
    }
  }

private:
  void check_rule_files(const config::Config& config) {
    for (const std::string& pattern : config.rule_files) {
      if (pattern.find('*') == std::string::npos && util::glob_files(pattern).empty()) {
        m_out->warning(m_path, {},
                              fmt::format("rule file {} does not point to an existing file (promtool fails this; "
                                          "the Prometheus server ignores it)",
                                          util::go_quote(pattern)));
      }
    }
  }

  // Every file a block names must exist for its HTTP client to work.
  template <class T> void check_files(const T& block, const std::string& file, yaml::Mark mark) {
    yaml::FileCollector collector;
    yaml::walk(collector, const_cast<T&>(block));
    for (const auto& f : collector.files) {
      if (std::string why = stat_error(f.path); !why.empty()) {
        m_out->error(file, mark,
                            fmt::format("error checking {} {}: stat {}: {}", describe_file_field(f.field),
                                        util::go_quote(f.path), f.path, why),
                            Stage::content);
      }
    }
  }

  void check_job(const config::ScrapeConfig& job) {
    yaml::Mark mark = job.mark;
    if (!m_options.syntax_only) {
      check_files(job, job.file, mark);
      lint_unreachable(job, mark);
    }
    JobSettings settings = settings_of(job);
    Populator populator(settings, {m_options.no_default_scrape_port});

    for (size_t i = 0; i < job.sd.static_configs.size(); ++i) {
      const auto& entry = job.sd.static_configs[i];
      if (!entry) {
        continue;
      }
      model::TargetGroup group;
      for (const std::string& t : entry->targets) {
        group.targets.push_back(model::Labels{{"__address__", t}});
      }
      for (const auto& [name, value] : entry->labels) {
        group.labels.set(name, value);
      }
      group.source = std::to_string(i);
      check_group(populator, group, job, job.file, entry->mark,
                  fmt::format("static_configs[{}]", i));
    }
    for (const auto& sd : job.sd.configs) {
      if (m_options.syntax_only) {
        break;
      }
      if (const auto* file_sd = dynamic_cast<const discovery::file::Config*>(sd.get())) {
        check_file_sd(*file_sd, populator, job, mark);
      }
    }
  }

  void check_file_sd(const discovery::file::Config& file_sd, const Populator& populator,
                     const config::ScrapeConfig& job, yaml::Mark mark) {
    for (const std::string& pattern : file_sd.files) {
      std::vector<std::string> matches = util::glob_files(pattern);
      if (matches.empty()) {
        m_out->warning(job.file, mark,
                              fmt::format("file {} for file_sd in scrape job {} does not exist",
                                          util::go_quote(pattern), util::go_quote(job.job_name)));
      }
      for (const std::string& path : matches) {
        std::string text;
        if (!util::read_file(path, text)) {
          std::string why = std::strerror(errno);
          m_out->error(path, {}, fmt::format("checking SD file {}: {}", util::go_quote(path), why),
                              Stage::content);
          continue;
        }
        std::vector<model::TargetGroup> groups;
        std::string extension = util::to_lower_ascii(path.substr(path.rfind('.') + 1));
        if (extension == "json") {
          auto parsed = discovery::parse_groups_json(text);
          if (!parsed) {
            m_out->error(path, {}, fmt::format("checking SD file {}: {}", util::go_quote(path), parsed.error()),
                                Stage::content);
            continue;
          }
          groups = std::move(*parsed);
        } else {
          size_t before = m_out->error_count();
          groups = discovery::parse_groups_yaml(text, path, *m_out);
          if (m_out->error_count() != before) {
            continue;
          }
        }
        for (size_t i = 0; i < groups.size(); ++i) {
          groups[i].source = fmt::format("{}:{}", path, i);
          groups[i].labels.set("__meta_filepath", path);
          check_group(populator, groups[i], job, path, {}, fmt::format("group {}", i));
        }
      }
    }
  }

  // Runs each target through relabeling and target label population; the
  // targets Prometheus would fail to create are errors.
  void check_group(const Populator& populator, const model::TargetGroup& group, const config::ScrapeConfig& job,
                   const std::string& file, yaml::Mark mark, const std::string& where) {
    std::vector<Target> targets;
    populator.from_group(group, targets);
    for (const Target& t : targets) {
      if (t.failed()) {
        m_out->error(file, mark, fmt::format("job {}, {}: {}", util::go_quote(job.job_name), where, t.error),
                            Stage::content);
      }
    }
  }

  // Alertmanager targets as the notifier builds them (only the hostname
  // check can fail there).
  void check_alertmanager_targets(const config::AlertmanagerConfig& am) {
    std::vector<relabel::Rule> rules;
    for (const auto& rule : am.relabel_configs) {
      if (rule) {
        rules.push_back(*rule);
      }
    }
    std::string path = "/" + am.path_prefix + "/api/" + am.api_version + "/alerts";
    path = yaml::join_dir("/", path);
    for (const auto& group : am.sd.static_configs) {
      for (size_t i = 0; group && i < group->targets.size(); ++i) {
        model::Labels labels{{"__address__", group->targets[i]}};
        labels.set("__scheme__", am.scheme);
        labels.set("__alerts_path__", path);
        for (const auto& [name, value] : group->labels) {
          if (name != "__address__") {
            labels.set(name, value);
          }
        }
        if (!relabel::apply(rules, labels).kept) {
          continue;
        }
        std::string address(labels.get("__address__"));
        if (address.find('/') != std::string::npos) {
          m_out->error(m_path, group->mark, fmt::format("{} is not a valid hostname", util::go_quote(address)),
                              Stage::content);
          return;
        }
      }
    }
  }

  // A job with nothing to discover, or whose first rule drops every target.
  void lint_unreachable(const config::ScrapeConfig& job, yaml::Mark mark) {
    bool has_static = false;
    for (const auto& g : job.sd.static_configs) {
      has_static = has_static || (g && !g->targets.empty());
    }
    if (job.sd.configs.empty() && !has_static) {
      m_out->warning(job.file, mark,
                            fmt::format("job {} has no service discovery and no static targets: it can never have a "
                                        "target",
                                        util::go_quote(job.job_name)));
      return;
    }
    for (const auto& rule : job.relabel_configs) {
      if (!rule) {
        continue;
      }
      relabel::Action a = rule->action.value;
      bool constant_input = !rule->source_labels || rule->source_labels->empty();
      if (constant_input && (a == relabel::Action::drop || a == relabel::Action::keep)) {
        bool matches_empty = RE2::FullMatch("", *rule->regex.re);
        if ((a == relabel::Action::drop) == matches_empty) {
          m_out->warning(job.file, yaml::Mark{rule->line, 1},
                                fmt::format("this {} rule without source_labels drops every target of job {}",
                                            relabel::action_name(a), util::go_quote(job.job_name)));
          return;
        }
      }
      if (a != relabel::Action::replace) {
        return; // later rules see labels that depend on the target
      }
    }
  }

  // Runs over the jobs in file order (not when they were checked), so the
  // first job to name a target is the one other jobs are compared to.
  void lint_duplicate_targets(const std::string& job_name, const std::string& file, const config::StaticGroups& groups) {
    if (m_options.syntax_only) {
      return;
    }
    for (const auto& group : groups) {
      for (size_t i = 0; group && i < group->targets.size(); ++i) {
        const std::string& t = group->targets[i];
        auto [it, inserted] = m_static_targets.emplace(t, job_name);
        if (!inserted && it->second != job_name) {
          m_out->warning(file, group->mark,
                         fmt::format("static target {} of job {} is also a static target of job {}",
                                     util::go_quote(t), util::go_quote(job_name), util::go_quote(it->second)));
        }
      }
    }
  }

  std::string m_path;
  yaml::Diagnostics& m_result;
  yaml::Diagnostics* m_out; // where problems go: m_result, or one early job's list
  const CheckOptions& m_options;
  // What was found in each job checked while loading, in file order.
  struct EarlyCheck {
    yaml::Mark mark;
    std::string job_name;
    std::vector<yaml::Diagnostic> found;
    config::StaticGroups static_configs; // for the duplicate-target lint
  };
  std::vector<EarlyCheck> m_checked_early;
  std::map<std::string, std::string> m_static_targets; // target -> first job
};

} // namespace

CheckResult check_config(const std::string& path, const CheckOptions& options) {
  CheckResult result;
  Checker checker(path, result.diagnostics, options);
  config::LoadOptions load_options{options.syntax_only, {}};
  if (!options.keep_jobs) {
    load_options.consume_job = [&](const config::ScrapeConfig& job) { checker.check_job_early(job); };
  }
  Result<config::Config> loaded = config::load(path, result.diagnostics, load_options);
  if (!loaded) {
    result.io_error = loaded.error();
    return result;
  }
  result.config = std::move(*loaded);
  if (result.diagnostics.error_count() == 0) {
    checker.run(*result.config);
  }
  return result;
}

} // namespace sdscope::scrape
