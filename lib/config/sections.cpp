#include "config/sections.h"

#include <fmt/format.h>

#include "util/strings.h"

namespace sdscope::config {

namespace {

constexpr std::string_view k_reserved_headers[] = {
    "host",         "content-encoding", "content-length", "content-type",
    "user-agent",   "connection",       "keep-alive",     "proxy-authenticate",
    "proxy-authorization", "www-authenticate", "accept-encoding", "x-prometheus-remote-write-version",
    "x-prometheus-remote-read-version", "x-amz-date", "x-amz-security-token", "x-amz-content-sha256",
};

bool is_reserved(const std::string& header) {
  std::string lower = util::to_lower_ascii(header);
  for (std::string_view r : k_reserved_headers) {
    if (r == lower) {
      return true;
    }
  }
  return false;
}

// remote_write / remote_read headers; returns "" or the first problem.
std::string check_remote_headers(const std::map<std::string, std::string>& headers) {
  for (const auto& [header, value] : headers) {
    if (util::to_lower_ascii(header) == "authorization") {
      return "authorization header must be changed via the basic_auth, authorization, oauth2, sigv4, or azuread "
             "parameter";
    }
    if (is_reserved(header)) {
      return fmt::format("{} is a reserved header. It must not be changed", header);
    }
  }
  return "";
}

bool is_uuid(const std::string& s) {
  if (s.size() != 36) {
    return false;
  }
  for (size_t i = 0; i < s.size(); ++i) {
    bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    char c = s[i];
    bool hex = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
    if (dash ? c != '-' : !hex) {
      return false;
    }
  }
  return true;
}

} // namespace

GlobalConfig GlobalConfig::defaults() {
  GlobalConfig g;
  g.scrape_interval = model::Duration::minutes(1);
  g.scrape_timeout = model::Duration::seconds(10);
  g.evaluation_interval = model::Duration::minutes(1);
  return g;
}

bool GlobalConfig::is_zero() const {
  return scrape_interval.ms == 0 && scrape_timeout.ms == 0 && evaluation_interval.ms == 0 && query_log_file.empty() &&
         external_labels.empty();
}

void GlobalConfig::validate(yaml::Checker& c) {
  for (const auto& [name, value] : external_labels) {
    if (!model::is_valid_label_name(name)) {
      c.error_at("external_labels", fmt::format("{} is not a valid label name", util::go_quote(name)));
      return;
    }
    if (!util::valid_utf8(value)) {
      c.error_at("external_labels", fmt::format("{} is not a valid label value", util::go_quote(value)));
      return;
    }
  }
  if (scrape_interval.ms == 0) {
    scrape_interval = model::Duration::minutes(1);
  }
  if (scrape_timeout > scrape_interval) {
    c.error_at("scrape_timeout", "global scrape timeout greater than scrape interval");
    return;
  }
  if (scrape_timeout.ms == 0) {
    scrape_timeout = std::min(model::Duration::seconds(10), scrape_interval);
  }
  if (evaluation_interval.ms == 0) {
    evaluation_interval = model::Duration::minutes(1);
  }
}

void AlertmanagerConfig::validate(yaml::Checker& c) {
  size_t errors = c.decoder().diagnostics().error_count();
  sd.validate(c);
  if (c.decoder().diagnostics().error_count() != errors) {
    return;
  }
  if (api_version != "v1" && api_version != "v2") {
    c.error_at("api_version",
               fmt::format("expected Alertmanager api version to be one of [v1 v2] but got {}", api_version));
    return;
  }
  if (std::string message = http_client.validate(); !message.empty()) {
    c.error(message);
    return;
  }
  if (relabel_configs.empty()) {
    check_static_targets(c, sd);
    if (c.decoder().diagnostics().error_count() != errors) {
      return;
    }
  }
  check_null_rules(c, "relabel_configs", relabel_configs, "empty or null Alertmanager target relabeling rule");
}

void AlertingConfig::validate(yaml::Checker& c) {
  check_null_rules(c, "alert_relabel_configs", alert_relabel_configs, "empty or null alert relabeling rule");
  // Prometheus v2.45 has no message for this: it crashes (a nil pointer in
  // SetDirectory) after the file has been decoded.
  yaml::Node list = c.field("alertmanagers");
  for (size_t i = 0; i < alertmanagers.size(); ++i) {
    if (!alertmanagers[i]) {
      c.decoder().error(list.is_sequence() && i < list.size() ? list.element(i) : c.node(),
                        "empty or null alertmanager config (Prometheus v2.45 crashes loading it)", yaml::Stage::file);
      return;
    }
  }
}

void SigV4Config::validate(yaml::Checker& c) const {
  if (access_key.empty() != secret_key.empty()) {
    c.error("must provide a AWS SigV4 Access key and Secret Key if credentials are specified in the SigV4 config");
  }
}

void AzureAdConfig::validate(yaml::Checker& c) const {
  if (cloud.empty()) {
    c.error_at("cloud", "must provide a cloud in the Azure AD config");
  } else if (!managed_identity) {
    c.error("must provide an Azure Managed Identity in the Azure AD config");
  } else if (managed_identity->client_id.empty()) {
    c.error_at("managed_identity", "must provide an Azure Managed Identity client_id in the Azure AD config");
  } else if (!is_uuid(managed_identity->client_id)) {
    c.error_at("managed_identity", "the provided Azure Managed Identity client_id provided is invalid");
  }
}

void RemoteWriteConfig::validate(yaml::Checker& c) {
  if (url.empty()) {
    c.error("url for remote_write is empty");
    return;
  }
  size_t errors = c.decoder().diagnostics().error_count();
  check_null_rules(c, "write_relabel_configs", write_relabel_configs,
                   "empty or null relabeling rule in remote write config");
  if (c.decoder().diagnostics().error_count() != errors) {
    return;
  }
  if (std::string message = check_remote_headers(headers); !message.empty()) {
    c.error_at("headers", message);
    return;
  }
  if (std::string message = http_client.validate(); !message.empty()) {
    c.error(message);
    return;
  }
  bool http_auth = http_client.basic_auth || http_client.authorization || http_client.oauth2;
  if ((http_auth && (sigv4 || azuread)) || (sigv4 && azuread)) {
    c.error("at most one of basic_auth, authorization, oauth2, sigv4, & azuread must be configured");
  }
}

void RemoteReadConfig::validate(yaml::Checker& c) {
  if (url.empty()) {
    c.error("url for remote_read is empty");
    return;
  }
  if (std::string message = check_remote_headers(headers); !message.empty()) {
    c.error_at("headers", message);
    return;
  }
  if (std::string message = http_client.validate(); !message.empty()) {
    c.error(message);
  }
}

void TracingConfig::validate(yaml::Checker& c) {
  if (client_type != "grpc" && client_type != "http") {
    c.error_at("client_type",
               fmt::format("expected tracing client type to be to be http or grpc, but got {}", client_type));
    return;
  }
  for (const auto& [header, value] : headers) {
    if (util::to_lower_ascii(header) == "authorization") {
      c.error_at("headers", "custom authorization header configuration is not yet supported");
      return;
    }
    if (is_reserved(header)) {
      c.error_at("headers", fmt::format("{} is a reserved header. It must not be changed", header));
      return;
    }
  }
  if (!compression.empty() && compression != "gzip") {
    c.error_at("compression", fmt::format("invalid compression type {} provided, valid options: gzip", compression));
    return;
  }
  if (endpoint.empty()) {
    c.error("tracing endpoint must be set");
  }
}

} // namespace sdscope::config
