// hetzner_sd: Hetzner Cloud servers (role hcloud, api.hetzner.cloud/v1,
// bearer token) and Hetzner Robot dedicated servers (role robot,
// robot-ws.your-server.de, basic auth), both authenticated through the HTTP
// client block, in Prometheus v2.45 discovery/hetzner/hetzner.go. Config
// block only; see spec/sd-cloud.md §6.
#include "discovery/hetzner.h"

#include <fmt/format.h>

#include "util/strings.h"

namespace sdscope::discovery::hetzner {

namespace {

bool known_role(std::string_view r) { return r == "robot" || r == "hcloud"; }

} // namespace

std::string parse_text(std::string_view text, Role& out) {
  out.value = std::string(text);
  out.written = true;
  if (!known_role(text)) {
    return fmt::format("unknown role {}", util::go_quote(text));
  }
  return "";
}

void Config::validate(yaml::Checker& c) {
  if (!role.written) {
    c.error("role missing (one of: robot, hcloud)");
    return;
  }
  if (!known_role(role.value)) {
    return; // already reported while decoding, which stops Prometheus there
  }
  check_refresh_interval(c, refresh_interval.ms);
  http_client.validate(c);
}

std::unique_ptr<SdConfig> parse_config(yaml::Decoder& d, yaml::Node n) { return parse_config_of<Config>(d, n); }

} // namespace sdscope::discovery::hetzner
