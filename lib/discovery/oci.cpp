// oci_sd (Prometheus 3.14+): Oracle Cloud Infrastructure compute instances
// from the Core and Identity APIs (OCI HTTP request signatures with an API
// key or an instance principal), in discovery/oci/oci.go. Config block only;
// see spec/sd-cloud.md §15.
#include "discovery/oci.h"

#include <iterator>

#include <fmt/format.h>

#include "util/strings.h"

namespace sdscope::discovery::oci {

void Config::validate(yaml::Checker& c) {
  // Order as in 3.14: region, the auth method's fields, compartments,
  // refresh interval, HTTP client.
  if (region.empty()) {
    c.error_at("region", "oci_sd: region is required");
    return;
  }
  if (auth == "api_key") {
    static constexpr std::string_view k_required[] = {"tenancy", "user", "fingerprint", "key_file"};
    const std::string* values[] = {&tenancy, &user, &fingerprint, &key_file};
    for (size_t i = 0; i < std::size(k_required); ++i) {
      if (values[i]->empty()) {
        c.error_at(k_required[i], fmt::format("oci_sd: api_key auth requires {}", k_required[i]));
        return;
      }
    }
    if (!key_passphrase.empty() && !key_passphrase_file.empty()) {
      c.error_at("key_passphrase_file",
                 "oci_sd: at most one of key_passphrase and key_passphrase_file must be configured");
      return;
    }
  } else if (auth == "instance_principal") {
    if (!tenancy.empty() || !user.empty() || !fingerprint.empty() || !key_file.empty() || !key_passphrase.empty() ||
        !key_passphrase_file.empty()) {
      c.error_at("auth", "oci_sd: instance_principal auth must not have tenancy, user, fingerprint, key_file, "
                         "key_passphrase, or key_passphrase_file set");
      return;
    }
  } else {
    c.error_at("auth", fmt::format("oci_sd: unknown auth method {}, expected \"api_key\" or \"instance_principal\"",
                                   util::go_quote(auth)));
    return;
  }
  for (size_t i = 0; i < compartments.size(); ++i) {
    if (compartments[i].empty()) {
      c.error_at("compartments", fmt::format("oci_sd: compartments[{}] must not be empty", i));
      return;
    }
  }
  if (refresh_interval.ms <= 0) {
    c.error_at("refresh_interval",
               fmt::format("oci_sd: refresh_interval must be positive, got {}", model::format_text(refresh_interval)));
    return;
  }
  http_client.validate(c);
}

std::unique_ptr<SdConfig> parse_config(yaml::Decoder& d, yaml::Node n) { return parse_config_of<Config>(d, n); }

} // namespace sdscope::discovery::oci
