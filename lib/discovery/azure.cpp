// azure_sd: virtual machines and scale-set VMs from Azure Resource Manager
// (OAuth client credentials or managed identity), in Prometheus v2.45
// discovery/azure/azure.go. Config block only; see spec/sd-cloud.md §3.
#include "discovery/azure.h"

#include <fmt/format.h>

#include "util/strings.h"

namespace sdscope::discovery::azure {

namespace {

// Authentication methods added after v2.45, with the first release that
// knows them.
struct LaterMethod {
  std::string_view name;
  std::string_view since;
};
constexpr LaterMethod k_later_methods[] = {{"SDK", "2.52"}, {"WorkloadIdentity", "3.11"}};

// The cloud names autorest's EnvironmentFromName knows (upper-cased).
constexpr std::string_view k_environments[] = {"AZURECHINACLOUD",  "AZUREGERMANCLOUD",  "AZURECLOUD",
                                               "AZUREPUBLICCLOUD", "AZUREUSGOVERNMENT", "AZUREUSGOVERNMENTCLOUD",
                                               "AZURESTACKCLOUD"};

} // namespace

void Config::validate(yaml::Checker& c) const {
  // Order as in v2.45: subscription, the OAuth credentials, the method name.
  if (subscription_id.empty()) {
    c.error("azure SD configuration requires a subscription_id");
    return;
  }
  if (authentication_method == "OAuth") {
    if (tenant_id.empty()) {
      c.error("azure SD configuration requires a tenant_id");
      return;
    }
    if (client_id.empty()) {
      c.error("azure SD configuration requires a client_id");
      return;
    }
    if (client_secret.empty()) {
      c.error("azure SD configuration requires a client_secret");
      return;
    }
  }
  if (authentication_method != "OAuth" && authentication_method != "ManagedIdentity") {
    // Later releases know more methods: still v2.45's error, with a note.
    for (const LaterMethod& m : k_later_methods) {
      if (authentication_method == m.name) {
        c.warning_at("authentication_method",
                     fmt::format("authentication_method {} is new in Prometheus {}; v2.45 rejects it",
                                 util::go_quote(authentication_method), m.since));
      }
    }
    c.error_at("authentication_method",
               fmt::format("unknown authentication_type {}. Supported types are \"OAuth\" or \"ManagedIdentity\"",
                           util::go_quote(authentication_method)));
    return;
  }
  // The environment is only resolved when the client is built, on every
  // refresh; an unknown name passes the load and then fails each refresh.
  std::string upper;
  for (char ch : environment) {
    upper += ch >= 'a' && ch <= 'z' ? static_cast<char>(ch - 'a' + 'A') : ch;
  }
  bool known = false;
  for (std::string_view e : k_environments) {
    known = known || upper == e;
  }
  if (!known) {
    c.warning_at("environment",
                 fmt::format("every refresh will fail: could not create Azure client: autorest/azure: There is no "
                             "cloud environment matching the name {}",
                             util::go_quote(upper)));
  }
  // v2.45 does not validate the inline HTTP client here (it does since 2.48).
  check_refresh_interval(c, refresh_interval.ms);
}

std::unique_ptr<SdConfig> parse_config(yaml::Decoder& d, yaml::Node n) { return parse_config_of<Config>(d, n); }

} // namespace sdscope::discovery::azure
