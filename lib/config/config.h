#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "config/scrape_config.h"
#include "config/sections.h"
#include "util/result.h"
#include "yaml/diagnostics.h"

namespace sdscope::config {

// A job of the main file handed to LoadOptions::consume_job while loading:
// all that whole-file validation still needs of it.
struct ConsumedJob {
  std::string job_name;
  yaml::Mark mark;
};

// A whole Prometheus configuration file (config.Config of v2.45).
struct Config {
  static constexpr std::string_view k_go_type = "config.plain";
  GlobalConfig global = GlobalConfig::defaults();
  AlertingConfig alerting;
  std::vector<std::string> rule_files;
  std::vector<std::string> scrape_config_files;
  std::vector<yaml::Box<ScrapeConfig>> scrape_configs; // without the consumed ones
  std::vector<ConsumedJob> consumed_jobs;
  StorageConfig storage;
  std::optional<TracingConfig> tracing;
  std::vector<std::optional<RemoteWriteConfig>> remote_write;
  std::vector<std::optional<RemoteReadConfig>> remote_read;
  std::optional<std::map<std::string, yaml::Secret>> runtime; // 2.53, free-form here
  std::optional<std::map<std::string, yaml::Secret>> otlp;    // 2.55

  template <class V> void fields(V& v) {
    v("global", global);
    v.since("2.53", "runtime", runtime);
    v("alerting", alerting);
    v.path("rule_files", rule_files);
    v.path("scrape_config_files", scrape_config_files);
    v("scrape_configs", scrape_configs);
    v("storage", storage);
    v("tracing", tracing);
    v("remote_write", remote_write);
    v("remote_read", remote_read);
    v.since("2.55", "otlp", otlp);
  }
  // Config.UnmarshalYAML's checks after the whole document is decoded.
  void validate(yaml::Checker& c);
};

struct LoadOptions {
  // Only the file itself and scrape_config_files, like promtool --syntax-only.
  bool syntax_only = false;
  // When set, each job of the main file that decodes without error while
  // the global section is already known (it precedes scrape_configs, as it
  // usually does) is passed here complete, with global applied and paths
  // joined, as soon as it is parsed, in file order. Afterwards only its
  // name and location are kept (Config::consumed_jobs), so a config of any
  // size is checked in about constant memory.
  std::function<void(const ScrapeConfig&)> consume_job;
};

// Reads, decodes and validates path and the scrape_config_files it names.
// Every problem in the files goes to diagnostics; an error result means the
// main file could not be read at all.
Result<Config> load(const std::string& path, yaml::Diagnostics& diagnostics, const LoadOptions& options = {});

// Decodes a config from text (paths are not resolved), for tests.
Config load_text(std::string_view text, const std::string& name, yaml::Diagnostics& diagnostics,
                 const LoadOptions& options = {});

// The jobs of a loaded config, skipping null entries (and consumed ones).
std::vector<const ScrapeConfig*> jobs(const Config& config);
// How many jobs a loaded config has, consumed ones included.
size_t job_count(const Config& config);

} // namespace sdscope::config
