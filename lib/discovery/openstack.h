#pragma once

#include <map>
#include <memory>
#include <set>
#include <stop_token>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "discovery/openstack_keystone.h"
#include "discovery/sd_config.h"
#include "model/duration.h"
#include "net/http_client.h"
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
  // A RefreshDiscoverer for the role; fails where the TLS settings cannot
  // be loaded or, without identity_endpoint, an OS_* variable is missing.
  Result<std::unique_ptr<Discoverer>> make_discoverer(const DiscovererOptions& options) const override;
};

// The mapping, page by page (pure). Each appends the targets of one
// response body and fails with Go's encoding/json texts where the body
// does not fit gophercloud's structs; `next` gets the page's
// "<collection>_links" rel=next href, "" for the last page.

// GET <compute>os-hypervisors/detail: every hypervisor, at host_ip:port
// (one page; gophercloud v1 ignores hypervisors_links).
Result<void> append_hypervisor_targets(std::string_view body, int port, std::vector<model::Labels>& targets);

// Nova's floating IPs (GET <compute>os-floating-ips): the floating IP by
// (instance id, fixed IP), and the set of floating IPs.
struct FloatingIps {
  std::map<std::pair<std::string, std::string>, std::string> by_instance_fixed;
  std::set<std::string> floating;
};
Result<FloatingIps> parse_floating_ips(std::string_view body);

// GET <compute>servers/detail: one target per address of every pool, but
// the floating ones, at <addr>:port.
Result<void> append_instance_targets(std::string_view body, const FloatingIps& floating_ips, int port,
                                     std::vector<model::Labels>& targets, std::string& next);

// One openstack_sd config: a Keystone token (re-used while valid), the
// service URL from its catalog, then the role's calls.
class Discovery {
public:
  static Result<std::unique_ptr<Discovery>> make(const Config& config);
  Result<std::vector<model::TargetGroup>> refresh(std::stop_token stop);

private:
  Discovery(const Config& config, AuthOptions options, std::unique_ptr<net::HttpClient> client);
  Result<std::string> get(const std::string& url, std::stop_token stop);
  Result<std::vector<model::Labels>> hypervisors(const std::string& compute, std::stop_token stop);
  Result<std::vector<model::Labels>> instances(const std::string& compute, std::stop_token stop);

  Config m_config;
  std::chrono::milliseconds m_timeout;
  std::unique_ptr<net::HttpClient> m_client;
  Keystone m_keystone;
  Token m_token; // of the current refresh
};

std::unique_ptr<SdConfig> parse_config(yaml::Decoder& d, yaml::Node n);

} // namespace sdscope::discovery::openstack
