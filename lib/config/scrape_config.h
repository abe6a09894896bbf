#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "config/sd_configs.h"
#include "model/duration.h"
#include "model/size.h"
#include "net/http_config.h"
#include "relabel/rule.h"

namespace sdscope::config {

// A relabel rule list; a null entry stays nullopt so the owner can report
// it with its own "empty or null ..." message.
using RuleList = std::vector<std::optional<relabel::Rule>>;

// Reports the first null rule of the list under key, with message.
void check_null_rules(yaml::Checker& c, std::string_view key, const RuleList& rules, std::string_view message);

// Static targets containing '/' are rejected when a job has no relabel rules.
void check_static_targets(yaml::Checker& c, const SdConfigs& sd);

struct GlobalConfig;

// One scrape_configs entry (config.ScrapeConfig of v2.45).
struct ScrapeConfig {
  static constexpr std::string_view k_go_type = "config.ScrapeConfig";
  std::string job_name;
  bool honor_labels = false;
  bool honor_timestamps = true;
  std::map<std::string, std::vector<std::string>> params;
  model::Duration scrape_interval;
  model::Duration scrape_timeout;
  bool scrape_classic_histograms = false;
  std::string metrics_path = "/metrics";
  std::string scheme = "http";
  model::Size body_size_limit;
  uint64_t sample_limit = 0;
  uint64_t target_limit = 0;
  uint64_t label_limit = 0;
  uint64_t label_name_length_limit = 0;
  uint64_t label_value_length_limit = 0;
  uint64_t native_histogram_bucket_limit = 0;
  SdConfigs sd;
  net::HttpClientConfig http_client;
  RuleList relabel_configs;
  RuleList metric_relabel_configs;
  yaml::Mark mark; // where the job starts
  std::string file; // the file the job was read from

  // Keys Prometheus added after v2.45 (accepted with a lint note).
  struct Later {
    uint64_t keep_dropped_targets = 0;
    bool track_timestamps_staleness = false;
    std::vector<std::string> scrape_protocols;
    std::optional<bool> enable_compression;
    double native_histogram_min_bucket_factor = 0;
    std::string metric_name_validation_scheme;
    std::string scrape_failure_log_file;
    std::optional<bool> always_scrape_classic_histograms;
    std::optional<bool> convert_classic_histograms_to_nhcb;
    std::string fallback_scrape_protocol;
    std::string metric_name_escaping_scheme;
    std::optional<bool> scrape_native_histograms;
    std::optional<bool> extra_scrape_metrics;
    bool operator==(const Later&) const = default;
  } later;

  template <class V> void fields(V& v) {
    v("job_name", job_name);
    v("honor_labels", honor_labels);
    v("honor_timestamps", honor_timestamps);
    v.since("2.48", "track_timestamps_staleness", later.track_timestamps_staleness);
    v("params", params);
    v("scrape_interval", scrape_interval);
    v("scrape_timeout", scrape_timeout);
    v.since("2.49", "scrape_protocols", later.scrape_protocols);
    v.since("3.0", "fallback_scrape_protocol", later.fallback_scrape_protocol);
    v("scrape_classic_histograms", scrape_classic_histograms);
    v.since("3.0", "always_scrape_classic_histograms", later.always_scrape_classic_histograms);
    v.since("3.0", "convert_classic_histograms_to_nhcb", later.convert_classic_histograms_to_nhcb);
    v.since("3.8", "scrape_native_histograms", later.scrape_native_histograms);
    v("metrics_path", metrics_path);
    v("scheme", scheme);
    v.since("2.49", "enable_compression", later.enable_compression);
    v("body_size_limit", body_size_limit);
    v("sample_limit", sample_limit);
    v("target_limit", target_limit);
    v("label_limit", label_limit);
    v("label_name_length_limit", label_name_length_limit);
    v("label_value_length_limit", label_value_length_limit);
    v("native_histogram_bucket_limit", native_histogram_bucket_limit);
    v.since("2.50", "native_histogram_min_bucket_factor", later.native_histogram_min_bucket_factor);
    v.since("2.47", "keep_dropped_targets", later.keep_dropped_targets);
    v.since("2.55", "metric_name_validation_scheme", later.metric_name_validation_scheme);
    v.since("3.4", "metric_name_escaping_scheme", later.metric_name_escaping_scheme);
    v.since("2.55", "scrape_failure_log_file", later.scrape_failure_log_file);
    v.since("3.10", "extra_scrape_metrics", later.extra_scrape_metrics);
    v.inline_(sd);
    v.inline_(http_client);
    v("relabel_configs", relabel_configs);
    v("metric_relabel_configs", metric_relabel_configs);
  }
  // The checks of ScrapeConfig.UnmarshalYAML, run when the job is decoded.
  void validate(yaml::Checker& c);
  // The checks of ScrapeConfig.Validate(global), run after the whole file:
  // inheritance from global and the timeout check. Returns "" or the message.
  std::string apply_global(const GlobalConfig& global);
};

} // namespace sdscope::config
