#pragma once

// The sections of a Prometheus config file other than scrape_configs, as
// v2.45 decodes and checks them (spec/core.md §1.5, §1.6).

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "config/scrape_config.h"
#include "model/duration.h"
#include "model/labels.h"
#include "model/size.h"
#include "model/url.h"
#include "net/http_config.h"

namespace sdscope::config {

struct GlobalConfig {
  static constexpr std::string_view k_go_type = "config.plain";
  static constexpr std::string_view k_go_name = "config.GlobalConfig";
  model::Duration scrape_interval;
  model::Duration scrape_timeout;
  model::Duration evaluation_interval;
  std::string query_log_file;
  std::map<std::string, std::string> external_labels;
  model::Size body_size_limit;
  uint64_t sample_limit = 0;
  uint64_t target_limit = 0;
  uint64_t label_limit = 0;
  uint64_t label_name_length_limit = 0;
  uint64_t label_value_length_limit = 0;
  struct Later {
    std::vector<std::string> scrape_protocols;
    model::Duration rule_query_offset;
    uint64_t keep_dropped_targets = 0;
    std::string metric_name_validation_scheme, metric_name_escaping_scheme, scrape_failure_log_file;
    std::optional<bool> convert_classic_histograms_to_nhcb, always_scrape_classic_histograms,
        scrape_native_histograms, extra_scrape_metrics;
    bool operator==(const Later&) const = default;
  } later;

  // The defaults when the global block is absent or null.
  static GlobalConfig defaults();
  // The hook starts from a zero block and fills in defaults itself.
  static GlobalConfig decode_defaults() { return GlobalConfig{}; }
  bool is_zero() const;

  template <class V> void fields(V& v) {
    v("scrape_interval", scrape_interval);
    v("scrape_timeout", scrape_timeout);
    v.since("2.49", "scrape_protocols", later.scrape_protocols);
    v("evaluation_interval", evaluation_interval);
    v.since("2.53", "rule_query_offset", later.rule_query_offset);
    v.path("query_log_file", query_log_file);
    v.since("2.55", "scrape_failure_log_file", later.scrape_failure_log_file);
    v("external_labels", external_labels);
    v("body_size_limit", body_size_limit);
    v("sample_limit", sample_limit);
    v("target_limit", target_limit);
    v("label_limit", label_limit);
    v("label_name_length_limit", label_name_length_limit);
    v("label_value_length_limit", label_value_length_limit);
    v.since("2.47", "keep_dropped_targets", later.keep_dropped_targets);
    v.since("2.55", "metric_name_validation_scheme", later.metric_name_validation_scheme);
    v.since("3.4", "metric_name_escaping_scheme", later.metric_name_escaping_scheme);
    v.since("3.4", "convert_classic_histograms_to_nhcb", later.convert_classic_histograms_to_nhcb);
    v.since("3.5", "always_scrape_classic_histograms", later.always_scrape_classic_histograms);
    v.since("3.8", "scrape_native_histograms", later.scrape_native_histograms);
    v.since("3.10", "extra_scrape_metrics", later.extra_scrape_metrics);
  }
  void validate(yaml::Checker& c);
};

struct AlertmanagerConfig {
  static constexpr std::string_view k_go_type = "config.AlertmanagerConfig"; // decoded with its SD keys inline
  static constexpr std::string_view k_go_name = "config.AlertmanagerConfig";
  net::HttpClientConfig http_client;
  SdConfigs sd;
  std::string scheme = "http";
  std::string path_prefix;
  model::Duration timeout = model::Duration::seconds(10);
  std::string api_version = "v2";
  RuleList relabel_configs;
  struct Later {
    RuleList alert_relabel_configs;
    bool operator==(const Later&) const = default;
  } later;

  template <class V> void fields(V& v) {
    v.inline_(http_client);
    v.inline_(sd);
    v("scheme", scheme);
    v("path_prefix", path_prefix);
    v("timeout", timeout);
    v("api_version", api_version);
    v("relabel_configs", relabel_configs);
    v.since("2.51", "alert_relabel_configs", later.alert_relabel_configs);
  }
  void validate(yaml::Checker& c);
};

struct AlertingConfig {
  static constexpr std::string_view k_go_type = "config.plain";
  static constexpr std::string_view k_go_name = "config.AlertingConfig";
  RuleList alert_relabel_configs;
  std::vector<std::optional<AlertmanagerConfig>> alertmanagers;

  template <class V> void fields(V& v) {
    v("alert_relabel_configs", alert_relabel_configs);
    v("alertmanagers", alertmanagers);
  }
  void validate(yaml::Checker& c);
};

struct QueueConfig {
  static constexpr std::string_view k_go_type = "config.QueueConfig";
  int capacity = 10000;
  int max_shards = 50;
  int min_shards = 1;
  int max_samples_per_send = 2000;
  model::Duration batch_send_deadline = model::Duration::seconds(5);
  model::Duration min_backoff = {30};
  model::Duration max_backoff = model::Duration::seconds(5);
  bool retry_on_http_429 = false;
  model::Duration sample_age_limit; // 2.50

  template <class V> void fields(V& v) {
    v("capacity", capacity);
    v("max_shards", max_shards);
    v("min_shards", min_shards);
    v("max_samples_per_send", max_samples_per_send);
    v("batch_send_deadline", batch_send_deadline);
    v("min_backoff", min_backoff);
    v("max_backoff", max_backoff);
    v("retry_on_http_429", retry_on_http_429);
    v.since("2.50", "sample_age_limit", sample_age_limit);
  }
};

struct MetadataConfig {
  static constexpr std::string_view k_go_type = "config.MetadataConfig";
  bool send = true;
  model::Duration send_interval = model::Duration::minutes(1);
  int max_samples_per_send = 2000;

  template <class V> void fields(V& v) {
    v("send", send);
    v("send_interval", send_interval);
    v("max_samples_per_send", max_samples_per_send);
  }
};

struct SigV4Config {
  static constexpr std::string_view k_go_type = "sigv4.plain";
  std::string region;
  std::string access_key;
  yaml::Secret secret_key;
  std::string profile;
  std::string role_arn;
  bool use_fips_sts_endpoint = false; // 3.x

  template <class V> void fields(V& v) {
    v("region", region);
    v("access_key", access_key);
    v("secret_key", secret_key);
    v("profile", profile);
    v("role_arn", role_arn);
    v.since("3.5", "use_fips_sts_endpoint", use_fips_sts_endpoint);
  }
  void validate(yaml::Checker& c) const;
};

struct AzureAdConfig {
  static constexpr std::string_view k_go_type = "azuread.plain";
  struct ManagedIdentity {
    static constexpr std::string_view k_go_type = "azuread.ManagedIdentityConfig";
    std::string client_id;
    template <class V> void fields(V& v) { v("client_id", client_id); }
  };
  std::optional<ManagedIdentity> managed_identity;
  std::string cloud = "AzurePublic";

  template <class V> void fields(V& v) {
    v("managed_identity", managed_identity);
    v("cloud", cloud);
  }
  void validate(yaml::Checker& c) const;
};

struct RemoteWriteConfig {
  static constexpr std::string_view k_go_type = "config.plain";
  static constexpr std::string_view k_go_name = "config.RemoteWriteConfig";
  model::Url url;
  model::Duration remote_timeout = model::Duration::seconds(30);
  std::map<std::string, std::string> headers;
  RuleList write_relabel_configs;
  std::string name;
  bool send_exemplars = false;
  bool send_native_histograms = false;
  net::HttpClientConfig http_client;
  QueueConfig queue_config;
  MetadataConfig metadata_config;
  std::optional<SigV4Config> sigv4;
  std::optional<AzureAdConfig> azuread;
  bool round_robin_dns = false;        // 2.54
  std::string protobuf_message;        // 3.0

  template <class V> void fields(V& v) {
    v("url", url);
    v("remote_timeout", remote_timeout);
    v("headers", headers);
    v("write_relabel_configs", write_relabel_configs);
    v("name", name);
    v("send_exemplars", send_exemplars);
    v("send_native_histograms", send_native_histograms);
    v.since("2.54", "round_robin_dns", round_robin_dns);
    v.since("3.0", "protobuf_message", protobuf_message);
    v.inline_(http_client);
    v("queue_config", queue_config);
    v("metadata_config", metadata_config);
    v("sigv4", sigv4);
    v("azuread", azuread);
  }
  void validate(yaml::Checker& c);
};

struct RemoteReadConfig {
  static constexpr std::string_view k_go_type = "config.plain";
  static constexpr std::string_view k_go_name = "config.RemoteReadConfig";
  model::Url url;
  model::Duration remote_timeout = model::Duration::minutes(1);
  std::map<std::string, std::string> headers;
  bool read_recent = false;
  std::string name;
  net::HttpClientConfig http_client;
  model::LabelSet required_matchers;
  bool filter_external_labels = true;

  template <class V> void fields(V& v) {
    v("url", url);
    v("remote_timeout", remote_timeout);
    v("headers", headers);
    v("read_recent", read_recent);
    v("name", name);
    v.inline_(http_client);
    v("required_matchers", required_matchers);
    v("filter_external_labels", filter_external_labels);
  }
  void validate(yaml::Checker& c);
};

struct TsdbConfig {
  static constexpr std::string_view k_go_type = "config.plain";
  model::Duration out_of_order_time_window;
  template <class V> void fields(V& v) { v("out_of_order_time_window", out_of_order_time_window); }
};

struct ExemplarsConfig {
  static constexpr std::string_view k_go_type = "config.plain";
  long max_exemplars = 100000;
  template <class V> void fields(V& v) { v("max_exemplars", max_exemplars); }
};

struct StorageConfig {
  static constexpr std::string_view k_go_type = "config.StorageConfig";
  std::optional<TsdbConfig> tsdb;
  std::optional<ExemplarsConfig> exemplars;

  template <class V> void fields(V& v) {
    v("tsdb", tsdb);
    v("exemplars", exemplars);
  }
};

struct TracingConfig {
  static constexpr std::string_view k_go_type = "config.plain";
  static constexpr std::string_view k_go_name = "config.TracingConfig";
  std::string client_type = "grpc";
  std::string endpoint;
  double sampling_fraction = 0;
  bool insecure = false;
  net::TlsConfig tls_config;
  std::map<std::string, std::string> headers;
  std::string compression;
  model::Duration timeout;

  template <class V> void fields(V& v) {
    v("client_type", client_type);
    v("endpoint", endpoint);
    v("sampling_fraction", sampling_fraction);
    v("insecure", insecure);
    v("tls_config", tls_config);
    v("headers", headers);
    v("compression", compression);
    v("timeout", timeout);
  }
  void validate(yaml::Checker& c);
};

} // namespace sdscope::config
