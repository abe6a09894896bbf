#pragma once

#include <optional>
#include <string>
#include <vector>

#include "discovery/sd_config.h"
#include "model/url.h"
#include "net/http_config.h"

namespace sdscope::discovery::kubernetes {

// A Kubernetes SD role (kubernetes.Role). Its own YAML hook rejects unknown
// values while decoding, before the block's checks run.
struct Role {
  std::string value;
  bool rejected = false; // the hook refused the value (even "")
  bool empty() const { return value.empty(); }
  bool operator==(const Role&) const = default;
};
std::string parse_text(std::string_view text, Role& out);
inline std::string format_text(const Role& r) { return r.value; }
bool known_role(std::string_view role);

struct NamespaceDiscovery {
  static constexpr std::string_view k_go_type = "kubernetes.plain";
  bool own_namespace = false;
  std::vector<std::string> names;

  template <class V> void fields(V& v) {
    v("own_namespace", own_namespace);
    v("names", names);
  }
  bool operator==(const NamespaceDiscovery&) const = default;
};

struct SelectorConfig {
  static constexpr std::string_view k_go_type = "kubernetes.SelectorConfig";
  Role role;
  std::string label; // label selector, passed as labelSelector
  std::string field; // field selector, passed as fieldSelector

  template <class V> void fields(V& v) {
    v("role", role);
    v("label", label);
    v("field", field);
  }
  bool operator==(const SelectorConfig&) const = default;
};

struct AttachMetadataConfig {
  static constexpr std::string_view k_go_type = "kubernetes.AttachMetadataConfig";
  bool node = false;
  bool namespace_ = false;  // 3.6
  bool deployment = false;  // 3.11
  bool job = false;         // 3.11
  bool cronjob = false;     // 3.11

  template <class V> void fields(V& v) {
    v("node", node);
    v.since("3.6", "namespace", namespace_);
    v.since("3.11", "deployment", deployment);
    v.since("3.11", "job", job);
    v.since("3.11", "cronjob", cronjob);
  }
  bool operator==(const AttachMetadataConfig&) const = default;
};

struct Config : SdConfigBase<Config> {
  static constexpr std::string_view k_mechanism = "kubernetes";
  static constexpr std::string_view k_go_type = "kubernetes.plain";
  // config.URL holds a pointer: set (even to "") unless absent or null.
  std::optional<model::Url> api_server;
  Role role;
  std::string kubeconfig_file;
  net::HttpClientConfig http_client;
  NamespaceDiscovery namespaces;
  std::vector<SelectorConfig> selectors;
  AttachMetadataConfig attach_metadata;

  template <class V> void fields(V& v) {
    v("api_server", api_server);
    v("role", role);
    v.path("kubeconfig_file", kubeconfig_file);
    v.inline_(http_client);
    v("namespaces", namespaces);
    v("selectors", selectors);
    v("attach_metadata", attach_metadata);
  }
  void validate(yaml::Checker& c);
  // Runs LIST+WATCH against the API server (kubernetes_discovery.h); fails
  // for the roles and features sdscope does not support yet.
  Result<std::unique_ptr<Discoverer>> make_discoverer(const DiscovererOptions& options) const override;
  bool operator==(const Config&) const = default;
};

std::unique_ptr<SdConfig> parse_config(yaml::Decoder& d, yaml::Node n);

// apimachinery v0.26 fields.ParseSelector and labels.Parse: "" when the
// selector parses, else the error text Prometheus reports.
std::string check_field_selector(std::string_view selector);
std::string check_label_selector(std::string_view selector);

} // namespace sdscope::discovery::kubernetes
