#pragma once

#include <string>

#include "discovery/sd_config.h"
#include "model/duration.h"
#include "net/http_config.h"

namespace sdscope::discovery::openstack {

// Go: openstack.Role, a string whose own UnmarshalYAML rejects unknown values
// while decoding (so an explicit "" is an unknown role, a null is missing).
struct Role {
  std::string value;
  bool written = false; // a non-null value went through the hook
  bool empty() const { return value.empty(); }
  bool operator==(const Role&) const = default;
};
std::string parse_text(std::string_view text, Role& out);
inline std::string format_text(const Role& r) { return r.value; }

// No HTTP client block: only its own tls_config.
struct Config : SdConfigBase<Config> {
  static constexpr std::string_view k_mechanism = "openstack";
  static constexpr std::string_view k_go_type = "openstack.plain";
  std::string identity_endpoint; // empty: every auth option comes from OS_* variables
  std::string username;
  std::string userid;
  yaml::Secret password;
  std::string project_name;
  std::string project_id;
  std::string domain_name;
  std::string domain_id;
  std::string application_credential_name;
  std::string application_credential_id;
  yaml::Secret application_credential_secret;
  Role role;
  std::string region;
  model::Duration refresh_interval = model::Duration::seconds(60);
  int port = 80;
  bool all_tenants = false;
  net::TlsConfig tls_config;
  std::string availability = "public";

  template <class V> void fields(V& v) {
    v("identity_endpoint", identity_endpoint);
    v("username", username);
    v("userid", userid);
    v("password", password);
    v("project_name", project_name);
    v("project_id", project_id);
    v("domain_name", domain_name);
    v("domain_id", domain_id);
    v("application_credential_name", application_credential_name);
    v("application_credential_id", application_credential_id);
    v("application_credential_secret", application_credential_secret);
    v("role", role);
    v("region", region);
    v("refresh_interval", refresh_interval);
    v("port", port);
    v("all_tenants", all_tenants);
    v("tls_config", tls_config);
    v("availability", availability);
  }
  void validate(yaml::Checker& c) const;
  bool operator==(const Config&) const = default;
};

std::unique_ptr<SdConfig> parse_config(yaml::Decoder& d, yaml::Node n);

} // namespace sdscope::discovery::openstack
