// openstack_sd: Nova hypervisors and instances (Keystone v3/v2.0 token, service
// URLs from its catalog), in Prometheus v2.45
// discovery/openstack/openstack.go; role loadbalancer (Octavia) is 3.2's.
// Config block only; see spec/sd-cloud.md §12.
#include "discovery/openstack.h"

#include <fmt/format.h>

#include "util/strings.h"

namespace sdscope::discovery::openstack {

namespace {

// v2.45's roles; its hook rejects loadbalancer (3.2) like any other value.
bool known_role(std::string_view r) { return r == "hypervisor" || r == "instance"; }

} // namespace

std::string parse_text(std::string_view text, Role& out) {
  out.value = std::string(text);
  out.written = true;
  if (!known_role(text)) {
    return fmt::format("unknown OpenStack SD role {}", util::go_quote(text));
  }
  return "";
}

void Config::validate(yaml::Checker& c) const {
  if (role.value == "loadbalancer") {
    c.warning_at("role", "role \"loadbalancer\" is new in Prometheus 3.2; v2.45 rejects it");
  }
  if (role.written && !known_role(role.value)) {
    return; // already reported while decoding, which stops Prometheus there
  }
  // Order as in v2.45: availability, role, region.
  if (availability != "public" && availability != "internal" && availability != "admin") {
    c.error_at("availability",
               fmt::format("unknown availability {}, must be one of admin, internal or public", availability));
    return;
  }
  if (!role.written) {
    c.error("role missing (one of: instance, hypervisor)");
    return;
  }
  if (region.empty()) {
    c.error_at("region", "openstack SD configuration requires a region");
    return;
  }
  check_refresh_interval(c, refresh_interval.ms);
}

std::unique_ptr<SdConfig> parse_config(yaml::Decoder& d, yaml::Node n) { return parse_config_of<Config>(d, n); }

} // namespace sdscope::discovery::openstack
